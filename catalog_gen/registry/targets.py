"""The models of the given leaves, each with the file and place it is written, and the registry pods pull it from.

A model written in a `_defaults.yaml` is found there (lists are replaced whole by the cascade,
so the nearest file with `model`/`models` wrote all of them). A custom (Modelfile) model is
created in the pod, so its *base* is what gets pinned and mirrored (`modelfile.fromDigest`).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from catalog_gen.catalog import workloads
from catalog_gen.catalog.model import OllamaInferenceLoad
from catalog_gen.catalog.validate import Leaf
from catalog_gen.registry.names import ModelRef, parse


@dataclasses.dataclass(frozen=True)
class Target:
    """One pinnable model at one place in one file."""

    file: Path  # the file that writes it (a leaf or a _defaults.yaml)
    display: str  # that file as shown to users
    where: tuple  # ("models", i) | ("models", i, "modelfile") | ("model",)
    name: str  # the model name as the leaf writes it
    pinned: str | None  # the digest the file holds now
    source: ModelRef  # where the model comes from (its own registry)
    source_insecure: bool
    pull: ModelRef  # what the pods pull: the mirror's name when there is a mirror
    pull_insecure: bool
    at: tuple[int, int] = (0, 0)  # 1-based line and column of its digest (of its name while it has none)
    leaves: tuple[str, ...] = ()  # leaves that use it (display paths)

    @property
    def pointer(self) -> str:
        if self.where == ("model",):
            return "/model"
        return f"/models/{self.where[1]}" + ("/modelfile/fromDigest" if len(self.where) == 3 else "/digest")


def pull_ref(source: ModelRef, insecure: bool, leaf: OllamaInferenceLoad) -> tuple[ModelRef, bool]:
    """The reference pods pull, and whether over plain HTTP: the mirror replaces every host."""
    if leaf.registry.mirror:
        return source.with_host(leaf.registry.mirror), leaf.registry.insecure
    return source, insecure


def leaf_targets(leaf: Leaf, model: OllamaInferenceLoad) -> list[Target]:
    key = "/models" if model.models is not None else "/model"
    pos = leaf.doc.where(key, key=True)
    file = Path(pos.file)
    out: list[Target] = []

    def add(where: tuple, name: str, pinned: str | None, insecure: bool) -> None:
        source = parse(name)
        pull, pull_insecure = pull_ref(source, insecure, model)
        if where == ("model",):
            pointer = "/model"
        else:
            base = f"/models/{where[1]}" + ("/modelfile" if len(where) == 3 else "")
            pointer = base + ("/" + ("fromDigest" if len(where) == 3 else "digest") if pinned else ("/from" if len(where) == 3 else "/name"))
        at = leaf.doc.where(pointer, key=True)
        out.append(Target(file, pos.file, where, name, pinned, source, insecure, pull, pull_insecure, (at.line, at.column),
                          (leaf.doc.display,)))

    if model.models is None:
        add(("model",), model.model, None, False)
        return out
    for i, spec in enumerate(model.models):
        if spec.modelfile is not None:
            add(("models", i, "modelfile"), spec.modelfile.from_, spec.modelfile.from_digest, spec.insecure)
        else:
            add(("models", i), spec.name, spec.digest, spec.insecure)
    return out


def collect(leaves: list[Leaf]) -> list[Target]:
    """Targets of every leaf; one per (file, place, pull registry), listing the leaves that share it."""
    merged: dict[tuple, Target] = {}
    for leaf in leaves:
        if leaf.workload_type != workloads.OLLAMA.name:
            continue
        model = OllamaInferenceLoad.model_validate(leaf.data)
        for t in leaf_targets(leaf, model):
            k = (str(t.file), t.where, t.pull, t.pull_insecure)
            if k in merged:
                merged[k] = dataclasses.replace(merged[k], leaves=merged[k].leaves + t.leaves)
            else:
                merged[k] = t
    return sorted(merged.values(), key=lambda t: (t.display, t.where))
