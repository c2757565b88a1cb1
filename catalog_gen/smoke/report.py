"""Smoke report writers: text (a table with the figures), json, junit.

Each writer is ``(reports) -> str`` over the reports of one run (one per leaf);
the CLI picks one by ``--format``. JUnit: one ``testsuite`` per leaf, one
``testcase`` per check; a check that got a wrong answer is a ``failure``, one
that got no usable answer an ``error``, a check the leaf does not ask for is
``skipped``; each check's figures are ``property`` elements of its testcase and
are repeated in its ``system-out`` (tools that ignore testcase properties show
that); the warm-up and the latency percentiles are testsuite properties;
Kubernetes diagnostics are the testsuite's ``system-out``. Times have at most
three decimals, as Surefire-style readers expect.
"""

from __future__ import annotations

import json
from xml.sax.saxutils import escape, quoteattr

from catalog_gen.smoke.results import SmokeReport, Status

_LABEL = {Status.PASSED: "pass", Status.FAILED: "FAIL", Status.ERROR: "ERROR", Status.SKIPPED: "skip"}
_FIGURES = (
    ("ttft_s", "ttft", "ms"),
    ("end_to_end_latency_s", "e2e", "ms"),
    ("itl_p95_s", "itl p95", "ms"),
    ("output_tokens_per_s", "tok/s", ""),
    ("e2e_p50_s", "e2e p50", "ms"),
    ("e2e_p95_s", "e2e p95", "ms"),
    ("succeeded", "ok", ""),
    ("rejected_429", "429", ""),
    ("dimensions", "dims", ""),
    ("version", "version", ""),
)


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def _one_decimal(value: float) -> str:
    return f"{value:.1f}"


_LATENCY_ROWS = {
    "ttft_s": ("ttft (ms)", _ms),
    "inter_token_latency_s": ("itl (ms)", _ms),
    "end_to_end_latency_s": ("e2e (ms)", _ms),
    "tpot_s": ("tpot (ms)", _ms),
    "output_tokens_per_s": ("output tokens/s", _one_decimal),
    "number_output_tokens": ("output tokens", _one_decimal),
}


def _figures(metrics: dict) -> str:
    parts = []
    for key, label, unit in _FIGURES:
        if key in metrics:
            value = metrics[key]
            if unit == "ms":
                parts.append(f"{label} {_ms(value)} ms")
            else:
                parts.append(f"{label} {value:.1f}" if isinstance(value, float) else f"{label} {value}")
    return ", ".join(parts)


def _counts_line(report: SmokeReport) -> str:
    c = report.counts
    return f"{c['passed']} passed, {c['failed']} failed, {c['error']} error(s), {c['skipped']} skipped in {report.duration:.2f} s"


def write_text(reports: list[SmokeReport]) -> str:
    lines: list[str] = []
    for report in reports:
        w = report.warmup
        lines.append(f"smoke {report.service} ({report.leaf}) at {report.target}")
        state = "ready" if w.ready else "NOT ready"
        plural = "" if w.attempts == 1 else "s"
        lines.append(f"warm-up: {state} after {w.seconds:.2f} s ({w.attempts} attempt{plural}): {w.detail}")
        if report.results:
            width = max(len(r.name) for r in report.results)
            lines.append("")
            lines.append(f"{'result':<6}  {'check':<{width}}  {'time':>9}  figures / message")
            for r in report.results:
                tail = r.message if r.status is not Status.PASSED else _figures(r.metrics)
                lines.append(f"{_LABEL[r.status]:<6}  {r.name:<{width}}  {_ms(r.duration) + ' ms':>9}  {tail}".rstrip())
        if report.latency:
            lines.append("")
            lines.append(f"{'latency':<22}  {'p50':>9}  {'p90':>9}  {'p95':>9}  {'p99':>9}  {'n':>4}")
            for name, s in report.latency.items():
                label, fmt = _LATENCY_ROWS[name]
                lines.append(f"{label:<22}  " + "  ".join(f"{fmt(s[p]):>9}" for p in ("p50", "p90", "p95", "p99")) + f"  {s['n']:>4}")
        if report.diagnostics:
            lines.append("")
            lines.append("diagnostics (Kubernetes):")
            lines.extend(f"  {d}" for d in report.diagnostics)
        lines.append("")
        lines.append(_counts_line(report) if report.warmup.reached else f"target not reachable: {report.warmup.detail}")
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


