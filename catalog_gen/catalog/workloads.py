"""The registry of workload types: what a leaf's `workloadType` may name and, for each, its schema, model and templates.

One entry today (Ollama). A second runtime (vLLM, say) is one more entry here plus its
leaf model, committed schema and chart templates; validate, schema, explain, render and
the registry commands look the type up here instead of naming Ollama themselves.
Nothing here imports pydantic: validation reads the committed schema, and the leaf
model is imported only by the commands that need it.
"""

from __future__ import annotations

import dataclasses
import importlib

from catalog_gen.errors import UsageError


@dataclasses.dataclass(frozen=True)
class WorkloadType:
    name: str  # the value of `workloadType`
    schema_file: str  # under schemas/
    templates: str  # the chart's folder under templates/
    model_path: str  # "module:Class" of the pydantic leaf model

    def model(self):
        module, _, name = self.model_path.partition(":")
        return getattr(importlib.import_module(module), name)


OLLAMA = WorkloadType(
    name="OLLAMA_INFERENCE_LOAD",
    schema_file="ollama-inference-load.schema.json",
    templates="ollama-inference-load",
    model_path="catalog_gen.catalog.model:OllamaInferenceLoad",
)
WORKLOAD_TYPES: dict[str, WorkloadType] = {w.name: w for w in (OLLAMA,)}
DEFAULT = OLLAMA  # what `catalog-gen schema`, `explain` and `new` describe when not told


def get(name: str) -> WorkloadType:
    if name not in WORKLOAD_TYPES:
        raise UsageError(f"unknown workload type {name!r}", hint=f"known: {', '.join(sorted(WORKLOAD_TYPES))}")
    return WORKLOAD_TYPES[name]
