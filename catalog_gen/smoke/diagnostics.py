"""What a person would look at next when a smoke check fails: rollout, pods, containers, events.

Read through the Kubernetes API (``kubernetes`` client, any ApiClient): the
Deployment's rollout state, each pod behind the Service (phase, scheduling),
every container and init container state with what it usually means
(OOMKilled, ImagePullBackOff, CrashLoopBackOff, an init container still
pulling or failed) and the tail of the log of those that failed or still
run, and the service's recent events. Diagnostics never raise: an API error
becomes a line saying what could not be read and why.
"""

from __future__ import annotations

LOG_TAIL_LINES = 20
EVENTS_SHOWN = 10

MEANING = {
    "OOMKilled": "ran out of memory: raise resources.limits.memory or pick a larger preset",
    "ImagePullBackOff": "its image cannot be pulled: check the image name/tag and the pull secret",
    "ErrImagePull": "its image cannot be pulled: check the image name/tag and the pull secret",
    "InvalidImageName": "its image name is invalid",
    "CrashLoopBackOff": "keeps crashing and is restarted with back-off: see its log tail",
    "CreateContainerConfigError": "cannot be created: a referenced Secret or ConfigMap key is missing",
    "Error": "exited with an error: see its log tail",
}


def _fmt_state(state) -> tuple[str, str | None]:
    """(description, reason) of a V1ContainerState."""
    if state is None:
        return "no state yet", None
    if state.waiting is not None:
        reason = state.waiting.reason or "Waiting"
        msg = f" ({state.waiting.message})" if state.waiting.message else ""
        return f"waiting {reason}{msg}", reason
    if state.terminated is not None:
        t = state.terminated
        reason = t.reason or "Terminated"
        return f"terminated {reason} (exit {t.exit_code})", reason
    if state.running is not None:
        return "running", None
    return "unknown state", None


def _log_tail(core, pod: str, namespace: str, container: str, previous: bool) -> list[str]:
    from kubernetes.client.exceptions import ApiException

    try:
        response = core.read_namespaced_pod_log(
            pod, namespace, container=container, tail_lines=LOG_TAIL_LINES, previous=previous, _preload_content=False
        )
        text = response.data.decode("utf-8", errors="replace")
    except ApiException as exc:
        return [f"      (log unavailable: {exc.status} {exc.reason})"]
    lines = text.rstrip("\n").splitlines()[-LOG_TAIL_LINES:]
    if not lines:
        return ["      (log is empty)"]
    which = "previous run" if previous else "log"
    return [f"      {which} tail:"] + [f"      | {line}" for line in lines]


def _container_lines(core, pod, status, *, init: bool) -> list[str]:
    kind = "init container" if init else "container"
    desc, reason = _fmt_state(status.state)
    ready = "" if init else (", ready" if status.ready else ", not ready")
    lines = [f"    {kind} {status.name}: {desc}{ready}, restarts {status.restart_count or 0}"]
    last_desc, last_reason = _fmt_state(status.last_state) if status.last_state else ("", None)
    if last_reason:
        lines.append(f"      last run: {last_desc}")
    for why in dict.fromkeys(r for r in (reason, last_reason) if r in MEANING):
        lines.append(f"      -> {kind} {status.name} {MEANING[why]}")
    running = status.state is not None and status.state.running is not None
    failed_now = status.state is not None and status.state.terminated is not None and (status.state.terminated.exit_code or 0) != 0
    crashing = reason == "CrashLoopBackOff"
    if init and running:
        lines.append(f"      -> init container {status.name} is still running (pulling models?); the pod starts when it finishes")
    if (init and (running or failed_now or crashing)) or (not init and (crashing or failed_now)):
        lines += _log_tail(core, pod.metadata.name, pod.metadata.namespace, status.name, previous=crashing)
    return lines


