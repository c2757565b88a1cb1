"""The example catalog validates; the seed leaf is the seed; the committed schema is the model's, fully described."""

from __future__ import annotations

import json
import re

import pytest
from catalog_fixtures import REPO

from catalog_gen.catalog import schema
from catalog_gen.catalog import workloads

CATALOG = REPO / "catalog"
LEAVES = sorted(p.relative_to(CATALOG) for p in CATALOG.rglob("*.yaml") if not p.name.startswith("_"))


def seed_leaf_text() -> str:
    """The YAML block under "Catalog Leaf Example" in the 003 seed notes."""
    (notes,) = (REPO.parent / "shared" / "seeds").glob("003_*.txt")
    match = re.search(r"## Catalog Leaf Example\s+```yaml\n(.*?)```", notes.read_text(encoding="utf-8"), re.S)
    assert match, "the seed notes hold a yaml block"
    return match.group(1)


def test_seed_leaf_is_byte_identical_to_the_seed():
    assert (CATALOG / "dev" / "ollama-phi.yaml").read_bytes() == seed_leaf_text().encode("utf-8")


def test_example_catalog_validates_clean(validate_in):
    result = validate_in(REPO, "catalog")
    assert result.findings == []
    assert sorted(leaf.doc.path.relative_to("catalog") for leaf in result.leaves) == LEAVES


def test_seed_leaf_validates_alone(validate_in):
    result = validate_in(REPO, "catalog/dev/ollama-phi.yaml")
    assert result.findings == [] and len(result.leaves) == 1


def test_example_catalog_has_what_the_issue_asks_for(validate_in):
    leaves = {leaf.data["serviceName"]: leaf.data for leaf in validate_in(REPO, "catalog").leaves}
    assert len(leaves) >= 7  # the seed and at least six more
    assert any(len(d.get("models") or []) > 1 and any("digest" in m for m in d["models"]) for d in leaves.values())
    modes = {d["cache"]["mode"] for d in leaves.values() if "cache" in d}
    assert {"pvc", "shared"} <= modes
    assert any(d["gpu"].get("vendor") == "none" for d in leaves.values())
    assert any(d["gpu"]["count"] >= 2 and "70b" in json.dumps(d) for d in leaves.values())
    assert any("apiKeySecret" in d.get("router", {}) for d in leaves.values())
    assert any(d["environment"] == "prod" and d["ingress"].get("tls", {}).get("enabled") for d in leaves.values())


@pytest.mark.parametrize("leaf", LEAVES, ids=str)
def test_example_leaf_builds_the_pydantic_model(validate_in, leaf):
    """What the JSON Schema accepts, the model accepts too (validated leaves are built into it later)."""
    (validated,) = validate_in(REPO, str(CATALOG / leaf)).leaves
    model = workloads.get(validated.workload_type).model().model_validate(validated.data)
    assert model.service_name == validated.data["serviceName"]


@pytest.mark.parametrize("workload_type", schema.known_workload_types())
def test_committed_schema_matches_the_model(workload_type):
    committed = schema.schema_path(workload_type).read_text(encoding="utf-8")
    assert committed == schema.schema_text(workload_type, schema.generate(workload_type)), (
        "schemas/ drifted from model.py: run `catalog-gen schema --write`"
    )


def property_schemas(root: dict):
    """(path, schema) of every property in the schema: through $ref, anyOf branches, list items and map values."""
    seen: set[int] = set()

    def shapes(node: dict):
        node = schema.resolve_ref(root, node)
        yield node
        for branch in node.get("anyOf", []):
            yield from shapes(branch)
        for key in ("items", "additionalProperties"):
            if isinstance(node.get(key), dict):
                yield from shapes(node[key])

    def walk(node: dict, path: str):
        for shape in shapes(node):
            if id(shape) in seen:
                continue
            seen.add(id(shape))
            for name, prop in shape.get("properties", {}).items():
                yield f"{path}.{name}".lstrip("."), prop
                yield from walk(prop, f"{path}.{name}")

    yield from walk(root, "")


@pytest.mark.parametrize("workload_type", schema.known_workload_types())
def test_every_property_has_a_description(workload_type):
    root = schema.load(workload_type)
    props = list(property_schemas(root))
    assert len(props) > 100
    assert "models.modelfile.from" in [path for path, _ in props]
    missing = [path for path, prop in props if not (prop.get("description") or schema.resolve_ref(root, prop).get("description"))]
    assert missing == []


@pytest.mark.parametrize("workload_type", schema.known_workload_types())
def test_schema_is_draft_2020_12_with_an_id(workload_type):
    root = schema.load(workload_type)
    assert root["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert root["$id"].endswith(schema.SCHEMA_FILES[workload_type])
    assert root["properties"]["workloadType"]["const"] == workload_type
