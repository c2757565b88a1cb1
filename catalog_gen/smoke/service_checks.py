"""Checks of the service as a whole: server, router readiness, OpenAI routes, concurrency, security."""

from __future__ import annotations

import asyncio
import time

import httpx

from catalog_gen.catalog.model import ModelSpec
from catalog_gen.smoke.context import (
    ANSWER_TOKENS,
    PROBE_MODEL,
    STREAM_TOKENS,
    Context,
    Failed,
    Skip,
    canonical,
    expect_200,
    get_json,
)
from catalog_gen.smoke.measure import Sample, error_text, stream
from catalog_gen.smoke.results import summarize


# --- server and router ---------------------------------------------------------------------------


async def server_root(ctx: Context) -> dict:
    response = await ctx.client.get("/", timeout=ctx.timeout)
    expect_200(response, f"GET {ctx.url('/')}")
    return {"status": response.status_code, "body": response.text[:40]}


async def server_version(ctx: Context) -> dict:
    response, data = await get_json(ctx, "GET", "/api/version")
    expect_200(response, f"GET {ctx.url('/api/version')}")
    if not isinstance(data, dict) or not isinstance(data.get("version"), str):
        raise Failed(f"GET {ctx.url('/api/version')} did not answer {{\"version\": ...}}: {response.text[:100]!r}")
    return {"version": data["version"]}


async def router_ready(ctx: Context) -> dict:
    response, data = await get_json(ctx, "GET", "/readyz")
    if response.status_code == 200:
        return {"status": 200}
    models = data.get("models") if isinstance(data, dict) else None
    waiting = [str(m.get("name")) for m in models or [] if isinstance(m, dict) and not m.get("ready")] if isinstance(models, list) else []
    detail = f"; models not ready: {', '.join(waiting)}" if waiting else ""
    raise Failed(f"GET {ctx.url('/readyz')} answered HTTP {response.status_code}: the router is not ready{detail}")


# --- OpenAI compatibility ------------------------------------------------------------------------


async def openai_models(ctx: Context) -> dict:
    response, data = await get_json(ctx, "GET", "/v1/models")
    expect_200(response, f"GET {ctx.url('/v1/models')}")
    if not isinstance(data, dict) or data.get("object") != "list":
        raise Failed(f"GET {ctx.url('/v1/models')} did not answer an OpenAI list: {response.text[:100]!r}")
    ids = {canonical(str(m.get("id", ""))) for m in data.get("data") or [] if isinstance(m, dict)}
    missing = [m.name for m in ctx.leaf.model_specs if m.name not in ctx.unavailable and canonical(m.name) not in ids]
    if missing:
        raise Failed(f"GET {ctx.url('/v1/models')} does not list {', '.join(missing)} although /api/tags does")
    return {"models": len(ids)}


def _first_text(ctx: Context) -> ModelSpec:
    texts = ctx.available("text")
    if not texts:
        why = "; ".join(f"{m} failed {c}" for m, c in ctx.unavailable.items())
        raise Skip(f"not run: no text model is available ({why})" if why else "the leaf has no text model")
    return texts[0]


async def openai_chat(ctx: Context) -> dict:
    spec = _first_text(ctx)
    body = {"model": spec.name, "messages": [{"role": "user", "content": ctx.leaf.smoke.prompt}], "max_tokens": ANSWER_TOKENS}
    response, data = await get_json(ctx, "POST", "/v1/chat/completions", body)
    where = f"POST {ctx.url('/v1/chat/completions')} for {spec.name}"
    expect_200(response, where)
    try:
        content = data["choices"][0]["message"]["content"]
        usage = data["usage"]
    except (KeyError, IndexError, TypeError):
        raise Failed(f"{where} is not a chat.completion with choices and usage: {response.text[:120]!r}") from None
    if not str(content).strip():
        raise Failed(f"{where} answered an empty message")
    return {"completion_tokens": int(usage.get("completion_tokens", 0))}


async def openai_chat_stream(ctx: Context) -> dict:
    spec = _first_text(ctx)
    body = {"model": spec.name, "messages": [{"role": "user", "content": ctx.leaf.smoke.prompt}], "stream": True, "max_tokens": STREAM_TOKENS}
    sample = await stream(ctx.client, "/v1/chat/completions", body, timeout=ctx.timeout, sse=True)
    where = f"streaming POST {ctx.url('/v1/chat/completions')} for {spec.name}"
    if sample.error:
        detail = "the SSE stream did not end with data: [DONE]" if "final chunk" in sample.error else sample.error
        raise Failed(f"{where}: {detail}", sample.metrics())
    if not sample.text.strip():
        raise Failed(f"{where} streamed an empty message", sample.metrics())
    return sample.metrics()


# --- concurrency ---------------------------------------------------------------------------------


