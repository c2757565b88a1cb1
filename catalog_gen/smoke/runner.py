"""Run a leaf's smoke checks against one base URL: warm-up, checks, latency summary, diagnostics.

Warm-up: right after a sync the pods may still pull or load models. Until the
deadline (``smoke.warmupSeconds``, or ``--warmup``) the runner polls with
backoff (0.25 s doubling to 10 s): the router's ``/readyz`` when the leaf has
the router, else ``/api/tags`` until every model is on disk and then one
load-only request per model (empty prompt / empty input), which returns when
the model is in memory. The wait is reported. The checks run afterwards even if
the service never became ready, so the report says which part is missing; if
the target never answered at all, no check runs and the exit code is 2.
``Options.progress`` hears about the wait (what it waits for, about every
second) and about each check; the runner prints nothing.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from catalog_gen.catalog.model import OllamaInferenceLoad
from catalog_gen.progress import Progress, Tick
from catalog_gen.progress import report as _tell
from catalog_gen.smoke import checks as smoke_checks
from catalog_gen.smoke import context as smoke_context
from catalog_gen.smoke.results import CheckResult, SmokeReport, Status, Warmup, summarize

MAX_BACKOFF = 10.0


@dataclasses.dataclass
class Options:
    url: str
    timeout: float | None = None  # one request; default smoke.timeoutSeconds
    warmup: float | None = None  # default smoke.warmupSeconds
    api_key: str | None = None
    diagnose: Callable[[], list[str]] | None = None  # Kubernetes diagnostics, called when something failed
    progress: Progress | None = None  # told about the warm-up wait (about every second) and each check


def load_leaf(path: Path) -> OllamaInferenceLoad:
    """The leaf at ``path``, validated with its `_defaults.yaml` cascade (a bad leaf is an InputError)."""
    from catalog_gen.catalog import load_leaf as catalog_load_leaf

    return catalog_load_leaf(path)


async def _probe(ctx: smoke_context.Context, router: bool, warmed: set[str], remaining: float) -> tuple[bool, str]:
    """(ready, what we are waiting for). Raises httpx errors when the target does not answer."""
    if router:
        response = await ctx.client.get("/readyz", timeout=ctx.timeout)
        if response.status_code == 200:
            return True, "the router reports ready"
        if response.status_code == 404:
            raise _NotRouter()
        return False, f"GET /readyz answered {response.status_code}"
    response, data = await smoke_context.get_json(ctx, "GET", "/api/tags")
    models = data.get("models") if isinstance(data, dict) else None
    if response.status_code != 200 or not isinstance(models, list):
        return False, f"GET /api/tags answered {response.status_code} without a model list"
    on_disk = {smoke_context.canonical(str(m.get("name", ""))) for m in models if isinstance(m, dict)}
    missing = [m.name for m in ctx.leaf.model_specs if smoke_context.canonical(m.name) not in on_disk]
    if missing:
        return False, "waiting for the pull of " + ", ".join(missing)
    for spec in ctx.leaf.model_specs:
        if spec.name in warmed:
            continue
        if spec.kind == "embedding":
            path, body = "/api/embed", {"model": spec.name}
        else:
            path, body = "/api/generate", {"model": spec.name, "prompt": ""}
        response = await ctx.client.post(path, json=body, timeout=max(1.0, remaining))
        if response.status_code != 200:
            return False, f"loading {spec.name}: POST {path} answered {response.status_code}"
        warmed.add(spec.name)
    return True, "every model is on disk and loaded"


class _NotRouter(Exception):
    pass


async def warm_up(ctx: smoke_context.Context, deadline: float, progress: Progress | None = None) -> Warmup:
    started = time.perf_counter()
    result = Warmup()
    delay = 0.25
    warmed: set[str] = set()
    task = f"waiting for {ctx.url('') or 'the service'} to be ready"

    def tell() -> None:
        _tell(progress, Tick(task, time.perf_counter() - started, deadline, "s", result.detail))

    while True:
        result.attempts += 1
        remaining = deadline - (time.perf_counter() - started)
        try:
            result.ready, result.detail = await _probe(ctx, ctx.leaf.router.enabled, warmed, remaining)
            result.reached = True
        except _NotRouter:
            result.reached = True
            result.detail = "GET /readyz answered 404: the target is not the catalog-gen router"
            break
        except httpx.HTTPError as exc:
            result.detail = f"{ctx.url('')} does not answer: {type(exc).__name__}: {exc}".rstrip(": ")
        tell()
        if result.ready or time.perf_counter() - started + delay > deadline:
            break
        slept = 0.0
        while slept < delay:  # in steps of at most a second, so a long wait shows it goes on
            step = min(1.0, delay - slept)
            await asyncio.sleep(step)
            slept += step
            tell()
        delay = min(delay * 2, MAX_BACKOFF)
    result.seconds = time.perf_counter() - started
    return result


async def _run_check(check: smoke_context.Check, ctx: smoke_context.Context) -> CheckResult:
    started = time.perf_counter()
    try:
        metrics = await check.run(ctx)
        status, message = Status.PASSED, ""
    except smoke_context.Skip as skip:
        metrics, status, message = {}, Status.SKIPPED, str(skip)
    except smoke_context.Failed as failed:
        metrics, status, message = failed.metrics, Status.FAILED, str(failed)
    except smoke_context.NoAnswer as exc:
        metrics, status, message = {}, Status.ERROR, str(exc)
    except httpx.TimeoutException:
        metrics, status, message = {}, Status.ERROR, f"no answer from {ctx.url('')} within {ctx.timeout:g} s"
    except httpx.HTTPError as exc:
        metrics, status, message = {}, Status.ERROR, f"request to {ctx.url('')} failed: {type(exc).__name__}: {exc}".rstrip(": ")
    except Exception as exc:  # noqa: BLE001 - an answer shape we did not foresee: report it, keep the run going
        metrics, status = {}, Status.ERROR
        message = f"the check could not handle the answer of {ctx.url('')}: {type(exc).__name__}: {exc} (a catalog-gen bug; please report it)"
    return CheckResult(check.name, status, time.perf_counter() - started, message, metrics)


def latency_summary(samples) -> dict[str, dict[str, float]]:
    figures = {
        "ttft_s": [s.ttft for s in samples if s.ttft is not None],
        "inter_token_latency_s": [gap for s in samples for gap in s.itls],
        "end_to_end_latency_s": [s.e2e for s in samples],
        "tpot_s": [s.tpot for s in samples if s.tpot is not None],
        "output_tokens_per_s": [s.tokens_per_second for s in samples if s.tokens_per_second is not None],
        "number_output_tokens": [float(s.output_tokens) for s in samples],
    }
    return {name: summarize(values) for name, values in figures.items() if values}


async def run_async(leaf: OllamaInferenceLoad, leaf_path: str, options: Options) -> SmokeReport:
    started = time.perf_counter()
    timeout = float(options.timeout or leaf.smoke.timeout_seconds)
    deadline = float(leaf.smoke.warmup_seconds if options.warmup is None else options.warmup)
    headers = {"Authorization": f"Bearer {options.api_key}"} if options.api_key else {}
    limits = httpx.Limits(max_connections=leaf.smoke.concurrency + 8, max_keepalive_connections=leaf.smoke.concurrency + 8)
    async with httpx.AsyncClient(base_url=options.url.rstrip("/"), headers=headers, limits=limits, timeout=timeout) as client:
        ctx = smoke_context.Context(client, leaf, leaf_path, timeout)
        report = SmokeReport(leaf_path, f"{leaf.namespace}/{leaf.service_name}", options.url,
                             await warm_up(ctx, deadline, options.progress))
        if report.warmup.reached:
            planned = smoke_checks.plan(leaf)
            for number, check in enumerate(planned):
                _tell(options.progress, Tick(f"smoke checks of {leaf.service_name}", number, len(planned), "check", check.name))
                report.results.append(await _run_check(check, ctx))
            _tell(options.progress, Tick(f"smoke checks of {leaf.service_name}", len(planned), len(planned), "check"))
        report.latency = latency_summary(ctx.samples)
    troubled = not report.warmup.reached or any(r.status in (Status.FAILED, Status.ERROR) for r in report.results)
    if troubled and options.diagnose is not None:
        report.diagnostics = await asyncio.to_thread(options.diagnose)
    report.duration = time.perf_counter() - started
    return report


def run(leaf: OllamaInferenceLoad, leaf_path: str, options: Options) -> SmokeReport:
    return asyncio.run(run_async(leaf, leaf_path, options))
