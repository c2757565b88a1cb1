"""Finding writers: text, json, github, junit, sarif behind one interface.

Every writer is a function ``(findings, context) -> str`` registered in
``WRITERS``; the CLI picks one by ``--format`` and prints what it returns.
Writers never decide exit codes and never touch the file system.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections import Counter
from typing import Callable
from urllib.parse import quote

from catalog_gen import __version__
from catalog_gen.errors import Finding, Severity

GITHUB_ANNOTATION_CAP = 10  # GitHub shows at most 10 annotations per severity per step


@dataclasses.dataclass(frozen=True)
class ReportContext:
    tool: str  # "validate", "lint", "ci"
    files_checked: int  # leaves, or charts for lint (see `checked`)
    color: bool = False
    sarif_hint: str = ""
    checked: str = "file"  # what was checked: "file" (leaves) or "chart" (lint)  # where the SARIF report is, for the GitHub cap message


def summary(findings: list[Finding], ctx: ReportContext) -> dict:
    counts = Counter(f.severity.value for f in findings)
    return {
        "files": ctx.files_checked,
        "errors": counts.get("error", 0),
        "warnings": counts.get("warning", 0),
        "infos": counts.get("info", 0),
    }


_COLORS = {"error": "\033[31m", "warning": "\033[33m", "info": "\033[36m"}
_RESET = "\033[0m"


def _location(f: Finding) -> str:
    if f.line:
        return f"{f.file}:{f.line}:{f.column}"
    return f.file


def write_text(findings: list[Finding], ctx: ReportContext) -> str:
    lines = []
    for f in findings:
        sev = f.severity.value
        label = f"{_COLORS[sev]}{sev}{_RESET}" if ctx.color else sev
        where = _location(f)
        extra = f" [{f.object}]" if f.object else ""
        lines.append(f"{where}: {label}: {f.message} ({f.code}){extra}")
        if f.pointer:
            lines.append(f"    at {f.pointer}")
        if f.template:
            lines.append(f"    template {f.template}" + (f":{f.template_line}" if f.template_line else ""))
        if f.hint:
            lines.append(f"    hint: {f.hint}")
    s = summary(findings, ctx)
    noun = ctx.checked if s["files"] == 1 else ctx.checked + "s"
    lines.append(f"{ctx.tool}: {s['files']} {noun} checked, {s['errors']} error(s), {s['warnings']} warning(s)")
    return "\n".join(lines) + "\n"


def write_json(findings: list[Finding], ctx: ReportContext) -> str:
    doc = {"findings": [f.as_dict() for f in findings], "summary": summary(findings, ctx)}
    return json.dumps(doc, indent=2, sort_keys=True) + "\n"


def _gh_escape_data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _gh_escape_prop(value: str) -> str:
    return _gh_escape_data(value).replace(":", "%3A").replace(",", "%2C")


def write_github(findings: list[Finding], ctx: ReportContext) -> str:
    """GitHub Actions workflow commands (``::error file=..,line=..::msg``), escaped."""
    lines = []
    shown: Counter = Counter()
    hidden: Counter = Counter()
    for f in findings:
        kind = {"error": "error", "warning": "warning", "info": "notice"}[f.severity.value]
        if shown[kind] >= GITHUB_ANNOTATION_CAP:
            hidden[kind] += 1
            continue
        shown[kind] += 1
        props = [f"file={_gh_escape_prop(f.file)}"]
        if f.line:
            props += [f"line={f.line}", f"col={f.column}"]
        props.append(f"title={_gh_escape_prop(f.code)}")
        message = f.message + (f" (hint: {f.hint})" if f.hint else "")
        lines.append(f"::{kind} {','.join(props)}::{_gh_escape_data(message)}")
    s = summary(findings, ctx)
    if hidden:
        more = ", ".join(f"{n} more {k}(s)" for k, n in sorted(hidden.items()))
        where = f"; see the SARIF report {ctx.sarif_hint}" if ctx.sarif_hint else "; use --format sarif for all of them"
        lines.append(f"{ctx.tool}: {more} not annotated (GitHub shows {GITHUB_ANNOTATION_CAP} per severity){where}")
    lines.append(f"{ctx.tool}: {s['files']} {ctx.checked}(s) checked, {s['errors']} error(s), {s['warnings']} warning(s)")
    return "\n".join(lines) + "\n"


# xml.sax.saxutils would do, but it imports urllib (20 ms of start-up on every run)
_XML_TEXT = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
_XML_ATTR = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\n": "&#10;", "\r": "&#13;", "\t": "&#9;"})
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")  # characters XML 1.0 cannot carry at all


def _xml_text(text: str) -> str:
    return _NOT_XML.sub("\ufffd", text).translate(_XML_TEXT)


def _xml_attr(text: str) -> str:
    return '"' + _NOT_XML.sub("\ufffd", text).translate(_XML_ATTR) + '"'


def write_junit(findings: list[Finding], ctx: ReportContext) -> str:
    """JUnit XML: one testsuite per file, one testcase per finding (error -> failure)."""
    by_file: dict[str, list[Finding]] = {}
    for f in findings:
        by_file.setdefault(f.file, []).append(f)
    failures = sum(1 for f in findings if f.severity is Severity.ERROR)
    out = ['<?xml version="1.0" encoding="UTF-8"?>']
    out.append(
        f'<testsuites name={_xml_attr("catalog-gen " + ctx.tool)} tests="{max(len(findings), 1)}" '
        f'failures="{failures}" errors="0">'
    )
    if not findings:
        out.append(f'  <testsuite name={_xml_attr(ctx.tool)} tests="1" failures="0" errors="0" skipped="0">')
        out.append(f'    <testcase classname={_xml_attr(ctx.tool)} name="no findings"/>')
        out.append("  </testsuite>")
    for file, items in sorted(by_file.items()):
        fails = sum(1 for f in items if f.severity is Severity.ERROR)
        out.append(
            f'  <testsuite name={_xml_attr(file)} tests="{len(items)}" failures="{fails}" errors="0" skipped="0">'
        )
        for f in items:
            name = f"{f.code} {_location(f)}"
            out.append(f"    <testcase classname={_xml_attr(file)} name={_xml_attr(name)}>")
            body = _xml_text(f"{_location(f)} {f.pointer}\n{f.message}" + (f"\nhint: {f.hint}" if f.hint else ""))
            if f.severity is Severity.ERROR:
                out.append(f"      <failure message={_xml_attr(f.message)} type={_xml_attr(f.code)}>{body}</failure>")
            else:
                out.append(f"      <system-out>{_xml_text(f.severity.value)}: {body}</system-out>")
            out.append("    </testcase>")
        out.append("  </testsuite>")
    out.append("</testsuites>")
    return "\n".join(out) + "\n"


def write_sarif(findings: list[Finding], ctx: ReportContext) -> str:
    """SARIF 2.1.0, one run, a rule per finding code."""
    rules = sorted({f.code for f in findings})
    level = {"error": "error", "warning": "warning", "info": "note"}
    results = []
    for f in findings:
        region = {"startLine": max(f.line, 1), "startColumn": max(f.column, 1)}
        result = {
            "ruleId": f.code,
            "ruleIndex": rules.index(f.code),
            "level": level[f.severity.value],
            "message": {"text": f.message + (f" Hint: {f.hint}" if f.hint else "")},
            "locations": [
                {"physicalLocation": {"artifactLocation": {"uri": quote(f.file.replace("\\", "/"))}, "region": region}}
            ],
        }
        if f.pointer:
            result["properties"] = {"pointer": f.pointer}
        results.append(result)
    doc = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "catalog-gen",
                        "version": __version__,
                        "informationUri": "https://github.com/catalog-gen/catalog-gen",
                        "rules": [{"id": r, "name": r} for r in rules],
                    }
                },
                "results": results,
            }
        ],
    }
    return json.dumps(doc, indent=2, sort_keys=True) + "\n"


Writer = Callable[[list[Finding], ReportContext], str]

WRITERS: dict[str, Writer] = {
    "text": write_text,
    "json": write_json,
    "github": write_github,
    "junit": write_junit,
    "sarif": write_sarif,
}


def render(findings: list[Finding], fmt: str, ctx: ReportContext) -> str:
    ordered = sorted(findings, key=Finding.sort_key)
    return WRITERS[fmt](ordered, ctx)
