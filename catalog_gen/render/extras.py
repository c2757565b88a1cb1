"""Files written into a chart folder beside the chart itself, from the leaf (defaults applied).

- `files/dashboard.json`: the Grafana dashboard the chart's ConfigMap carries (router on);
- `catalog-info.yaml`: the Backstage Component and API (leaf with an owner);
- `gitops.json`: the parameters of the chart's Argo CD Application (leaf with GitOps on).

The last two are not part of the Helm chart (the chart's .helmignore lists them).
"""

from __future__ import annotations

from catalog_gen.plan.plan import ChartPlan
from catalog_gen.render import backstage, dashboard, gitops


def chart_extras(plan: ChartPlan) -> dict[str, bytes]:
    leaf = plan.leaf
    files: dict[str, bytes] = {}
    if leaf is None:
        return files
    if leaf.router.enabled:
        files["files/dashboard.json"] = dashboard.dashboard_json(leaf).encode()
    info = backstage.catalog_info(leaf, plan.source)
    if info is not None:
        files[backstage.FILE_NAME] = info.encode()
    params = gitops.params_file(leaf)
    if params is not None:
        files[gitops.PARAMS_FILE] = params
    return files
