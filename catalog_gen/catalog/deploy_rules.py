"""Rules about how the rendered chart will behave on a cluster: exposure, storage, placement.

Each refuses (or warns about) a leaf whose chart would pass lint and still fail
on a real cluster: Ollama's model-management API on a public route, one
ReadWriteOnce volume for several pods, a NetworkPolicy that cannot select the
gateway's traffic, scheduling fragments the API server would reject.
"""

from __future__ import annotations

from catalog_gen.catalog import gateways, kube_fields
from catalog_gen.catalog.rules import LeafView, rule
from catalog_gen.errors import Severity

INTERNAL_PATHS = ("/metrics", "/readyz", "/livez", "/router")  # /router/state: a worker's state for the gateway


@rule("leaf.public-admin-api", "With the router off, a public route exposes Ollama's model management (pull, delete, "
      "create, push): refused unless `ingress.publicModelManagement` says it is meant.")
def _public_admin_api(v: LeafView):
    router = v.get("router", "enabled")
    public = v.get("ingress", "enabled")
    allowed = v.get("ingress", "publicModelManagement")
    if not router and public and not allowed:
        yield v.finding("/router/enabled" if v.has("router", "enabled") else "/ingress", "leaf.public-admin-api",
                        "the router is off and ingress is on: anyone reaching the host could pull, delete, create and "
                        "push models through Ollama's own API",
                        "turn the router on (it walls model management off), or set `ingress.publicModelManagement: true` "
                        "if a public model-management API is really meant")
    if router and v.has("ingress", "publicModelManagement"):
        yield v.finding("/ingress/publicModelManagement", "leaf.public-admin-api",
                        "`ingress.publicModelManagement` has no effect with the router on: it never serves model management",
                        "remove the key", key=True, severity=Severity.WARNING)


@rule("leaf.gateway-traffic", "The NetworkPolicy can admit the gateway's data plane: where it cannot (Cilium, or a "
      "controller named `other` without namespaces) the service port stays open and validate warns, unless "
      "`ingress.controller: cilium` says so knowingly.")
def _gateway_traffic(v: LeafView):
    if not v.get("ingress", "enabled") or v.get("ingress", "allowFromNamespaces"):
        return
    controller = v.get("ingress", "controller")
    pointer = "/ingress/controller" if v.has("ingress", "controller") else "/ingress"
    if controller == "other":
        yield v.finding(pointer, "leaf.gateway-traffic",
                        "`ingress.controller: other` names no data plane: the NetworkPolicy admits the proxies of every "
                        "known implementation, which may not be yours",
                        "set `ingress.allowFromNamespaces` to the namespaces your gateway's proxies run in",
                        severity=Severity.WARNING)
        return
    name = gateways.resolve_controller(controller, v.get("ingress", "api"), v.get("ingress", "gatewayClassName"),
                                       v.get("ingress", "ingressClassName"))
    if name and gateways.CONTROLLERS[name].selection == "unselectable" and controller == "auto":
        yield v.finding(pointer, "leaf.gateway-traffic",
                        f"{name} delivers gateway traffic with its reserved `ingress` identity, which a Kubernetes "
                        "NetworkPolicy cannot select: the service port stays open to every pod of the cluster",
                        "restrict it with a CiliumNetworkPolicy (`fromEntities: [ingress]`) next to the chart, then set "
                        "`ingress.controller: cilium` to say the open port is known", severity=Severity.WARNING)


@rule("leaf.route-paths", "Routed paths never expose the router's internals (/metrics, /readyz, /livez, /router).")
def _route_paths(v: LeafView):
    for i, path in enumerate(v.get("ingress", "paths") or []):
        if any(path == p or path.startswith(p + "/") for p in INTERNAL_PATHS):
            yield v.finding(f"/ingress/paths/{i}", "leaf.route-paths",
                            f"path {path!r} would publish the router's {path.split('/')[1]} endpoint, which lists models "
                            "and digests and is meant for Prometheus and the kubelet",
                            "route `/` (the API), or `/api` and `/v1`")


@rule("leaf.cache-claim", "One existing ReadWriteOnce claim serves one pod (replicas, or a pool's workers); cache options "
      "fit the mode.")
def _cache_claim(v: LeafView):
    mode = v.get("cache", "mode")
    auto = v.get("autoscaling", "enabled")
    most = v.get("autoscaling", "maxReplicas") if auto else \
        v.get("pool", "workers") if v.get("pool", "enabled") else v.get("container", "replicas")
    if mode == "pvc" and v.has("cache", "existingClaim") and most > 1:
        yield v.finding("/cache/existingClaim", "leaf.cache-claim",
                        f"`cache.existingClaim` is one ReadWriteOnce volume, but up to {most} replicas would mount it: "
                        "the second pod on another node waits forever (Multi-Attach), two on one node write one models folder",
                        "remove `existingClaim` (each replica then gets its own claim), use one replica, or `cache.mode: shared`")
    if v.has("cache", "fixOwnership") and v.get("cache", "fixOwnership") and mode != "shared":
        yield v.finding("/cache/fixOwnership", "leaf.cache-claim", "`cache.fixOwnership` applies to `cache.mode: shared` only",
                        "remove the key: emptyDir and per-replica claims honour fsGroup", key=True, severity=Severity.WARNING)


@rule("leaf.placement", "Scheduling settings are ones the API server accepts and that apply to the leaf's hardware.")
def _placement(v: LeafView):
    affinity = v.get("container", "affinity")
    if isinstance(affinity, dict):
        for pointer, message in kube_fields.problems(affinity, kube_fields.AFFINITY):
            yield v.finding("/container/affinity" + pointer, "leaf.placement",
                            f"`container.affinity{pointer.replace('/', '.')}` is not valid Kubernetes affinity: {message}",
                            "write it as in a pod spec (`kubectl explain pod.spec.affinity`)")
    for i, t in enumerate(v.get("container", "tolerations") or []):
        at = f"/container/tolerations/{i}"
        if t.get("operator") == "Exists" and t.get("value"):
            yield v.finding(f"{at}/value", "leaf.placement", "a toleration with `operator: Exists` takes no `value`",
                            "remove `value`, or use `operator: Equal`")
        if not t.get("key") and t.get("operator", "Equal") != "Exists":
            yield v.finding(at, "leaf.placement", "a toleration without `key` must use `operator: Exists` (it then "
                            "tolerates every taint)", "add the taint's `key`, or set `operator: Exists`")
        if t.get("tolerationSeconds") is not None and t.get("effect") != "NoExecute":
            yield v.finding(f"{at}/tolerationSeconds", "leaf.placement",
                            "`tolerationSeconds` applies to `effect: NoExecute` only (the API server refuses it otherwise)",
                            "set `effect: NoExecute`, or remove `tolerationSeconds`")
    seen = set()
    for i, c in enumerate(v.get("container", "topologySpread") or []):
        pair = (c.get("topologyKey"), c.get("whenUnsatisfiable", "ScheduleAnyway"))
        if pair in seen:
            yield v.finding(f"/container/topologySpread/{i}", "leaf.placement",
                            f"two spread constraints on {pair[0]} with {pair[1]}: the API server refuses duplicates",
                            "keep one of them")
        seen.add(pair)
    if v.has("gpu", "deviceGroups") and not (v.get("gpu", "vendor") == "amd" and v.get("gpu", "count")):
        yield v.finding("/gpu/deviceGroups", "leaf.placement", "`gpu.deviceGroups` applies to AMD GPUs only",
                        "remove the key, or set `gpu.vendor: amd` with a GPU count", key=True, severity=Severity.WARNING)
