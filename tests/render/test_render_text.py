"""The writers behind the generated text: exact round trips, and shortcuts that change nothing.

yamltext writes catalog-info.yaml (and the scalars of values.yaml); values.schema.json and
the dashboard JSON are cached per process because pretty-printing is the costly part of a
chart. These tests pin what the shortcuts must not change.
"""

from __future__ import annotations

import copy
import json

import jsonschema_rs
import render_helpers as h
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from catalog_gen.catalog.model import OllamaInferenceLoad
from catalog_gen.render import dashboard, yamltext
from catalog_gen.render.run import plan_leaves
from catalog_gen.render.values import values_schema, values_yaml

TEXT = (st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30)
        | st.text(alphabet=" \n\t:#|>-'\"{}[]&*!%@`\u2028\u2029\x85\x7f\ufeffab", max_size=30))
SCALAR = st.none() | st.booleans() | st.integers() | TEXT
DOC = st.recursive(st.dictionaries(TEXT, SCALAR, max_size=4),
                   lambda inner: st.dictionaries(TEXT, inner, max_size=3) | st.lists(inner, max_size=3), max_leaves=15)


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(TEXT, DOC | SCALAR, min_size=1, max_size=4))
def test_yamltext_reads_back_exactly(doc):
    assert yaml.safe_load(yamltext.dump(doc)) == doc


def test_yamltext_writes_multi_line_text_as_literal_blocks():
    text = yamltext.dump({"definition": "openapi: 3.0.3\ninfo:\n  title: x\n", "raw": "a\n\tb"})
    assert text.startswith("definition: |\n  openapi: 3.0.3\n  info:\n    title: x\n")
    assert 'raw: "a\\n\\tb"' in text  # a tab at the start of a line cannot be a literal block line


def test_values_yaml_strings_are_escaped_for_yaml_line_breaks():
    value = "a\u0085b\u2028c\u2029d\x7fe\ufefff"
    text = values_yaml({"x": value}, {}, "header")
    assert "\u0085" not in text and "\u2028" not in text
    assert yaml.safe_load(text) == {"x": value}


def test_dashboard_json_is_plain_json_dumps():
    for data in h.ZOO.values():
        leaf = OllamaInferenceLoad.model_validate(data)
        assert dashboard.dashboard_json(leaf) == json.dumps(dashboard.dashboard(leaf), indent=2, ensure_ascii=False) + "\n"


def test_values_schema_follows_its_values_and_docs():
    (plan,), _ = plan_leaves([h.CATALOG / "prod" / "secure-chat.yaml"])
    text = values_schema(plan.values, plan.docs)
    schema = json.loads(text)
    assert text == json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    validator = jsonschema_rs.validator_for(schema)
    assert validator.is_valid(plan.values)
    broken = copy.deepcopy(plan.values)
    broken["replicaCount"] = "many"
    assert not validator.is_valid(broken)
    # a different doc or a different shape is a different schema, never a cached one
    docs = {**plan.docs, "replicaCount": "Another description."}
    assert json.loads(values_schema(plan.values, docs))["properties"]["replicaCount"]["description"] == "Another description."
    assert values_schema(plan.values, plan.docs) == text
    extra = copy.deepcopy(plan.values)
    extra["service"]["port"] = "80"
    assert json.loads(values_schema(extra, plan.docs))["properties"]["service"]["properties"]["port"]["type"] == "string"
