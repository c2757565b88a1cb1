"""Skip re-rendering charts that cannot have changed.

A chart is a pure function of its resolved leaf, the leaf's path as shown in
the chart, and the generator (its code and templates). Each chart carries a
manifest, `.catalog-gen-manifest.json`, with the fingerprint of those inputs
and the sha256 of every file it holds. When the fingerprint matches and every
file on disk still has its recorded digest (no file added, none missing),
rendering would produce the same bytes, so `render` and `render --check` move
on without planning or rendering it. Any doubt (no manifest, another
generator, a hand-edited file) falls back to rendering and comparing bytes,
which also names the files that differ.

The generator's digest covers the code that renders (the package's top-level
modules and its catalog, plan and render subpackages) and every file under
templates/, so a code change in a development checkout invalidates the
manifests too, not only a version bump. A chart whose files are identical but
for its manifest is not drift (`--check` passes); `render` refreshes the
manifest so the next run can skip the chart again.
"""

from __future__ import annotations

import hashlib
import json
import os
from functools import lru_cache
from pathlib import Path

from catalog_gen import __version__
from catalog_gen.fsutil import read_plain

MANIFEST = ".catalog-gen-manifest.json"
MAX_MANIFEST = 16 << 20
MAX_FILE = 64 << 20
# What charts are made by: these subpackages (and the package's top-level modules), not the
# router, smoke or lint code, whose changes cannot change a chart.
RENDERING_PACKAGES = ("catalog", "plan", "render")
_PACKAGE = Path(__file__).resolve().parent.parent


def _files(root: Path, suffix: str):
    """Files under root ending in suffix, in a stable order (symlinked folders are not entered)."""
    for folder, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(names):
            if name.endswith(suffix):
                yield Path(folder, name)


@lru_cache(maxsize=1)
def generator_digest() -> str:
    digest = hashlib.sha256(__version__.encode())
    templates = (_PACKAGE / "templates").resolve()  # a symlink to the repository's templates/ in a checkout
    sources = [(_PACKAGE, path) for path in sorted(_PACKAGE.glob("*.py"))]
    sources += [(_PACKAGE, path) for package in RENDERING_PACKAGES for path in _files(_PACKAGE / package, ".py")]
    sources += [(templates, path) for path in _files(templates, "")]
    for root, path in sources:
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def inputs(data: dict, source: str) -> str:
    """Fingerprint of what a chart is made from."""
    text = json.dumps([generator_digest(), source, data], sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def manifest(fingerprint: str, files: dict[str, bytes]) -> bytes:
    """The manifest file for a chart's files (deterministic)."""
    doc = {
        "fingerprint": fingerprint,
        "files": {name: hashlib.sha256(data).hexdigest() for name, data in sorted(files.items())},
        "note": "written by catalog-gen render; lets it skip charts whose inputs and files are unchanged",
    }
    return (json.dumps(doc, indent=1, sort_keys=True) + "\n").encode()


def unchanged(root: str, fingerprint: str, present: list[str]) -> bool:
    """True when the chart at `root` (whose files are `present`) was rendered from the same inputs and not edited since."""
    if MANIFEST not in present:
        return False
    try:
        raw = read_plain(os.path.join(root, MANIFEST), MAX_MANIFEST)
        doc = json.loads(raw if raw is not None else b"")
        recorded = doc["files"]
        if doc["fingerprint"] != fingerprint or set(recorded) != set(present) - {MANIFEST}:
            return False
        for name, expected in recorded.items():
            data = read_plain(os.path.join(root, name), MAX_FILE)  # regular files only: a FIFO or symlink is a change
            if data is None or hashlib.sha256(data).hexdigest() != expected:
                return False
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return False
    return True
