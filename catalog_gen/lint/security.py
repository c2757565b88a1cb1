"""kube-linter's default policy set, re-implemented over our parsed objects.

Semantics follow kube-linter where it documents them: a container runs as
non-root when the effective (container over pod) ``runAsUser`` is above 0 or
``runAsNonRoot`` is true; privilege escalation is flagged when allowed
explicitly or implied by ``privileged`` or ``SYS_ADMIN``. Init containers are
checked too, except for probes (they have none). Params come from the
registry in ``policies.py``.
"""

from __future__ import annotations

import re

from catalog_gen.lint.objects import Issue, K8sObject, as_dict, as_list, get_path
from catalog_gen.lint.podspec import LONG_RUNNING_KINDS, Container, PodTemplate, image_parts, pod_template
from catalog_gen.lint.policies import params


def _effective(pt: PodTemplate, c: Container, key: str) -> object:
    value = get_path(c.data, "securityContext", key)
    return get_path(pt.spec, "securityContext", key) if value is None else value


def _capabilities(c: Container) -> list[str]:
    added = get_path(c.data, "securityContext", "capabilities", "add")
    return [str(cap).upper().removeprefix("CAP_") for cap in as_list(added)]


def _pod_checks(pt: PodTemplate) -> list[Issue]:
    issues = []
    for field, check in (("hostNetwork", "host-network"), ("hostPID", "host-pid"), ("hostIPC", "host-ipc")):
        if pt.spec.get(field) is True:
            issues.append(Issue(check, f"the pod sets {field}: true", obj=pt.obj, pointer=f"{pt.spec_pointer}/{field}"))
    sockets = set(params("docker-sock")["sockets"])
    sensitive = params("sensitive-host-mounts")["paths"]
    for i, volume in enumerate(as_list(pt.spec.get("volumes"))):
        path = get_path(volume, "hostPath", "path")
        if not isinstance(path, str):
            continue
        at = f"{pt.spec_pointer}/volumes/{i}/hostPath/path"
        clean = path.rstrip("/") or "/"
        if clean in sockets:
            issues.append(Issue("docker-sock", f"volume mounts the runtime socket {path} from the host", obj=pt.obj, pointer=at))
        elif any(clean == p or (p != "/" and clean.startswith(p + "/")) for p in sensitive):
            issues.append(Issue("sensitive-host-mounts", f"volume mounts the host path {path}", obj=pt.obj, pointer=at))
    return issues


def _container_checks(pt: PodTemplate, c: Container) -> list[Issue]:
    obj, sc_at = pt.obj, f"{c.pointer}/securityContext"
    issues = []
    run_as_user = _effective(pt, c, "runAsUser")
    if run_as_user == 0:
        issues.append(Issue("run-as-non-root", f"{c.label} runs as root (runAsUser: 0)", obj=obj, pointer=sc_at))
    elif not (isinstance(run_as_user, int) and run_as_user > 0) and _effective(pt, c, "runAsNonRoot") is not True:
        issues.append(Issue("run-as-non-root", f"{c.label} may run as root: no runAsNonRoot: true or runAsUser above 0", obj=obj, pointer=sc_at))
    if get_path(c.data, "securityContext", "readOnlyRootFilesystem") is not True:
        issues.append(Issue("no-read-only-root-fs", f"{c.label} has a writable root filesystem", obj=obj, pointer=sc_at))
    privileged = get_path(c.data, "securityContext", "privileged") is True
    caps = _capabilities(c)
    if privileged:
        issues.append(Issue("privileged-container", f"{c.label} is privileged", obj=obj, pointer=f"{sc_at}/privileged"))
    if get_path(c.data, "securityContext", "allowPrivilegeEscalation") is True or privileged or "SYS_ADMIN" in caps:
        issues.append(Issue("privilege-escalation-container", f"{c.label} allows privilege escalation", obj=obj, pointer=sc_at))
    dangerous = [cap for cap in caps if cap in params("dangerous-capabilities")["capabilities"]]
    if dangerous:
        at = f"{sc_at}/capabilities/add"
        issues.append(Issue("dangerous-capabilities", f"{c.label} adds {', '.join(dangerous)}", obj=obj, pointer=at))
    image = c.data.get("image")
    if isinstance(image, str):
        _, tag, digest = image_parts(image)
        if not digest and not tag:
            issues.append(Issue("latest-tag", f"image {image!r} of {c.label} has no tag", obj=obj, pointer=f"{c.pointer}/image"))
        elif not digest and tag in params("latest-tag")["mutableTags"]:
            issues.append(Issue("latest-tag", f"image {image!r} of {c.label} uses the mutable tag {tag!r}", obj=obj, pointer=f"{c.pointer}/image"))
    resources = as_dict(c.data.get("resources"))
    requests, limits = as_dict(resources.get("requests")), as_dict(resources.get("limits"))
    if "cpu" not in requests:
        issues.append(Issue("unset-cpu-requirements", f"{c.label} has no CPU request", obj=obj, pointer=f"{c.pointer}/resources"))
    missing = [what for what, present in (("memory request", "memory" in requests), ("memory limit", "memory" in limits)) if not present]
    if missing:
        issues.append(Issue("unset-memory-requirements", f"{c.label} has no {' or '.join(missing)}", obj=obj, pointer=f"{c.pointer}/resources"))
    secret_name = re.compile(params("env-var-secret")["namePattern"])
    for i, env in enumerate(as_list(c.data.get("env"))):
        name, value = get_path(env, "name"), get_path(env, "value")
        if isinstance(name, str) and secret_name.search(name) and isinstance(value, str) and value:
            issues.append(Issue("env-var-secret", f"{c.label} sets {name} to a literal value", obj=obj, pointer=f"{c.pointer}/env/{i}/value"))
    if not c.init and obj.kind in LONG_RUNNING_KINDS and not isinstance(c.data.get("livenessProbe"), dict):
        issues.append(Issue("no-liveness-probe", f"{c.label} has no liveness probe", obj=obj, pointer=c.pointer))
    return issues


def object_issues(obj: K8sObject) -> list[Issue]:
    pt = pod_template(obj)
    if pt is None:
        return []
    issues = _pod_checks(pt)
    for c in pt.containers():
        issues += _container_checks(pt, c)
    return issues
