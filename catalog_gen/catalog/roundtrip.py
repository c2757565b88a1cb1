"""Round-trip edits of leaf files: write a value and leave every other byte alone.

`ruamel.yaml` (round-trip mode) parses the file and says where each key and value sits;
the edit itself is made on the text, line by line, so comments, key order, quoting,
indentation, blank lines and line endings stay exactly as they were and only the lines that
gain or change a value differ (a full re-dump would re-indent sequences and re-wrap long
strings). After the edit the text is parsed again and must hold the new value.

Edits (`Edit`) name a model by its place in the file:
- ``("models", i)``: set ``digest`` of ``models[i]`` (inserted after its ``name`` line, or the
  value replaced in place, quotes kept);
- ``("models", i, "modelfile")``: set ``fromDigest`` of ``models[i].modelfile`` (after ``from``);
- ``("model",)``: the ``model: NAME`` shorthand has no room for a digest, so that one line
  becomes ``models:`` with one item ``name``/``digest`` (its comment kept on the first line).
"""

from __future__ import annotations

import dataclasses
import io
import re
from pathlib import Path

import yaml
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError

from catalog_gen.errors import InputError

_HEX = re.compile(r"[0-9a-f]{64}")
_NUMBERISH = re.compile(r"[0-9]+([eE][0-9]+)?")  # hex that a YAML reader would take for a number: written quoted
_FastLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _scalar(digest: str) -> str:
    return f'"{digest}"' if _NUMBERISH.fullmatch(digest) else digest


@dataclasses.dataclass(frozen=True)
class Edit:
    where: tuple  # ("models", i) | ("models", i, "modelfile") | ("model",)
    digest: str  # 64 hex


def _yaml() -> YAML:
    y = YAML(typ="rt")
    y.preserve_quotes = True
    return y


def parse(text: str, display: str):
    try:
        return _yaml().load(io.StringIO(text))
    except YAMLError as exc:
        raise InputError(f"{display}: cannot be parsed for editing: {exc}".splitlines()[0],
                         hint="run `catalog-gen validate` on it") from exc


def apply_edits(text: str, edits: list[Edit], display: str) -> str:
    """The text with every edit made; InputError when a place is not where the edit expects it."""
    newline = "\r\n" if "\r\n" in text else "\n"
    lines = text.split(newline)
    # edit bottom-up, so earlier line numbers stay valid
    doc = parse(text, display)
    planned = [(_plan(doc, e, lines, display), e) for e in edits]
    for (line_no, action, payload), _ in sorted(planned, key=lambda p: p[0][0], reverse=True):
        if action == "replace":
            lines[line_no] = payload
        elif action == "insert-after":
            lines[line_no + 1:line_no + 1] = payload
        elif action == "swap":
            lines[line_no:line_no + 1] = payload
    out = newline.join(lines)
    _verify(out, edits, display)
    return out


def _plan(doc, edit: Edit, lines: list[str], display: str) -> tuple[int, str, object]:
    if not isinstance(doc, CommentedMap):
        raise InputError(f"{display}: the top level is not a mapping")
    if edit.where == ("model",):
        return _shorthand(doc, edit, lines, display)
    models = doc.get("models")
    index = edit.where[1]
    if not isinstance(models, CommentedSeq) or index >= len(models) or not isinstance(models[index], CommentedMap):
        raise InputError(f"{display}: models[{index}] is not a mapping", hint="run `catalog-gen validate` on it")
    item = models[index]
    if len(edit.where) == 3:
        modelfile = item.get("modelfile")
        if not isinstance(modelfile, CommentedMap) or "from" not in modelfile:
            raise InputError(f"{display}: models[{index}].modelfile has no `from`")
        return _set_key(modelfile, "from", "fromDigest", edit.digest, lines, display, f"models[{index}].modelfile")
    if "name" not in item:
        raise InputError(f"{display}: models[{index}] has no `name`")
    return _set_key(item, "name", "digest", edit.digest, lines, display, f"models[{index}]")


