"""One backend's compute, shared between the models that are generating at the same moment.

An Ollama process runs one llama-server per loaded model on the same GPU(s) (or CPU).
A llama-server decodes all of its busy slots (``OLLAMA_NUM_PARALLEL``) in one batch,
so the parallel requests of ONE model do not slow each other down here; two
*models* generating at once take turns on the device, so each runs at 1/k of the
speed when k models are busy (processor sharing). That is what makes stacking
two hot models on one worker cost something, as it does on a real GPU.

``work(seconds)`` waits for ``seconds`` of dedicated compute: a virtual clock that
advances at 1/k of real time while k models are busy; a change of k wakes the
waiters to recompute their finish time. Also counts the backend's busy time.
"""

from __future__ import annotations

import asyncio
import time


class ComputeShare:
    def __init__(self) -> None:
        self._busy: dict[str, int] = {}  # model key -> requests generating
        self._virtual = 0.0
        self._at = time.monotonic()
        self._changed: asyncio.Event | None = None
        self.busy_seconds = 0.0  # wall time with at least one model generating
        self.slot_seconds = 0.0  # sum over requests of their time in a slot

    def busy_models(self) -> int:
        return len(self._busy)

    def _advance(self) -> None:
        now = time.monotonic()
        k = len(self._busy)
        if k:
            self._virtual += (now - self._at) / k
            self.busy_seconds += now - self._at
        self._at = now

    def _wake(self) -> None:
        if self._changed is not None:
            self._changed.set()
            self._changed = None

    def enter(self, key: str) -> float:
        """A request of model ``key`` starts generating; returns its start time (for ``leave``)."""
        self._advance()
        self._busy[key] = self._busy.get(key, 0) + 1
        self._wake()
        return self._at

    def leave(self, key: str, started: float) -> None:
        self._advance()
        left = self._busy.get(key, 0) - 1
        if left > 0:
            self._busy[key] = left
        else:
            self._busy.pop(key, None)
        self.slot_seconds += self._at - started
        self._wake()

    def snapshot_busy_seconds(self) -> float:
        """Busy time up to now (the clock is otherwise only advanced by enter/leave)."""
        self._advance()
        return self.busy_seconds

    async def work(self, seconds: float, *, shared: bool) -> None:
        """Wait for ``seconds`` of compute; with ``shared`` the device is split between busy models."""
        if seconds <= 0:
            return
        if not shared:
            await asyncio.sleep(seconds)
            return
        self._advance()
        target = self._virtual + seconds
        while True:
            self._advance()
            left = target - self._virtual
            if left <= 1e-6:
                return
            if self._changed is None:
                self._changed = asyncio.Event()
            changed = self._changed
            try:
                await asyncio.wait_for(changed.wait(), left * max(1, len(self._busy)))
            except TimeoutError:
                pass
