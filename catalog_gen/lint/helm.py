"""Real Helm, in-process: ``helm lint --strict`` and rendering, through helm-python-sdk.

helm-python-sdk binds Helm v4's own Go SDK (no helm binary, no cluster, no
network). Two things it does not do for us, done here:

- ``render()`` returns output that is not valid YAML without complaint (the
  caller parses it, see ``manifests.py``);
- Helm's messages carry template positions as text (``(chart/templates/x.yaml:6:15)``);
  we parse them into file/line/column so a finding points into the template.

Helm lint runs on a *shadow copy* of the chart in which the chart's own
``templates/**/*.yaml`` files are empty. Measured: Helm's per-object
template rules build a whole ``runtime.Scheme`` for every rendered object
(``validateNoDeprecations``), about 1.3 ms an object, 15-30 ms for one of our
charts, against 1.5 ms for everything else Helm lint does. Every rule of
``helm lint --strict`` still runs on the real Chart.yaml, values.yaml,
values.schema.json, dependencies, crds/ and the helpers and NOTES.txt; the
per-object rules it skips are ours, stricter and with positions: the render
itself (``helm-render``), YAML parsing and leading indent (``yaml-invalid``),
metadata names (``name-invalid``), deprecated APIs (``api-removed``,
``api-deprecated``; Helm only warns, even for APIs removed long ago) and
selectors (``selector-mismatch``, ``kube-schema``).
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
from pathlib import Path
from typing import Any

# Go collects garbage less often (GOGC=400: after the heap grew 400%, not 100%; unless the user
# set GOGC): lint makes many small Helm calls, and this cut about 10% of CPU time in
# benchmarks/lint.py. It must be set before the Go runtime inside helm-python-sdk starts.
os.environ.setdefault("GOGC", "400")
# One OS thread runs Go code (unless the user set GOMAXPROCS): lint calls Helm from one Python thread per
# process and runs one process per CPU, so Go's parallel garbage collection only competed with the other
# workers for the same cores (measured: about 10% less CPU a chart on the project's 2 cores).
os.environ.setdefault("GOMAXPROCS", "1")

import helm_python  # noqa: E402
import yaml  # noqa: E402

from catalog_gen import fsutil  # noqa: E402
from catalog_gen.fsutil import Refused  # noqa: E402
from catalog_gen.lint import chartfiles  # noqa: E402
from catalog_gen.lint.objects import Issue  # noqa: E402

helm_python.disable_logging()  # Helm's Go logger would otherwise print to stderr

_POSITION = re.compile(r"(?:^|[\s(])([\w.-]+/((?:charts/[\w.-]+/)*templates/[^\s:()]+)):(\d+)(?::(\d+))?")
_DEPRECATION = re.compile(r"is deprecated in v\d+\.\d+\+")
RELEASE_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


@dataclasses.dataclass(slots=True)
class Scenario:
    name: str  # "values.yaml" (defaults) or "ci/<x>-values.yaml"
    values: dict[str, Any] | None


def _position(text: str) -> tuple[str, int, int]:
    """(chart-relative template, line, column) named in a Helm message, or ("", 0, 0)."""
    match = _POSITION.search(text)
    if not match:
        return "", 0, 0
    return match[2], int(match[3]), int(match[4] or 0)


class _Budget:
    """Bytes a shadow copy may still write (``chartfiles.MAX_CHART_BYTES`` a chart)."""

    def __init__(self) -> None:
        self.left = chartfiles.MAX_CHART_BYTES

    def take(self, size: int) -> None:
        self.left -= size
        if self.left < 0:
            raise Refused("io.too-large", "the chart is larger than lint's budget for a copy", "make the chart smaller")


def _copy_tree(chart_dir: Path, source: Path, target: Path, blank_yaml: bool, budget: _Budget) -> None:
    """Copy a folder of the chart; files are read only as regular files inside the chart, bounded (never a symlink's way out)."""
    target.mkdir()
    with os.scandir(source) as entries:
        for entry in entries:
            destination = target / entry.name
            if entry.is_dir(follow_symlinks=False):
                _copy_tree(chart_dir, Path(entry.path), destination, blank_yaml, budget)
            elif blank_yaml and entry.name.endswith((".yaml", ".yml")) and not entry.is_symlink():
                destination.touch()
            elif entry.is_symlink() and os.path.isdir(entry.path):
                if not fsutil.inside(entry.path, chart_dir):
                    raise Refused("io.symlink-escape", f"{entry.path} leads out of the chart", "remove the symlink")
                _copy_tree(chart_dir, Path(os.path.realpath(entry.path)), destination, blank_yaml, budget)
            else:
                data = _read_for_copy(entry, chart_dir)
                budget.take(len(data))
                if blank_yaml and entry.name.endswith((".yaml", ".yml")):
                    data = b""
                with open(destination, "xb") as handle:
                    handle.write(data)


def _shadow_copy(chart_dir: Path, scratch: Path) -> Path:
    """A copy of the chart whose own templates/**/*.yaml are empty (see the module docstring).

    The copy is made from what ``chartfiles.survey`` let through, and checked again as it is
    made: regular files inside the chart only, within a size budget, symlinks never followed out.
    """
    target = scratch / chart_dir.name
    if target.exists():
        shutil.rmtree(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    budget = _Budget()
    target.mkdir()
    with os.scandir(chart_dir) as entries:
        for entry in entries:
            destination = target / entry.name
            if entry.is_dir(follow_symlinks=False) or (entry.is_symlink() and os.path.isdir(entry.path)):
                if entry.is_symlink() and not fsutil.inside(entry.path, chart_dir):
                    raise Refused("io.symlink-escape", f"{entry.path} leads out of the chart", "remove the symlink")
                _copy_tree(chart_dir, Path(os.path.realpath(entry.path)), destination, entry.name == "templates", budget)
            else:
                data = _read_for_copy(entry, chart_dir)
                budget.take(len(data))
                with open(destination, "xb") as handle:
                    handle.write(data)
    return target


def _read_for_copy(entry: os.DirEntry, chart_dir: Path) -> bytes:
    """A file of the chart for the shadow copy: a symlink only to a regular file inside the chart; anything
    else only as a regular file (O_NOFOLLOW, fstat), bounded either way."""
    if entry.is_symlink():
        return fsutil.read_regular(entry.path, chartfiles.MAX_FILE_BYTES, root=chart_dir)
    data = fsutil.read_plain(entry.path, chartfiles.MAX_FILE_BYTES)  # no realpath: survey() vetted it, this re-checks
    if data is None:
        raise Refused("io.special-file", f"{entry.path} is not a regular file of at most {chartfiles.MAX_FILE_BYTES} bytes",
                      "replace it with a regular file")
    return data


def lint(chart_dir: Path, kube_version: str, scratch: Path, *, schema_checked: bool = False) -> list[Issue]:
    """``helm lint --strict`` of one chart; warnings are errors, infos stay infos.

    ``schema_checked``: the caller rendered the chart's default values with Helm without an error, and
    the chart has no subcharts. Helm's render validates exactly what helm lint's two schema checks
    validate then (``values.yaml``, coalesced, against ``values.schema.json``), so lint skips them
    (``skip_schema_validation``): each compiles the schema again, about 7 ms a chart of ours. When the
    render failed, lint validates as usual and reports the schema errors in its own words.
    """
    shadow = scratch / chart_dir.name
    try:
        try:
            shadow = _shadow_copy(chart_dir, scratch)
        except Refused as refused:
            return [Issue(chartfiles.CHECK, f"cannot copy the chart for helm lint: {refused.message}", file="Chart.yaml")]
        except OSError as exc:
            return [Issue("helm-lint", f"cannot copy the chart for helm lint: {exc}", file="Chart.yaml")]
        report = helm_python.lint(str(shadow), strict=True, kube_version=f"v{kube_version}.0",
                                  skip_schema_validation=True if schema_checked else None)
    except helm_python.HelmError as exc:
        return [Issue("helm-lint", f"helm lint failed: {str(exc).replace(str(shadow), str(chart_dir))}", file="Chart.yaml")]
    finally:
        shutil.rmtree(shadow, ignore_errors=True)
    issues = []
    for message in report.get("messages") or []:
        text = str(message.get("error", "")).strip().replace(str(shadow), str(chart_dir))
        if not text or _DEPRECATION.search(text):
            continue
        template, line, column = _position(text)
        severity = "info" if int(message.get("severity", 0)) <= 1 else "error"
        path = template or str(message.get("path") or "Chart.yaml")
        issues.append(Issue("helm-lint", text, file=path, line=line, column=column, severity=severity))
    return issues


def scenarios(chart_dir: Path) -> tuple[list[Scenario], list[Issue]]:
    """The default values, then every ``ci/*-values.yaml`` (sorted), as render scenarios."""
    found = [Scenario("values.yaml", None)]
    issues = []
    for path in sorted((chart_dir / "ci").glob("*-values.yaml")):
        name = f"ci/{path.name}"
        try:
            values = yaml.load(chartfiles.read_chart_file(chart_dir, name).decode("utf-8"), Loader=yaml.CSafeLoader)
        except yaml.MarkedYAMLError as err:
            line, column = (err.problem_mark.line + 1, err.problem_mark.column + 1) if err.problem_mark else (0, 0)
            issues.append(Issue("helm-render", f"{name} is not valid YAML: {err.problem}", file=name, line=line, column=column))
            continue
        except Refused as refused:
            issues.append(Issue(chartfiles.CHECK, f"{name} {refused.message}", file=name))
            continue
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as err:
            issues.append(Issue("helm-render", f"{name} cannot be read: {err}", file=name))
            continue
        if values is not None and not isinstance(values, dict):
            issues.append(Issue("helm-render", f"{name} must be a mapping of values", file=name, line=1, column=1))
            continue
        found.append(Scenario(name, values or {}))
    return found, issues


class LoadedChart:
    """A chart loaded once and rendered for each scenario."""

    def __init__(self, chart_dir: Path) -> None:
        self.chart_dir = chart_dir
        self._chart = helm_python.Chart.load(str(chart_dir))
        name = str(self._chart.metadata.get("name") or "")
        self.release = name if RELEASE_NAME.match(name) and len(name) <= 53 else "release-name"
        self.defaults_rendered = False  # the default values rendered without an error (schema validation included)

    def close(self) -> None:
        self._chart.close()

    def render(self, scenario: Scenario) -> tuple[dict[str, str], list[Issue]]:
        """Rendered manifests by chart-relative template path, or the render error."""
        try:
            rendered = self._chart.render(values=scenario.values, name=self.release, namespace="default")
        except helm_python.HelmError as exc:
            template, line, column = _position(str(exc))
            issue = Issue("helm-render", f"render failed: {exc}", file=template or "Chart.yaml", line=line, column=column)
            return {}, [issue]  # the caller names the scenario
        if scenario.values is None:
            self.defaults_rendered = True
        manifests = {}
        for key, text in rendered.items():
            path = key.split("/", 1)[1] if "/" in key else key
            base = path.rsplit("/", 1)[-1]
            if base == "NOTES.txt" or base.startswith("_") or not text.strip():
                continue
            manifests[path] = text
        return manifests, []


def load(chart_dir: Path) -> tuple[LoadedChart | None, list[Issue]]:
    try:
        return LoadedChart(chart_dir), []
    except helm_python.HelmError as exc:
        return None, [Issue("helm-render", f"Helm cannot load the chart: {exc}", file="Chart.yaml")]
