"""YAML 1.2 reading: how plain scalars resolve, and the limits that need generated input."""

from __future__ import annotations

import time

import pytest

from catalog_gen.catalog.load import MAX_FILE_BYTES, load_document, resolve_plain


@pytest.mark.parametrize(
    "text, value",
    [
        ("yes", "yes"), ("no", "no"), ("on", "on"), ("off", "off"), ("y", "y"), ("Yes", "Yes"),  # YAML 1.1 booleans are strings
        ("true", True), ("False", False), ("TRUE", True), ("tRUE", "tRUE"),
        ("", None), ("~", None), ("null", None), ("Null", None), ("nil", "nil"),
        ("012", 12), ("0o17", 15), ("0x1F", 31), ("-3", -3), ("+4", 4), ("1_000", "1_000"),  # no 1.1 octal, no underscores
        ("1.5", 1.5), (".5", 0.5), ("1e3", 1000.0), ("500m", "500m"), ("4Gi", "4Gi"), ("phi:latest", "phi:latest"),
    ],
)
def test_plain_scalars_resolve_by_yaml_1_2_core_rules(text, value):
    resolved = resolve_plain(text)
    assert resolved == value and type(resolved) is type(value)


def load_text(tmp_path, text: str, name: str = "leaf.yaml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return load_document(path, name)


def test_explicit_str_tag_and_quotes_keep_strings(tmp_path):
    doc, findings = load_text(tmp_path, 'a: !!str 123\nb: "true"\nc: \'12\'\nd: !!str\n')
    assert findings == []
    assert doc.data == {"a": "123", "b": "true", "c": "12", "d": ""}


def test_numeric_keys_stay_strings(tmp_path):
    doc, findings = load_text(tmp_path, "1: a\nnull: b\ntrue: c\n")
    assert findings == []
    assert doc.data == {"1": "a", "null": "b", "true": "c"}


def test_positions_of_keys_and_values(tmp_path):
    doc, _ = load_text(tmp_path, "# c\ngpu:\n  count: 1\nmodels:\n  - name: phi\n")
    assert (doc.where("/gpu/count").line, doc.where("/gpu/count").column) == (3, 10)
    assert (doc.where("/gpu/count", key=True).line, doc.where("/gpu/count", key=True).column) == (3, 3)
    assert (doc.where("/models/0/name").line, doc.where("/models/0/name").column) == (5, 11)
    # a pointer the document does not have falls back to its nearest ancestor
    assert (doc.where("/gpu/vendor").line, doc.where("/gpu/vendor").column) == (3, 3)


def test_byte_order_mark_is_accepted(tmp_path):
    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbfa: 1\n")
    doc, findings = load_document(path, "bom.yaml")
    assert findings == [] and doc.data == {"a": 1}


def test_file_over_one_mebibyte_is_refused_without_parsing(tmp_path):
    path = tmp_path / "huge.yaml"
    path.write_text("a: 1\n" + "# padding\n" * (MAX_FILE_BYTES // 10 + 1))
    started = time.perf_counter()
    doc, findings = load_document(path, "huge.yaml")
    assert doc is None
    assert [(f.code, f.line, f.column) for f in findings] == [("yaml.too-large", 0, 0)]
    assert str(MAX_FILE_BYTES) in findings[0].message and "split the file" in findings[0].hint
    assert time.perf_counter() - started < 1  # not parsed: a guard, not a benchmark


def test_file_of_exactly_one_mebibyte_is_read(tmp_path):
    text = "a: 1\n"
    text += "#" * (MAX_FILE_BYTES - len(text) - 1) + "\n"
    doc, findings = load_text(tmp_path, text)
    assert findings == [] and doc.data == {"a": 1}


def test_one_long_string_aliased_many_times_is_a_bomb(tmp_path):
    text = 'a: &a "' + "x" * 100_000 + '"\nb: [' + ", ".join(["*a"] * 100) + "]\n"
    doc, findings = load_text(tmp_path, text)
    assert doc is None
    assert [(f.code, f.line, f.column) for f in findings] == [("yaml.alias-bomb", 2, 1)]


def test_a_few_aliases_are_fine(tmp_path):
    doc, findings = load_text(tmp_path, "a: &m {name: phi}\nb: [*m, *m]\n")
    assert findings == []
    assert doc.data == {"a": {"name": "phi"}, "b": [{"name": "phi"}, {"name": "phi"}]}


def test_duplicate_anchor_names_both_places(tmp_path):
    doc, findings = load_text(tmp_path, "a: &x 1\nb: &x 2\n")
    assert doc is None
    assert [(f.code, f.line, f.column) for f in findings] == [("yaml.syntax", 2, 4)]
    assert "first occurrence at line 1" in findings[0].message


def test_unclosed_flow_sequence_points_at_its_start(tmp_path):
    doc, findings = load_text(tmp_path, "a: 1\nb: [1, 2\n")
    assert [(f.code, f.line, f.column) for f in findings] == [("yaml.syntax", 2, 4)]
    assert "flow sequence is never closed" in findings[0].message


def test_document_end_marker_then_nothing_is_one_document(tmp_path):
    doc, findings = load_text(tmp_path, "---\na: 1\n...\n")
    assert findings == [] and doc.data == {"a": 1}


def test_empty_second_document_counts(tmp_path):
    doc, findings = load_text(tmp_path, "a: 1\n---\n")
    assert [(f.code, f.line, f.column) for f in findings] == [("yaml.multiple-documents", 2, 1)]


def test_tab_after_a_key_is_allowed_separation(tmp_path):
    doc, findings = load_text(tmp_path, "a:\t1\nb: [1,\n\t2]\n")
    assert findings == [] and doc.data == {"a": 1, "b": [1, 2]}
