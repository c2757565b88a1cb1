"""Leaves, doubles and runs shared by the smoke tests."""

from __future__ import annotations

from catalog_gen.catalog.model import OllamaInferenceLoad
from catalog_gen.smoke.results import SmokeReport, Status
from catalog_gen.smoke.runner import Options, run
from catalog_gen.testing.ollama_double import DoubleModel, Knobs, OllamaDouble

TEXT = "llama3.1:8b"
EMBED = "nomic-embed-text:v1.5"


def leaf_data(**overrides) -> dict:
    data = {
        "workloadType": "OLLAMA_INFERENCE_LOAD",
        "serviceName": "chat",
        "serviceCatalog": "ml-inference",
        "namespace": "ml",
        "environment": "dev",
        "models": [{"name": TEXT}, {"name": EMBED, "kind": "embedding"}],
        "router": {"enabled": False},
        "smoke": {"concurrency": 4, "timeoutSeconds": 5, "warmupSeconds": 1},
    }
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    return data


def make_leaf(**overrides) -> OllamaInferenceLoad:
    return OllamaInferenceLoad.model_validate(leaf_data(**overrides))


def make_double(**knobs) -> OllamaDouble:
    return OllamaDouble(
        [
            DoubleModel(TEXT, capabilities=("completion", "tools")),
            DoubleModel(EMBED, family="nomic-bert", parameter_size="137M", capabilities=("embedding",)),
        ],
        Knobs(**{"num_parallel": 4, **knobs}),
    )


def smoke(leaf: OllamaInferenceLoad, url: str, **options) -> SmokeReport:
    return run(leaf, "catalog/dev/chat.yaml", Options(url, **options))


def statuses(report: SmokeReport) -> dict[str, Status]:
    return {r.name: r.status for r in report.results}


def result(report: SmokeReport, name: str):
    return next(r for r in report.results if r.name == name)


def not_passed(report: SmokeReport) -> dict[str, Status]:
    return {name: status for name, status in statuses(report).items() if status is not Status.PASSED}
