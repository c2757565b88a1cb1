"""Each quantity field has its own unit, range and example: the example `explain` shows is within the range."""

from __future__ import annotations

import pytest

from catalog_gen.catalog import explain
from catalog_gen.quantity import RANGES, parse_quantity

FIELDS = {"cpu": "container.resources.requests.cpu", "memory": "container.resources.limits.memory",
          "ephemeral-storage": "container.resources.limits.ephemeral-storage", "vram": "gpu.vram", "size": "cache.size",
          "maxBodySize": "router.maxBodySize"}


@pytest.mark.parametrize("spec", RANGES, ids=lambda r: ".".join(r.path))
def test_the_explained_example_is_within_the_fields_range(spec):
    text = explain.explain_text(FIELDS[spec.path[-1]])
    example = text.rstrip().splitlines()[-1].split(":", 1)[1].strip()
    assert spec.low <= parse_quantity(example) <= spec.high, (spec.path, example)
    if spec.unit == "bytes":
        assert not example.endswith("m"), "a byte field's example is never thousandths"


def test_each_range_knows_its_words():
    memory = next(r for r in RANGES if r.path[-1] == "memory")
    assert memory.words(parse_quantity("500m")) == "0.5 byte(s)"
    assert memory.words(parse_quantity("8Gi")) == "8 GiB"
    cpu = next(r for r in RANGES if r.path[-1] == "cpu")
    assert cpu.words(parse_quantity("500m")) == "0.5 core(s)"
