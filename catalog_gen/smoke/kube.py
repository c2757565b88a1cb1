"""Finding the service through the Kubernetes API: the client, the in-cluster URL, port-forward.

The chart names the Service after the leaf's ``serviceName`` (the Helm release)
in its ``namespace`` and exposes ``SERVICE_PORT`` (the router, or Ollama without
it). ``--in-cluster`` talks to ``http://<service>.<namespace>.svc:<port>``; ``--kube``
reads the Service with the user's kubeconfig, picks a ready pod behind it and
forwards a local loopback port to the pod's target port (what ``kubectl
port-forward svc/...`` does), one API-server websocket per local connection.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator

from catalog_gen.catalog.model import OllamaInferenceLoad
from catalog_gen.errors import InputError, ToolError

RBAC_HINT = "the smoke Job's ServiceAccount needs get/list on services, pods, pods/log, events and deployments in the namespace"


def service_port() -> int:
    from catalog_gen.plan.serving import SERVICE_PORT

    return SERVICE_PORT


def in_cluster_url(leaf: OllamaInferenceLoad, port: int | None = None) -> str:
    return f"http://{leaf.service_name}.{leaf.namespace}.svc:{port or service_port()}"


def api_client(*, in_cluster: bool, context: str | None = None):
    """A kubernetes ApiClient from the pod's service account or the user's kubeconfig."""
    from kubernetes import client, config

    try:
        if in_cluster:
            config.load_incluster_config()
        else:
            config.load_kube_config(context=context)
    except config.ConfigException as exc:
        where = "the pod's service account" if in_cluster else "the kubeconfig (KUBECONFIG or ~/.kube/config)"
        raise InputError(
            f"cannot configure Kubernetes access from {where}: {exc}",
            hint="run inside a pod for --in-cluster; for --kube check `kubectl config current-context`",
        ) from exc
    return client.ApiClient()


def _api_error(exc, what: str) -> ToolError:
    status = getattr(exc, "status", 0)
    reason = getattr(exc, "reason", "") or str(exc)
    hint = RBAC_HINT if status == 403 else "check the namespace and that the chart is installed"
    return ToolError(f"Kubernetes API: cannot read {what}: {status} {reason}".strip(), hint=hint)


def target_pod(api, leaf: OllamaInferenceLoad, port: int | None = None) -> tuple[str, int]:
    """(pod name, container port) the Service's ``port`` leads to, preferring a ready pod."""
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    core = client.CoreV1Api(api)
    port = port or service_port()
    try:
        service = core.read_namespaced_service(leaf.service_name, leaf.namespace)
    except ApiException as exc:
        raise _api_error(exc, f"service {leaf.namespace}/{leaf.service_name}") from exc
    spec_port = next((p for p in service.spec.ports or [] if p.port == port), None)
    if spec_port is None:
        ports = ", ".join(str(p.port) for p in service.spec.ports or []) or "none"
        raise InputError(f"service {leaf.namespace}/{leaf.service_name} has no port {port} (ports: {ports})", hint="pass --port with one of them")
    selector = ",".join(f"{k}={v}" for k, v in sorted((service.spec.selector or {}).items()))
    if not selector:
        raise InputError(f"service {leaf.namespace}/{leaf.service_name} has no selector: no pod to forward to")
    try:
        pods = core.list_namespaced_pod(leaf.namespace, label_selector=selector).items
    except ApiException as exc:
        raise _api_error(exc, f"pods of {leaf.namespace}/{leaf.service_name}") from exc
    running = [p for p in pods if p.status and p.status.phase == "Running"]
    ready = [p for p in running if any(c.type == "Ready" and c.status == "True" for c in p.status.conditions or [])]
    chosen = sorted(ready or running, key=lambda p: p.metadata.name)
    if not chosen:
        raise InputError(
            f"no running pod behind service {leaf.namespace}/{leaf.service_name} ({len(pods)} pod(s) matched {selector})",
            hint="see `kubectl get pods -n " + leaf.namespace + "`; the diagnostics below say why",
        )
    pod = chosen[0]
    target = spec_port.target_port if spec_port.target_port is not None else port
    if isinstance(target, str) and not target.isdigit():
        numbers = [cp.container_port for c in pod.spec.containers for cp in c.ports or [] if cp.name == target]
        if not numbers:
            raise InputError(f"pod {pod.metadata.name} has no container port named {target!r}")
        target = numbers[0]
    return pod.metadata.name, int(target)


def _pump(src, dst) -> None:
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)


@contextlib.contextmanager
def port_forward(api, leaf: OllamaInferenceLoad, port: int | None = None) -> Iterator[str]:
    """Forward a free loopback port to the service's pod; yields ``http://127.0.0.1:<port>``."""
    from kubernetes import client
    from kubernetes.stream import portforward

    pod, target = target_pod(api, leaf, port)
    core = client.CoreV1Api(api)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                local, _ = listener.accept()
            except OSError:
                return
            try:
                forward = portforward(core.connect_get_namespaced_pod_portforward, pod, leaf.namespace, ports=str(target))
                remote = forward.socket(target)
                remote.setblocking(True)
            except Exception:  # noqa: BLE001 - the local caller sees a closed connection, as with kubectl
                local.close()
                continue
            threading.Thread(target=_pump, args=(local, remote), daemon=True).start()
            threading.Thread(target=_pump, args=(remote, local), daemon=True).start()

    thread = threading.Thread(target=serve, name="smoke-port-forward", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        listener.close()
