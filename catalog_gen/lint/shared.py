"""Work shared between the charts of one lint run: each distinct rendered template is parsed once.

Charts rendered from the same templates differ in their values, and in a
catalog most of the difference is the service's own name: ``svc-0001`` in
one chart's object names, labels and hosts is ``svc-0002`` in the next. So
before a rendered template is parsed, every occurrence of the chart's release
name is replaced by a *placeholder* of the same length (``Qxxxxxxx``); the
text that results is the key. Charts whose templates render alike up to their
name share one parse: the first parses the placeholder text (positions are
the same, since the lengths are), later ones take the parsed objects and put
their own name back. Composing YAML with positions and converting it was
about a quarter of a cold chart's time.

Putting the name back must give exactly what parsing the real text gives. It
does when the placeholder changes no YAML token and no scalar's type, which
is checked, not assumed; whenever a condition does not hold, the template is
parsed the straightforward way (``manifests.parse_template``):

- the name is a DNS label of at least 3 characters (``[a-z][a-z0-9-]*[a-z0-9]``):
  it holds no YAML indicator, so swapping it for letters keeps every token;
- the placeholder (``Q`` then ``x``) occurs nowhere in the real text, and the
  text has no ``\\x``, ``\\u`` or ``\\U`` escape (which could spell it): the
  placeholder in the parsed data then stands exactly for the name;
- parsing the placeholder text found nothing to report (no issue), and its
  data is plain JSON (mappings with string keys, lists, strings, numbers,
  booleans, null), so it is kept as JSON text and the name put back in that text;
- every plain (unquoted) scalar holding the placeholder still resolves to a
  string once the name is put back (``1e5`` could be a number; the check runs
  for each chart).

The parsed YAML nodes are shared as they are (they only give positions):
an object taken from the memo carries the (name, placeholder) pair, and
``engine`` looks a pointer up with the name replaced. ``lint_chart`` with
``Settings.shared=None`` does none of this; tests compare the two on the
generated charts and on charts with planted defects.
"""

from __future__ import annotations

import collections
import dataclasses
import json
import re
import string

import yaml

from catalog_gen.lint import manifests
from catalog_gen.lint.objects import Issue, K8sObject

NAME = re.compile(r"^[a-z][a-z0-9-]*[a-z0-9]$")
MIN_NAME = 3
# Hex digests (a config checksum, a dashboard uid): they differ from chart to chart with the name.
DIGEST = re.compile(r"(?<![0-9A-Za-z])[0-9a-f]{12,64}(?![0-9A-Za-z])")
MAX_TOKENS = 26  # placeholders QA..., QB..., ... QZ...
MAX_ENTRIES = 512  # distinct templates kept (least recently used go first); each holds its parsed nodes
MAX_TEXT = 256 << 10  # a larger rendered template is parsed on its own, not kept
MAX_KEPT_TEXT = 32 << 20  # rendered text kept in all (its nodes take several times as much)
# Double-quoted escapes that could spell a placeholder's letters (Q, A-Z, x) in the parsed data.
_ESCAPE = re.compile(r"\\(?:x([0-9A-Fa-f]{2})|u([0-9A-Fa-f]{4})|U([0-9A-Fa-f]{8}))")
_PLACEHOLDER_CHARS = frozenset(string.ascii_uppercase + "x")
_STR = "tag:yaml.org,2002:str"


def placeholder(index: int, length: int) -> str:
    """``Q``, a letter naming the token, then ``x`` to the token's length: no placeholder is a prefix of another."""
    return "Q" + chr(ord("A") + index) + "x" * (length - 2)


Aliases = tuple[tuple[str, str], ...]  # (token, placeholder), in the order they were replaced


def _spells_placeholder(escape: re.Match) -> bool:
    code = int(next(g for g in escape.groups() if g), 16)
    return code < 0x80 and chr(code) in _PLACEHOLDER_CHARS


def normalize(text: str, name: str, digests: bool = True) -> tuple[str, Aliases]:
    """``text`` with the chart's name (and, with ``digests``, every hex digest in it) replaced by placeholders,
    and the (token, placeholder) pairs in the order they were replaced; ``(text, ())`` when the tokens cannot
    be replaced exactly (see the module docstring)."""
    if "\\" in text and any(_spells_placeholder(m) for m in _ESCAPE.finditer(text)):
        return text, ()
    tokens = [name] if len(name) >= MIN_NAME and NAME.match(name) and name in text else []
    normalized = text.replace(name, placeholder(0, len(name))) if tokens else text
    if digests:
        found = list(dict.fromkeys(match[0] for match in DIGEST.finditer(normalized)))
        if len(tokens) + len(found) > MAX_TOKENS:
            return text, ()
        for token in found:
            normalized = normalized.replace(token, placeholder(len(tokens), len(token)))
            tokens.append(token)
    aliases = tuple((token, placeholder(i, len(token))) for i, token in enumerate(tokens))
    if any(mark in text for _, mark in aliases) or denormalize(normalized, aliases) != text:
        return text, ()
    return normalized, aliases


