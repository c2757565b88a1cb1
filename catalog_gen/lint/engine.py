"""Lint one chart: Helm lint, render each values scenario, parse, check, suppress, locate.

Checks return ``Issue`` records; this module turns them into ``Finding``s:
severity and remediation from the registry, file/line from ``locate``, the
scenario named when it is not the default values. A problem that shows up in
several scenarios at the same place is reported once (for the first).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from catalog_gen.errors import Finding, Severity
from catalog_gen.fsutil import Refused
from catalog_gen.lint import chartfiles, helm, manifests, platform, schemas, security, semantic, suppress
from catalog_gen.lint.crds import CrdStore
from catalog_gen.lint.kube_schemas import KubeSchemas
from catalog_gen.lint.locate import TemplateLineMap, node_position
from catalog_gen.lint.objects import Issue, K8sObject
from catalog_gen.lint.podspec import ChartView
from catalog_gen.lint.policies import CHECK_BY_ID
from catalog_gen.lint.shared import SharedWork

DEFAULT_SCENARIO = "values.yaml"


@dataclasses.dataclass(frozen=True)
class Settings:
    kube: KubeSchemas
    crds: CrdStore
    require_schemas: bool
    scratch: Path  # a private temporary folder (helm lint's shadow copies)
    # Work shared between the charts of a run (see shared.py); None lints each chart the straightforward way
    # (every Helm schema check, every template parsed): the findings are the same, tests compare them.
    shared: SharedWork | None = None


def display_path(path: Path) -> str:
    """A path relative to the working directory when it is inside it, else absolute (POSIX style)."""
    absolute = path.resolve()
    try:
        return absolute.relative_to(Path.cwd().resolve()).as_posix() or "."
    except ValueError:
        return absolute.as_posix()


def check_objects(objects: list[K8sObject], settings: Settings, memo: dict[int, list[Issue]] | None = None) -> list[Issue]:
    """Every check that looks at rendered objects (schemas, semantics, policies), suppression applied.

    ``memo`` keeps the issues of each object (by identity) across the values
    scenarios of one chart: most objects render the same in every scenario
    and are parsed once (see ``lint_chart``), so they are checked once too.
    """
    memo = {} if memo is None else memo
    issues: list[Issue] = []
    for obj in objects:
        if id(obj) not in memo:
            memo[id(obj)] = (
                schemas.check_schema(obj, settings.kube, settings.crds, settings.require_schemas)
                + semantic.object_issues(obj)
                + security.object_issues(obj)
                + platform.object_issues(obj)
            )
        issues += memo[id(obj)]
    view = ChartView.build(objects)
    issues += semantic.chart_issues(view) + platform.chart_issues(view)
    return suppress.apply(objects, issues)


class _Locator:
    """Turns issues of one chart into findings; template sources and line maps are read lazily."""

    def __init__(self, chart_dir: Path) -> None:
        self.chart_dir = chart_dir
        self.chart = display_path(chart_dir)
        self._maps: dict[tuple[str, str], TemplateLineMap | None] = {}

    def _line_map(self, template: str, rendered: str) -> TemplateLineMap | None:
        key = (template, rendered)
        if key not in self._maps:
            try:
                source = chartfiles.read_chart_file(self.chart_dir, template).decode("utf-8")
            except (Refused, UnicodeDecodeError):
                source = None
            self._maps[key] = TemplateLineMap(rendered, source) if source is not None else None
        return self._maps[key]

    def finding(self, issue: Issue, scenario: str, rendered: dict[str, str]) -> tuple[tuple, Finding]:
        check = CHECK_BY_ID[issue.check]
        severity = Severity(issue.severity) if issue.severity else check.severity
        message = issue.message
        rendered_line = 0
        if issue.file:
            template = issue.file if "templates/" in issue.file and not issue.file.endswith("/") else ""
            path, line, column, template_line = issue.file, issue.line, issue.column, issue.line if template else 0
        else:
            obj = issue.obj
            template = issue.template or (obj.template if obj else "")
            if issue.line or obj is None:
                rendered_line, rendered_col = issue.line, issue.column
            else:
                line0, col0 = node_position(obj.node, obj.node_pointer(issue.pointer))
                rendered_line, rendered_col = obj.line_offset + line0 + 1, col0 + 1
            line_map = self._line_map(template, rendered.get(template, ""))
            located = line_map.lookup(rendered_line, rendered_col) if line_map else None
            path = template
            line, column = located if located else (0, 0)
            template_line = line
        key = (issue.check, path, line, column, issue.pointer, issue.obj.ref if issue.obj else "", message)
        if not line and rendered_line:
            message += f" (rendered manifest line {rendered_line}; the template line could not be located)"
        if scenario != DEFAULT_SCENARIO:
            message += f" [values: {scenario}]"
        finding = Finding(
            file=f"{self.chart}/{path}",
            line=line,
            column=column,
            pointer=issue.pointer,
            code=issue.check,
            severity=severity,
            message=message,
            hint=check.remediation,
            object=issue.obj.ref if issue.obj else "",
            template=template,
            template_line=template_line,
            chart=self.chart,
            rendered_line=rendered_line,
        )
        return key, finding


def _drop_helm_duplicates(lint_issues: list[Issue], own: list[Issue]) -> list[Issue]:
    """Helm's YAML parse errors and render errors also come from our own steps, with better positions."""
    unparsable = {i.template for i in own if i.check == "yaml-invalid"}
    render_errors = {(i.file, i.line) for i in own if i.check == "helm-render"}
    return [
        i
        for i in lint_issues
        if not (i.file in unparsable and "unable to parse YAML" in i.message) and (i.file, i.line) not in render_errors
    ]


