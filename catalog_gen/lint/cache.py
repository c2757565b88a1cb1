"""Incremental lint: a chart whose inputs did not change is not linted again.

A chart's findings depend only on what goes into ``lint_chart``; the cache
key is a SHA-256 of all of it:

- every entry of the chart, at any depth: relative path, and for files their
  bytes (so ``ci/*-values.yaml``, ``values.schema.json``, the catalog-gen
  manifest and the suppression annotations, which live in the templates, are
  all covered); folders by name;
- the chart's path as named, as resolved, and the working directory: findings
  show the chart relative to it, and Helm's messages quote the path as named;
- the run: the Kubernetes version, ``require_schemas``, the CRD files (their
  contents, and the path findings quote for each; not their mtimes), the check
  registry (ids, severities, params, remediations), catalog-gen's version, a
  digest of the source files lint runs (``catalog_gen/lint/*.py`` and the
  modules it imports), and the versions of Helm's SDK, kubernetes-validate
  (the Kubernetes schemas), jsonschema-rs and PyYAML.

A chart holding anything but folders and regular files (a symlink, a FIFO), a
file over ``chartfiles.MAX_FILE_BYTES`` or more than
``chartfiles.MAX_CHART_BYTES`` in all is never cached: it is linted every time
(what it points to or how it is refused is not part of the chart's bytes). A
chart whose files change while it is linted (an entry's size, mtime, ctime or
inode differs after) is not stored.

So that an unchanged chart is not even read, a small "stat index" remembers,
per chart folder, the content digest together with every entry's size, mtime,
ctime and inode, as git's index does; it is used only when all of them are
the same, and only for files that had not changed for ``SETTLED_S`` when they
were hashed (a later change gives a later ctime). A fresh checkout, as in CI,
changes every ctime and inode: there every file is read and hashed.

Entries are JSON files ``<dir>/v1/<key[:2]>/<key>.json`` holding the findings
exactly as ``lint_chart`` returned them. Writes are atomic (a temporary file
in the same folder, then ``os.replace``), so concurrent runs never see half an
entry; two runs storing the same key write the same bytes. An entry that
cannot be read, is not JSON, names another key or holds a malformed finding is
a miss, never an error; a cache folder that cannot be written is ignored
(lint runs as without a cache). A hit refreshes the entry's mtime; once a day
a run removes entries unused for ``MAX_AGE_DAYS`` and temporary files that a
killed run left.

Where: ``--cache-dir DIR``, else ``$CATALOG_GEN_CACHE_DIR``, else
``$XDG_CACHE_HOME/catalog-gen/lint`` (an absolute ``XDG_CACHE_HOME`` only, as
the XDG spec says), else ``~/.cache/catalog-gen/lint``.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
import stat
import tempfile
import time
from importlib import metadata
from pathlib import Path
from typing import Iterable

import catalog_gen
from catalog_gen.errors import Finding, Severity
from catalog_gen.lint.chartfiles import MAX_CHART_BYTES, MAX_FILE_BYTES

ENV_DIR = "CATALOG_GEN_CACHE_DIR"
LAYOUT = "v1"  # bump when the entry format or the key changes meaning
MAX_AGE_DAYS = 30
PRUNE_EVERY_S = 24 * 3600
PRUNE_STAMP = ".pruned"
TMP_PREFIX = ".tmp-"
SETTLED_S = 2.0  # the stat index trusts files unchanged for this long when hashed (see LintCache.key)
_READ_FLAGS = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOCTTY", 0)
# Modules outside catalog_gen/lint whose code decides findings (lint imports them).
_SHARED_SOURCES = ("errors.py", "fsutil.py", "patterns.py")
_DEPENDENCIES = ("helm-python-sdk", "kubernetes-validate", "jsonschema-rs", "PyYAML")
_FIELDS = {f.name: f.type for f in dataclasses.fields(Finding)}


def default_dir() -> Path | None:
    """Where the cache lives when no ``--cache-dir`` is given; None when there is no home to put it in."""
    named = os.environ.get(ENV_DIR)
    if named:
        return Path(named)
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    if xdg and os.path.isabs(xdg):
        return Path(xdg) / "catalog-gen" / "lint"
    try:
        return Path.home() / ".cache" / "catalog-gen" / "lint"
    except (RuntimeError, KeyError):  # no HOME and no passwd entry
        return None


@functools.cache
def code_digest() -> str:
    """catalog-gen's version, the lint sources and the versions of the libraries that decide findings."""
    digest = hashlib.sha256(f"catalog-gen {catalog_gen.__version__}\n".encode())
    package = Path(catalog_gen.__file__).resolve().parent
    sources = sorted((package / "lint").glob("*.py")) + [package / name for name in _SHARED_SOURCES]
    for path in sources:
        try:
            data = path.read_bytes()
        except OSError:
            data = b"<missing>"
        digest.update(f"{path.relative_to(package).as_posix()}\0{len(data)}\0".encode() + data)
    for name in _DEPENDENCIES:
        try:
            version = metadata.version(name)
        except metadata.PackageNotFoundError:
            version = "-"
        digest.update(f"{name}=={version}\n".encode())
    return digest.hexdigest()


