"""The operations values of a chart: monitoring, autoscaling on queue depth, the Backstage label.

Everything here reads the router's metrics (docs/router.md), so it needs the
router: with `router.enabled: false` the ServiceMonitor, alerts, dashboard and
autoscaler are off, whatever the leaf's switches say, and the plan says why.

Autoscaling follows the signal that matters for LLM serving: requests waiting
for a slot (`ollama_router_queue_depth`) and requests holding one
(`ollama_router_inflight_requests`), both averaged per replica; never CPU.
Scale-to-zero is KEDA-only and needs a leaf-supplied activation query (a metric
that exists while no pod does); validation refuses it otherwise.

The thresholds are values, numbers only; the PromQL lives in the static
templates and names the series by the release's own job and namespace.
"""

from __future__ import annotations

import math
from typing import Protocol

from catalog_gen.catalog.model import OllamaInferenceLoad

MIN_MODEL_NOT_READY_SECONDS = 600
INFLIGHT_TARGET_SHARE = 0.8


class ValuesBuilder(Protocol):
    def put(self, path: str, value, doc: str) -> None: ...

    def section(self, path: str, doc: str) -> None: ...


def kubernetes_id(leaf: OllamaInferenceLoad) -> str:
    """The `backstage.io/kubernetes-id` of the service: unique across environments, at most 61 characters."""
    return f"{leaf.service_name}-{leaf.environment}"


def inflight_target(leaf: OllamaInferenceLoad, slots_per_process: int) -> int:
    if leaf.autoscaling.target_inflight is not None:
        return leaf.autoscaling.target_inflight
    return max(1, math.floor(INFLIGHT_TARGET_SHARE * slots_per_process * leaf.ollama.processes))


