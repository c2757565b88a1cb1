"""The render stage: validated leaves -> plans -> chart files -> written, checked or pruned."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from catalog_gen.catalog.model import OllamaInferenceLoad
from catalog_gen.catalog.validate import Leaf, validate_paths
from catalog_gen.errors import CatalogInvalid, Finding, has_errors
from catalog_gen.plan.plan import ChartPlan, build_plan
from catalog_gen.render import write
from catalog_gen.render.chart import chart_files


@dataclasses.dataclass
class RenderResult:
    findings: list[Finding]  # warnings from validation
    charts: dict[str, dict[str, bytes]]
    written: list[str]
    drift: list[write.Drift]
    pruned: list[str]


def leaf_model(leaf: Leaf) -> OllamaInferenceLoad:
    return OllamaInferenceLoad.model_validate(leaf.data)


def source_name(leaf: Leaf) -> str:
    return Path(os.path.relpath(leaf.doc.path)).as_posix()


def plan_leaves(paths: list[Path]) -> tuple[list[ChartPlan], list[Finding]]:
    """Validate, then plan every leaf. Raises CatalogInvalid (nothing rendered) on any error."""
    result = validate_paths(paths)
    if has_errors(result.findings):
        raise CatalogInvalid(result.findings)
    plans = [build_plan(leaf_model(leaf), source_name(leaf)) for leaf in result.leaves]
    return plans, result.findings


def render_catalog(paths: list[Path], out: Path, *, check: bool = False, diff: bool = False, prune: bool = False) -> RenderResult:
    plans, findings = plan_leaves(paths)
    charts = {plan.chart_dir: chart_files(plan) for plan in plans}
    sources = {plan.source for plan in plans}
    stale = write.stale_charts(out, charts, sources) if (prune or check) else []
    if check:
        drift = write.compare(out, charts, want_diff=diff)
        if prune:
            drift += [write.Drift(rel, "stale", []) for rel in stale]
        return RenderResult(findings, charts, [], drift, [])
    written = write.write_charts(out, charts, stale if prune else [])
    return RenderResult(findings, charts, written, [], stale if prune else [])
