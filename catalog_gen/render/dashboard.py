"""The Grafana dashboard of one service, as JSON data (the chart's files/dashboard.json).

It reads only the router's metrics (docs/router.md; a test checks every
expression against the router's registry). Series are chosen by two dashboard
variables, `namespace` and `job` (the ServiceMonitor's job is the Service
name), defaulting to this leaf's; so one file serves every release and the
Grafana user can switch services. The uid is a hash of environment, namespace
and service: stable across renders, distinct between services.
"""

from __future__ import annotations

import functools
import hashlib
import json

from catalog_gen.catalog.model import OllamaInferenceLoad

SELECTOR = 'namespace="$namespace",job="$job"'
RATE = "[$__rate_interval]"
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}


def dashboard_uid(leaf: OllamaInferenceLoad) -> str:
    key = f"{leaf.environment}/{leaf.namespace}/{leaf.service_name}"
    return "ollama-" + hashlib.sha256(key.encode()).hexdigest()[:12]


def _quantiles(metric: str, by: str, quantiles=(0.5, 0.95, 0.99)) -> list[tuple[str, str]]:
    group = f"le, {by}" if by else "le"
    suffix = f" {{{{{by}}}}}" if by else ""
    return [
        (f"histogram_quantile({q}, sum by ({group}) (rate({metric}_bucket{{{SELECTOR}}}{RATE})))", f"p{round(q * 100)}{suffix}")
        for q in quantiles
    ]


def _panel(title: str, unit: str, targets: list[tuple[str, str]], description: str) -> dict:
    return {
        "type": "timeseries",
        "title": title,
        "description": description,
        "datasource": DATASOURCE,
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "options": {"legend": {"displayMode": "table", "placement": "bottom", "calcs": ["lastNotNull", "max"]},
                    "tooltip": {"mode": "multi", "sort": "desc"}},
        "targets": [{"datasource": DATASOURCE, "expr": expr, "legendFormat": legend, "refId": chr(ord("A") + i)}
                    for i, (expr, legend) in enumerate(targets)],
    }


def panels() -> list[dict]:
    """The panels, in reading order; every expression reads only router metrics."""
    requests = f"ollama_router_requests_total{{{SELECTOR}}}"
    errors = f'ollama_router_requests_total{{{SELECTOR},status=~"5.."}}'
    found = [
        _panel("Requests per second", "reqps",
               [(f"sum by (status) (rate({requests}{RATE}))", "{{status}}")],
               "Requests answered by the router, by HTTP status (499: the caller went away)."),
        _panel("Errors", "percentunit",
               [(f"sum(rate({errors}{RATE})) / sum(rate({requests}{RATE}))", "5xx share"),
                (f"sum by (reason) (rate(ollama_router_queue_rejections_total{{{SELECTOR}}}{RATE})) / sum(rate({requests}{RATE}))",
                 "rejected: {{reason}}")],
               "Share of replies that are 5xx, and of requests refused by backpressure."),
        _panel("Request latency", "s", _quantiles("ollama_router_request_duration_seconds", ""),
               "Arrival to last byte, all endpoints."),
        _panel("Time to first token", "s", _quantiles("ollama_router_time_to_first_token_seconds", ""),
               "Arrival to first chunk of streamed replies (queue wait and model load included)."),
        _panel("Tokens per second", "none",
               _quantiles("ollama_router_tokens_per_second", "model", (0.5, 0.1)),
               "Generation speed of replies by model: median and slowest tenth."),
        _panel("Queue and slots", "short",
               [(f"sum by (pod) (ollama_router_queue_depth{{{SELECTOR}}})", "queued {{pod}}"),
                (f"sum by (pod) (ollama_router_inflight_requests{{{SELECTOR}}})", "in flight {{pod}}"),
                (f"sum by (pod) (ollama_router_backend_slots{{{SELECTOR}}})", "slots {{pod}}")],
               "Requests waiting for a slot (the autoscaling signal), holding one, and the slots there are."),
        _panel("Queue wait", "s", _quantiles("ollama_router_queue_wait_seconds", "", (0.5, 0.95)),
               "How long queued requests waited for a slot."),
        _panel("Loaded models per pod", "short",
               [(f"sum by (pod) (ollama_router_models_loaded{{{SELECTOR}}})", "{{pod}}")],
               "Models in memory on each pod's Ollama processes."),
        _panel("Model readiness", "short",
               [(f"min by (model) (ollama_router_model_ready{{{SELECTOR}}})", "{{model}}"),
                (f"sum(ollama_router_ready{{{SELECTOR}}})", "ready pods")],
               "1 when a required model is on disk, pinned and warm on some pod; ready pods."),
        _panel("Model load time", "s", _quantiles("ollama_router_model_load_duration_seconds", "model", (0.5, 0.99)),
               "Warm-ups and loads caused by requests, by model."),
    ]
    for i, panel in enumerate(found):
        panel["id"] = i + 1
        panel["gridPos"] = {"h": 8, "w": 12, "x": 12 * (i % 2), "y": 8 * (i // 2)}
    return found


def _variable(name: str, label: str, query: str, current: str) -> dict:
    return {
        "name": name,
        "label": label,
        "type": "query",
        "datasource": DATASOURCE,
        "definition": query,
        "query": {"query": query, "refId": f"{name}-variable"},
        "current": {"selected": True, "text": current, "value": current},
        "refresh": 2,
        "sort": 1,
        "hide": 0,
    }


def dashboard(leaf: OllamaInferenceLoad) -> dict:
    return {
        "uid": dashboard_uid(leaf),
        "title": f"Ollama {leaf.service_name} ({leaf.environment})",
        "description": f"Router metrics of {leaf.service_name} in {leaf.namespace} ({leaf.environment}); generated by catalog-gen.",
        "tags": ["ollama", "catalog-gen", leaf.environment],
        "editable": False,
        "schemaVersion": 39,
        "version": 1,
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "timezone": "browser",
        "templating": {"list": [
            {"name": "datasource", "label": "Data source", "type": "datasource", "query": "prometheus", "hide": 0,
             "current": {"selected": True, "text": "Prometheus", "value": "prometheus"}},
            _variable("namespace", "Namespace", "label_values(ollama_router_ready, namespace)", leaf.namespace),
            _variable("job", "Service", 'label_values(ollama_router_ready{namespace="$namespace"}, job)', leaf.service_name),
        ]},
        "panels": panels(),
    }


def dashboard_json(leaf: OllamaInferenceLoad) -> str:
    """The dashboard as indented JSON. Equal to json.dumps(dashboard(leaf), indent=2), but the panels
    (the same for every leaf, and most of the text) are pretty-printed once per process: the json
    module pretty-prints in pure Python, which cost a render of 1000 leaves half a second."""
    board = dashboard(leaf)
    if list(board)[-1] != "panels":  # the splice below needs the panels last
        return json.dumps(board, indent=2, ensure_ascii=False) + "\n"
    head = json.dumps({k: v for k, v in board.items() if k != "panels"}, indent=2, ensure_ascii=False)
    return f'{head[:-2]},\n  "panels": {_panels_text()}\n}}\n'


@functools.lru_cache(maxsize=1)
def _panels_text() -> str:
    return json.dumps(panels(), indent=2, ensure_ascii=False).replace("\n", "\n  ")


def expressions(board: dict) -> list[str]:
    """Every PromQL expression of a dashboard: panel targets and variable queries."""
    found = [target["expr"] for panel in board["panels"] for target in panel["targets"]]
    found += [var["definition"] for var in board["templating"]["list"] if var["type"] == "query"]
    return found
