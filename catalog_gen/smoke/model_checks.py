"""Checks per model: listed (with its pin), answers, streams within the leaf's objectives.

Latency figures follow vLLM's benchmark_serving and llmperf (see measure.py);
the objectives are the leaf's ``smoke.objectives``: TTFT and E2E of the timed
reply, the p95 of its inter-token gaps, and output tokens / E2E.
"""

from __future__ import annotations

import time

import httpx

from catalog_gen.catalog.model import ModelSpec
from catalog_gen.smoke.context import (
    ANSWER_TOKENS,
    STREAM_TOKENS,
    Check,
    Context,
    Failed,
    canonical,
    expect_200,
    get_json,
)
from catalog_gen.smoke.measure import Sample, stream
from catalog_gen.smoke.results import summarize

def listed(spec: ModelSpec, index: int) -> Check:
    name = f"models.listed[{spec.name}]"

    async def run(ctx: Context) -> dict:
        response, data = await get_json(ctx, "GET", "/api/tags")
        expect_200(response, f"GET {ctx.url('/api/tags')}")
        models = data.get("models") if isinstance(data, dict) else None
        if not isinstance(models, list):
            raise Failed(f"GET {ctx.url('/api/tags')} did not answer {{\"models\": [...]}}")
        by_name = {canonical(str(m.get("name", ""))): m for m in models if isinstance(m, dict)}
        found = by_name.get(canonical(spec.name))
        if found is None:
            names = ", ".join(sorted(str(m.get("name")) for m in models if isinstance(m, dict))) or "none"
            raise ctx.broken(
                spec,
                name,
                f"{spec.name} is not listed in GET {ctx.url('/api/tags')} (listed: {names}); "
                f"the model was not pulled: look at the model pull of {ctx.leaf.namespace}/{ctx.leaf.service_name}",
            )
        digest = str(found.get("digest", ""))
        if spec.digest and digest != spec.digest:
            raise Failed(
                f"{spec.name} has digest {digest} in GET {ctx.url('/api/tags')} but {ctx.leaf_path} pins "
                f"{spec.digest} (models[{index}].digest): the tag was re-pushed; re-pin or pull the pinned version",
                {"digest": digest},
            )
        return {"digest": digest, "pinned": bool(spec.digest)}

    return Check(name, run)


async def _capabilities(ctx: Context, spec: ModelSpec) -> list[str]:
    if spec.name not in ctx.capabilities:
        response, data = await get_json(ctx, "POST", "/api/show", {"model": spec.name})
        expect_200(response, f"POST {ctx.url('/api/show')} for {spec.name}")
        caps = data.get("capabilities") if isinstance(data, dict) else None
        if not isinstance(caps, list):
            raise Failed(f"POST {ctx.url('/api/show')} for {spec.name} did not answer a model with capabilities: {response.text[:100]!r}")
        ctx.capabilities[spec.name] = [str(c) for c in caps]
    return ctx.capabilities[spec.name]


def answers(spec: ModelSpec) -> Check:
    name = f"models.answers[{spec.name}]"

    async def run(ctx: Context) -> dict:
        ctx.require(spec)
        try:
            return await _answer(ctx, spec)
        except Failed as failed:
            raise ctx.broken(spec, name, str(failed), failed.metrics) from None
        except httpx.TimeoutException:
            raise ctx.broken(spec, name, f"{spec.name}: no answer from {ctx.url('')} within {ctx.timeout:g} s", timed_out=True) from None

    return Check(name, run)


async def _answer(ctx: Context, spec: ModelSpec) -> dict:
    caps = await _capabilities(ctx, spec)
    if "embedding" in caps and "completion" not in caps:
        where = f"POST {ctx.url('/api/embed')} for {spec.name}"
        response, data = await get_json(ctx, "POST", "/api/embed", {"model": spec.name, "input": ctx.leaf.smoke.prompt})
        expect_200(response, where)
        vectors = data.get("embeddings") if isinstance(data, dict) else None
        if not vectors or not isinstance(vectors, list) or not vectors[0]:
            raise Failed(f"{where} answered an empty embedding")
        return {"endpoint": "/api/embed", "dimensions": len(vectors[0]), "capabilities": ",".join(caps)}
    if "completion" not in caps:
        raise Failed(f"{spec.name} reports capabilities {caps} in /api/show: neither completion nor embedding")
    where = f"POST {ctx.url('/api/chat')} for {spec.name}"
    body = {
        "model": spec.name,
        "messages": [{"role": "user", "content": ctx.leaf.smoke.prompt}],
        "stream": False,
        "options": {"num_predict": ANSWER_TOKENS},
    }
    started = time.perf_counter()
    response, data = await get_json(ctx, "POST", "/api/chat", body)
    expect_200(response, where)
    if not isinstance(data, dict) or data.get("done") is not True:
        raise Failed(f"{where}: the reply does not end with done: true: {response.text[:120]!r}")
    content = (data.get("message") or {}).get("content") if isinstance(data.get("message"), dict) else None
    if not str(content or "").strip():
        raise Failed(f"{where}: the model answered an empty reply (done_reason {data.get('done_reason')!r})")
    return {
        "endpoint": "/api/chat",
        "capabilities": ",".join(caps),
        "end_to_end_latency_s": round(time.perf_counter() - started, 6),
        "number_output_tokens": int(data.get("eval_count") or 0),
    }


def streaming(spec: ModelSpec) -> Check:
    name = f"stream.latency[{spec.name}]"

    async def run(ctx: Context) -> dict:
        ctx.require(spec)
        body = {"model": spec.name, "prompt": ctx.leaf.smoke.prompt, "options": {"num_predict": STREAM_TOKENS}}
        sample = await stream(ctx.client, "/api/generate", body, timeout=ctx.timeout)
        metrics = sample.metrics()
        where = f"streaming POST {ctx.url('/api/generate')} for {spec.name}"
        if sample.error:
            raise ctx.broken(spec, name, f"{where}: {sample.error}", metrics, timed_out=sample.timed_out)
        if not sample.chunks:
            raise ctx.broken(spec, name, f"{where}: the stream carried no token", metrics)
        ctx.samples.append(sample)
        itl = summarize(sample.itls)
        if itl:
            metrics["itl_p95_s"] = itl["p95"]
        missed = _objective_misses(ctx, sample, itl.get("p95"))
        if missed:
            raise Failed(f"{spec.name} misses the objectives of {ctx.leaf_path} (smoke.objectives): " + "; ".join(missed), metrics)
        return metrics

    return Check(name, run)


def _objective_misses(ctx: Context, sample: Sample, itl_p95: float | None) -> list[str]:
    o = ctx.leaf.smoke.objectives
    missed = []
    if o.ttft_ms is not None and sample.ttft is not None and sample.ttft * 1000 > o.ttft_ms:
        missed.append(f"time to first token {sample.ttft * 1000:.0f} ms > ttftMs {o.ttft_ms}")
    if o.e2e_ms is not None and sample.e2e * 1000 > o.e2e_ms:
        missed.append(f"end-to-end latency {sample.e2e * 1000:.0f} ms > e2eMs {o.e2e_ms}")
    if o.itl_ms is not None and itl_p95 is not None and itl_p95 * 1000 > o.itl_ms:
        missed.append(f"inter-token latency p95 {itl_p95 * 1000:.0f} ms > itlMs {o.itl_ms}")
    tps = sample.tokens_per_second
    if o.tokens_per_second is not None and tps is not None and tps < o.tokens_per_second:
        missed.append(f"output {tps:.1f} tokens/s < tokensPerSecond {o.tokens_per_second:g}")
    return missed