def _set_key(mapping: CommentedMap, after: str, key: str, digest: str, lines: list[str], display: str, where: str):
    if key in mapping:  # replace the value in place, keeping its quotes and any comment
        line_no, col = mapping.lc.value(key)
        line = lines[line_no]
        match = _HEX.search(line, col)
        old = str(mapping[key])
        if match is None or match.group(0) != old:
            raise InputError(f"{display}:{line_no + 1}: {where}.{key} is not a 64-hex digest on one line",
                             hint=f"write `{key}: <64 hex>` on one line, or delete it and rerun `catalog-gen pin`")
        quoted = line[match.start() - 1:match.start()] in ("'", '"')
        return line_no, "replace", line[:match.start()] + (digest if quoted else _scalar(digest)) + line[match.end():]
    key_line, key_col = mapping.lc.key(after)
    value_line, value_col = mapping.lc.value(after)
    if mapping.fa.flow_style():  # {name: x, ...}: add `, digest: ...` right after the value
        end = _scalar_end(lines[value_line], value_col, str(mapping[after]))
        if end is None:
            raise InputError(f"{display}:{value_line + 1}: cannot find the end of {where}.{after} to add `{key}` after it",
                             hint=f"add `{key}: {digest}` by hand, or write the mapping in block style")
        line = lines[value_line]
        return value_line, "replace", f"{line[:end]}, {key}: {_scalar(digest)}{line[end:]}"
    if value_line != key_line or _scalar_end(lines[value_line], value_col, str(mapping[after])) is None:
        raise InputError(f"{display}:{key_line + 1}: {where}.{after} does not fit on its line; catalog-gen adds `{key}` only after a one-line value",
                         hint=f"write `{after}` on one line, or add `{key}: {digest}` by hand")
    return key_line, "insert-after", [" " * key_col + f"{key}: {_scalar(digest)}"]


def _scalar_end(line: str, col: int, value: str) -> int | None:
    """Column just past a one-line scalar that starts at `col` (plain, '...' or "...")."""
    if col >= len(line):
        return None
    quote = line[col]
    if quote in "'\"":
        i = col + 1
        while i < len(line):
            if line[i] == "\\" and quote == '"':
                i += 2
                continue
            if line[i] == quote:
                if quote == "'" and line[i + 1:i + 2] == "'":
                    i += 2
                    continue
                return i + 1
            i += 1
        return None
    return col + len(value) if line.startswith(value, col) else None


def _shorthand(doc: CommentedMap, edit: Edit, lines: list[str], display: str):
    if "model" not in doc:
        raise InputError(f"{display}: has no `model` key to pin")
    key_line, key_col = doc.lc.key("model")
    value_line, value_col = doc.lc.value("model")
    line = lines[key_line]
    end = _scalar_end(lines[value_line], value_col, str(doc["model"]))
    if value_line != key_line or end is None:
        raise InputError(f"{display}:{key_line + 1}: `model` does not fit on its line",
                         hint="write `model: NAME` on one line, or use `models:` with `digest:` by hand")
    rest = line[end:]  # spaces and a comment, if any
    pad = " " * key_col
    value = line[value_col:end]
    return key_line, "swap", [f"{pad}models:{rest}", f"{pad}  - name: {value}", f"{pad}    digest: {_scalar(edit.digest)}"]


def _verify(text: str, edits: list[Edit], display: str) -> None:
    """Read the result back (libyaml: ruamel's pure-Python parse is ~20 ms a leaf) and find every new digest."""
    try:
        doc = yaml.load(text, Loader=_FastLoader)
    except yaml.YAMLError as exc:
        raise InputError(f"{display}: the edited text does not parse ({exc}); nothing was written",
                         hint="add the digest by hand and report this file's layout as a catalog-gen bug") from exc
    for edit in edits:
        if edit.where == ("model",):
            got = doc["models"][0].get("digest")
        elif len(edit.where) == 3:
            got = doc["models"][edit.where[1]]["modelfile"].get("fromDigest")
        else:
            got = doc["models"][edit.where[1]].get("digest")
        if str(got) != edit.digest:  # a bug of ours: never write a file we cannot read back
            raise InputError(f"{display}: editing {edit.where} did not produce the digest (got {got!r}); nothing was written",
                             hint="add the digest by hand and report this file's layout as a catalog-gen bug")


def edit_file(path: Path, edits: list[Edit], display: str) -> bool:
    """Apply the edits to the file (atomically); True when its bytes changed."""
    from catalog_gen.fsutil import atomic_write_text

    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{display}: not UTF-8 ({exc})") from exc
    new = apply_edits(text, edits, display)
    if new == text:
        return False
    atomic_write_text(path, new)
    return True
