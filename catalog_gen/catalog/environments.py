"""Rules across environments: what two leaves may not share once they land on a cluster, and what one environment shares.

Which collisions are real depends on where the environments go. Each leaf's
cluster is its Argo CD destination (`gitops.argocd.destination.server`, default
the cluster Argo CD runs in): two environments with the same server share one
cluster, so they must not share a namespace and service name, a host, or a
shared object (the Grafana dashboard ConfigMap in `monitoring.dashboardNamespace`).
Leaves without GitOps objects count as deploying to that default cluster too:
nothing says otherwise, and a false "these collide" is cheaper than a silent one.

The rules live in ``CROSS_RULES`` (code -> description, function); each receives
every leaf that passed validation and yields findings at the later file, naming
the earlier file and line.
"""

from __future__ import annotations

import dataclasses
from pathlib import PurePath
from typing import TYPE_CHECKING, Callable, Iterator

from catalog_gen.catalog import schema
from catalog_gen.catalog.rules import LeafView
from catalog_gen.errors import Finding, Severity

if TYPE_CHECKING:
    from catalog_gen.catalog.validate import Leaf

IN_CLUSTER = "https://kubernetes.default.svc"
# Folder names that mean an environment even when no leaf of the catalog uses them yet.
ENVIRONMENT_WORDS = {"dev", "development", "test", "qa", "uat", "stage", "staging", "preprod", "prod", "production"}
# GitOps settings one environment shares: its ApplicationSet (or GitRepository) is one object for all its leaves.
ENVIRONMENT_GITOPS = (("repoURL",), ("targetRevision",), ("chartsPath",), ("argocd", "mode"), ("argocd", "namespace"),
                      ("argocd", "destination", "server"), ("flux", "enabled"), ("flux", "namespace"), ("flux", "interval"))
SYNC_POLICY = (("argocd", "syncPolicy", "automated"), ("argocd", "syncPolicy", "prune"), ("argocd", "syncPolicy", "selfHeal"))


@dataclasses.dataclass
class Placed:
    """A leaf and where it lands: its defaults-resolved view, cluster and environment."""

    leaf: "Leaf"
    view: LeafView

    @property
    def display(self) -> str:
        return self.leaf.doc.display

    def get(self, *path):
        return self.view.get(*path)

    @property
    def cluster(self) -> str:
        return self.get("gitops", "argocd", "destination", "server") or IN_CLUSTER

    @property
    def environment(self) -> str:
        return self.leaf.data["environment"]

    def where(self, pointer: str) -> str:
        pos = self.leaf.doc.where(pointer)
        return f"{pos.file}:{pos.line}"

    def finding(self, pointer: str, code: str, message: str, hint: str, severity: Severity = Severity.ERROR) -> Finding:
        return self.view.finding(pointer, code, message, hint, severity=severity)


CrossRule = Callable[[list[Placed]], Iterator[Finding]]
CROSS_RULES: dict[str, tuple[str, CrossRule]] = {}


def cross_rule(code: str, description: str):
    def register(fn: CrossRule) -> CrossRule:
        CROSS_RULES[code] = (description, fn)
        return fn

    return register


def environment_findings(leaves: list["Leaf"]) -> list[Finding]:
    placed = [Placed(leaf, LeafView(leaf.doc, schema.load(leaf.workload_type)))
              for leaf in sorted(leaves, key=lambda item: item.doc.display)]
    return [finding for _, fn in CROSS_RULES.values() for finding in fn(placed)]


def _cluster_words(cluster: str) -> str:
    return "the cluster Argo CD runs in" if cluster == IN_CLUSTER else cluster


DESTINATION_HINT = ("if the environments deploy to different clusters, say so with `gitops.argocd.destination.server` "
                    "in each environment's _defaults.yaml")


@cross_rule("catalog.cluster-collision", "Two environments that deploy to one cluster do not put a service of the same "
            "name in the same namespace (their Argo CD applications would fight over the same objects).")
def _cluster_collision(placed: list[Placed]):
    seen: dict[tuple, Placed] = {}
    for item in placed:
        key = (item.cluster, item.leaf.data["namespace"], item.leaf.data["serviceName"])
        other = seen.setdefault(key, item)
        if other is item or other.environment == item.environment:
            continue  # the same environment: catalog.duplicate-service says so
        yield item.finding("/namespace", "catalog.cluster-collision",
                           f"service {key[2]!r} in namespace {key[1]!r} is deployed by environment {other.environment!r} "
                           f"({other.where('/namespace')}) and {item.environment!r} to the same cluster "
                           f"({_cluster_words(key[0])}): each would overwrite the other's objects",
                           f"give one environment its own namespace (e.g. `{key[1]}-{item.environment}`); " + DESTINATION_HINT)


@cross_rule("catalog.host-across-environments", "A host is claimed by one environment per cluster: two routes for one "
            "host on one cluster split its traffic between two services.")
def _host_across_environments(placed: list[Placed]):
    seen: dict[tuple, Placed] = {}
    for item in placed:
        host = item.get("ingress", "host")
        if not item.get("ingress", "enabled") or not host:
            continue
        other = seen.setdefault((item.cluster, host.lower()), item)
        if other is item or other.environment == item.environment:
            continue  # within one environment: catalog.duplicate-host
        yield item.finding("/ingress/host", "catalog.host-across-environments",
                           f"host {host!r} is also claimed by environment {other.environment!r} ({other.where('/ingress/host')}) "
                           f"on the same cluster ({_cluster_words(item.cluster)}): the gateway would split its traffic "
                           "between the two services",
                           f"give each environment its own host, e.g. `{item.environment}.{host}`; " + DESTINATION_HINT)


