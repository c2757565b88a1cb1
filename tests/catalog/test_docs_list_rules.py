"""docs/validate.md names every rule of the validator's own registries (rules.py and environments.py)."""

from __future__ import annotations

from catalog_fixtures import REPO

from catalog_gen.catalog import environments, rules


def test_every_rule_code_is_in_the_docs():
    docs = (REPO / "docs" / "validate.md").read_text()
    own = [code for code, (_, fn) in rules.RULES.items() if fn.__module__ == rules.__name__]
    missing = [code for code in own + list(environments.CROSS_RULES) if f"`{code}`" not in docs]
    assert missing == []
