"""The `_defaults.yaml` cascade.

A `_defaults.yaml` in any catalog folder applies to every leaf beneath it.
Nearer files win; mappings merge deeply; lists (and scalars) are replaced
whole. Every merged value keeps the position it came from, so a finding about
a value inherited from a defaults file names that file and line.

Which folders count: from the leaf's folder upwards, stopping after the first
folder that is a repository root (holds `.git`) or is the working directory,
whichever comes first; so `catalog-gen validate catalog/dev/x.yaml` still sees
`catalog/_defaults.yaml`.

Each folder's merged defaults are built once (`Cascade`), so a thousand leaves
in ten folders read and merge each defaults file once, not once per leaf.
"""

from __future__ import annotations

import os
from pathlib import Path

from catalog_gen.catalog.load import Document, display_path, load_document
from catalog_gen.errors import Finding

DEFAULTS_NAME = "_defaults.yaml"


def defaults_chain(leaf: Path, cwd: Path) -> list[Path]:
    """Defaults files that apply to a leaf, farthest first."""
    return _chain_of_folder(leaf.resolve().parent, cwd.resolve())


def _chain_of_folder(folder: Path, cwd: Path) -> list[Path]:
    chain: list[Path] = []
    while True:
        candidate = folder / DEFAULTS_NAME
        if os.path.lexists(candidate) and not candidate.is_dir():  # a FIFO or a symlink out is a finding of load_document
            chain.append(candidate)
        if folder == cwd or (folder / ".git").exists() or folder.parent == folder:
            break
        folder = folder.parent
    chain.reverse()
    return chain


def merge(base: Document, top: Document) -> Document:
    """`top` over `base`: a new document whose positions say where each value came from.

    Positions merge as flat tables, nearer file first: a pointer the merged
    data holds takes its position from `top` when `top` has it, else from
    `base`, which is what a walk over the merged data would find. Entries of
    values `top` replaced wholesale may linger; nothing asks for a pointer the
    data does not have.
    """
    return Document(top.path, top.display, _merge(base.data, top.data),
                    {**base.values, **top.values}, {**base.keys, **top.keys})


def _merge(low, high):
    if isinstance(low, dict) and isinstance(high, dict):
        result = dict(low)
        for key, value in high.items():
            result[key] = _merge(low[key], value) if key in low else value
        return result
    return high


class Cascade:
    """The merged defaults of each folder, built once per folder; problems in defaults files reported once."""

    def __init__(self, cwd: Path) -> None:
        self.cwd = cwd.resolve()
        self.findings: list[Finding] = []
        self._files: dict[Path, Document | None] = {}
        self._folders: dict[Path, Document | None] = {}

    def apply(self, leaf: Document) -> Document:
        """The leaf over the defaults of its folder (the leaf itself when there are none)."""
        base = self.defaults_for(leaf.path.parent)
        return leaf if base is None else merge(base, leaf)

    def defaults_for(self, folder: Path) -> Document | None:
        if folder not in self._folders:
            merged: Document | None = None
            for path in _chain_of_folder(folder.resolve(), self.cwd):
                doc = self._load(path)
                if doc is not None:
                    merged = doc if merged is None else merge(merged, doc)
            self._folders[folder] = merged
        return self._folders[folder]

    def loaded(self) -> list[Document]:
        """Every defaults file read so far (that parsed), in path order."""
        return [doc for _, doc in sorted(self._files.items()) if doc is not None]

    def _load(self, path: Path) -> Document | None:
        if path not in self._files:
            doc, problems = load_document(path, display_path(path))
            self.findings.extend(problems)
            self._files[path] = doc
        return self._files[path]

