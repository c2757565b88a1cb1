"""Probe and deadline budgets derived from the models' size.

Assumptions (documented in the README, tuned from the seeds): reading models
from a local or network volume at 200 MB/s at worst; downloading at 20 MB/s at
worst. Budgets are generous on purpose: a startup probe that is too short kills
a healthy pod in a loop, one that is too long only delays the restart of a
broken one.
"""

from __future__ import annotations

import dataclasses
import math

DISK_BYTES_PER_SECOND = 200 * 10**6
NETWORK_BYTES_PER_SECOND = 20 * 10**6
STARTUP_PERIOD_SECONDS = 5
BASE_STARTUP_SECONDS = 60


@dataclasses.dataclass(frozen=True)
class Budget:
    seconds: int
    period: int
    reason: str

    def as_values(self) -> dict:
        return {
            "periodSeconds": self.period,
            "timeoutSeconds": 5,
            "failureThreshold": max(1, math.ceil(self.seconds / self.period)),
        }


def startup_budget(models_bytes: int) -> Budget:
    read = math.ceil(models_bytes / DISK_BYTES_PER_SECOND)
    seconds = BASE_STARTUP_SECONDS + 2 * read
    reason = (f"{BASE_STARTUP_SECONDS}s to start plus twice the {read}s needed to read "
              f"{models_bytes / 10**9:.1f} GB at {DISK_BYTES_PER_SECOND // 10**6} MB/s" if models_bytes
              else f"{BASE_STARTUP_SECONDS}s to start; no model is loaded before the pod is ready")
    return Budget(seconds, STARTUP_PERIOD_SECONDS, reason)


def pull_attempt_timeout_seconds(models_bytes: int) -> int:
    """One pull attempt may take the whole download at the worst expected speed, plus slack."""
    return max(600, math.ceil(models_bytes / NETWORK_BYTES_PER_SECOND) + 300)


def pull_job_deadline_seconds(models_bytes: int) -> int:
    """Loader Job / shared-cache wait deadline: every attempt of every model, with backoff."""
    return max(1800, 2 * pull_attempt_timeout_seconds(models_bytes))