def denormalize(text: str, aliases: Aliases) -> str:
    for token, mark in reversed(aliases):
        text = text.replace(mark, token)
    return text


@dataclasses.dataclass(frozen=True)
class _Parsed:
    """One template's placeholder parse: per object its data as JSON text and what does not depend on the name."""

    objects: tuple[tuple[str, str, int, object, int], ...]  # (data JSON, template, doc index, node, line offset)
    plain_scalars: tuple[str, ...]  # plain scalars holding a placeholder (their type is checked per chart)


def _plain_json(value: object) -> bool:
    if isinstance(value, str) or value is None or isinstance(value, (bool, int, float)):
        return True
    if isinstance(value, list):
        return all(_plain_json(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain_json(v) for k, v in value.items())
    return False


def _plain_scalars_with(node: yaml.Node, out: set[str]) -> None:
    stack = [node]
    while stack:
        node = stack.pop()
        if isinstance(node, yaml.ScalarNode):
            if not node.style and "Q" in node.value:  # plain: None or "" (the C composer); every placeholder has a Q
                out.add(node.value)
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
        elif isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                stack.append(key)
                stack.append(value)


def _resolves_to_str(value: str) -> bool:
    return manifests.resolve_plain(value) == _STR


class SharedWork:
    """The parse memo of one process (see the module docstring). ``hits``/``misses`` count templates."""

    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self._memo: collections.OrderedDict[tuple[str, str, str], _Parsed | None] = collections.OrderedDict()
        self.max_entries = max_entries
        self._kept = 0  # characters of rendered text in the memo's keys
        self.hits = 0
        self.misses = 0

    def parse(self, template: str, text: str, name: str) -> tuple[list[K8sObject], list[Issue]]:
        """What ``manifests.parse_template(template, text)`` returns, from the memo when it can be."""
        if len(text) > MAX_TEXT:
            return manifests.parse_template(template, text)
        # The name alone first (cheap); a template that also holds digests is looked up with them replaced
        # too, which needs a scan of the whole text.
        normalized, aliases = normalize(text, name, digests=False)
        key = (template, normalized, tuple(mark for _, mark in aliases))
        if key not in self._memo:
            normalized, aliases = normalize(text, name)
            key = (template, normalized, tuple(mark for _, mark in aliases))
        if key in self._memo:
            self._memo.move_to_end(key)
            entry = self._memo[key]
            self.hits += 1
        else:
            entry = self._store(key, template, normalized, bool(aliases))
            self.misses += 1
        if entry is None or not all(_resolves_to_str(denormalize(v, aliases)) for v in entry.plain_scalars):
            return manifests.parse_template(template, text)
        return [self._object(item, aliases) for item in entry.objects], []

    def _store(self, key: tuple, template: str, normalized: str, aliased: bool) -> _Parsed | None:
        entry = None
        try:
            objects, issues = manifests.parse_template(template, normalized)
            plain = not issues and all(_plain_json(obj.data) for obj in objects)
        except (Exception, RecursionError):  # noqa: BLE001 - anything odd: the straightforward parse decides
            plain = False
        if plain:
            scalars: set[str] = set()
            for obj in objects if aliased else ():
                _plain_scalars_with(obj.node, scalars)
            entry = _Parsed(
                tuple((json.dumps(obj.data), obj.template, obj.doc_index, obj.node, obj.line_offset) for obj in objects),
                tuple(sorted(scalars)),
            )
        self._memo[key] = entry
        self._kept += len(normalized)
        while len(self._memo) > self.max_entries or self._kept > MAX_KEPT_TEXT:
            old_key, _ = self._memo.popitem(last=False)
            self._kept -= len(old_key[1])
        return entry

    @staticmethod
    def _object(item: tuple[str, str, int, object, int], aliases: Aliases) -> K8sObject:
        data_json, template, doc_index, node, line_offset = item
        data = json.loads(denormalize(data_json, aliases))
        meta = data.get("metadata")
        own = meta.get("name") if isinstance(meta, dict) else None
        generate = meta.get("generateName") if isinstance(meta, dict) else None
        return K8sObject(
            data=data,
            template=template,
            doc_index=doc_index,
            api_version=data.get("apiVersion"),
            kind=data.get("kind"),
            name=own if isinstance(own, str) and own else str(generate or ""),
            node=node,
            line_offset=line_offset,
            node_alias=aliases or None,
        )