def _pod_lines(core, pod) -> list[str]:
    st = pod.status
    statuses = st.container_statuses or []
    ready = sum(1 for c in statuses if c.ready)
    lines = [f"  pod {pod.metadata.name}: phase {st.phase}, ready {ready}/{len(pod.spec.containers)}, node {pod.spec.node_name or '-'}"]
    for cond in st.conditions or []:
        if cond.type == "PodScheduled" and cond.status != "True":
            lines.append(f"    not scheduled: {cond.reason}: {cond.message}")
    for status in st.init_container_statuses or []:
        lines += _container_lines(core, pod, status, init=True)
    for status in statuses:
        lines += _container_lines(core, pod, status, init=False)
    return lines


def _deployment_lines(apps, name: str, namespace: str) -> list[str]:
    from kubernetes.client.exceptions import ApiException

    # The chart makes a Deployment, or a StatefulSet for a `pvc` cache: whichever exists.
    kind, d = "deployment", None
    try:
        d = apps.read_namespaced_deployment(name, namespace)
    except ApiException as exc:
        if exc.status != 404:
            return [f"deployment {namespace}/{name}: cannot read it ({exc.status} {exc.reason})"]
        try:
            kind, d = "statefulset", apps.read_namespaced_stateful_set(name, namespace)
        except ApiException as inner:
            return [f"deployment or statefulset {namespace}/{name}: cannot read it ({inner.status} {inner.reason})"]
    s = d.status
    line = (
        f"{kind} {namespace}/{name}: {d.spec.replicas} desired, {s.updated_replicas or 0} updated, "
        f"{s.ready_replicas or 0} ready, {s.available_replicas or 0} available"
    )
    lines = [line]
    for cond in s.conditions or []:
        if cond.status != "True" or cond.reason in ("ProgressDeadlineExceeded", "ReplicaSetCreateError"):
            lines.append(f"  {cond.type}={cond.status}: {cond.reason}: {cond.message}")
    return lines


def _event_time(event) -> str:
    moment = event.last_timestamp or event.event_time or event.first_timestamp or event.metadata.creation_timestamp
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment else "-"


def _event_lines(core, namespace: str, names: set[str], prefix: str) -> list[str]:
    events = core.list_namespaced_event(namespace).items
    mine = [e for e in events if e.involved_object and (e.involved_object.name in names or (e.involved_object.name or "").startswith(prefix))]
    mine.sort(key=_event_time)
    if not mine:
        return ["events: none recorded for the service's objects"]
    lines = [f"events (last {min(len(mine), EVENTS_SHOWN)} of {len(mine)}):"]
    for e in mine[-EVENTS_SHOWN:]:
        count = f" (x{e.count})" if e.count and e.count > 1 else ""
        kind = (e.involved_object.kind or "").lower()
        lines.append(f"  {_event_time(e)} {e.type} {e.reason} {kind}/{e.involved_object.name}: {e.message}{count}")
    return lines


def diagnose(api, service: str, namespace: str) -> list[str]:
    """Lines describing the service's workload; an unreadable part becomes a line, never an exception."""
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    core, apps = client.CoreV1Api(api), client.AppsV1Api(api)
    lines = _deployment_lines(apps, service, namespace)
    try:
        try:
            selector_map = core.read_namespaced_service(service, namespace).spec.selector or {}
        except ApiException as exc:
            if exc.status != 404:
                raise
            selector_map = {"app.kubernetes.io/instance": service}
        selector = ",".join(f"{k}={v}" for k, v in sorted(selector_map.items()))
        pods = sorted(core.list_namespaced_pod(namespace, label_selector=selector).items, key=lambda p: p.metadata.name)
        lines.append(f"pods matching {selector}: {len(pods)}")
        for pod in pods:
            lines += _pod_lines(core, pod)
        lines += _event_lines(core, namespace, {p.metadata.name for p in pods} | {service}, service + "-")
    except ApiException as exc:
        hint = " (the smoke Job's ServiceAccount needs get/list on pods, pods/log, events)" if exc.status == 403 else ""
        lines.append(f"cannot read the pods or events of {namespace}/{service}: {exc.status} {exc.reason}{hint}")
    return lines
