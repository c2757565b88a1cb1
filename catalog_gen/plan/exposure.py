"""Who reaches the service: the route from outside, the NetworkPolicy, disruption and replica bounds."""

from __future__ import annotations

from catalog_gen.catalog import gateways
from catalog_gen.plan.context import PlanContext, byte_count, seconds


def add_ingress(ctx: PlanContext) -> None:
    leaf, v = ctx.leaf, ctx.values
    ingress = leaf.ingress
    gateway = ingress.gateway
    v.section("ingress", "External access through Gateway API (or a plain Ingress).")
    v.put("ingress.enabled", ingress.enabled, "Expose the service outside the cluster.")
    v.put("ingress.api", ingress.api, "gateway (HTTPRoute) or ingress.")
    v.put("ingress.host", ingress.host or "", "Host name.")
    v.put("ingress.matches", public_matches(list(ingress.paths)),
          "Paths routed to the service: the API only (`/api`, `/v1`, and `/` itself for `/`); the router's "
          "/metrics, /readyz and /livez stay inside the cluster.")
    v.put("ingress.requestTimeout", ingress.request_timeout, "Route timeout, long enough for streamed answers.")
    v.put("ingress.annotations", route_annotations(ctx), "Annotations of the HTTPRoute or Ingress.")
    redirect = ingress.enabled and ingress.api == "gateway" and gateway is None and ingress.tls.enabled
    if ingress.enabled:
        ctx.decide("ingress", "routes " + ", ".join(f"{m['value']} ({m['type']})" for m in v.get("ingress.matches")),
                   "the API only: the router's /metrics, /readyz (model digests) and /livez stay inside the cluster")
    v.put("ingress.redirectHttp", redirect, "The chart's Gateway answers plain HTTP with a redirect to HTTPS.")
    v.section("ingress.gateway", "The Gateway the route attaches to.")
    v.put("ingress.gateway.create", gateway is None, "Create a Gateway for this service (else attach to an existing one).")
    v.put("ingress.gateway.className", ingress.gateway_class_name, "GatewayClass of the created Gateway.")
    v.put("ingress.gateway.name", gateway.name if gateway else "", "Existing Gateway to attach to.")
    v.put("ingress.gateway.namespace", (gateway.namespace or "") if gateway else "", "Namespace of the existing Gateway.")
    v.put("ingress.gateway.sectionName", (gateway.section_name or "") if gateway else "", "Listener of the existing Gateway.")
    v.section("ingress.tls", "TLS through cert-manager.")
    v.put("ingress.tls.enabled", ingress.tls.enabled, "HTTPS with a cert-manager Certificate.")
    v.put("ingress.tls.issuer", ingress.tls.issuer or "", "cert-manager issuer.")
    v.put("ingress.tls.issuerKind", ingress.tls.issuer_kind, "ClusterIssuer or Issuer.")
    v.put("ingress.ingressClassName", ingress.ingress_class_name or "", "IngressClass (api ingress).")
    if not ingress.enabled:
        ctx.decide("ingress", "none", "ingress.enabled is false: reachable inside the cluster only")
    elif ingress.api == "ingress":
        ctx.decide("ingress", f"Ingress {ingress.host}{' with TLS' if ingress.tls.enabled else ''}, ingress-nginx "
                   f"timeouts {seconds(ingress.request_timeout)}s, body up to {nginx_size(byte_count(leaf.router.max_body_size))}, "
                   "no response buffering", "api: ingress, for clusters without Gateway API; ingress-nginx's defaults "
                   "(60 s read timeout, 1 MiB body, buffered responses) would cut long and streamed answers")
    else:
        attach = (f"existing Gateway {gateway.namespace or leaf.namespace}/{gateway.name}"
                  f"{'/' + gateway.section_name if gateway.section_name else ''}") if gateway \
            else f"a Gateway of class {ingress.gateway_class_name} made by the chart"
        ctx.decide("ingress", f"HTTPRoute {ingress.host} on {attach}, timeout {ingress.request_timeout}"
                   f"{', HTTPS with a cert-manager Certificate' if ingress.tls.enabled and not gateway else ''}",
                   "Gateway API v1; backendRefs written in full so Argo CD sees no drift")
        if redirect:
            ctx.decide("ingress", "plain HTTP on the chart's Gateway answers 301 to HTTPS",
                       "HTTPS only, without a 404 for people who type the bare host name")
            ctx.decide("tls", f"Certificate from {ingress.tls.issuer_kind} {ingress.tls.issuer}: it must solve with DNS-01, "
                       "or HTTP-01 through a solver whose gatewayHTTPRoute parentRefs name this chart's Gateway",
                       "cert-manager does not edit Gateways: a shared ClusterIssuer's HTTP-01 solver lists its Gateways, "
                       "and a Gateway made per service is not among them")


API_PREFIXES = ("/api", "/v1")


