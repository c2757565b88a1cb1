"""Progress of long work, as data: stages call a callback; only the CLI shows it (see progress_display.py).

A stage that loops over many charts, or waits, takes ``progress: Progress | None``
and calls it with a ``Tick`` after each step; it prints nothing itself.
"""

from __future__ import annotations

import dataclasses
from typing import Callable


@dataclasses.dataclass(frozen=True, slots=True)
class Tick:
    task: str  # what is being done, e.g. "linting charts", "waiting for http://x (warm-up)"
    done: float  # steps done, or seconds waited (unit "s")
    total: float | None  # steps or seconds in all; None when unknown
    unit: str = "chart"  # "chart", "leaf", "check" or "s"
    detail: str = ""  # what is happening now, e.g. "waiting for the pull of llama3.1:8b"


Progress = Callable[[Tick], None]


def report(progress: Progress | None, tick: Tick) -> None:
    if progress is not None:
        progress(tick)
