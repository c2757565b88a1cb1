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
3. A rendered line still unmapped (the second pass of a ``range`` loop) comes
   from the template line with a matching literal prefix that is closest
   before the template line of the last exactly-matched line above it.
4. Anything else (lines produced by ``include``/``toYaml``) has no template
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
                found = self._prefix_match(index, column, i1, j1, j2)
                if found:
                    return found
        return self._repeated(index, column)

    def _candidates(self, rendered: str, j1: int, j2: int) -> list[tuple[int, int]]:
        """(template index, literal prefix length) of lines that can have produced ``rendered``."""
        found = []
        for j in range(j1, j2):
            prefix = _literal_prefix(self._source[j])
            if prefix.strip() and rendered.startswith(prefix):
                found.append((j, len(prefix)))
        return found

    @staticmethod
    def _column(column: int, prefix_length: int) -> int:
        return column if column - 1 < prefix_length else prefix_length + 1

    def _prefix_match(self, index: int, column: int, i1: int, j1: int, j2: int) -> tuple[int, int] | None:
        """The template line with a matching literal prefix, nearest to the same offset in the region."""
        found = self._candidates(self._rendered[index], j1, j2)
        if not found:
            return None
        j, length = min(found, key=lambda c: abs((c[0] - j1) - (index - i1)))
        return j + 1, self._column(column, length)

    def _repeated(self, index: int, column: int) -> tuple[int, int] | None:
        """A line the alignment left over, e.g. the second pass of a ``range`` loop: the template
        line it can come from that is closest before the last line mapped above it (never after:
        output of ``include`` must not be pinned on some later look-alike line)."""
        anchor = max((j for i, j in self._exact.items() if i < index), default=-1)
        found = self._candidates(self._rendered[index], 0, anchor + 1)
        if not found:
            return None
        j, length = max(found)
        return j + 1, self._column(column, length)
