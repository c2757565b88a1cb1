"""Where a finding is: the rendered manifest line, and the template source line when it can be found.

Helm reports positions only for template execution errors; everything lint
finds is about the *rendered* output. Users edit templates, so we map a
rendered line back to the template source:

1. The rendered text and the template source are aligned line by line
   (``difflib``). A rendered line that equals a template line comes from it.
2. A rendered line inside a changed region comes from the template line
   whose literal text before the first ``{{`` is a non-blank prefix of it
   (``  replicas: {{ .Values.replicas }}`` rendered as ``  replicas: 1``), so
   a key written literally in the template is found even when its value is
   templated, and also inside ``range`` loops.
3. Anything else (lines produced by ``include``/``toYaml``) has no template
   line: the finding points at the template file and its message states the
   rendered line.

The charts catalog-gen generates keep templates mostly literal YAML (user
data lives in values.yaml), so rule 1 and 2 locate nearly every finding.
"""

from __future__ import annotations

import difflib

import yaml

from catalog_gen.lint.objects import unescape_pointer


def node_position(node: yaml.Node, pointer: str) -> tuple[int, int]:
    """0-based (line, column) of the deepest node of ``pointer`` that exists; a mapping entry is its key."""
    mark = node.start_mark
    for segment in unescape_pointer(pointer):
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                if key_node.value == segment:
                    mark, node = key_node.start_mark, value_node
                    break
            else:
                break
        elif isinstance(node, yaml.SequenceNode) and segment.isdigit() and int(segment) < len(node.value):
            node = node.value[int(segment)]
            mark = node.start_mark
        else:
            break
    return mark.line, mark.column


def _literal_prefix(line: str) -> str:
    cut = line.find("{{")
    return line if cut < 0 else line[:cut]


class TemplateLineMap:
    """Rendered line (1-based) -> template source (line, column), 1-based, or None."""

    def __init__(self, rendered: str, source: str) -> None:
        self._rendered = rendered.splitlines()
        self._source = source.splitlines()
        self._exact: dict[int, int] = {}
        self._regions: list[tuple[int, int, int, int]] = []
        matcher = difflib.SequenceMatcher(None, self._rendered, self._source, autojunk=False)
        for tag, i1, i2, j1, j2 in matcher.get_opcodes():
            if tag == "equal":
                for k in range(i2 - i1):
                    self._exact[i1 + k] = j1 + k
            elif tag == "replace":
                self._regions.append((i1, i2, j1, j2))

    def lookup(self, line: int, column: int) -> tuple[int, int] | None:
        index = line - 1
        if index in self._exact:
            return self._exact[index] + 1, column
        for i1, i2, j1, j2 in self._regions:
            if i1 <= index < i2:
                return self._prefix_match(index, column, i1, j1, j2)
        return None

    def _prefix_match(self, index: int, column: int, i1: int, j1: int, j2: int) -> tuple[int, int] | None:
        """The template line with a matching literal prefix, nearest to the same offset in the region."""
        rendered = self._rendered[index]
        best: tuple[int, int, int] | None = None
        for j in range(j1, j2):
            prefix = _literal_prefix(self._source[j])
            if prefix.strip() and rendered.startswith(prefix):
                distance = abs((j - j1) - (index - i1))
                if best is None or distance < best[0]:
                    col = column if column - 1 < len(prefix) else len(prefix) + 1
                    best = (distance, j + 1, col)
        return (best[1], best[2]) if best else None