def public_matches(paths: list[str]) -> list[dict]:
    """Route matches for the leaf's paths: `/` becomes the API prefixes and `/` itself, never the router's internals."""
    matches = []
    for path in paths:
        if path == "/":
            matches += [{"type": "PathPrefix", "value": p} for p in API_PREFIXES] + [{"type": "Exact", "value": "/"}]
        else:
            matches.append({"type": "PathPrefix", "value": path})
    return matches


def nginx_size(n: int) -> str:
    """A byte count as an nginx size (`16m`), rounded up to whole MiB."""
    return f"{-(-n // 2**20)}m"


def route_annotations(ctx: PlanContext) -> dict[str, str]:
    ingress = ctx.leaf.ingress
    annotations: dict[str, str] = {}
    if ingress.api == "ingress":
        timeout = str(seconds(ingress.request_timeout))
        annotations = {
            "nginx.ingress.kubernetes.io/proxy-read-timeout": timeout,
            "nginx.ingress.kubernetes.io/proxy-send-timeout": timeout,
            "nginx.ingress.kubernetes.io/proxy-body-size": nginx_size(byte_count(ctx.leaf.router.max_body_size)),
            "nginx.ingress.kubernetes.io/proxy-buffering": "off",
        }
    return dict(sorted({**annotations, **ingress.annotations}.items()))


def traffic_source(ctx: PlanContext) -> gateways.TrafficSource:
    leaf = ctx.leaf
    ingress = leaf.ingress
    return gateways.traffic_source(
        enabled=ingress.enabled, controller=ingress.controller, api=ingress.api,
        gateway_class=ingress.gateway_class_name, ingress_class=ingress.ingress_class_name,
        gateway_name=ingress.gateway.name if ingress.gateway else None,
        gateway_namespace=ingress.gateway.namespace if ingress.gateway else None,
        namespace=leaf.namespace, allow_from_namespaces=list(ingress.allow_from_namespaces))


def add_network_policy(ctx: PlanContext) -> None:
    leaf, v = ctx.leaf, ctx.values
    source = traffic_source(ctx)
    v.section("networkPolicy", "NetworkPolicy of the service port.")
    v.put("networkPolicy.enabled", True, "Admit traffic to the service port only from this namespace and the gateway's data plane.")
    v.put("networkPolicy.open", source.open,
          "The service port is open to every source: the gateway's traffic cannot be selected by a NetworkPolicy.")
    v.put("networkPolicy.allowFromNamespaces", list(source.namespaces), "Namespaces whose pods are admitted.")
    v.put("networkPolicy.allowFromPods", [dict(p) for p in source.pods],
          "Gateway proxy pods admitted: namespace (empty: any), labels, and gatewayLabel (a label key that must "
          "equal the name of the chart's own Gateway).")
    admitted = ("every source" if source.open else
                ", ".join([*source.namespaces, *(f"pods {p['labels']} in {p['namespace'] or 'any namespace'}" for p in source.pods)])
                or "no other namespace")
    ctx.decide("security", f"NetworkPolicy: service port from {admitted}{'' if source.open else ' and this namespace'}",
               source.reason)
    ctx.decide("security", f"Ollama as {'root (ollama.runAsRoot)' if leaf.ollama.run_as_root else 'uid 1000'}",
               "every container: no privilege escalation, no capabilities, RuntimeDefault seccomp, "
               "read-only root file system; no service-account token in serving pods")


def most_replicas(ctx: PlanContext) -> int:
    auto = ctx.leaf.autoscaling
    if auto.enabled:
        return auto.max_replicas
    return ctx.leaf.pool.workers if ctx.leaf.pool.enabled else ctx.leaf.container.replicas


def add_disruption_budget(ctx: PlanContext) -> None:
    v, most = ctx.values, most_replicas(ctx)
    v.section("podDisruptionBudget", "PodDisruptionBudget.")
    v.put("podDisruptionBudget.enabled", most > 1, "PodDisruptionBudget (when more than one replica).")
    v.put("podDisruptionBudget.maxUnavailable", 1, "Pods that may be disrupted at once.")
    ctx.decide("pdb", "maxUnavailable 1" if most > 1 else "none",
               f"up to {most} replica(s)" + ("" if most > 1 else ": a budget would block node drains"))


def add_autoscaling(ctx: PlanContext) -> None:
    auto, v = ctx.leaf.autoscaling, ctx.values
    v.section("autoscaling", "Scaling on the router's queue depth.")
    v.put("autoscaling.enabled", auto.enabled, "Scale on queue depth (KEDA or HPA).")
    v.put("autoscaling.minReplicas", auto.min_replicas, "Fewest replicas.")
    v.put("autoscaling.maxReplicas", auto.max_replicas, "Most replicas.")
    v.put("autoscaling.targetQueueDepth", auto.target_queue_depth, "Queue depth per replica that triggers a scale-up.")
