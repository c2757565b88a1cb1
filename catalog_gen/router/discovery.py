"""Worker discovery for the gateway: the EndpointSlices of the workers' Service, listed then watched.

With the official ``kubernetes`` client, in a thread of its own (its calls
block; the event loop only receives the result), the way client-go's
reflector does it:
1. list ``discovery.k8s.io/v1`` EndpointSlices labelled
   ``kubernetes.io/service-name=<service>`` in ``<namespace>``, remember the
   list's ``resourceVersion``;
2. watch from that resourceVersion with ``allowWatchBookmarks`` and a server
   timeout (``timeoutSeconds``, WATCH_SECONDS); every event (ADDED, MODIFIED,
   DELETED, BOOKMARK) moves the remembered resourceVersion; when the server
   ends the watch (timeout, a dropped connection), watch again from there;
3. ``410 Gone`` (an ERROR event with code 410, or the HTTP status: the
   resourceVersion is older than what the API server keeps) means events were
   lost: list again (step 1). Any other failure: back off (1 s doubling to
   30 s) and list again.
No DNS is polled.

After each change the set of workers is recomputed from every slice and
handed to the gateway on its event loop. An endpoint's conditions decide
(https://kubernetes.io/docs/concepts/services-networking/endpoint-slices/#conditions):
- ``ready`` (nil counts as true unless terminating): a worker taking requests;
- ``terminating`` (serving or not): draining, no new request, what is in
  flight finishes;
- neither (not ready yet, failing its readiness probe), or gone from every
  slice: removed from the gateway once its requests in flight finished.
The port is the slice's port named ``portName``; an endpoint's first address
is its worker (http://ADDRESS:PORT).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import threading

from catalog_gen.errors import InputError
from catalog_gen.router.config import WorkerDiscovery

log = logging.getLogger("catalog_gen.router")
WATCH_SECONDS = 240  # the API server ends each watch after this long; the gateway then watches again
LIST_TIMEOUT = 30.0
MAX_BACKOFF = 30.0
SERVICE_LABEL = "kubernetes.io/service-name"


def load_api_client():
    """A kubernetes ApiClient: in-cluster config (service account), else the kubeconfig (local use)."""
    from kubernetes import client, config

    try:
        config.load_incluster_config()
    except config.ConfigException as in_cluster:
        try:
            # read KUBECONFIG now: the client reads it once, when it is imported
            config.load_kube_config(config_file=os.environ.get("KUBECONFIG") or None)
        except (config.ConfigException, OSError, TypeError) as exc:
            raise InputError(
                f"the gateway cannot reach the Kubernetes API to discover its workers: not in a cluster ({in_cluster}) "
                f"and no usable kubeconfig ({exc})",
                hint="run it in the cluster with the chart's ServiceAccount, point KUBECONFIG at a cluster, or list "
                     "workers statically with --worker URL") from exc
    return client.ApiClient()


def workers_from_slices(slices: dict[str, dict], port_name: str) -> dict[str, str]:
    """{worker URL: "ready" | "terminating" | "not-ready"} from the raw EndpointSlices."""
    out: dict[str, str] = {}
    rank = {"ready": 2, "terminating": 1, "not-ready": 0}
    for name in sorted(slices):
        item = slices[name]
        if not isinstance(item, dict):
            continue
        port = next((p.get("port") for p in item.get("ports") or [] if isinstance(p, dict) and p.get("name") == port_name), None)
        if not isinstance(port, int):
            if item.get("endpoints"):
                log.warning("EndpointSlice %s has no port named %r: its endpoints are left out", name, port_name)
            continue
        ipv6 = item.get("addressType") == "IPv6"
        for endpoint in item.get("endpoints") or []:
            addresses = endpoint.get("addresses") or [] if isinstance(endpoint, dict) else []
            if not addresses:
                continue
            conditions = endpoint.get("conditions") or {}
            terminating = conditions.get("terminating") is True
            ready = conditions.get("ready")
            if terminating:
                status = "terminating"
            elif ready is None or ready is True:
                status = "ready"
            else:
                status = "not-ready"
            host = f"[{addresses[0]}]" if ipv6 or ":" in addresses[0] else addresses[0]
            url = f"http://{host}:{port}"
            if rank[status] > rank.get(out.get(url, "not-ready"), -1) or url not in out:
                out[url] = status
    return out


class EndpointSliceWatch:
    def __init__(self, discovery: WorkerDiscovery, gateway, api_client=None) -> None:
        self.discovery = discovery
        self.gateway = gateway
        self.api_client = api_client if api_client is not None else load_api_client()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.slices: dict[str, dict] = {}
        self.resource_version: str | None = None
        self.lists = 0  # how many times the slices were listed (1 + re-lists after 410 or failures)
        self.watches = 0
        self._stop = threading.Event()
        self._watch = None
        self._thread: threading.Thread | None = None
        self._known: dict[str, str] = {}

    # -- event loop side ---------------------------------------------------------------------------
    async def run(self) -> None:
        self.loop = asyncio.get_running_loop()
        self._thread = threading.Thread(target=self._main, name="endpointslice-watch", daemon=True)
        self._thread.start()
        try:
            await asyncio.Event().wait()
        finally:
            self.stop()

    def stop(self) -> None:
        self._stop.set()
        watch = self._watch
        if watch is not None:
            watch.stop()
            response = getattr(watch, "_resp", None)
            if response is not None:
                try:
                    response.close()
                except Exception:  # closing from another thread may race the reader; it stops either way
                    pass

    def _apply(self, workers: dict[str, str], synced: bool) -> None:
        gateway = self.gateway
        for url, status in workers.items():
            if status == "not-ready":
                gateway.remove_worker(url)
                continue
            gateway.add_worker(url)
            gateway.set_terminating(url, status == "terminating")
        for url in set(self._known) - set(workers):
            gateway.remove_worker(url)
        self._known = dict(workers)
        if synced and not gateway.keeper.synced:
            gateway.keeper.synced = True
            log.info("gateway: worker discovery synced (%d worker(s))", sum(1 for s in workers.values() if s == "ready"))
        gateway.keeper.update_ready()
        gateway.balancer.dispatch()

    def _publish(self) -> None:
        workers = workers_from_slices(self.slices, self.discovery.port_name)
        if self.loop is not None and not self._stop.is_set():
            self.loop.call_soon_threadsafe(self._apply, workers, True)

    # -- thread side -------------------------------------------------------------------------------
    def _main(self) -> None:
        from kubernetes import client, watch
        from kubernetes.client.exceptions import ApiException

        api = client.DiscoveryV1Api(self.api_client)
        namespace = self.discovery.namespace
        selector = f"{SERVICE_LABEL}={self.discovery.service}"
        backoff = 1.0
        while not self._stop.is_set():
            try:
                self._list(api, namespace, selector)
                backoff = 1.0
                while not self._stop.is_set():
                    self._watch = watch.Watch()
                    self.watches += 1
                    stream = self._watch.stream(
                        api.list_namespaced_endpoint_slice, namespace, label_selector=selector,
                        resource_version=self.resource_version, allow_watch_bookmarks=True,
                        timeout_seconds=WATCH_SECONDS, _request_timeout=WATCH_SECONDS + 30)
                    for event in stream:
                        if self._stop.is_set():
                            return
                        self._event(event)
            except ApiException as exc:
                if self._stop.is_set():
                    return
                if exc.status == 410:
                    log.info("gateway: EndpointSlice watch expired (410 Gone at resourceVersion %s): listing again",
                             self.resource_version)
                    continue
                if exc.status in (401, 403):
                    log.error("gateway: the Kubernetes API refused to list EndpointSlices in %s (%s %s): the gateway's "
                              "ServiceAccount needs get/list/watch on discovery.k8s.io endpointslices there (the "
                              "chart's Role); listing again in %gs", namespace, exc.status, exc.reason, backoff)
                else:
                    log.warning("gateway: EndpointSlice discovery failed (%s %s); listing again in %gs",
                                exc.status, exc.reason, backoff)
            except Exception as exc:  # urllib3/socket errors: the API server went away for a moment
                if self._stop.is_set():
                    return
                log.warning("gateway: EndpointSlice discovery failed (%s); listing again in %gs",
                            f"{type(exc).__name__}: {exc}", backoff)
            if self._stop.wait(backoff):
                return
            backoff = min(backoff * 2, MAX_BACKOFF)

    def _list(self, api, namespace: str, selector: str) -> None:
        response = api.list_namespaced_endpoint_slice(namespace, label_selector=selector, _preload_content=False,
                                                      _request_timeout=LIST_TIMEOUT)
        data = json.loads(response.data)
        self.lists += 1
        self.slices = {item["metadata"]["name"]: item for item in data.get("items") or []
                       if isinstance(item, dict) and isinstance(item.get("metadata"), dict)}
        self.resource_version = (data.get("metadata") or {}).get("resourceVersion")
        self._publish()

    def _event(self, event: dict) -> None:
        kind = event.get("type")
        raw = event.get("raw_object") or {}
        metadata = raw.get("metadata") or {}
        if metadata.get("resourceVersion"):
            self.resource_version = metadata["resourceVersion"]
        if kind == "BOOKMARK":
            return
        name = metadata.get("name")
        if not name:
            return
        if kind in ("ADDED", "MODIFIED"):
            self.slices[name] = raw
        elif kind == "DELETED":
            self.slices.pop(name, None)
        else:
            return
        self._publish()
