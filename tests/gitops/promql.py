"""The metric names a PromQL expression reads (enough PromQL for our alerts, dashboard and autoscaler).

Strings, label matchers, range selectors and grouping clauses are removed; what is left
that is an identifier, not followed by `(` (a function) and not a keyword, is a metric
name. Grafana's `label_values(metric, label)` reads only its first argument.
"""

from __future__ import annotations

import re

KEYWORDS = {"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring", "group_left", "group_right", "inf", "nan"}
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"' + r"|'(?:[^'\\]|\\.)*'")
_MATCHERS = re.compile(r"\{[^{}]*\}")
_RANGE = re.compile(r"\[[^\]]*\]")
_GROUPING = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_LABEL_VALUES = re.compile(r"^label_values\((.*),\s*[A-Za-z_][A-Za-z0-9_]*\)$")
_IDENT = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")


def metric_names(expr: str) -> list[str]:
    expr = expr.strip()
    grafana = _LABEL_VALUES.match(expr)
    if grafana:
        expr = grafana.group(1)
    text = _STRING.sub('""', expr)
    text = _MATCHERS.sub("", text)
    text = _RANGE.sub("", text)
    text = _GROUPING.sub("", text)
    names = []
    for match in _IDENT.finditer(text):
        word = match.group(0)
        before = text[: match.start()]
        if before and (before[-1].isdigit() or before[-1] == "."):
            continue  # the exponent or unit of a number
        if text[match.end():].lstrip().startswith("(") or word.lower() in KEYWORDS:
            continue
        names.append(word)
    return names
