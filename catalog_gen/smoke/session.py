"""One ``catalog-gen smoke`` invocation: leaves -> targets -> reports.

Target of a leaf, in order: ``--url``; ``--in-cluster`` (the Service's DNS name,
for a Job inside the cluster); ``--kube`` (port-forward through the user's
kubeconfig); else the leaf's own ingress host. Kubernetes diagnostics are
gathered for failed runs when Kubernetes access is in play (``--kube``,
``--in-cluster``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from pathlib import Path

from catalog_gen.catalog.model import OllamaInferenceLoad
from catalog_gen.errors import InputError, ToolError, UsageError
from catalog_gen.fsutil import Refused, read_regular
from catalog_gen.progress import Progress
from catalog_gen.smoke import kube
from catalog_gen.smoke.results import SmokeReport, Warmup
from catalog_gen.smoke.runner import Options, load_leaf, run

API_KEY_ENV = "CATALOG_GEN_API_KEY"
MAX_KEY_FILE_BYTES = 64 * 1024  # a key file holds a few keys; a FIFO or /dev/zero must not hang or grow us


@dataclasses.dataclass
class Request:
    leaves: list[Path]
    url: str | None = None
    mode: str = "url"  # "url", "kube", "in-cluster", or "ingress" (nothing given)
    context: str | None = None
    port: int | None = None
    timeout: float | None = None
    warmup: float | None = None
    api_key_file: Path | None = None


def read_api_key(path: Path | None) -> str | None:
    """The key from ``--api-key-file`` (first line that is not blank or a comment), else $CATALOG_GEN_API_KEY."""
    if path is not None:
        try:
            lines = read_regular(path, MAX_KEY_FILE_BYTES).decode("utf-8").splitlines()
        except Refused as refused:
            raise InputError(f"{path}: cannot use the API key file: {refused.message}", hint=refused.hint) from refused
        except UnicodeDecodeError as exc:
            raise InputError(f"{path}: the API key file is not UTF-8", hint="write the key as plain text") from exc
        keys = [line.strip() for line in lines if line.strip() and not line.strip().startswith("#")]
        if not keys:
            raise InputError(f"{path}: the API key file holds no key", hint="write one key per line")
        return keys[0]
    return os.environ.get(API_KEY_ENV) or None


def ingress_url(leaf: OllamaInferenceLoad, path: Path) -> str:
    if not leaf.ingress.enabled or not leaf.ingress.host:
        raise UsageError(
            f"{path}: the leaf has no ingress host to test, and no target was given",
            hint="pass --url URL, --kube (port-forward with your kubeconfig) or --in-cluster (from a pod)",
        )
    scheme = "https" if leaf.ingress.tls.enabled else "http"
    prefix = leaf.ingress.paths[0].rstrip("/")
    return f"{scheme}://{leaf.ingress.host}{prefix}"


def _diagnoser(api, leaf: OllamaInferenceLoad):
    def diagnose() -> list[str]:
        from catalog_gen.smoke.diagnostics import diagnose as kube_diagnose

        try:
            return kube_diagnose(api, leaf.service_name, leaf.namespace)
        except Exception as exc:  # noqa: BLE001 - diagnostics must never hide the report
            return [f"Kubernetes diagnostics unavailable: {type(exc).__name__}: {exc}"]

    return diagnose


def run_request(req: Request, progress: Progress | None = None) -> list[SmokeReport]:
    if req.url and len(req.leaves) > 1:
        raise UsageError("--url names one service, but several leaves were given", hint="run one smoke per leaf with its --url, or use --kube / --in-cluster")
    api_key = read_api_key(req.api_key_file)
    reports = []
    for path in req.leaves:
        leaf = load_leaf(path)
        if leaf.router.api_key_secret is not None and not api_key:
            raise UsageError(
                f"{path}: the leaf requires API keys (router.apiKeySecret) but no key was given",
                hint=f"pass --api-key-file FILE or set {API_KEY_ENV} (the Job mounts the Secret {leaf.router.api_key_secret.name})",
            )
        api = None
        if req.mode in ("kube", "in-cluster"):
            api = kube.api_client(in_cluster=req.mode == "in-cluster", context=req.context)
        with contextlib.ExitStack() as stack:
            if req.mode == "url":
                url = req.url
            elif req.mode == "in-cluster":
                url = kube.in_cluster_url(leaf, req.port)
            elif req.mode == "kube":
                try:
                    url = stack.enter_context(kube.port_forward(api, leaf, req.port))
                except (InputError, ToolError) as exc:  # no pod to forward to: report it, with diagnostics
                    warmup = Warmup(detail=f"port-forward to {leaf.namespace}/{leaf.service_name}: {exc.message}")
                    reports.append(SmokeReport(str(path), f"{leaf.namespace}/{leaf.service_name}", "port-forward", warmup, diagnostics=_diagnoser(api, leaf)()))
                    continue
            else:
                url = ingress_url(leaf, path)
            options = Options(url, req.timeout, req.warmup, api_key, _diagnoser(api, leaf) if api is not None else None, progress)
            reports.append(run(leaf, str(path), options))
    return reports