def _render_and_check(chart: helm.LoadedChart, scenarios: list[helm.Scenario], settings: Settings):
    """(scenario name, issues, rendered manifests) for every scenario that renders differently."""
    parsed: dict[tuple[str, str], tuple[list[K8sObject], list[Issue]]] = {}
    memo: dict[int, list[Issue]] = {}
    seen: list[dict[str, str]] = []
    for scenario in scenarios:
        rendered, issues = chart.render(scenario)
        if rendered and rendered in seen:
            continue  # renders exactly like an earlier scenario: nothing new to find
        seen.append(rendered)
        objects: list[K8sObject] = []
        for template in sorted(rendered):
            key = (template, rendered[template])
            if key not in parsed:  # most templates render the same in every scenario: parse them once
                parsed[key] = (settings.shared.parse(template, rendered[template], chart.release) if settings.shared
                               else manifests.parse_template(template, rendered[template]))
            objects += parsed[key][0]
            issues += parsed[key][1]
        yield scenario.name, issues + check_objects(objects, settings, memo), rendered


def _has_subcharts(chart_dir: Path) -> bool:
    """A ``charts/`` folder (subcharts Helm loads) or dependencies: Helm's render then validates more than lint does."""
    return (chart_dir / "charts").exists() or (chart_dir / "requirements.yaml").exists()


def lint_chart(chart_dir: Path, settings: Settings) -> list[Finding]:
    """Every finding of one chart (unsorted, each reported once)."""
    locator = _Locator(chart_dir)
    findings: dict[tuple, Finding] = {}

    def add(issues: list[Issue], scenario: str, rendered: dict[str, str]) -> None:
        for issue in issues:
            key, finding = locator.finding(issue, scenario, rendered)
            findings.setdefault(key, finding)

    surveyed, safe = chartfiles.survey(chart_dir)  # before anything opens a file of the chart
    add(surveyed, DEFAULT_SCENARIO, {})
    if not safe:
        return list(findings.values())
    chart, own = helm.load(chart_dir)
    scenarios, scenario_issues = helm.scenarios(chart_dir)
    own += scenario_issues
    add(own, DEFAULT_SCENARIO, {})
    schema_checked = False
    if chart is not None:
        try:
            for name, issues, rendered in _render_and_check(chart, scenarios, settings):
                own += issues if name == DEFAULT_SCENARIO else []
                add(issues, name, rendered)
            schema_checked = settings.shared is not None and chart.defaults_rendered and not _has_subcharts(chart_dir)
        finally:
            chart.close()
    # Helm lint's findings come last (so a finding our own steps report better wins); it runs after the
    # renders so that it can skip the schema validation the default render has just done (helm.lint).
    lint_issues = helm.lint(chart_dir, settings.kube.version, settings.scratch, schema_checked=schema_checked)
    add(_drop_helm_duplicates(lint_issues, own), DEFAULT_SCENARIO, {})
    return list(findings.values())