@cross_rule("catalog.shared-object", "Objects in a shared namespace (the Grafana dashboard ConfigMap in "
            "`monitoring.dashboardNamespace`) are not written by two leaves on one cluster.")
def _shared_object(placed: list[Placed]):
    seen: dict[tuple, Placed] = {}
    for item in placed:
        if not (item.get("router", "enabled") and item.get("monitoring", "dashboard")):
            continue
        namespace = item.get("monitoring", "dashboardNamespace") or item.leaf.data["namespace"]
        name = f"{item.leaf.data['serviceName']}-dashboard"
        key = (item.cluster, namespace, name)
        other = seen.setdefault(key, item)
        if other is item or other.leaf.data["namespace"] == item.leaf.data["namespace"] and other.environment == item.environment:
            continue  # the same service twice: catalog.duplicate-service
        if other.leaf.data["namespace"] == item.leaf.data["namespace"] and not item.get("monitoring", "dashboardNamespace"):
            continue  # the same service name and namespace on one cluster: catalog.cluster-collision
        pointer = "/monitoring/dashboardNamespace" if item.get("monitoring", "dashboardNamespace") else "/serviceName"
        yield item.finding(pointer, "catalog.shared-object",
                           f"the dashboard ConfigMap {namespace}/{name} is also written by {other.display} "
                           f"({other.environment!r}, namespace {other.leaf.data['namespace']!r}) on the same cluster: "
                           "the two Argo CD applications would take it from each other",
                           "give the services different names, or different `monitoring.dashboardNamespace`s; "
                           + DESTINATION_HINT)


@cross_rule("catalog.gitops-name", "Two leaves do not get the same Argo CD Application or Flux HelmRelease name "
            "(`<service>-<environment>`, in the one Argo CD or Flux namespace): `chat-dev` in `x` and `chat` in `dev-x` would.")
def _gitops_name(placed: list[Placed]):
    seen: dict[tuple, Placed] = {}
    for item in placed:
        if not item.get("gitops", "repoURL"):
            continue
        name = f"{item.leaf.data['serviceName']}-{item.environment}"
        keys = []
        if item.get("gitops", "argocd", "mode") != "none":
            keys.append(("Argo CD Application", item.get("gitops", "argocd", "namespace"), name))
        if item.get("gitops", "flux", "enabled"):
            keys.append(("Flux HelmRelease", item.get("gitops", "flux", "namespace"), name))
        for key in keys:
            other = seen.setdefault(key, item)
            if other is item or other.environment == item.environment:
                continue  # the same name in one environment: catalog.duplicate-output
            yield item.finding("/serviceName", "catalog.gitops-name",
                               f"the {key[0]} {key[1]}/{name} is also the one of {other.display} "
                               f"(service {other.leaf.data['serviceName']!r} in {other.environment!r})",
                               "rename one service so `<serviceName>-<environment>` differs")


@cross_rule("catalog.environment-folder", "A leaf under a folder named after an environment says that environment "
            "(it takes that folder's _defaults.yaml but renders to charts/<environment>).")
def _environment_folder(placed: list[Placed]):
    known = {item.environment for item in placed} | ENVIRONMENT_WORDS
    for item in placed:
        folders = PurePath(item.display).parts[:-1]
        named = [f for f in folders if f in known]
        if named and named[-1] != item.environment:
            folder = named[-1]
            yield item.finding("/environment", "catalog.environment-folder",
                               f"this leaf is under {folder}/ (and takes the _defaults.yaml files there) but says "
                               f"`environment: {item.environment}`, so it renders to charts/{item.environment}/",
                               f"set `environment: {folder}`, or move the file to the {item.environment}/ folder")


@cross_rule("catalog.gitops-disagree", "Leaves of one environment agree on the GitOps settings the environment shares "
            "(repository, revision, charts path, Argo CD mode, namespace and destination, Flux; the sync policy "
            "with `applicationset`).")
def _gitops_disagree(placed: list[Placed]):
    first: dict[str, Placed] = {}
    for item in placed:
        other = first.setdefault(item.environment, item)
        if other is item:
            continue
        gitops_on = [bool(p.get("gitops", "repoURL")) for p in (other, item)]
        if gitops_on[0] != gitops_on[1]:
            yield item.finding("/gitops/repoURL" if gitops_on[1] else "/environment", "catalog.gitops-disagree",
                               f"environment {item.environment!r}: this leaf {'sets' if gitops_on[1] else 'does not set'} "
                               f"`gitops.repoURL` but {other.display} ({other.where('/gitops/repoURL')}) "
                               f"{'does not' if gitops_on[1] else 'does'}",
                               "set `gitops` once for the environment, in its _defaults.yaml")
            continue
        if not gitops_on[0]:
            continue
        fields = list(ENVIRONMENT_GITOPS)
        if other.get("gitops", "argocd", "mode") == "applicationset" == item.get("gitops", "argocd", "mode"):
            fields += SYNC_POLICY
        for path in fields:
            mine, theirs = item.get("gitops", *path), other.get("gitops", *path)
            if mine == theirs:
                continue
            pointer = "/gitops/" + "/".join(path)
            dotted = "gitops." + ".".join(path)
            yield item.finding(pointer, "catalog.gitops-disagree",
                               f"environment {item.environment!r}: `{dotted}` is {mine!r} here but {theirs!r} in "
                               f"{other.display} ({other.where(pointer)}); one environment has one GitOps setup",
                               f"set `{dotted}` once in the environment's _defaults.yaml"
                               + (", or use `gitops.argocd.mode: application` for per-leaf sync policies"
                                  if path[1:2] == ("syncPolicy",) else ""))
