"""The list of checks as text, JSON and the README's Markdown table, all generated from the registry."""

from __future__ import annotations

import json
from pathlib import Path

from catalog_gen.errors import InputError
from catalog_gen.fsutil import atomic_write_text
from catalog_gen.lint.policies import CHECKS, IGNORE_PREFIX, Check

START = "<!-- checks:start -->"
END = "<!-- checks:end -->"


def _kinds(check: Check) -> str:
    return "any object" if check.kinds == ("*",) else ", ".join(check.kinds)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _params(check: Check, code: bool = False) -> str:
    parts = []
    for name, value in check.params.items():
        items = value if isinstance(value, (tuple, list)) else [value]
        shown = ", ".join(f"`{v}`" if code else str(v) for v in items)
        parts.append(f"{name}: {shown}")
    return "; ".join(parts)


def markdown_table() -> str:
    """The block between the README's checks markers (markers excluded)."""
    lines = [
        f"{len(CHECKS)} checks. Suppress one for an object with the annotation "
        f'`{IGNORE_PREFIX}<check-id>: "<reason>"` where the last column says yes.',
        "",
        "| Check | Severity | Category | Objects | What it finds | How to fix | Suppressible |",
        "|---|---|---|---|---|---|---|",
    ]
    for check in CHECKS:
        what = check.description + (f" Params: {_params(check, code=True)}." if check.params else "")
        lines.append(
            f"| `{check.id}` | {check.severity.value} | {check.category} | {_cell(_kinds(check))} | "
            f"{_cell(what)} | {_cell(check.remediation)} | {'yes' if check.suppressible else 'no'} |"
        )
    return "\n".join(lines) + "\n"


def text_list() -> str:
    lines = []
    for check in CHECKS:
        flag = ", suppressible" if check.suppressible else ""
        lines.append(f"{check.id} ({check.severity.value}, {check.category}{flag}) on {_kinds(check)}")
        lines.append(f"    {check.description}")
        if check.params:
            lines.append(f"    params: {_params(check)}")
        lines.append(f"    fix: {check.remediation}")
    lines.append(f"{len(CHECKS)} checks")
    return "\n".join(lines) + "\n"


def json_list() -> str:
    doc = [
        {
            "id": c.id,
            "severity": c.severity.value,
            "category": c.category,
            "kinds": list(c.kinds),
            "description": c.description,
            "remediation": c.remediation,
            "params": {k: list(v) if isinstance(v, (tuple, list)) else v for k, v in c.params.items()},
            "suppressible": c.suppressible,
        }
        for c in CHECKS
    ]
    return json.dumps(doc, indent=2, sort_keys=True) + "\n"


def readme_block(text: str, path: Path) -> tuple[int, int]:
    """Offsets of the generated block (between the markers) in a README's text."""
    start, end = text.find(START), text.find(END)
    if start < 0 or end < start:
        raise InputError(f"{path}: no {START} ... {END} block", hint="add the two marker lines where the table goes")
    return start + len(START), end


def update_readme(path: Path) -> bool:
    """Rewrite the checks block of a README from the registry; True when it changed."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc}", hint="name the README to update") from exc
    start, end = readme_block(text, path)
    updated = text[:start] + "\n" + markdown_table() + text[end:]
    if updated == text:
        return False
    atomic_write_text(path, updated)
    return True
