"""The Ollama double's scheduler, after Ollama's server/sched.go as ollama-api.md's addendum
("Environment and scheduling") describes it.

- A request for a model that is loaded (and not being unloaded) skips the queue and
  takes a reference at once; it then waits for one of the model's own
  ``num_parallel`` slots (OLLAMA_NUM_PARALLEL is per model; forced to 1 for
  embedding models) with no limit: Ollama has no backpressure for loaded models.
- A request that needs a load joins the pending queue, bounded by ``max_queue``
  (OLLAMA_MAX_QUEUE; past it 503). One scheduler task takes the queue in order and
  loads ONE model at a time (``load_seconds``).
- A model being loaded is in the loaded set (listed by /api/ps) and counts against
  ``max_loaded_models`` and the memory budget from the moment its load starts.
- Room: a new model must make way when the loaded count has reached
  ``max_loaded_models``, or when other models are loaded and its memory estimate is
  above 80% of the free memory (``Knobs.memory_bytes``; None = memory not modelled).
  A model that is alone is loaded anyway.
- Victim: the loaded models sorted by keep-alive, shortest first (forever last),
  then by model path; the first idle one (no request in flight) is unloaded. If
  none is idle the first in that order is drained (it takes no new requests; a
  request for it then needs a reload) and unloaded when its last request ends;
  the scheduler waits for that, then tries again.
- An idle model unloads when its keep-alive runs out (the timer restarts each time
  its in-flight count drops to 0); ``keep_alive: 0`` unloads after the request.
- A client that goes away while its model loads aborts the load.

Counters (``SchedStats``) are kept for benchmarks: loads per model, evictions, peak
loaded count and memory, load time.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import math
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from catalog_gen.testing._ollama_state import DoubleModel, OllamaDouble

MAX_QUEUE_MESSAGE = "server busy, please try again.  maximum pending requests exceeded"
FIT_FRACTION = 0.8  # a new model's estimate must be at most 80% of the free memory


class MaxQueueError(Exception):
    pass


class Runner:
    """A model loaded (or loading) in memory."""

    def __init__(self, model: DoubleModel, num_parallel: int, session: float) -> None:
        self.model = model
        self.ready = asyncio.Event()
        parallel = 1 if "embedding" in model.capabilities else max(1, num_parallel)
        self.parallel = parallel
        self.slots = asyncio.Semaphore(parallel)
        self.refs = 0
        self.session = session
        self.expires_at = time.time() + min(session, 1e10)
        self.loaded_at = 0.0
        self.draining = False

    @property
    def key(self) -> tuple:
        return self.model.parsed.key

    def expires_at_text(self) -> str:
        from catalog_gen.testing._ollama_state import format_time

        return format_time(self.expires_at)


@dataclasses.dataclass
class SchedStats:
    loads: collections.Counter = dataclasses.field(default_factory=collections.Counter)  # model display -> loads
    evictions: collections.Counter = dataclasses.field(default_factory=collections.Counter)  # model -> evicted for room
    expiries: int = 0  # idle models unloaded because their keep-alive ran out
    aborted_loads: int = 0
    peak_loaded: int = 0  # loaded + loading, at most
    peak_memory_bytes: int = 0
    load_seconds: float = 0.0


@dataclasses.dataclass
class _Pending:
    model: DoubleModel
    session: float
    future: asyncio.Future


class Scheduler:
    def __init__(self, double: OllamaDouble) -> None:
        self.double = double
        self.runners: dict[tuple, Runner] = {}
        self.stats = SchedStats()
        self._pending: collections.deque[_Pending] = collections.deque()
        self._worker: asyncio.Task | None = None
        self._released: asyncio.Event | None = None

    # --- reading -------------------------------------------------------------------------------

    def reap(self) -> None:
        now = time.time()
        for key, r in list(self.runners.items()):
            if r.ready.is_set() and r.refs == 0 and r.expires_at <= now:
                del self.runners[key]
                self.stats.expiries += 1

    def memory_in_use(self) -> int:
        return sum(r.model.memory_estimate for r in self.runners.values())

    def pending(self) -> int:
        return sum(1 for p in self._pending if not p.future.done())

    # --- requests --------------------------------------------------------------------------------

    async def acquire(self, model: DoubleModel, keep_alive: float | None) -> Runner:
        self.reap()
        session = self.double.default_keep_alive() if keep_alive is None else keep_alive
        runner = self.runners.get(model.parsed.key)
        if runner is None or not runner.ready.is_set() or runner.draining:
            if self.pending() >= self.double.knobs.max_queue:
                raise MaxQueueError(MAX_QUEUE_MESSAGE)
            future = asyncio.get_running_loop().create_future()
            self._pending.append(_Pending(model, session, future))
            if self._worker is None or self._worker.done():
                self._worker = asyncio.get_running_loop().create_task(self._run())
            try:
                runner = await future
            except asyncio.CancelledError:
                if future.done() and not future.cancelled():
                    self.release(future.result())
                raise
            self._stamp(runner, session)
            return runner
        runner.refs += 1
        self._stamp(runner, session)
        return runner

    @staticmethod
    def _stamp(runner: Runner, session: float) -> None:
        runner.session = session
        runner.expires_at = time.time() + min(session, 1e10)

    def release(self, runner: Runner) -> None:
        """Drop a reference; synchronous so it is safe in ``finally`` of a cancelled request."""
        runner.refs -= 1
        if runner.refs == 0:
            runner.expires_at = time.time() + min(runner.session, 1e10)
            if (runner.session == 0 or runner.draining) and self.runners.get(runner.key) is runner:
                del self.runners[runner.key]
        if self._released is not None:
            self._released.set()

    def unload(self, model: DoubleModel) -> None:
        """keep_alive 0 with an empty prompt: expire the runner now (after its requests finish)."""
        runner = self.runners.get(model.parsed.key)
        if runner is None:
            return
        runner.session = 0
        if runner.refs == 0 and runner.ready.is_set():
            del self.runners[model.parsed.key]

    def remove(self, model: DoubleModel) -> None:
        self.runners.pop(model.parsed.key, None)

    # --- the scheduler task ----------------------------------------------------------------------

    async def _run(self) -> None:
        while self._pending:
            head = self._pending[0]
            if head.future.done():  # the client went away while waiting
                self._pending.popleft()
                continue
            runner = self.runners.get(head.model.parsed.key)
            if runner is not None and runner.ready.is_set() and not runner.draining:
                self._pending.popleft()
                runner.refs += 1
                head.future.set_result(runner)
                continue
            if runner is not None and runner.draining:
                await self._wait_release()  # the old copy must go before it can be loaded again
                continue
            await self._make_room(head.model)
            if head.future.done():
                continue
            await self._load(head)

    async def _wait_release(self) -> None:
        self._released = asyncio.Event()
        await self._released.wait()
        self._released = None

    def _fits(self, model: DoubleModel) -> bool:
        others = list(self.runners.values())
        if not others:
            return True  # alone: loaded anyway (llama-server spreads it over GPU and CPU)
        knobs = self.double.knobs
        limit = knobs.max_loaded_models if knobs.max_loaded_models > 0 else 3  # 0: 3 x GPUs, 3 with no GPU
        if len(others) >= limit:
            return False
        if knobs.memory_bytes is None:
            return True
        free = knobs.memory_bytes - self.memory_in_use()
        return model.memory_estimate <= FIT_FRACTION * free

    @staticmethod
    def _victim_order(runner: Runner) -> tuple:
        session = math.inf if runner.session == math.inf else runner.session
        return (session, runner.model.blob_path)

    async def _make_room(self, model: DoubleModel) -> None:
        while True:
            self.reap()
            if self._fits(model):
                return
            ordered = sorted((r for r in self.runners.values() if r.ready.is_set()), key=self._victim_order)
            idle = [r for r in ordered if r.refs == 0]
            if idle:
                victim = idle[0]
                del self.runners[victim.key]
                self.stats.evictions[victim.model.display] += 1
                continue
            if ordered and not ordered[0].draining:
                ordered[0].draining = True
                self.stats.evictions[ordered[0].model.display] += 1
            await self._wait_release()

    async def _load(self, head: _Pending) -> None:
        knobs = self.double.knobs
        runner = Runner(head.model, knobs.num_parallel, head.session)
        self.runners[runner.key] = runner
        self.stats.peak_loaded = max(self.stats.peak_loaded, len(self.runners))
        self.stats.peak_memory_bytes = max(self.stats.peak_memory_bytes, self.memory_in_use())
        started = time.monotonic()
        sleeper = asyncio.ensure_future(asyncio.sleep(knobs.load_seconds))
        await asyncio.wait({sleeper, head.future}, return_when=asyncio.FIRST_COMPLETED)
        self.stats.load_seconds += time.monotonic() - started
        if not sleeper.done():  # the request that asked for the load went away: the load is aborted
            sleeper.cancel()
            if self.runners.get(runner.key) is runner:
                del self.runners[runner.key]
            self.stats.aborted_loads += 1
            return
        runner.loaded_at = time.time()
        runner.ready.set()
        self.stats.loads[head.model.display] += 1
