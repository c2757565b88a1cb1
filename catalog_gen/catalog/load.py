"""Read YAML files into plain data with a position for every node.

Decisions:
- libyaml's C parser composes the node graph (fast: ~0.1 ms a leaf), with a
  resolver that has no implicit rules; we resolve plain scalars ourselves with
  the YAML 1.2 core schema, so `yes`, `on` and `no` stay strings and `012`
  stays the integer 12, as Helm and Kubernetes (YAML 1.2 in Go) read them.
- Everything that can go wrong with a file becomes a Finding with its line and
  column, never an exception: a FIFO, device or socket, a symlink out of the
  catalog (`fsutil.read_regular`: nothing of them is read), syntax, duplicate keys, tabs, encoding, size,
  several documents, empty file, top level not a mapping, unsupported tags,
  merge keys, `.inf`/`.nan` (JSON has neither), alias expansion bombs and
  recursive aliases.
- Tabs are found by libyaml itself (a tab where indentation belongs is a
  syntax error that we name `yaml.tab`); a tab inside a block scalar, such as
  a system prompt, is content and stays allowed.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import os
import re
from pathlib import Path

import yaml

from catalog_gen.errors import Finding, Severity
from catalog_gen.fsutil import Refused, read_regular

MAX_FILE_BYTES = 1024 * 1024
MAX_NODES = 20_000  # after alias expansion; a leaf has ~50
MAX_CHARS = 2 * MAX_FILE_BYTES  # of scalar text after alias expansion: one long string aliased a thousand times

try:  # the C parser ships in PyYAML's wheels; the pure-Python one is a slow fallback
    from yaml.cyaml import CParser as _Parser
except ImportError:  # pragma: no cover
    from yaml.composer import Composer
    from yaml.parser import Parser
    from yaml.reader import Reader
    from yaml.scanner import Scanner

    class _Parser(Reader, Scanner, Parser, Composer):  # type: ignore[no-redef]
        def __init__(self, stream):
            Reader.__init__(self, stream)
            Scanner.__init__(self)
            Parser.__init__(self)
            Composer.__init__(self)


_PLAIN = "tag:catalog-gen,2024:plain"  # a plain, untagged scalar: resolved later by YAML 1.2 core rules


class _Loader(_Parser, yaml.resolver.BaseResolver):
    """Parser + composer with no implicit tag resolution (we apply YAML 1.2 core rules)."""

    def __init__(self, stream):
        _Parser.__init__(self, stream)
        yaml.resolver.BaseResolver.__init__(self)

    def resolve(self, kind, value, implicit):
        # `implicit[0]` is true only for a plain scalar without a tag; `!!str 123` stays the string "123".
        if kind is yaml.ScalarNode and implicit[0]:
            return _PLAIN
        return yaml.resolver.BaseResolver.resolve(self, kind, value, implicit)


@dataclasses.dataclass(frozen=True, slots=True)
class Pos:
    file: str
    line: int  # 1-based
    column: int  # 1-based


@dataclasses.dataclass
class Document:
    """A parsed YAML mapping plus where each value (and each key) came from."""

    path: Path
    display: str  # path as shown to users
    data: dict
    values: dict[str, Pos]  # JSON pointer -> position of the value
    keys: dict[str, Pos]  # JSON pointer -> position of the key that names it

    def where(self, pointer: str, *, key: bool = False) -> Pos:
        """Position of a pointer, or of its nearest ancestor that has one."""
        table = self.keys if key else self.values
        p = pointer
        while True:
            if p in table:
                return table[p]
            if p in self.values:
                return self.values[p]
            if not p:
                return Pos(self.display, 1, 1)
            p = p.rsplit("/", 1)[0]


def _ancestors(pointer: str):
    """The pointer, then each of its ancestors up to the root ""."""
    while True:
        yield pointer
        if not pointer:
            return
        pointer = pointer.rsplit("/", 1)[0]


def display_path(path: Path) -> str:
    """A path as shown to users: relative to the working directory where possible."""
    if not path.is_absolute() and ".." not in path.parts:
        return str(path)  # already relative (the common case; relpath would ask for the cwd each time)
    try:
        return os.path.relpath(path)
    except ValueError:  # another drive (Windows)
        return str(path)


def escape_pointer(token: str) -> str:
    if "~" not in token and "/" not in token:
        return token
    return token.replace("~", "~0").replace("/", "~1")


_INT = re.compile(r"^[-+]?[0-9]+$")
_OCT = re.compile(r"^0o[0-7]+$")
_HEX = re.compile(r"^0x[0-9a-fA-F]+$")
_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
_INF = re.compile(r"^[-+]?\.(inf|Inf|INF)$")
_NAN = re.compile(r"^\.(nan|NaN|NAN)$")
_MAY_RESOLVE = frozenset("0123456789+-.~nNtTfF")  # first characters of non-string plain scalars
_NULLS = {"", "~", "null", "Null", "NULL"}
_TRUE = {"true", "True", "TRUE"}
_FALSE = {"false", "False", "FALSE"}

_STR = "tag:yaml.org,2002:str"
_KNOWN_TAGS = {
    _PLAIN,
    _STR,
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:map",
    "tag:yaml.org,2002:seq",
}


def resolve_plain(text: str):
    """YAML 1.2 core schema resolution of a plain scalar."""
    if text and text[0] not in _MAY_RESOLVE:
        return text  # most values (`llama3.1:8b`, `ml-workloads`) cannot be anything but a string
    if text in _NULLS:
        return None
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    if _INT.match(text):
        return int(text, 10)
    if _OCT.match(text):
        return int(text[2:], 8)
    if _HEX.match(text):
        return int(text[2:], 16)
    if _FLOAT.match(text):
        return float(text)
    if _INF.match(text):
        return float("-inf") if text.startswith("-") else float("inf")
    if _NAN.match(text):
        return float("nan")
    return text


class _Builder:
    """Turns a composed node graph into plain data, recording positions and problems."""

    def __init__(self, display: str) -> None:
        self.display = display
        self.values: dict[str, Pos] = {}
        self.keys: dict[str, Pos] = {}
        self.findings: list[Finding] = []
        self.count = 0
        self.chars = 0
        self.too_big = False

    def pos(self, node: yaml.Node) -> Pos:
        return Pos(self.display, node.start_mark.line + 1, node.start_mark.column + 1)

    def finding(self, node: yaml.Node, pointer: str, code: str, message: str, hint: str, *, at_key: bool = False) -> None:
        p = self.pos(node)
        if at_key:  # an alias node carries the anchor's position; the key that holds the alias says where it is used
            p = next((self.keys[q] for q in _ancestors(pointer) if q in self.keys), p)
        self.findings.append(Finding(p.file, p.line, p.column, pointer, code, Severity.ERROR, message, hint))

    def build(self, node: yaml.Node, pointer: str, stack: tuple[int, ...] = ()):
        self.count += 1
        if isinstance(node, yaml.ScalarNode):
            self.chars += len(node.value)
        if self.count > MAX_NODES or self.chars > MAX_CHARS:
            if not self.too_big:
                self.too_big = True
                self.finding(
                    node,
                    pointer,
                    "yaml.alias-bomb",
                    f"the document expands to more than {MAX_NODES} values or {MAX_CHARS} characters (aliases of anchors multiply them)",
                    "write the values out instead of nesting aliases; a leaf needs no more than a few hundred values",
                    at_key=True,
                )
            return None
        self.values.setdefault(pointer, self.pos(node))
        if node.tag not in _KNOWN_TAGS:
            self.finding(
                node, pointer, "yaml.tag", f"unsupported YAML tag {node.tag!r}", "remove the tag; leaves hold plain values"
            )
            return None
        if id(node) in stack:
            self.finding(node, pointer, "yaml.recursive-alias", "an alias refers to a node that contains it", "remove the recursive alias",
                         at_key=True)
            return None
        if isinstance(node, yaml.ScalarNode):
            return self.scalar(node, pointer)
        if isinstance(node, yaml.SequenceNode):
            inner = stack + (id(node),)
            return [self.build(item, f"{pointer}/{i}", inner) for i, item in enumerate(node.value)]
        return self.mapping(node, pointer, stack + (id(node),))

    def scalar(self, node: yaml.ScalarNode, pointer: str):
        tag = node.tag
        if tag == _PLAIN:
            value = resolve_plain(node.value)
        elif tag == _STR:
            value = node.value
        else:
            value = resolve_plain(node.value)
            name = tag.rsplit(":", 1)[1]
            expected = {"int": int, "float": (int, float), "bool": bool, "null": type(None)}[name]
            if not isinstance(value, expected) or (name in ("int", "float") and isinstance(value, bool)):
                self.finding(node, pointer, "yaml.tag", f"{node.value!r} is not a valid {name}", "fix the value or drop the tag")
                return None
            value = float(value) if name == "float" else value
        if isinstance(value, float) and not math.isfinite(value):
            self.finding(node, pointer, "yaml.non-finite", f"{node.value} is not a finite number; JSON and Kubernetes have no such value",
                         "write a finite number, or quote it if a string is meant")
            return None
        return value

    def mapping(self, node: yaml.MappingNode, pointer: str, stack: tuple[int, ...]) -> dict:
        result: dict = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge" or (key_node.tag == _PLAIN and key_node.value == "<<"):
                self.finding(key_node, pointer, "yaml.merge-key", "merge keys (`<<`) are not part of YAML 1.2", "write the keys out, or move shared values to _defaults.yaml")
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                self.finding(key_node, pointer, "yaml.key", "a mapping key must be a plain string", "use a string key")
                continue
            # keys are strings in our documents: `1: x` is the key "1", `null: x` the key "null"
            key = key_node.value
            child = f"{pointer}/{escape_pointer(key)}"
            if key in result:
                first = self.keys[child]
                self.finding(
                    key_node,
                    child,
                    "yaml.duplicate-key",
                    f"duplicate key {key!r} (first at line {first.line})",
                    "remove one of them; YAML parsers disagree on which one wins",
                )
                continue
            self.keys[child] = self.pos(key_node)
            result[key] = self.build(value_node, child, stack)
        return result


def _decode(raw: bytes, display: str) -> tuple[str | None, list[Finding]]:
    try:
        return raw.decode("utf-8"), []
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        line = before.count(b"\n") + 1
        column = exc.start - (before.rfind(b"\n") + 1) + 1
        return None, [
            Finding(display, line, column, "", "yaml.encoding", Severity.ERROR,
                    f"the file is not UTF-8 (byte 0x{raw[exc.start]:02x})", "save the file as UTF-8")
        ]


def _line_column(text: str, index: int) -> tuple[int, int]:
    """1-based line and column of a character index."""
    line_start = text.rfind("\n", 0, index) + 1
    return text.count("\n", 0, index) + 1, index - line_start + 1


def _index(text: str, line: int, column: int) -> int:
    """Character index of a 0-based line and column."""
    index = 0
    for _ in range(line):
        found = text.find("\n", index)
        if found < 0:
            return len(text)
        index = found + 1
    return index + column


def _is_tab_at(text: str, line: int, column: int) -> bool:
    """Whether the character at a 0-based mark is a tab (libyaml's marks count characters)."""
    lines = text.split("\n")
    return 0 <= line < len(lines) and 0 <= column < len(lines[line]) and lines[line][column] == "\t"


def _syntax_finding(text: str, display: str, exc: yaml.YAMLError) -> Finding:
    """A libyaml error as a finding; a tab where indentation belongs gets its own code."""
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        if mark is not None and _is_tab_at(text, mark.line, mark.column):
            return Finding(display, mark.line + 1, mark.column + 1, "", "yaml.tab", Severity.ERROR,
                           "a tab is used for indentation; YAML allows only spaces", "replace the tab with spaces")
        problem = exc.problem or exc.context or "invalid YAML"
        context = exc.context_mark
        if exc.problem == "second occurrence" and exc.context and context is not None:  # a duplicate anchor
            problem = f"{exc.context} at line {context.line + 1}, second occurrence here"
        at_end = mark is not None and not text[_index(text, mark.line, mark.column):].strip()
        if context is not None and exc.context and at_end:
            # an unclosed quote or bracket: where it opens helps more than the end of the file
            what = exc.context.removeprefix("while scanning ").removeprefix("while parsing ")
            mark, problem = context, f"{what} is never closed ({exc.problem})"
        line, column = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        return Finding(display, line, column, "", "yaml.syntax", Severity.ERROR, f"YAML syntax error: {problem}",
                       "check indentation, quotes and the `key: value` form around this place")
    if isinstance(exc, yaml.reader.ReaderError):
        line, column = _line_column(text, exc.position)
        char = f"U+{exc.character:04X}" if isinstance(exc.character, int) else repr(exc.character)
        return Finding(display, line, column, "", "yaml.syntax", Severity.ERROR,
                       f"YAML syntax error: {exc.reason} ({char})", "remove the control character")
    return Finding(display, 0, 0, "", "yaml.syntax", Severity.ERROR, f"YAML error: {exc}", "fix the YAML syntax")


def catalog_root(path: Path) -> Path:
    """The folder a leaf may not leave through a symlink: the nearest folder above it holding `.git`,
    else the working directory when the leaf is beneath it, else the leaf's own folder."""
    return Path(_root_of_folder(os.path.dirname(os.path.abspath(path)), os.getcwd()))


@functools.lru_cache(maxsize=1024)
def _root_of_folder(folder: str, cwd: str) -> str:
    current = folder
    while True:
        if os.path.exists(os.path.join(current, ".git")) or current == cwd:
            return current
        parent = os.path.dirname(current)
        if parent == current:
            return folder
        current = parent


def load_document(path: Path, display: str | None = None, root: Path | None = None) -> tuple[Document | None, list[Finding]]:
    """Read one YAML file. Returns the document (None when unusable) and findings.

    Only a regular file of at most MAX_FILE_BYTES is read (the limit holds while reading);
    a FIFO, device or socket, or a symlink out of `root` (default: `catalog_root`), is a finding.
    """
    display = display or display_path(path)
    try:
        raw = read_regular(path, MAX_FILE_BYTES, root=root if root is not None else catalog_root(path))
    except Refused as refused:
        if refused.code == "io.too-large":
            return None, [Finding(display, 0, 0, "", "yaml.too-large", Severity.ERROR,
                                  f"the file is larger than the {MAX_FILE_BYTES} bytes allowed",
                                  "a leaf is a few dozen lines; split the file or remove generated content")]
        return None, [Finding(display, 0, 0, "", refused.code, Severity.ERROR, refused.message, refused.hint)]
    text, findings = _decode(raw, display)
    if text is None:
        return None, findings
    if text.startswith("\ufeff"):
        text = text[1:]
    loader = _Loader(text)
    try:
        root = _single_node(loader, text, display, findings)
    except yaml.YAMLError as exc:
        return None, [_syntax_finding(text, display, exc)]
    finally:
        loader.dispose()
    if findings:
        return None, findings
    if root is None or (root.tag == _PLAIN and root.value == ""):  # no document, or `---` alone
        return None, [Finding(display, 0, 0, "", "yaml.empty", Severity.ERROR, "the file is empty",
                              "write a leaf (see `catalog-gen new`) or delete the file")]
    if not isinstance(root, yaml.MappingNode):
        b = _Builder(display)
        p = b.pos(root)
        return None, [Finding(display, p.line, p.column, "", "yaml.not-mapping", Severity.ERROR,
                              "the top level must be a mapping of `key: value` pairs",
                              "start the file with `workloadType: ...`, not a list or a bare value")]
    builder = _Builder(display)
    data = builder.build(root, "")
    if builder.findings:
        return None, builder.findings
    return Document(path, display, data, builder.values, builder.keys), []


def _single_node(loader: _Loader, text: str, display: str, findings: list[Finding]):
    """Compose the one document of the stream; a second document is a finding at its `---`."""
    node = loader.get_node() if loader.check_node() else None
    if loader.check_node():  # consumes the second document's start; its first event says where its content is
        mark = loader.peek_event().start_mark
        line = _separator_line(text, node.end_mark.line if node is not None else 0, mark.line)
        column = 1 if line != mark.line else mark.column + 1
        findings.append(Finding(display, line + 1, column, "", "yaml.multiple-documents", Severity.ERROR,
                                "a second YAML document starts here; a leaf file holds exactly one",
                                "keep one leaf per file; remove the `---` separator and what follows"))
    return node


def _separator_line(text: str, after: int, before: int) -> int:
    """0-based line of the `---` between two documents (or `before` when there is none)."""
    lines = text.split("\n")
    for number in range(min(before, len(lines) - 1), after - 1, -1):
        if lines[number] == "---" or lines[number].startswith(("--- ", "---\t")):
            return number
    return before
