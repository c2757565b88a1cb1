"""Leaves generated from the committed leaf JSON Schema (hypothesis-jsonschema), made likely to validate.

The schema is used as it is, with two narrowings that keep the generated leaves
useful rather than rejected: model names come from a list the planner can size
(a random name has no size, and validate rightly refuses it), and either `model`
or `models` is present (one of them is required). Everything else (names,
labels, quantities, hosts, ports, durations, nested settings) is whatever the
schema allows: that is the point of the test.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema

REPO = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((REPO / "schemas" / "ollama-inference-load.schema.json").read_text())
SIZABLE_MODELS = ["phi:latest", "llama3.2:1b", "qwen2.5:0.5b", "llama3.1:8b", "mistral:7b", "nomic-embed-text:v1.5",
                  "team/custom:1-8b", "registry.internal:5000/team/coder:1.2-3b"]


def _narrowed(shorthand: bool) -> dict:
    schema = copy.deepcopy(SCHEMA)
    props = schema["properties"]
    if shorthand:
        props.pop("models")
        props["model"] = {"enum": SIZABLE_MODELS}
        schema["required"] = [*schema["required"], "model"]
    else:
        props.pop("model")
        spec = schema["$defs"]["ModelSpec"]
        spec["properties"]["name"] = {"enum": SIZABLE_MODELS}
        spec["properties"].pop("modelfile", None)  # custom models: a base that must be listed too; see the fixtures
        spec["properties"].pop("size", None)
        props["models"] = {"type": "array", "items": {"$ref": "#/$defs/ModelSpec"}, "minItems": 1, "maxItems": 2,
                           "uniqueItems": True}
        schema["required"] = [*schema["required"], "models"]
    return schema


def leaves() -> st.SearchStrategy[dict]:
    return st.one_of(from_schema(_narrowed(True)), from_schema(_narrowed(False)))