def add_values(v: ValuesBuilder, leaf: OllamaInferenceLoad, slots_per_process: int, startup_seconds: int,
               decisions: list[tuple[str, str, str]]) -> None:
    """Put the monitoring, autoscaling and Backstage values (with their docs) and record the decisions."""
    router = leaf.router.enabled
    mon = leaf.monitoring

    v.section("backstage", "Service-catalog identity.")
    v.put("backstage.kubernetesId", kubernetes_id(leaf),
          "Value of the `backstage.io/kubernetes-id` label on every object and pod (the catalog-info.yaml Component).")

    v.put("networkPolicy.monitoringNamespaces", [mon.namespace] if router and mon.service_monitor else [],
          "Namespaces admitted to the router port to scrape /metrics (the API shares that port).")

    v.section("monitoring", "Prometheus and Grafana objects for the router's metrics.")
    v.put("monitoring.labels", dict(sorted(mon.labels.items())),
          "Extra labels on the ServiceMonitor and PrometheusRule (what your Prometheus selects them by).")
    v.section("monitoring.serviceMonitor", "prometheus-operator ServiceMonitor.")
    v.put("monitoring.serviceMonitor.enabled", router and mon.service_monitor, "Scrape the router's /metrics.")
    v.put("monitoring.serviceMonitor.interval", mon.interval, "Scrape interval.")
    v.put("monitoring.serviceMonitor.scrapeTimeout", "10s", "Scrape timeout.")
    v.section("monitoring.prometheusRule", "Alerts on the router's metrics, each with a runbook link.")
    v.put("monitoring.prometheusRule.enabled", router and mon.prometheus_rule, "Create the PrometheusRule.")
    v.put("monitoring.prometheusRule.runbookUrl", mon.runbook_url, "Runbook page; each alert links to `#<alert name in lower case>`.")
    v.put("monitoring.prometheusRule.errorRatio", mon.alerts.error_ratio, "OllamaHighErrorRate: share of 5xx replies over 5 minutes.")
    v.put("monitoring.prometheusRule.modelLoadP99Seconds", mon.alerts.model_load_p99_seconds,
          "OllamaSlowModelLoad: p99 of model load time over 15 minutes, in seconds.")
    v.put("monitoring.prometheusRule.queueDepth", mon.alerts.queue_depth, "OllamaQueueBacklog: requests waiting in one pod for 5 minutes.")
    not_ready = max(MIN_MODEL_NOT_READY_SECONDS, startup_seconds)
    v.put("monitoring.prometheusRule.modelNotReadyFor", f"{not_ready}s",
          "OllamaModelNotReady fires after this long: at least 10 minutes, or the startup budget of the models.")
    can_be_zero = leaf.autoscaling.enabled and leaf.autoscaling.scale_to_zero
    v.put("monitoring.prometheusRule.noReadyReplica", not can_be_zero,
          "OllamaNoReadyReplica also fires when no pod reports at all (off when the service may scale to zero).")
    v.section("monitoring.dashboard", "Grafana dashboard (files/dashboard.json) in a ConfigMap Grafana's sidecar loads.")
    v.put("monitoring.dashboard.enabled", router and mon.dashboard, "Create the dashboard ConfigMap.")
    v.put("monitoring.dashboard.namespace", mon.dashboard_namespace or "", "Namespace of the ConfigMap (empty: the release's).")
    v.put("monitoring.dashboard.folder", leaf.service_catalog, "Grafana folder (annotation `grafana_folder`).")
    if router:
        switched = [name for name, on in (("ServiceMonitor", mon.service_monitor), ("PrometheusRule", mon.prometheus_rule),
                                          ("dashboard", mon.dashboard)) if on]
        decisions.append(("metrics", ", ".join(switched) or "none",
                          f"leaf switches; Prometheus in namespace {mon.namespace} may reach the router port"))
    else:
        decisions.append(("metrics", "none", "the router is off, and only the router exports metrics"))

    auto = leaf.autoscaling
    on = router and auto.enabled
    low = 0 if auto.scale_to_zero else auto.min_replicas
    inflight = inflight_target(leaf, slots_per_process)
    v.put("autoscaling.enabled", on, "Scale on queue depth (KEDA or HPA); needs the router's metrics.")
    v.put("autoscaling.minReplicas", low, "Fewest replicas (0 only with scale-to-zero).")
    v.put("autoscaling.engine", auto.engine, "keda (ScaledObject with Prometheus triggers) or hpa (needs prometheus-adapter).")
    v.put("autoscaling.targetInflight", inflight, "Requests in flight per replica that trigger a scale-up.")
    v.put("autoscaling.cooldownSeconds", auto.cooldown_seconds, "Wait before scaling down (KEDA cooldown, HPA stabilization).")
    v.put("autoscaling.pollingSeconds", auto.polling_seconds, "How often KEDA reads the metrics.")
    v.put("autoscaling.fallbackReplicas", auto.fallback_replicas or max(1, auto.min_replicas),
          "Replicas KEDA keeps while Prometheus cannot be read.")
    v.put("autoscaling.prometheusUrl", mon.prometheus_url, "Prometheus the KEDA triggers query.")
    v.put("autoscaling.activationQuery", auto.activation_query or "",
          "PromQL above 0 when a request waits for a pod that does not exist yet (scale from zero); empty: none.")
    if on:
        decisions.append(("scaling", f"{auto.engine}, {low}..{auto.max_replicas} replicas",
                          f"queue depth above {auto.target_queue_depth} or more than {inflight} request(s) in flight per replica"))
        if auto.scale_to_zero:
            v.put("smoke.enabled", False, "Off: the service may be asleep (scaled to zero) when a sync ends.")
            decisions[:] = [d for d in decisions if d[0] != "smoke"]  # replaces the PostSync Job decision
            decisions.append(("smoke", "no PostSync Job", "at zero replicas the in-cluster Service cannot answer; "
                              "run `catalog-gen smoke` through the gateway, which wakes the service"))
    elif auto.enabled:
        decisions.append(("scaling", "off", "autoscaling reads the router's metrics and the router is off"))

    if leaf.ownership.owner:
        decisions.append(("catalog", f"Backstage Component and API {kubernetes_id(leaf)}",
                          f"owner {leaf.ownership.owner}, lifecycle {leaf.ownership.lifecycle}"))
    else:
        decisions.append(("catalog", "no catalog-info.yaml", "Backstage needs an owner and `ownership.owner` is not set"))
    gitops = leaf.gitops
    if gitops.repo_url is None:
        decisions.append(("gitops", "none", "`gitops.repoURL` is not set"))
    else:
        tools = [f"Argo CD {gitops.argocd.mode}"] if gitops.argocd.mode != "none" else []
        tools += ["Flux HelmRelease"] if gitops.flux.enabled else []
        decisions.append(("gitops", ", ".join(tools) or "none", f"{gitops.repo_url} at {gitops.target_revision}"))
