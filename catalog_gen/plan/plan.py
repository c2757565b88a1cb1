"""Leaf -> ChartPlan: every derived decision, with its reason.

The plan is plain data. All leaf data lands in ``values`` (rendered to
values.yaml); the chart's Go templates read only ``.Values``, so a leaf string
holding `{{ .Release.Name }}`, quotes or `$(reboot)` comes out of Helm
literally. ``docs`` documents every value (dotted path -> sentence) for the
`# --` comments, values.schema.json and the chart README.
"""

from __future__ import annotations

import dataclasses

from catalog_gen import __version__
from catalog_gen.catalog.index import chart_path
from catalog_gen.catalog.model import OllamaInferenceLoad
from catalog_gen.plan import exposure, observability, pool, serving, workload
from catalog_gen.plan.context import PlanContext
from catalog_gen.plan.sizing import Sizing, size_service


@dataclasses.dataclass(frozen=True)
class ChartPlan:
    source: str  # the leaf file, as shown in Chart.yaml
    chart_dir: str  # <environment>/<serviceName> under the charts folder
    name: str
    app_version: str
    description: str
    values: dict
    docs: dict[str, str]
    decisions: list[tuple[str, str, str]]  # (topic, decision, why)
    sizing: Sizing
    leaf: OllamaInferenceLoad | None = None  # the leaf, defaults applied (GitOps and Backstage files read it)


def build_plan(leaf: OllamaInferenceLoad, source: str) -> ChartPlan:
    sizing = size_service(leaf)
    ctx = PlanContext(leaf=leaf, sizing=sizing)
    for reason in sizing.reasons:
        ctx.decide("sizing", sizing.preset, reason)
    for step in (workload.add_identity, workload.add_image, workload.add_models, workload.add_ollama,
                 workload.add_pull, workload.add_cache, serving.add_router, serving.add_service, serving.add_probes,
                 exposure.add_ingress, exposure.add_network_policy, exposure.add_disruption_budget,
                 exposure.add_autoscaling, _add_smoke, _add_operations, pool.add_pool):
        step(ctx)
    workload.add_workload(ctx, serving.startup_budget(ctx).seconds)
    workload.add_placement(ctx, exposure.most_replicas(ctx))
    serving.add_termination(ctx)

    name = leaf.service_name
    models_text = ", ".join(spec.name for spec in leaf.model_specs)
    return ChartPlan(
        source=source,
        chart_dir=chart_path({"environment": leaf.environment, "serviceName": name}),
        name=name,
        app_version=leaf.ollama.version,
        description=f"Ollama inference service {name} ({leaf.environment}): {models_text}",
        values=ctx.values.tree,
        docs=ctx.values.docs,
        decisions=ctx.decisions,
        sizing=sizing,
        leaf=leaf,
    )


def _add_smoke(ctx: PlanContext) -> None:
    leaf, v = ctx.leaf, ctx.values
    smoke = leaf.smoke
    deadline = smoke.warmup_seconds + 4 * smoke.timeout_seconds + 300
    v.section("smoke", "Post-deploy smoke checks: an Argo CD PostSync Job and the `helm test` Pod run `catalog-gen smoke`.")
    v.put("smoke.enabled", True, "Create the PostSync Job, the test Pod and their read-only RBAC.")
    v.put("smoke.activeDeadlineSeconds", deadline, "Deadline of the smoke Job: warm-up wait, the checks, and slack.")
    # a leaf without a pool dumps as before pools existed (its chart does not change)
    v.put("smoke.leaf", leaf.model_dump(mode="json", by_alias=True, exclude_none=True,
                                        exclude=None if leaf.pool.enabled else {"pool"}),
          "The resolved leaf (defaults applied) the checks are derived from.")
    ctx.decide("smoke", f"PostSync Job, deadline {deadline}s",
               f"warm-up {smoke.warmup_seconds}s + 4 x {smoke.timeout_seconds}s request timeout + 300s")


def _add_operations(ctx: PlanContext) -> None:
    """Monitoring, autoscaling objects and Backstage."""
    observability.add_values(ctx.values, ctx.leaf, serving.slots_per_process(ctx), serving.startup_budget(ctx).seconds,
                             ctx.decisions)


GENERATOR = f"catalog-gen {__version__}"
