"""Block YAML text for the files catalog-gen writes: fast, and byte for byte deterministic.

PyYAML's pure-Python emitter costs milliseconds a document (a render of 1000 charts
spent seconds in it) and its C emitter is not on every machine, so the generated files
use this small writer instead. It does what they need, no more:

- mappings and lists in block style, in the order given;
- keys plain when every YAML reader (1.1 like Helm's, or 1.2) reads them as the same
  string, else quoted;
- string values quoted as JSON strings, which are valid YAML double-quoted scalars,
  with the characters YAML would fold (U+0085, U+2028, U+2029) or refuse (DEL, C1
  controls, U+FEFF) escaped too: whatever a leaf string holds (quotes, newlines,
  `{{ }}`, `$(...)`) reads back exactly;
- a multi-line string that reads back exactly as a literal block (`|`, `|-`) is
  written as one, for readability.
"""

from __future__ import annotations

import json
import re
from json.encoder import encode_basestring

_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_./-]*$")
_YAML11_WORDS = {"y", "n", "yes", "no", "on", "off", "true", "false", "null", "~"}
_YAML_UNSAFE = re.compile("[\u007f-\u009f\u2028\u2029\ufeff]")
_KEYS: dict[str, str] = {}


def key(text: str) -> str:
    """A mapping key: plain when unambiguous, else a quoted string."""
    label = _KEYS.get(text)
    if label is None:
        plain = _PLAIN_KEY.fullmatch(text) and text.lower() not in _YAML11_WORDS and not text.endswith(("-", "."))
        label = _KEYS[text] = text if plain else string(text)
    return label


def string(text: str) -> str:
    """A double-quoted scalar that any YAML reader reads back as exactly `text`."""
    quoted = encode_basestring(text)  # json.dumps(text, ensure_ascii=False), without a per-call encoder
    if (not quoted.isascii() or "\x7f" in quoted) and _YAML_UNSAFE.search(quoted):  # DEL is ASCII
        quoted = _YAML_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", quoted)
    return quoted


def scalar(value) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return string(value)
    if isinstance(value, (int, float)):
        return repr(value)
    raise TypeError(f"cannot write {type(value).__name__} {value!r} as YAML")


_NOT_LITERAL_LINE = re.compile(r"(?:^|\n)(?:\t| +(?:\n|$))")  # a line starting with a tab, or of spaces only


def _literal_header(text: str) -> str | None:
    """`|` or `|-` when `text` reads back exactly as a literal block, else None."""
    if "\n" not in text or text[0] in " \n" or text.endswith("\n\n"):
        return None
    if _NOT_LITERAL_LINE.search(text) or not text.replace("\n", "").replace("\t", "").isprintable():
        return None
    return "|" if text.endswith("\n") else "|-"


def dump(doc) -> str:
    """One YAML document (a mapping or a list), ending with a newline."""
    out: list[str] = []
    if isinstance(doc, dict) and doc:
        _mapping(doc, 0, out)
    elif isinstance(doc, list) and doc:
        _sequence(doc, 0, out)
    else:
        out.append(_flow(doc))
    return "\n".join(out) + "\n"


def _flow(value) -> str:
    if isinstance(value, dict):
        return "{}" if not value else json.dumps(value)  # JSON is YAML; only empty ones reach here in practice
    if isinstance(value, list):
        return "[]" if not value else json.dumps(value)
    return scalar(value)


def _mapping(value: dict, indent: int, out: list[str]) -> None:
    pad = " " * indent
    for name, child in value.items():
        label = key(name)
        if isinstance(child, dict) and child:
            out.append(f"{pad}{label}:")
            _mapping(child, indent + 2, out)
        elif isinstance(child, list) and child:
            out.append(f"{pad}{label}:")
            _sequence(child, indent + 2, out)
        elif isinstance(child, str) and (header := _literal_header(child)):
            out.append(f"{pad}{label}: {header}")
            inner = " " * (indent + 2)
            out.extend(f"{inner}{line}" if line else "" for line in child.rstrip("\n").split("\n"))
        else:
            out.append(f"{pad}{label}: {_flow(child)}")


def _sequence(value: list, indent: int, out: list[str]) -> None:
    pad = " " * indent
    for item in value:
        if isinstance(item, dict) and item:
            lines: list[str] = []
            _mapping(item, indent + 2, lines)
            out.append(f"{pad}- {lines[0][indent + 2:]}")
            out.extend(lines[1:])
        elif isinstance(item, list) and item:
            lines = []
            _sequence(item, indent + 2, lines)
            out.append(f"{pad}- {lines[0][indent + 2:]}")
            out.extend(lines[1:])
        else:
            out.append(f"{pad}- {_flow(item)}")
