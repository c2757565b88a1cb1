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


@pytest.mark.parametrize("text, value", [("512Ki", 512 * 1024), (".5Ki", 512), ("4Gi", 4 * 2**30), ("1.5Mi", 1.5 * 2**20),
                                         ("500m", 0.5), ("2k", 2000), ("1e3", 1000), ("16M", 16 * 10**6)])
def test_every_suffix_parses(text, value):
    """Found by the property test: `Ki` (capital K) did not parse, so `cache.size: .0Ki` was an internal error."""
    assert parse_quantity(text) == pytest.approx(value)


def test_a_zero_kibibyte_cache_is_a_finding_not_an_internal_error(validate_in, tmp_path):
    (tmp_path / "leaf.yaml").write_text("workloadType: OLLAMA_INFERENCE_LOAD\nserviceName: a0\nserviceCatalog: ml\nnamespace: ml\n"
                                        "environment: dev\nmodel: mistral:7b\ncache:\n  size: .0Ki\n")
    assert [f.code for f in validate_in(tmp_path).findings] == ["leaf.quantity"]  # sizing says no more about it


@pytest.mark.parametrize("size, message", [(".9538338E+891613094296", "too large to be a quantity"),
                                           ("1e40", "too large to be a quantity"), ("1e20", "it must be at most 1 PiB")])
def test_an_astronomical_quantity_is_a_finding_not_an_overflow(validate_in, tmp_path, size, message):
    """Found by the slow property run: Decimal overflowed on an exponent the quantity pattern allows."""
    (tmp_path / "leaf.yaml").write_text("workloadType: OLLAMA_INFERENCE_LOAD\nserviceName: a0\nserviceCatalog: ml\nnamespace: ml\n"
                                        f"environment: dev\nmodel: mistral:7b\ncache:\n  size: '{size}'\n")
    [finding] = validate_in(tmp_path).findings
    assert finding.code == "leaf.quantity" and message in finding.message


def test_an_astronomical_request_next_to_a_limit_is_one_finding(validate_in, tmp_path):
    (tmp_path / "leaf.yaml").write_text("workloadType: OLLAMA_INFERENCE_LOAD\nserviceName: a0\nserviceCatalog: ml\nnamespace: ml\n"
                                        "environment: dev\nmodel: mistral:7b\ncontainer:\n  resources:\n    requests:\n"
                                        "      cpu: '1e99'\n    limits:\n      cpu: '2'\n")
    assert [f.code for f in validate_in(tmp_path).findings] == ["leaf.quantity"]