def registry_digest() -> str:
    """Every check of the registry: id, severity, kinds, params, remediation (the findings' hint)."""
    from catalog_gen.lint.policies import CHECKS

    rows = [
        [c.id, c.severity.value, c.category, list(c.kinds), sorted((k, repr(v)) for k, v in c.params.items()),
         c.suppressible, c.remediation, c.description]
        for c in CHECKS
    ]
    return hashlib.sha256(json.dumps(rows, sort_keys=True).encode()).hexdigest()


def run_digest(kube_version: str, crd_files: Iterable[Path], require_schemas: bool) -> str:
    """What every chart of one lint run shares in its key. CRD files count by content and by the path findings quote."""
    digest = hashlib.sha256(f"{LAYOUT}\n{code_digest()}\n{registry_digest()}\nkube {kube_version}\n"
                            f"require_schemas {bool(require_schemas)}\n".encode())
    for path in crd_files:
        try:
            content = hashlib.sha256(Path(path).read_bytes()).hexdigest()
        except OSError:
            content = "<unreadable>"
        digest.update(f"crd {path}\0{content}\n".encode())
    return digest.hexdigest()


@dataclasses.dataclass(frozen=True)
class ChartKey:
    key: str
    signature: tuple  # what chart_signature() said before the files were read


class _Uncacheable(Exception):
    pass


def _stat_walk(root: str, prefix: str, out: list, budget: list[int]) -> None:
    """(kind, relative path, size, mtime_ns, ctime_ns, inode) of every entry, sorted; raises _Uncacheable."""
    try:
        with os.scandir(root) as listing:
            entries = sorted(listing, key=lambda e: e.name)
    except OSError:
        raise _Uncacheable from None
    for entry in entries:
        rel = prefix + entry.name
        try:
            info = entry.stat(follow_symlinks=False)
        except OSError:
            raise _Uncacheable from None
        if stat.S_ISDIR(info.st_mode):
            out.append(("d", rel, 0, 0, 0, 0))
            _stat_walk(entry.path, rel + "/", out, budget)
            continue
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_FILE_BYTES:
            raise _Uncacheable  # symlinks, FIFOs, devices, oversize files: linted every time
        budget[0] -= info.st_size
        if budget[0] < 0:
            raise _Uncacheable
        out.append(("f", rel, info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino))


def chart_signature(chart: Path) -> tuple | None:
    """Every entry of the chart with its size, mtime, ctime and inode (no file is opened); None when the
    chart must not be cached (a symlink, a special file, over the size limits, unreadable)."""
    out: list = []
    try:
        _stat_walk(str(chart), "", out, [MAX_CHART_BYTES])
    except _Uncacheable:
        return None
    return tuple(out)


def content_digest(chart: Path, signature: tuple) -> str | None:
    """SHA-256 of the chart's entries: relative paths, and the bytes of every file; None if a file is not
    what the signature says any more (it changed meanwhile: the chart is then linted, not cached)."""
    digest = hashlib.sha256()
    base = str(chart) + os.sep
    for kind, rel, size, *_ in signature:
        if kind == "d":
            digest.update(b"d\0" + rel.encode() + b"\0")
            continue
        try:
            fd = os.open(base + rel, _READ_FLAGS)
        except OSError:
            return None
        try:
            data = os.read(fd, size + 1)
        except OSError:
            return None
        finally:
            os.close(fd)
        if len(data) != size:
            return None
        digest.update(b"f\0" + rel.encode() + b"\0" + str(size).encode() + b"\0")
        digest.update(data)
    return digest.hexdigest()


