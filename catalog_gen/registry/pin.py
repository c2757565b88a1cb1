"""`catalog-gen pin`: resolve tags to the digests Ollama will report, write them into the leaves, or check them.

Each tag is resolved against the registry the pods pull from (the mirror when the leaf names
one): GET the manifest with Ollama's Accept header and hash the body. Results are findings,
so every report format works:

- ``pin.pinned`` (info): a digest was written (or, with ``--check``, nothing: see below);
- ``pin.moved`` (error): the tag now has another digest than the pin (old, new, registry);
- ``pin.unpinned`` (warning, ``--check`` only): a model has no pin yet;
- ``pin.unknown-tag``, ``pin.unauthorized``, ``pin.refused``, ``pin.unreachable`` (error);
- ``pin.conflict``, ``pin.edit`` (error): a file that was left as it was (two digests for one place, a layout not to guess at).

Exit status (`PinOutcome.exit_code`): 0 done / nothing moved; 1 a pinned tag moved
(``--check``), or a tag is unknown, refused or unauthorized; 2 a registry could not be
reached (the answer is unknown, so CI must not read it as "nothing moved").
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from catalog_gen.catalog import roundtrip
from catalog_gen.errors import EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, Finding, InputError, Severity
from catalog_gen.registry.client import Registry
from catalog_gen.registry.errors import RegistryError, Unreachable
from catalog_gen.registry.names import ModelRef
from catalog_gen.registry.targets import Target


@dataclasses.dataclass
class Resolved:
    target: Target
    digest: str | None
    url: str
    error: RegistryError | None = None


@dataclasses.dataclass
class PinOutcome:
    findings: list[Finding]
    files_written: list[str]
    unreachable: bool

    @property
    def exit_code(self) -> int:
        if self.unreachable:
            return EXIT_USAGE
        return EXIT_FINDINGS if any(f.severity is Severity.ERROR for f in self.findings) else EXIT_OK


class Resolver:
    """Resolves references once each (many leaves share models), one client per registry."""

    def __init__(self, transport=None, timeout: float = 30.0) -> None:
        self._clients: dict[tuple[str, bool], Registry] = {}
        self._transport, self._timeout = transport, timeout

    def client(self, host: str, insecure: bool) -> Registry:
        key = (host, insecure)
        if key not in self._clients:
            self._clients[key] = Registry(host, insecure=insecure, transport=self._transport, timeout=self._timeout)
        return self._clients[key]

    def resolve(self, ref: ModelRef, insecure: bool) -> tuple[str, str]:
        """(64-hex digest, manifest URL) of a tag; RegistryError when it cannot be had."""
        client = self.client(ref.host, insecure)
        return hashlib.sha256(client.manifest(ref)).hexdigest(), client.url(ref, "manifests", ref.tag)

    def resolve_all(self, targets: list[Target], jobs: int = 8) -> list[Resolved]:
        unique = sorted({(t.pull, t.pull_insecure) for t in targets}, key=str)
        answers: dict[tuple[ModelRef, bool], tuple[str | None, str, RegistryError | None]] = {}

        def one(key):
            ref, insecure = key
            url = self.client(ref.host, insecure).url(ref, "manifests", ref.tag)
            try:
                digest, url = self.resolve(ref, insecure)
                return key, (digest, url, None)
            except RegistryError as err:
                return key, (None, url, err)

        with ThreadPoolExecutor(max_workers=max(1, min(jobs, len(unique)))) as pool:
            for key, answer in pool.map(one, unique):
                answers[key] = answer
        return [Resolved(t, *answers[(t.pull, t.pull_insecure)]) for t in targets]

    def close(self) -> None:
        for client in self._clients.values():
            client.close()


def _finding(r: Resolved, at: tuple[int, int], code: str, severity: Severity, message: str, hint: str = "") -> Finding:
    return Finding(r.target.display, at[0], at[1], r.target.pointer, code, severity, message, hint)


def run_pin(targets: list[Target], *, update: bool = False, check: bool = False, resolver: Resolver | None = None) -> PinOutcome:
    """Resolve and write (or only compare, with `check`) the digests of the targets."""
    own = resolver is None
    resolver = resolver or Resolver()
    try:
        wanted = targets if (check or update) else [t for t in targets if not t.pinned]
        results = resolver.resolve_all(wanted)
    finally:
        if own:
            resolver.close()
    findings: list[Finding] = []
    edits: dict[Path, list[roundtrip.Edit]] = defaultdict(list)
    unreachable = False
    for r in results:
        t = r.target
        line = t.at
        model = f"model {t.name}" + (f" (pulled as {t.pull.short})" if t.pull != t.source else "")
        if r.error is not None:
            unreachable |= isinstance(r.error, Unreachable)
            findings.append(_finding(r, line, f"pin.{r.error.kind}", Severity.ERROR,
                                     f"{model}: {r.error.url}: {r.error.status}", r.error.hint))
            continue
        if t.pinned == r.digest:
            continue
        if check:
            if t.pinned:
                findings.append(_finding(r, line, "pin.moved", Severity.ERROR,
                                         f"{model}: the tag moved in {r.url}: pinned {t.pinned}, now {r.digest}",
                                         f"check the new version, then `catalog-gen pin --update {t.display}` (and mirror it)"))
            else:
                findings.append(_finding(r, line, "pin.unpinned", Severity.WARNING,
                                         f"{model} is not pinned; {r.url} has {r.digest}",
                                         f"run `catalog-gen pin {t.display}`"))
            continue
        edits[t.file].append(roundtrip.Edit(t.where, r.digest))
        verb = f"re-pinned from {t.pinned} to" if t.pinned else "pinned to"
        findings.append(_finding(r, line, "pin.pinned", Severity.INFO, f"{model} {verb} {r.digest} ({r.url})"))
    written = []
    conflicts = _conflicts(edits)
    findings.extend(conflicts)
    untouched = {c.file for c in conflicts}
    for path, file_edits in sorted(edits.items()):
        if str(path) in untouched:
            continue
        try:
            if roundtrip.edit_file(path, list(dict.fromkeys(file_edits)), str(path)):
                written.append(str(path))
        except InputError as err:  # a layout we will not guess at: say so, and go on with the other files
            untouched.add(str(path))
            findings.append(Finding(str(path), 0, 0, "", "pin.edit", Severity.ERROR, f"not pinned: {err.message}", err.hint))
    findings = [f for f in findings if not (f.code == "pin.pinned" and f.file in untouched)]
    return PinOutcome(sorted(findings, key=Finding.sort_key), written, unreachable)


def _conflicts(edits: dict[Path, list[roundtrip.Edit]]) -> list[Finding]:
    """One place asked to hold two digests (a defaults file shared by leaves that pull from different mirrors)."""
    out = []
    for path, file_edits in edits.items():
        seen: dict[tuple, str] = {}
        for e in file_edits:
            if seen.setdefault(e.where, e.digest) != e.digest:
                out.append(Finding(str(path), 0, 0, "", "pin.conflict", Severity.ERROR,
                                   f"{e.where} resolves to {seen[e.where]} for some leaves and {e.digest} for others; this file was not changed",
                                   "the leaves sharing this model pull from registries that disagree: mirror the model again"))
    return out
