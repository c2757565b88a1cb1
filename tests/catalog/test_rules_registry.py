"""Meta-test of the rule registry: every rule has a fixture that fires it and a leaf where it stays quiet."""

from __future__ import annotations

import pytest
from catalog_fixtures import FIXTURES, REPO
from expectations import EXPECTED

from catalog_gen.catalog import rules, schema
from catalog_gen.catalog.load import load_document

SEED = REPO / "catalog" / "dev" / "ollama-phi.yaml"
EXAMPLES = sorted(p for p in (REPO / "catalog").rglob("*.yaml") if not p.name.startswith("_"))


def run_rule(code: str, path):
    doc, problems = load_document(path, path.name)
    assert problems == []
    view = rules.LeafView(doc, schema.load("OLLAMA_INFERENCE_LOAD"))
    _, fn = rules.RULES[code]
    return list(fn(view))


@pytest.mark.parametrize("code", sorted(rules.RULES))
def test_rule_has_a_fixture_that_fires_it(code):
    fixtures = [e for e in EXPECTED if e.code == code]
    assert fixtures, f"no fixture in expectations.py fires {code}"
    for expect in fixtures:
        found = run_rule(code, FIXTURES / expect.fixture)
        assert [(f.code, f.line, f.column) for f in found] == [(code, expect.line, expect.column)]


@pytest.mark.parametrize("code", sorted(rules.RULES))
@pytest.mark.parametrize("leaf", [SEED, *EXAMPLES], ids=lambda p: p.name)
def test_rule_is_quiet_on_good_leaves(code, leaf):
    """The seed and the example leaves (read without their defaults) trip no rule."""
    assert run_rule(code, leaf) == []


def test_registry_entries_are_documented():
    assert rules.RULES
    for code, (description, fn) in rules.RULES.items():
        assert code.startswith("leaf."), code
        assert description.endswith("."), f"{code}: the description is a sentence"
        assert callable(fn)
