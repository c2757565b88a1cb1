"""The `_defaults.yaml` cascade: nearer files win, mappings merge deeply, lists are replaced, provenance kept."""

from __future__ import annotations

from pathlib import Path

from catalog_fixtures import FIXTURES

CASCADE = FIXTURES / "defaults_cascade"
LEAF = "team/models/leaf.yaml"


def cascade_leaf(validate_in):
    result = validate_in(CASCADE)
    assert result.findings == []
    (leaf,) = result.leaves
    return leaf.doc


def test_nearer_defaults_win(validate_in):
    doc = cascade_leaf(validate_in)
    assert doc.data["ownership"]["owner"] == "group:chat-team"  # team/_defaults.yaml over _defaults.yaml
    assert doc.data["namespace"] == "team-chat"


def test_mappings_merge_deeply(validate_in):
    doc = cascade_leaf(validate_in)
    assert doc.data["ownership"] == {"owner": "group:chat-team", "system": "llm-inference"}
    assert doc.data["smoke"]["objectives"] == {"ttftMs": 500, "e2eMs": 20000}  # leaf, then team, then root
    assert doc.data["ingress"] == {"enabled": True, "paths": ["/chat"], "host": "chat.example.com"}


def test_lists_are_replaced_not_merged(validate_in):
    doc = cascade_leaf(validate_in)
    assert doc.data["ingress"]["paths"] == ["/chat"]


def test_each_value_remembers_its_file_and_line(validate_in):
    doc = cascade_leaf(validate_in)

    def where(pointer):
        pos = doc.where(pointer)
        return pos.file, pos.line, pos.column

    assert where("/ownership/system") == ("_defaults.yaml", 5, 11)
    assert where("/ownership/owner") == ("team/_defaults.yaml", 4, 10)
    assert where("/ingress/paths/0") == ("team/_defaults.yaml", 6, 11)
    assert where("/ingress/enabled") == ("_defaults.yaml", 7, 12)
    assert where("/smoke/objectives/ttftMs") == (LEAF, 10, 13)
    assert where("/smoke/objectives/e2eMs") == ("team/_defaults.yaml", 9, 12)
    assert where("/serviceCatalog") == ("_defaults.yaml", 2, 17)


def test_inherited_problem_is_reported_once_at_the_defaults_file(validate_in, tmp_path):
    (tmp_path / "_defaults.yaml").write_text("gpu:\n  vendor: nvida\n")
    for name in ("a", "b", "c"):
        (tmp_path / f"{name}.yaml").write_text(
            f"workloadType: OLLAMA_INFERENCE_LOAD\nserviceName: {name}\nserviceCatalog: ml\nnamespace: ns\nenvironment: dev\nmodel: phi\n"
        )
    result = validate_in(tmp_path)
    assert [(f.file, f.code, f.line, f.column) for f in result.findings] == [("_defaults.yaml", "schema.enum", 2, 11)]
    assert result.files_checked == 3


def test_broken_defaults_file_is_reported_once(validate_in, tmp_path):
    (tmp_path / "_defaults.yaml").write_text("gpu: [\n")
    for name in ("a", "b"):
        (tmp_path / f"{name}.yaml").write_text(
            f"workloadType: OLLAMA_INFERENCE_LOAD\nserviceName: {name}\nserviceCatalog: ml\nnamespace: ns\nenvironment: dev\nmodel: phi\n"
        )
    result = validate_in(tmp_path)
    assert [(f.file, f.code) for f in result.findings] == [("_defaults.yaml", "yaml.syntax")]


def test_defaults_above_the_working_directory_do_not_apply(validate_in, tmp_path):
    (tmp_path / "_defaults.yaml").write_text("gpu:\n  vendor: nvida\n")
    work = tmp_path / "work"
    work.mkdir()
    (work / "leaf.yaml").write_text(
        "workloadType: OLLAMA_INFERENCE_LOAD\nserviceName: a\nserviceCatalog: ml\nnamespace: ns\nenvironment: dev\nmodel: phi\n"
    )
    assert validate_in(work).findings == []


def test_a_leaf_named_alone_still_gets_its_folders_defaults(validate_in):
    result = validate_in(CASCADE, LEAF)
    assert result.findings == []
    assert result.leaves[0].doc.data["ownership"]["owner"] == "group:chat-team"


def test_a_defaults_file_named_alone_checks_the_leaves_beneath_it(validate_in):
    result = validate_in(FIXTURES / "defaults_inherited_value", "_defaults.yaml")
    assert result.files_checked == 1
    assert [(f.file, f.code, f.line) for f in result.findings] == [("_defaults.yaml", "schema.enum", 4)]


def test_defaults_files_are_not_leaves(validate_in):
    result = validate_in(CASCADE)
    assert result.files_checked == 1
    assert [Path(leaf.doc.display).name for leaf in result.leaves] == ["leaf.yaml"]
