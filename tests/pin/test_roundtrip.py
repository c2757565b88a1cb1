"""Round-trip edits without a registry: exactly the expected bytes, or a clear error and no change."""

from __future__ import annotations

import pytest

from catalog_gen.catalog.roundtrip import Edit, apply_edits, edit_file
from catalog_gen.errors import InputError

A, B = "a" * 64, "b" * 64


def test_crlf_files_keep_their_line_endings():
    text = "models:\r\n  - name: phi:latest\r\n    kind: text\r\n"
    assert apply_edits(text, [Edit(("models", 0), A)], "x") == f"models:\r\n  - name: phi:latest\r\n    digest: {A}\r\n    kind: text\r\n"


def test_a_flow_item_with_a_quoted_name_gains_the_digest_after_the_name():
    text = "models: [{name: 'we''ird:1', kind: text}]\n"
    assert apply_edits(text, [Edit(("models", 0), A)], "x") == f"models: [{{name: 'we''ird:1', digest: {A}, kind: text}}]\n"


def test_an_existing_digest_is_replaced_in_place_with_its_quotes_and_comment():
    text = f"models:\n- name: x\n  digest: '{A}'   # pinned by hand\n"
    assert apply_edits(text, [Edit(("models", 0), B)], "x") == f"models:\n- name: x\n  digest: '{B}'   # pinned by hand\n"


def test_several_edits_in_one_file_keep_each_other_in_place():
    text = "models:\n  - name: a:1\n  - name: c:1\n    modelfile:\n      from: a:1\n"
    out = apply_edits(text, [Edit(("models", 0), A), Edit(("models", 1, "modelfile"), B)], "x")
    assert out == f"models:\n  - name: a:1\n    digest: {A}\n  - name: c:1\n    modelfile:\n      from: a:1\n      fromDigest: {B}\n"


def test_a_digest_a_yaml_reader_would_take_for_a_number_is_quoted():
    number = "1" * 60 + "e123"  # 64 hex characters, and a float to YAML 1.2
    assert apply_edits("models:\n- name: x\n", [Edit(("models", 0), number)], "x") == f'models:\n- name: x\n  digest: "{number}"\n'
    assert apply_edits("models:\n- name: x\n", [Edit(("models", 0), A)], "x") == f"models:\n- name: x\n  digest: {A}\n"


def test_a_name_spread_over_lines_is_refused_rather_than_guessed():
    text = "models:\n  - name:\n      phi:latest\n"
    with pytest.raises(InputError, match="does not fit on its line"):
        apply_edits(text, [Edit(("models", 0), A)], "leaf.yaml")


def test_edit_file_writes_nothing_when_nothing_changes(tmp_path):
    leaf = tmp_path / "l.yaml"
    leaf.write_text(f"models:\n  - name: x\n    digest: {A}\n")
    assert edit_file(leaf, [Edit(("models", 0), A)], "l.yaml") is False
    assert edit_file(leaf, [Edit(("models", 0), B)], "l.yaml") is True
    assert leaf.read_text() == f"models:\n  - name: x\n    digest: {B}\n"
