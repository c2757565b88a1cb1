"""The `_defaults.yaml` cascade.

A `_defaults.yaml` in any catalog folder applies to every leaf beneath it.
Nearer files win; mappings merge deeply; lists (and scalars) are replaced
whole. Every merged value keeps the position it came from, so a finding about
a value inherited from a defaults file names that file and line.

Which folders count: from the leaf's folder upwards, stopping after the first
folder that is a repository root (holds `.git`) or is the working directory,
whichever comes first; so `catalog-gen validate catalog/dev/x.yaml` still sees
`catalog/_defaults.yaml`.
"""

from __future__ import annotations

from pathlib import Path

from catalog_gen.catalog.load import Document, Pos, escape_pointer

DEFAULTS_NAME = "_defaults.yaml"


def defaults_chain(leaf: Path, cwd: Path) -> list[Path]:
    """Defaults files that apply to a leaf, farthest first."""
    chain: list[Path] = []
    folder = leaf.resolve().parent
    cwd = cwd.resolve()
    while True:
        candidate = folder / DEFAULTS_NAME
        if candidate.is_file():
            chain.append(candidate)
        if folder == cwd or (folder / ".git").exists() or folder.parent == folder:
            break
        folder = folder.parent
    chain.reverse()
    return chain


def merge(base: Document, top: Document) -> Document:
    """`top` over `base`: a new document whose positions say where each value came from."""
    data = _merge(base.data, top.data)
    values: dict[str, Pos] = {}
    keys: dict[str, Pos] = {}
    _positions(data, "", base, top, values, keys)
    return Document(top.path, top.display, data, values, keys)


def _merge(low, high):
    if isinstance(low, dict) and isinstance(high, dict):
        result = dict(low)
        for key, value in high.items():
            result[key] = _merge(low[key], value) if key in low else value
        return result
    return high


def _positions(value, pointer: str, base: Document, top: Document, values: dict[str, Pos], keys: dict[str, Pos]) -> None:
    """One walk over the merged data: each pointer takes the nearer file's position."""
    pos = top.values.get(pointer) or base.values.get(pointer)
    if pos:
        values[pointer] = pos
    key_pos = top.keys.get(pointer) or base.keys.get(pointer)
    if key_pos:
        keys[pointer] = key_pos
    if isinstance(value, dict):
        for key, child in value.items():
            _positions(child, f"{pointer}/{escape_pointer(key)}", base, top, values, keys)
    elif isinstance(value, list):
        for index, child in enumerate(value):
            _positions(child, f"{pointer}/{index}", base, top, values, keys)