def _valid_finding(data: object) -> Finding | None:
    if not isinstance(data, dict) or set(data) != set(_FIELDS):
        return None
    for name, value in data.items():
        wanted = int if name in ("line", "column", "template_line", "rendered_line") else str
        if type(value) is not wanted:
            return None
    try:
        return Finding(**{**data, "severity": Severity(data["severity"])})
    except ValueError:
        return None


class LintCache:
    """The findings of charts by key, in one folder (see the module docstring)."""

    def __init__(self, directory: Path, run: str) -> None:
        self.directory = Path(directory)
        self.root = self.directory / LAYOUT
        self.run = run
        self.cwd = Path.cwd().resolve()
        self.hits = 0
        self.misses = 0
        self.stored = 0
        self.write_failures = 0

    @classmethod
    def open(cls, directory: Path | None, *, kube_version: str, crd_files: Iterable[Path], require_schemas: bool) -> "LintCache | None":
        where = directory if directory is not None else default_dir()
        if where is None:
            return None
        return cls(Path(where), run_digest(kube_version, crd_files, require_schemas))

    def key(self, chart: Path) -> ChartKey | None:
        """The chart's key, or None when it must be linted every time."""
        signature = chart_signature(chart)
        if signature is None:
            return None
        resolved = chart.resolve()
        stats = hashlib.sha256(repr(signature).encode()).hexdigest()
        content = self._known_content(resolved, stats)
        if content is None:
            content = content_digest(chart, signature)
            if content is None:
                return None
            self._remember_content(resolved, signature, stats, content)
        # Findings show the chart relative to the working directory (engine.display_path), and Helm's
        # messages quote it as named: the key covers the path as named, where it resolves and the cwd.
        where = f"chart {chart}\nresolved {resolved}\ncwd {self.cwd}\n"
        return ChartKey(hashlib.sha256(f"{self.run}\n{where}content {content}\n".encode()).hexdigest(), signature)

    # The stat index: like git's index, a chart whose every entry has the same size, mtime, ctime and inode
    # as when its contents were last hashed is not read again. Trusted only for charts whose files had
    # all settled (ctime and mtime at least SETTLED_S old) when hashed: a later change sets the ctime to a
    # later time, which a recorded ctime cannot equal. A fresh checkout (CI) changes every ctime and
    # inode, so there every file is read.

    def _index_path(self, resolved: Path) -> Path:
        name = hashlib.sha256(f"index\0{resolved}".encode()).hexdigest()
        return self.root / name[:2] / f"{name}.stat.json"

    def _known_content(self, resolved: Path, stats: str) -> str | None:
        path = self._index_path(resolved)
        try:
            entry = json.loads(path.read_bytes())
            if entry.get("signature") != stats or not isinstance(entry.get("content"), str):
                return None
        except (OSError, ValueError, AttributeError, RecursionError):
            return None
        with _quiet():
            os.utime(path)
        return entry["content"]

    def _remember_content(self, resolved: Path, signature: tuple, stats: str, content: str) -> None:
        settled = time.time_ns() - int(SETTLED_S * 1e9)
        if any(max(mtime, ctime) > settled for kind, _, _, mtime, ctime, _ in signature if kind == "f"):
            return  # changed too recently to trust the stat (racy, as git calls it)
        data = json.dumps({"signature": stats, "content": content}, sort_keys=True).encode()
        self._write(self._index_path(resolved), data)

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.json"

    def get(self, key: ChartKey) -> list[Finding] | None:
        """The findings stored for ``key``, or None (absent, unreadable, corrupt: all a miss)."""
        path = self._path(key.key)
        try:
            entry = json.loads(path.read_bytes())
            if not isinstance(entry, dict) or entry.get("key") != key.key or not isinstance(entry.get("findings"), list):
                raise ValueError("not an entry")
            findings = [_valid_finding(item) for item in entry["findings"]]
            if any(f is None for f in findings):
                raise ValueError("a malformed finding")
        except (OSError, ValueError, RecursionError):
            self.misses += 1
            return None
        try:
            os.utime(path)  # used: kept by the pruning
        except OSError:
            pass
        self.hits += 1
        return findings  # type: ignore[return-value]

    def put(self, key: ChartKey, chart: Path, findings: list[Finding]) -> None:
        """Store ``findings`` of ``chart`` under ``key``, unless the chart changed while it was linted."""
        if chart_signature(chart) != key.signature:
            return
        data = json.dumps({"key": key.key, "findings": [_as_json(f) for f in findings]}, sort_keys=True).encode()
        if self._write(self._path(key.key), data):
            self.stored += 1

    def _write(self, path: Path, data: bytes) -> bool:
        if write_atomic(path, data):
            return True
        self.write_failures += 1
        return False

    def prune(self, now: float | None = None) -> int:
        """Remove entries unused for MAX_AGE_DAYS and stale temporary files, at most once a day; returns how many."""
        now = time.time() if now is None else now
        stamp = self.root / PRUNE_STAMP
        try:
            if now - stamp.stat().st_mtime < PRUNE_EVERY_S:
                return 0
        except OSError:
            pass
        removed = 0
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            stamp.touch()
            os.utime(stamp, (now, now))
            for folder in self.root.iterdir():
                if not folder.is_dir():
                    continue
                for entry in folder.iterdir():
                    with _quiet():
                        age = now - entry.stat().st_mtime
                        stale = age > MAX_AGE_DAYS * 86400 if entry.name.endswith(".json") else age > 3600
                        if stale and (entry.name.endswith(".json") or entry.name.startswith(TMP_PREFIX)):
                            entry.unlink()
                            removed += 1
        except OSError:
            pass
        return removed


