"""Alerts, dashboard and autoscaler read only metrics the router exports.

The exported names come from the router's own registry (`catalog_gen.router.metrics.Metrics`),
expanded as Prometheus exposes them (`_total` for counters; `_bucket`, `_sum`, `_count` for
histograms), never from a copied list. Every expression of the rendered PrometheusRule,
ScaledObject, HPA and dashboard of the example charts is parsed for the metric names it reads.
"""

from __future__ import annotations

import json
import re

import gitops_helpers as g
import pytest
from promql import metric_names

from catalog_gen.router.metrics import Metrics

ALERTS = {"OllamaHighErrorRate", "OllamaSlowModelLoad", "OllamaQueueBacklog", "OllamaNoReadyReplica", "OllamaModelNotReady"}


def exported() -> set[str]:
    names: set[str] = set()
    for family in Metrics().registry.collect():
        names.update(sample.name for sample in family.samples)
        if family.type == "counter":
            names.add(family.name + "_total")
        elif family.type == "histogram":
            names.update(family.name + suffix for suffix in ("_bucket", "_sum", "_count"))
        else:
            names.add(family.name)
    return names


EXPORTED = exported()


def test_the_registry_is_read_not_empty():
    assert {"ollama_router_queue_depth", "ollama_router_requests_total", "ollama_router_time_to_first_token_seconds_bucket"} <= EXPORTED


def test_the_parser_finds_an_unknown_metric():
    names = metric_names('histogram_quantile(0.99, sum by (le) (rate(ollama_router_made_up_bucket{job="x",le=~"1.*"}[5m]))) > 2e3')
    assert names == ["ollama_router_made_up_bucket"]
    assert not set(names) <= EXPORTED
    assert metric_names('label_values(ollama_router_ready{namespace="$namespace"}, job)') == ["ollama_router_ready"]
    assert metric_names("(sum(up) or vector(0)) < 1") == ["up"]


def rule_expressions(charts, environment, service, namespace) -> dict[str, str]:
    rule = g.one(g.service_objects(charts, environment, service, namespace), "PrometheusRule")
    return {r["alert"]: r["expr"] for group in rule["spec"]["groups"] for r in group["rules"]}


@pytest.mark.parametrize("chart", [("prod", "assistant", "ml-prod"), ("dev", "chat-multi", "ml-workloads")])
def test_alert_expressions_read_only_router_metrics(example_charts, chart):
    rules = rule_expressions(example_charts, *chart)
    assert set(rules) == ALERTS
    for alert, expr in rules.items():
        names = metric_names(expr)
        assert names, f"{alert}: no metric in {expr!r}"
        assert set(names) <= EXPORTED, f"{alert} reads {set(names) - EXPORTED}"


def test_every_alert_links_to_its_runbook_section(example_charts):
    rule = g.one(g.service_objects(example_charts, "prod", "assistant", "ml-prod"), "PrometheusRule")
    runbook = (g.REPO / "docs" / "runbooks.md").read_text(encoding="utf-8")
    anchors = {re.sub(r"[^a-z0-9 -]", "", line[3:].strip().lower()).replace(" ", "-")
               for line in runbook.splitlines() if line.startswith("## ")}
    for group in rule["spec"]["groups"]:
        for r in group["rules"]:
            url = r["annotations"]["runbook_url"]
            assert url.startswith("https://"), url
            assert url.rsplit("#", 1)[1] in anchors, f"{r['alert']}: docs/runbooks.md has no section #{url.rsplit('#', 1)[1]}"
            assert r["annotations"]["summary"] and r["labels"]["severity"] in ("warning", "critical")


def test_autoscaler_queries_read_only_router_metrics(example_charts):
    scaled = g.one(g.service_objects(example_charts, "dev", "chat-multi", "ml-workloads"), "ScaledObject")
    ours = [t for t in scaled["spec"]["triggers"] if t["name"] != "activation"]  # the activation query is the leaf's own
    assert {t["name"] for t in ours} == {"queue-depth", "inflight"}
    for trigger in ours:
        assert set(metric_names(trigger["metadata"]["query"])) <= EXPORTED
    assert metric_names(ours[0]["metadata"]["query"]) == ["ollama_router_queue_depth"]
    hpa = g.one(g.service_objects(example_charts, "dev", "tiny-cpu", "ml-workloads"), "HorizontalPodAutoscaler")
    names = [m["pods"]["metric"]["name"] for m in hpa["spec"]["metrics"]]
    assert names == ["ollama_router_queue_depth", "ollama_router_inflight_requests"]
    assert set(names) <= EXPORTED


def test_dashboard_reads_only_router_metrics_and_shows_what_on_call_needs(example_charts):
    board = json.loads((example_charts / "prod" / "assistant" / "files" / "dashboard.json").read_text(encoding="utf-8"))
    expressions = [t["expr"] for p in board["panels"] for t in p["targets"]]
    expressions += [v["definition"] for v in board["templating"]["list"] if v["type"] == "query"]
    read: set[str] = set()
    for expr in expressions:
        names = metric_names(expr)
        assert names and set(names) <= EXPORTED, f"{expr!r} reads {set(names) - EXPORTED}"
        read.update(names)
    wanted = {"ollama_router_requests_total", "ollama_router_request_duration_seconds_bucket",
              "ollama_router_time_to_first_token_seconds_bucket", "ollama_router_tokens_per_second_bucket",
              "ollama_router_queue_depth", "ollama_router_models_loaded"}
    assert wanted <= read
    per_pod = [e for e in expressions if "ollama_router_models_loaded" in e]
    assert per_pod and all("by (pod)" in e for e in per_pod)
    quantiles = {e.split(",")[0] for e in expressions if "time_to_first_token" in e}
    assert quantiles == {"histogram_quantile(0.5", "histogram_quantile(0.95", "histogram_quantile(0.99"}
