"""Rendered positions map back to template lines where the key is literal, and only there."""

from __future__ import annotations

import yaml

from catalog_gen.lint.locate import TemplateLineMap, node_position
from catalog_gen.lint.manifests import parse_template, split_documents

TEMPLATE = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}
  labels:
    {{- include "labels" . | nindent 4 }}
data:
  {{- range .Values.items }}
  {{ .key }}: {{ .value | quote }}
  {{- end }}
  fixed: "yes"
"""
RENDERED = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: demo
  labels:
    app: demo
    tier: web
data:
  a: "1"
  b: "2"
  fixed: "yes"
"""


def test_literal_lines_map_exactly():
    lines = TemplateLineMap(RENDERED, TEMPLATE)
    assert lines.lookup(2, 1) == (2, 1)  # kind
    assert lines.lookup(11, 3) == (11, 3)  # fixed, after the loop


def test_templated_value_maps_to_its_key_line():
    assert TemplateLineMap(RENDERED, TEMPLATE).lookup(4, 3) == (4, 3)  # name: demo <- name: {{ ... }}


def test_lines_from_include_or_templated_keys_are_not_guessed():
    lines = TemplateLineMap(RENDERED, TEMPLATE)
    assert lines.lookup(6, 5) is None  # app: demo comes from include
    assert lines.lookup(9, 3) is None  # a: "1" has a templated key


def test_node_position_points_at_keys_and_falls_back_to_the_deepest_existing_node():
    node = yaml.compose(RENDERED, Loader=yaml.CSafeLoader)
    assert node_position(node, "/metadata/name") == (3, 2)
    assert node_position(node, "/metadata/labels/tier") == (6, 4)
    assert node_position(node, "/metadata/missing/deeper") == (2, 0)  # the metadata key
    assert node_position(node, "") == (0, 0)


def test_documents_keep_their_line_offsets():
    text = "a: 1\n---\nkind: X\n---\n# only a comment\n---\nb: [\n"
    assert [offset for offset, _ in split_documents(text)] == [0, 1, 3, 5]
    objects, issues = parse_template("templates/x.yaml", text)
    assert objects == []
    assert [(i.check, i.line) for i in issues] == [
        ("object-invalid", 1),
        ("object-invalid", 3),
        ("yaml-invalid", 8),
    ]


def test_null_and_duplicate_keys_are_found_with_their_lines():
    text = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  name: y\ndata:\n  a:\n  b: [null]\n"
    objects, issues = parse_template("templates/x.yaml", text)
    assert objects[0].name == "y"
    assert sorted((i.check, i.line, i.pointer) for i in issues) == [
        ("duplicate-key", 5, "/metadata/name"),
        ("null-value", 7, "/data/a"),
        ("null-value", 8, "/data/b/0"),
    ]


LOOP_TEMPLATE = """\
spec:
  containers:
  {{- range .Values.names }}
    - name: {{ . }}
      env:
        - name: A
          value: {{ $.Values.a }}
  {{- end }}
  tail: x
"""
LOOP_RENDERED = """\
spec:
  containers:
    - name: a
      env:
        - name: A
          value: 1
    - name: b
      env:
        - name: A
          value: 1
  tail: x
"""


def test_second_pass_of_a_range_loop_maps_into_the_loop_body():
    lines = TemplateLineMap(LOOP_RENDERED, LOOP_TEMPLATE)
    assert [lines.lookup(n, 7) for n in (3, 6, 7, 8, 10, 11)] == [(4, 7), (7, 7), (4, 7), (5, 7), (7, 7), (9, 7)]
