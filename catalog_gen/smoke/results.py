"""What a smoke run produces: one result per check, the warm-up, the latency summary, diagnostics.

Statuses, as JUnit reads them: ``passed``; ``failed`` when the service answered
wrongly (a JUnit ``failure``); ``error`` when the check could not get an answer
at all (timeout, connection refused, garbage: a JUnit ``error``); ``skipped``
when the leaf does not ask for it. Exit codes: 0 when nothing failed or
errored, 1 when a check failed or errored, 2 when the target could not be
reached at all (the warm-up never got an answer).
"""

from __future__ import annotations

import dataclasses
import math
from enum import Enum

from catalog_gen.errors import EXIT_FINDINGS, EXIT_OK, EXIT_USAGE


class Status(str, Enum):
    PASSED = "passed"
    FAILED = "failed"
    ERROR = "error"
    SKIPPED = "skipped"


@dataclasses.dataclass
class CheckResult:
    name: str
    status: Status
    duration: float  # seconds
    message: str = ""  # what went wrong and where; the skip reason for skipped checks
    metrics: dict[str, float | int | str] = dataclasses.field(default_factory=dict)

    def as_dict(self) -> dict:
        return {
            "name": self.name,
            "status": self.status.value,
            "duration_s": round(self.duration, 6),
            "metrics": self.metrics,
            "error": self.message if self.status in (Status.FAILED, Status.ERROR) else None,
            "message": self.message,
        }


@dataclasses.dataclass
class Warmup:
    seconds: float = 0.0
    attempts: int = 0
    ready: bool = False
    reached: bool = False  # the target answered at least once
    detail: str = ""

    def as_dict(self) -> dict:
        return {"seconds": round(self.seconds, 3), "attempts": self.attempts, "ready": self.ready, "reached": self.reached, "detail": self.detail}


@dataclasses.dataclass
class SmokeReport:
    leaf: str  # the leaf file as given
    service: str  # <namespace>/<serviceName>
    target: str  # base URL used
    warmup: Warmup
    results: list[CheckResult] = dataclasses.field(default_factory=list)
    latency: dict[str, dict[str, float]] = dataclasses.field(default_factory=dict)
    diagnostics: list[str] = dataclasses.field(default_factory=list)
    duration: float = 0.0

    @property
    def counts(self) -> dict[str, int]:
        counts = {s.value: 0 for s in Status}
        for r in self.results:
            counts[r.status.value] += 1
        return counts

    @property
    def exit_code(self) -> int:
        if not self.warmup.reached:
            return EXIT_USAGE
        if any(r.status in (Status.FAILED, Status.ERROR) for r in self.results):
            return EXIT_FINDINGS
        return EXIT_OK

    def as_dict(self) -> dict:
        return {
            "leaf": self.leaf,
            "service": self.service,
            "target": self.target,
            "duration_s": round(self.duration, 6),
            "warmup": self.warmup.as_dict(),
            "summary": self.counts,
            "checks": [r.as_dict() for r in self.results],
            "latency": self.latency,
            "diagnostics": self.diagnostics,
            "exit_code": self.exit_code,
        }


# --- latency figures ---------------------------------------------------------------------------

PERCENTILES = (50, 90, 95, 99)


def percentile(values: list[float], p: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * p / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summarize(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    out = {f"p{p}": round(percentile(values, p), 6) for p in PERCENTILES}
    out.update({"mean": round(sum(values) / len(values), 6), "min": round(min(values), 6), "max": round(max(values), 6), "n": len(values)})
    return out