async def concurrency(ctx: Context) -> dict:
    n = ctx.leaf.smoke.concurrency
    texts = ctx.available("text")
    specs = texts or ctx.available()
    if not specs:
        raise Skip("not run: no model is available (" + "; ".join(f"{m} failed {c}" for m, c in ctx.unavailable.items()) + ")")

    async def one(i: int) -> Sample:
        spec = specs[i % len(specs)]
        if texts:
            body = {"model": spec.name, "prompt": ctx.leaf.smoke.prompt, "options": {"num_predict": STREAM_TOKENS}}
            return await stream(ctx.client, "/api/generate", body, timeout=ctx.timeout)
        return await _embed_sample(ctx, spec)

    samples = await asyncio.gather(*(one(i) for i in range(n)))
    ok = [s for s in samples if s.ok]
    if texts:  # the latency summary is about token streams
        ctx.samples.extend(ok)
    shed = [s for s in samples if s.status == 429 and s.retry_after]
    bad = [(i, s) for i, s in enumerate(samples) if not s.ok and not (s.status == 429 and s.retry_after)]
    e2e = summarize([s.e2e for s in ok])
    metrics = {"requests": n, "succeeded": len(ok), "rejected_429": len(shed)}
    if e2e:
        metrics.update({"e2e_p50_s": e2e["p50"], "e2e_p95_s": e2e["p95"]})
    ttft = summarize([s.ttft for s in ok if s.ttft is not None])
    if ttft:
        metrics.update({"ttft_p50_s": ttft["p50"], "ttft_p95_s": ttft["p95"]})
    if bad:
        details = "; ".join(f"request {i + 1}: {_why(s)}" for i, s in bad[:5])
        raise Failed(f"{len(bad)} of {n} concurrent requests to {ctx.url('')} failed: {details}", metrics)
    if not ok:
        raise Failed(f"all {n} concurrent requests were refused with 429; none was served", metrics)
    return metrics


def _why(sample: Sample) -> str:
    if sample.status == 429:
        return "429 without a Retry-After header"
    return sample.error or f"HTTP {sample.status}"


async def _embed_sample(ctx: Context, spec: ModelSpec) -> Sample:
    sample = Sample()
    start = time.perf_counter()
    try:
        response = await ctx.client.post("/api/embed", json={"model": spec.name, "input": ctx.leaf.smoke.prompt}, timeout=ctx.timeout)
    except httpx.TimeoutException:
        sample.error = f"no answer within {ctx.timeout:g} s"
        return sample
    sample.e2e = time.perf_counter() - start
    sample.status = response.status_code
    sample.retry_after = response.headers.get("retry-after")
    sample.done = response.status_code == 200
    if response.status_code != 200:
        sample.error = f"HTTP {response.status_code}: {error_text(response)}"
    return sample


# --- security ------------------------------------------------------------------------------------


async def admin_closed(ctx: Context) -> dict:
    if not ctx.leaf.router.enabled:
        raise Skip("router disabled: Ollama itself has no wall around its admin API")
    probes = [("POST", "/api/pull", {"model": PROBE_MODEL, "stream": False}), ("DELETE", "/api/delete", {"model": PROBE_MODEL})]
    open_ = []
    for method, path, body in probes:
        response = await ctx.client.request(method, path, json=body, timeout=ctx.timeout)
        if response.status_code != 403:
            open_.append(f"{method} {ctx.url(path)} answered HTTP {response.status_code} (expected 403)")
    if open_:
        raise Failed("the admin API is reachable from outside the pod: " + "; ".join(open_))
    return {"probed": len(probes)}


async def api_keys(ctx: Context) -> dict:
    if ctx.leaf.router.api_key_secret is None:
        raise Skip("the leaf sets no router.apiKeySecret")
    if not ctx.leaf.router.enabled:
        raise Failed("the leaf sets router.apiKeySecret but disables the router, which enforces the keys")
    accepted = []
    for label, headers in (("without a key", {"Authorization": ""}), ("with a wrong key", {"Authorization": "Bearer catalog-gen-smoke-wrong-key"})):
        for path in ("/api/tags", "/v1/models"):
            response = await ctx.client.get(path, headers=headers, timeout=ctx.timeout)
            if response.status_code != 401:
                accepted.append(f"GET {ctx.url(path)} {label} answered HTTP {response.status_code} (expected 401)")
            elif path.startswith("/v1/") and not isinstance((_safe_json(response) or {}).get("error"), dict):
                accepted.append(f"GET {ctx.url(path)} {label}: 401 is not in the OpenAI error shape")
    if accepted:
        raise Failed("API keys are not enforced: " + "; ".join(accepted))
    return {"probed": 4}


def _safe_json(response: httpx.Response):
    try:
        data = response.json()
    except ValueError:
        return None
    return data if isinstance(data, dict) else None
