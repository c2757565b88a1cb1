"""Show progress ticks (progress.py) on stderr: a bar on a terminal, a line every few seconds in CI logs.

- On a terminal (stderr is a TTY and TERM is not ``dumb``): a tqdm bar per task
  on stderr, shown once the task has run for half a second, removed when done.
  tqdm rather than rich: one pure-Python package without dependencies (rich
  brings markdown-it-py and pygments), well kept, and it handles terminal width,
  rate and ETA; it is imported only when a bar is shown.
- Elsewhere (CI logs, pipes): nothing for work shorter than the interval
  (``CATALOG_GEN_PROGRESS_INTERVAL`` seconds, default 5); then one line per
  interval, e.g. ``catalog-gen lint: linting charts: 412/1000 charts (10 s)``.
- With ``--quiet``: nothing.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from typing import TextIO

from catalog_gen.progress import Tick

DEFAULT_INTERVAL = 5.0


def _interval() -> float:
    try:
        return max(0.0, float(os.environ.get("CATALOG_GEN_PROGRESS_INTERVAL", DEFAULT_INTERVAL)))
    except ValueError:
        return DEFAULT_INTERVAL


class Display:
    """A progress callback for the CLI. Use as a context manager so a bar is closed on every exit."""

    def __init__(self, command: str, *, quiet: bool = False, stream: TextIO | None = None) -> None:
        self.command = command
        self.stream = stream or sys.stderr
        self.interval = _interval()
        terminal = _isatty(self.stream) and os.environ.get("TERM") != "dumb"
        self.mode = "off" if quiet else "bar" if terminal else "log"
        self._task: str | None = None
        self._started = 0.0
        self._last_line = 0.0
        self._bar = None

    def __enter__(self) -> "Display":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __call__(self, tick: Tick) -> None:
        if self.mode == "off":
            return
        now = time.monotonic()
        if tick.task != self._task:
            self.close()
            self._task, self._started, self._last_line = tick.task, now, now
        if self.mode == "bar":
            self._show_bar(tick)
        elif now - self._last_line >= self.interval and now - self._started >= self.interval:
            self._last_line = now
            self.stream.write(f"catalog-gen {self.command}: {_line(tick, now - self._started)}\n")
            self.stream.flush()

    def _show_bar(self, tick: Tick) -> None:
        if self._bar is None:
            from tqdm import tqdm

            total = tick.total if tick.total else None
            columns = _columns(self.stream)  # a terminal that reports no width (0) gets $COLUMNS or 80
            self._bar = tqdm(total=total, desc=tick.task, unit=f" {tick.unit}" if tick.unit != "s" else "s",
                             file=self.stream, leave=False, dynamic_ncols=columns is None, ncols=columns,
                             nrows=None if columns is None else 24,  # tqdm hides bars past the rows it finds (0)
                             delay=min(0.5, self.interval),
                             bar_format=None if tick.unit != "s" else "{desc}: {bar} {n:.0f}/{total:.0f} s{postfix}")
        self._bar.n = tick.done
        if tick.detail:
            self._bar.set_postfix_str(tick.detail[:60], refresh=False)
        self._bar.refresh()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        self._task = None


def _line(tick: Tick, elapsed: float) -> str:
    if tick.unit == "s":
        amount = f"{tick.done:.0f} s of {tick.total:.0f} s" if tick.total else f"{tick.done:.0f} s"
    else:
        amount = f"{tick.done:.0f}/{tick.total:.0f} {tick.unit}s" if tick.total else f"{tick.done:.0f} {tick.unit}s"
        amount += f" ({elapsed:.0f} s)"
    return f"{tick.task}: {amount}" + (f"; {tick.detail}" if tick.detail else "")


def _columns(stream: TextIO) -> int | None:
    """None when the terminal knows its width (tqdm follows it), else a fixed width."""
    try:
        if os.get_terminal_size(stream.fileno()).columns > 0:
            return None
    except (AttributeError, ValueError, OSError):
        pass
    return shutil.get_terminal_size((80, 24)).columns


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
