"""`catalog-gen mirror`: copy the models of some leaves from their registries into an internal one.

Each model goes to ``<to>/<namespace>/<model>:<tag>`` (the mirror replaces the host, as the
pods' pull does). A pinned model must still have its pinned digest at the source: a moved
tag is refused rather than mirrored under a pin it no longer matches.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from catalog_gen.errors import UsageError
from catalog_gen.registry.client import Registry
from catalog_gen.registry.errors import RegistryError
from catalog_gen.registry.mirror import CopyResult, Event, copy_model
from catalog_gen.registry.names import ModelRef
from catalog_gen.registry.targets import Target


@dataclasses.dataclass(frozen=True)
class Job:
    source: ModelRef
    source_insecure: bool
    destination: ModelRef
    pinned: str | None


@dataclasses.dataclass
class MirrorOutcome:
    results: list[CopyResult]
    errors: list[RegistryError]


def jobs_for(targets: list[Target], to: str) -> list[Job]:
    """One copy per source model; two sources that would land on one name are a usage error."""
    jobs: dict[ModelRef, Job] = {}
    for t in targets:
        dest = t.source.with_host(to)
        job = Job(t.source, t.source_insecure, dest, t.pinned)
        other = jobs.get(dest)
        if other is not None and other.source != t.source:
            raise UsageError(f"{other.source.short} and {t.source.short} would both be mirrored as {dest.short}",
                             hint="a mirror keeps namespace/model:tag only; give one of them another namespace or tag")
        if other is not None and other.pinned and t.pinned and other.pinned != t.pinned:
            raise UsageError(f"{t.source.short} is pinned to {other.pinned} in one leaf and {t.pinned} in another",
                             hint="run `catalog-gen pin --check` and make the pins agree")
        if other is None or (t.pinned and not other.pinned):
            jobs[dest] = job
    return sorted(jobs.values(), key=lambda j: str(j.source))


def run_mirror(jobs: list[Job], to: str, *, insecure: bool, spool: Path, on_event: Event | None = None,
               transport=None) -> MirrorOutcome:
    clients: dict[tuple[str, bool], Registry] = {}

    def client(host: str, plain: bool) -> Registry:
        if (host, plain) not in clients:
            clients[(host, plain)] = Registry(host, insecure=plain, transport=transport, timeout=120.0)
        return clients[(host, plain)]

    outcome = MirrorOutcome([], [])
    try:
        dest = client(to, insecure)
        for job in jobs:
            try:
                outcome.results.append(copy_model(client(job.source.host, job.source_insecure), job.source, dest,
                                                  job.destination, spool, on_event, expect_digest=job.pinned))
            except RegistryError as err:
                outcome.errors.append(err)
    finally:
        for c in clients.values():
            c.close()
    return outcome
