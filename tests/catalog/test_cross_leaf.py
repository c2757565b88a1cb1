"""Rules across leaves: one finding per clash, on the later file, naming the earlier one; broken leaves stay out."""

from __future__ import annotations

from catalog_fixtures import FIXTURES

TWICE = FIXTURES / "same_service_twice"


def test_the_later_file_gets_the_finding_whatever_the_argument_order(validate_in):
    forward = validate_in(TWICE, "a.yaml", "b.yaml").findings
    backward = validate_in(TWICE, "b.yaml", "a.yaml").findings
    assert forward == backward
    assert [(f.file, f.code) for f in forward] == [("b.yaml", "catalog.duplicate-service")]
    assert "also defined in a.yaml" in forward[0].message


def test_a_leaf_with_errors_takes_no_part(validate_in, tmp_path):
    good = (FIXTURES / "host_claimed_twice" / "a.yaml").read_text()
    (tmp_path / "a.yaml").write_text(good)
    (tmp_path / "b.yaml").write_text(good.replace("namespace: ml-workloads", "namespace: ml-workloads\nbogus: 1"))
    findings = validate_in(tmp_path).findings
    assert [(f.file, f.code) for f in findings] == [("b.yaml", "schema.unknown-key")]


def test_hosts_claim_per_environment(validate_in):
    assert validate_in(FIXTURES / "same_host_in_other_environment").findings == []
    host = validate_in(FIXTURES / "host_claimed_twice").findings[0]
    assert "already claimed in 'prod' by 'chat' (a.yaml)" in host.message


def test_output_path_clash_names_the_chart_folder(validate_in):
    (finding,) = validate_in(FIXTURES / "same_output_path").findings
    assert "charts/dev/chat" in finding.message and "a.yaml" in finding.message


def test_a_leaf_with_only_semantic_errors_still_takes_part(validate_in, tmp_path):
    """Every problem in one run: a leaf's own error does not hide that it collides with another leaf."""
    good = (FIXTURES / "host_claimed_twice" / "a.yaml").read_text()
    (tmp_path / "a.yaml").write_text(good)
    (tmp_path / "b.yaml").write_text(good.replace("serviceName: chat", "serviceName: other") + "ollama:\n  version: latest\n")
    result = validate_in(tmp_path)
    assert sorted((f.file, f.code) for f in result.findings) == [("b.yaml", "catalog.duplicate-host"), ("b.yaml", "leaf.image-tag")]
    assert [leaf.doc.display for leaf in result.leaves] == ["a.yaml"]  # only leaves without errors are rendered
