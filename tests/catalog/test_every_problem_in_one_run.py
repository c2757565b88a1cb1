"""Every problem of every file in one run: a schema error does not hide the semantic findings of the same leaf."""

from __future__ import annotations

HEAD = ("workloadType: OLLAMA_INFERENCE_LOAD\nserviceName: svc\nserviceCatalog: ml-inference\nnamespace: ml-workloads\n"
        "environment: dev\nmodel: llama3.2:1b\n")


def codes(result):
    return [(f.code, f.line) for f in result.findings]


def test_a_schema_error_and_a_rule_elsewhere_are_both_reported(validate_in, tmp_path):
    (tmp_path / "leaf.yaml").write_text(HEAD + "gpu:\n  vendor: nvidai\nollama:\n  version: latest\n")
    result = validate_in(tmp_path)
    assert codes(result) == [("schema.enum", 8), ("leaf.image-tag", 10)]
    assert result.leaves == []


def test_an_unknown_key_does_not_hide_a_rule(validate_in, tmp_path):
    (tmp_path / "leaf.yaml").write_text(HEAD + "colour: blue\nnamespace_: x\ncache:\n  existingClaim: models\n")
    assert codes(validate_in(tmp_path)) == [("schema.unknown-key", 7), ("schema.unknown-key", 8), ("leaf.cache", 10)]


def test_rules_in_the_section_of_a_schema_error_stay_quiet(validate_in, tmp_path):
    """gpu.count "2" (a string) taken out leaves count 0: `product without count` would be a false finding."""
    (tmp_path / "leaf.yaml").write_text(HEAD + "gpu:\n  count: \"2\"\n  product: NVIDIA-L4\n")
    assert codes(validate_in(tmp_path)) == [("schema.type", 8)]


def test_sizing_stays_quiet_on_a_leaf_with_schema_errors(validate_in, tmp_path):
    """With a value taken out the service would be sized on defaults: no sizing finding from a guess."""
    (tmp_path / "leaf.yaml").write_text(HEAD.replace("llama3.2:1b", "llama3.1:70b")
                                        + "gpu:\n  count: x\ncontainer:\n  resources:\n    limits:\n      memory: 2Gi\n")
    assert codes(validate_in(tmp_path)) == [("schema.type", 8)]


def test_a_missing_required_key_stops_at_the_schema(validate_in, tmp_path):
    (tmp_path / "leaf.yaml").write_text(HEAD.replace("namespace: ml-workloads\n", "") + "ollama:\n  version: latest\n")
    assert [c for c, _ in codes(validate_in(tmp_path))] == ["schema.required"]