def write_json(reports: list[SmokeReport]) -> str:
    total = {s.value: 0 for s in Status}
    for report in reports:
        for key, value in report.counts.items():
            total[key] += value
    exit_code = max((r.exit_code for r in reports), default=0)
    doc = {"reports": [r.as_dict() for r in reports], "summary": {**total, "exit_code": exit_code}}
    return json.dumps(doc, indent=2) + "\n"


def _time(seconds: float) -> str:
    return f"{seconds:.3f}"


def _value(value) -> str:
    return json.dumps(value) if isinstance(value, bool) else str(value)


def _property(name: str, value) -> str:
    return f"<property name={quoteattr(str(name))} value={quoteattr(_value(value))}/>"


def _suite(report: SmokeReport) -> list[str]:
    c = report.counts
    tests = len(report.results) or 1
    errors = c["error"] + (0 if report.warmup.reached else 1)
    out = [
        f"  <testsuite name={quoteattr(report.service)} tests=\"{tests}\" failures=\"{c['failed']}\" errors=\"{errors}\" "
        f"skipped=\"{c['skipped']}\" time=\"{_time(report.duration)}\" file={quoteattr(report.leaf)}>",
        "    <properties>",
        f"      {_property('target', report.target)}",
        f"      {_property('warmup_s', round(report.warmup.seconds, 3))}",
        f"      {_property('warmup_ready', str(report.warmup.ready).lower())}",
    ]
    for name, s in report.latency.items():
        for key in ("p50", "p95", "p99"):
            out.append(f"      {_property(f'{name}.{key}', s[key])}")
    out.append("    </properties>")
    if not report.warmup.reached:
        out.append(f"    <testcase classname={quoteattr(report.service)} name=\"target reachable\" time=\"{_time(report.warmup.seconds)}\">")
        out.append(f"      <error message={quoteattr(report.warmup.detail)} type=\"unreachable\">{escape(report.warmup.detail)}</error>")
        out.append("    </testcase>")
    for r in report.results:
        out.append(f"    <testcase classname={quoteattr(report.service)} name={quoteattr(r.name)} time=\"{_time(r.duration)}\">")
        if r.metrics:
            out.append("      <properties>")
            out.extend(f"        {_property(k, v)}" for k, v in r.metrics.items())
            out.append("      </properties>")
        if r.status is Status.FAILED:
            out.append(f"      <failure message={quoteattr(r.message)} type=\"smoke.failure\">{escape(r.message)}</failure>")
        elif r.status is Status.ERROR:
            out.append(f"      <error message={quoteattr(r.message)} type=\"smoke.error\">{escape(r.message)}</error>")
        elif r.status is Status.SKIPPED:
            out.append(f"      <skipped message={quoteattr(r.message)}/>")
        if r.metrics:
            figures = "\n".join(f"{k} = {_value(v)}" for k, v in r.metrics.items())
            out.append(f"      <system-out>{escape(figures)}</system-out>")
        out.append("    </testcase>")
    if report.diagnostics:
        out.append(f"    <system-out>{escape(chr(10).join(report.diagnostics))}</system-out>")
    out.append("  </testsuite>")
    return out


def write_junit(reports: list[SmokeReport]) -> str:
    tests = sum(max(len(r.results), 1) for r in reports)
    failures = sum(r.counts["failed"] for r in reports)
    errors = sum(r.counts["error"] + (0 if r.warmup.reached else 1) for r in reports)
    skipped = sum(r.counts["skipped"] for r in reports)
    duration = sum(r.duration for r in reports)
    out = ['<?xml version="1.0" encoding="UTF-8"?>']
    out.append(
        f'<testsuites name="catalog-gen smoke" tests="{tests}" failures="{failures}" errors="{errors}" '
        f'skipped="{skipped}" time="{_time(duration)}">'
    )
    for report in reports:
        out.extend(_suite(report))
    out.append("</testsuites>")
    return "\n".join(out) + "\n"


WRITERS = {"text": write_text, "json": write_json, "junit": write_junit}


def render(reports: list[SmokeReport], fmt: str) -> str:
    return WRITERS[fmt](reports)
