"""Where gateway traffic comes from, per gateway or ingress controller.

A NetworkPolicy that admits "the gateway's namespace" blackholes traffic on
most implementations: their data planes run elsewhere. What each one does by
default (sources in docs/render.md, "NetworkPolicy"):

- Istio (Gateway API automated deployment), NGINX Gateway Fabric 2.x and
  kgateway deploy the proxy in the Gateway's own namespace, its pods labelled
  `gateway.networking.k8s.io/gateway-name: <gateway>`.
- Envoy Gateway runs the proxies in its controller namespace
  (`envoy-gateway-system`), or in the Gateway's namespace in "gateway
  namespace mode"; either way labelled `gateway.envoyproxy.io/owning-gateway-name`.
- Traefik and ingress-nginx run where they were installed (k3s puts Traefik in
  `kube-system`): selected by their `app.kubernetes.io/name` label in any namespace.
- Cilium delivers Gateway and Ingress traffic from its per-node Envoy with the
  reserved `ingress` identity, which no namespace or pod selector of a
  Kubernetes NetworkPolicy matches: only a CiliumNetworkPolicy
  (`fromEntities: [ingress]`) can name it.

Both the plan (which renders the policy) and validate (which warns where a
policy cannot be precise) read this table.
"""

from __future__ import annotations

import dataclasses

GATEWAY_NAME_LABEL = "gateway.networking.k8s.io/gateway-name"


@dataclasses.dataclass(frozen=True)
class Controller:
    name: str
    # how its proxy pods are found: "gateway-pods" (the Gateway's namespace, gateway-name label),
    # "labels" (these labels in any namespace), "envoy-gateway" (owning-gateway labels, any namespace),
    # or "unselectable" (no NetworkPolicy selector matches its traffic)
    selection: str
    labels: tuple[tuple[str, str], ...] = ()
    class_names: tuple[str, ...] = ()  # GatewayClass / IngressClass names that mean this controller


CONTROLLERS = {
    c.name: c
    for c in (
        Controller("cilium", "unselectable", class_names=("cilium",)),
        Controller("envoy-gateway", "envoy-gateway", (("app.kubernetes.io/name", "envoy"),),
                   class_names=("eg", "envoy", "envoy-gateway")),
        Controller("istio", "gateway-pods", class_names=("istio",)),
        Controller("nginx-gateway-fabric", "gateway-pods", class_names=("nginx",)),
        Controller("kgateway", "gateway-pods", class_names=("kgateway",)),
        Controller("traefik", "labels", (("app.kubernetes.io/name", "traefik"),), class_names=("traefik",)),
        Controller("ingress-nginx", "labels", (("app.kubernetes.io/name", "ingress-nginx"),), class_names=("nginx",)),
    )
}


def resolve_controller(controller: str, api: str, gateway_class: str | None, ingress_class: str | None) -> str | None:
    """The controller carrying the traffic, or None when `auto` cannot tell (or `other`)."""
    if controller not in ("auto", "other"):
        return controller
    if controller == "other":
        return None
    cls = gateway_class if api == "gateway" else ingress_class
    if api == "ingress" and cls == "nginx":
        return "ingress-nginx"
    for c in CONTROLLERS.values():
        if cls in c.class_names and not (api == "gateway" and c.name == "ingress-nginx"):
            return c.name
    return None


@dataclasses.dataclass(frozen=True)
class TrafficSource:
    """What the NetworkPolicy admits to the service port, besides the service's own namespace."""

    namespaces: tuple[str, ...] = ()  # every pod of these namespaces
    pods: tuple[dict, ...] = ()  # {"namespace": name or "" (any), "labels": {...}, "gatewayLabel": key or ""}
    open: bool = False  # no selector can express it: the port is open to every source
    reason: str = ""


def traffic_source(*, enabled: bool, controller: str, api: str, gateway_class: str | None, ingress_class: str | None,
                   gateway_name: str | None, gateway_namespace: str | None, namespace: str,
                   allow_from_namespaces: list[str]) -> TrafficSource:
    """Where gateway traffic comes from for a leaf's ingress settings (see the module docstring)."""
    if not enabled:
        return TrafficSource(reason="no ingress: only this namespace reaches the service")
    if allow_from_namespaces:
        return TrafficSource(namespaces=tuple(sorted(set(allow_from_namespaces))),
                             reason="ingress.allowFromNamespaces names them")
    name = resolve_controller(controller, api, gateway_class, ingress_class)
    if name is None:
        known = [_source(c, gateway_name, gateway_namespace, namespace) for c in CONTROLLERS.values()
                 if c.selection != "unselectable"]
        pods = tuple(dict(p) for p in {_key(p): p for source in known for p in source.pods}.values())
        return TrafficSource(pods=pods, reason="the controller is not named (`ingress.controller`): the proxies of every "
                             "known implementation but Cilium are admitted; name it to admit only its own")
    return _source(CONTROLLERS[name], gateway_name, gateway_namespace, namespace)


def _key(pod: dict) -> str:
    return repr(sorted((k, repr(v)) for k, v in pod.items()))


def _source(c: Controller, gateway_name: str | None, gateway_namespace: str | None, namespace: str) -> TrafficSource:
    name = c.name
    gw_ns = gateway_namespace or namespace
    if c.selection == "unselectable":
        return TrafficSource(open=True, reason=f"{name} proxies traffic with an identity no Kubernetes NetworkPolicy selector "
                             "matches: the service port stays open (add a CiliumNetworkPolicy with `fromEntities: [ingress]` "
                             "to restrict it)")
    if c.selection == "labels":
        return TrafficSource(pods=({"namespace": "", "labels": dict(c.labels), "gatewayLabel": ""},),
                             reason=f"{name}'s pods, in whatever namespace it is installed")
    if c.selection == "envoy-gateway":
        labels = dict(c.labels)
        if gateway_name:
            labels["gateway.envoyproxy.io/owning-gateway-name"] = gateway_name
            labels["gateway.envoyproxy.io/owning-gateway-namespace"] = gw_ns
            key = ""
        else:
            labels["gateway.envoyproxy.io/owning-gateway-namespace"] = namespace
            key = "gateway.envoyproxy.io/owning-gateway-name"
        return TrafficSource(pods=({"namespace": "", "labels": labels, "gatewayLabel": key},),
                             reason="Envoy Gateway's proxies of this Gateway (controller namespace or gateway namespace mode)")
    if gateway_name:
        return TrafficSource(pods=({"namespace": gw_ns, "labels": {GATEWAY_NAME_LABEL: gateway_name}, "gatewayLabel": ""},),
                             reason=f"{name} runs the proxy of Gateway {gw_ns}/{gateway_name} in that namespace")
    return TrafficSource(reason=f"{name} runs the proxy of the chart's Gateway in this namespace")