def write_atomic(path: Path, data: bytes) -> bool:
    """A temporary file in the same folder, then os.replace. False (and no error) when it cannot."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=TMP_PREFIX, dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, path)
        except BaseException:
            with _quiet():
                os.unlink(tmp)
            raise
    except OSError:
        return False
    return True


class ConvertedCrds:
    """CRD documents as ``crds.py`` converts them (each served version's JSON Schema), kept in the lint cache.

    Parsing a large CRD's YAML and converting it takes most of a one-chart lint (the Argo CD
    ApplicationSet CRD alone: 0.4 s). An entry is keyed by the document's text and the lint code
    (``code_digest``), so a changed CRD or a changed converter is converted again; entries live
    beside the findings (``<key>.crd.json``), are written atomically and pruned the same way; one that
    cannot be read or is malformed is a miss. What cannot be stored as JSON exactly is not stored.
    """

    def __init__(self, directory: Path) -> None:
        self.root = Path(directory) / LAYOUT
        self.hits = 0

    def _path(self, text: str) -> Path:
        key = hashlib.sha256(f"crd\0{LAYOUT}\0{code_digest()}\0".encode() + text.encode("utf-8", "surrogatepass")).hexdigest()
        return self.root / key[:2] / f"{key}.crd.json"

    def get(self, text: str) -> list[dict] | None:
        path = self._path(text)
        try:
            rows = json.loads(path.read_bytes())
        except (OSError, ValueError, RecursionError):
            return None
        if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
            return None
        with _quiet():
            os.utime(path)
        self.hits += 1
        return rows

    def put(self, text: str, rows: list[dict]) -> None:
        try:
            data = json.dumps(rows, sort_keys=False, allow_nan=False)
            if json.loads(data) != rows:
                return  # e.g. a key that is not a string: JSON would not give it back as it is
        except (TypeError, ValueError, RecursionError):
            return  # dates in examples, NaN: not stored
        write_atomic(self._path(text), data.encode())


def _as_json(finding: Finding) -> dict:
    data = {f: getattr(finding, f) for f in _FIELDS}
    data["severity"] = finding.severity.value
    return data


class _quiet:
    def __enter__(self):
        return self

    def __exit__(self, kind, value, tb):
        return kind is not None and issubclass(kind, OSError)
