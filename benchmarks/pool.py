"""Model pool placement, side by side: the same Poisson trace through every routing policy in front of a pool
of Ollama doubles that schedule as Ollama does.

    .venv/bin/python benchmarks/pool.py [--seconds 60] [--policies all] [--no-peers] [--quick]
    .venv/bin/python benchmarks/pool.py --capacity [--seconds 5]     # what one gateway replica passes

The pool (issue 16, "Numbers"): ``--workers`` 4 Ollama doubles (catalog_gen.testing.ollama_double), each
with OLLAMA_NUM_PARALLEL=2 (slots per loaded model), OLLAMA_MAX_LOADED_MODELS=2 and memory for two
models (12 GiB; every model takes 4 GiB loaded, and a third would need more than 80% of the 4 GiB left),
a 2 s model load (one load at a time, as Ollama does), busy models sharing the worker's compute, and
``--models`` 12 models on disk everywhere: more than the pool holds at once, so placement and eviction
matter. Requests: streamed ``POST /v1/chat/completions`` (16 tokens, 0.1 s prompt evaluation, 50 ms
between tokens: 0.85 s of service alone), models drawn with Zipf-like popularity (weight 1/rank), 8
conversations per model (the system prompt names the conversation), Poisson arrivals at the rate that
keeps the pool's slots ``--busy`` 65% busy (workers x slots / service time x 0.65: 6.1 req/s), one seeded
trace replayed identically through every policy, each on a fresh, cold pool.

Policies: ``nginx-rr`` (what a Kubernetes Service does: round robin, measured with Debian's nginx),
``nginx-least_conn``; vllm-router (PyPI, in the peers' venv of benchmarks/router.py) with round_robin,
power_of_two, cache_aware, consistent_hash and sticky_least_loaded, every request carrying
``X-Session-ID: <model>`` (vllm-router's hash key, first in its priority list: X-Session-ID, X-User-ID,
X-Tenant-ID, ... then the body; docs/load_balancing/README.md of the vllm-router repository), so the
keyed policies keep each model on one worker; vllm-router listens only once every worker answers
``GET /health``, which Ollama does not have, so in this benchmark the doubles answer it
(``Knobs.health_path``, a benchmark knob, off by default); ``router``: today's ``catalog-gen router`` with the 4
doubles as its backends; ``gateway``: ``catalog-gen router --role gateway`` in front of 4 worker routers
(``catalog-gen router`` in its sidecar role, one per double, serving ``/router/state``), skipped with a
note when this checkout's router has no gateway role.

Reported per policy (Markdown): requests, failures (non-200, a stream without ``[DONE]``, or no answer
within ``--timeout``), time to first token p50/p95/p99 (from the planned send time to the first
non-empty content chunk; failures excluded), model loads and evictions summed over the workers, and per
worker: requests served and occupancy (time with at least one request generating / length of the
run). Then ratios against nginx round robin and the issue's targets. Everything runs on this machine's
shared cores; nothing here asserts. ``--quick``: 2 workers, 3 models, 4 s, 0.3 s loads (a smoke run, used
by tests/testing/test_pool_benchmark.py).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import hashlib
import importlib.util
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GIB = 1024**3
VLLM_POLICIES = ("round_robin", "power_of_two", "cache_aware", "consistent_hash", "sticky_least_loaded")
ALL_POLICIES = ("nginx-rr", "nginx-least_conn", *(f"vllm-{p}" for p in VLLM_POLICIES), "router", "gateway")
BASELINE = "nginx-rr"


def _router_bench():
    """benchmarks/router.py, for its helpers (free_port, wait_port, find_nginx, peers_bin, pct)."""
    spec = importlib.util.spec_from_file_location("_router_bench", Path(__file__).with_name("router.py"))
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


rb = _router_bench()


@dataclasses.dataclass(frozen=True)
class Setup:
    workers: int = 4
    models: int = 12
    num_parallel: int = 2  # OLLAMA_NUM_PARALLEL: slots per loaded model
    max_loaded: int = 2  # OLLAMA_MAX_LOADED_MODELS
    model_file_bytes: int = 3 * GIB  # 4 GiB once loaded (the double adds 1 GiB of KV cache and graph)
    memory_bytes: int = 12 * GIB
    load_seconds: float = 2.0
    ttft_seconds: float = 0.1
    token_interval: float = 0.05
    tokens: int = 16
    conversations: int = 8  # per model
    zipf_s: float = 1.0
    seconds: float = 60.0
    busy: float = 0.65
    rate: float = 0.0  # requests/s; 0 = from ``busy``
    seed: int = 16
    timeout: float = 120.0  # a request with no complete answer by then is a failure

    @property
    def service_seconds(self) -> float:
        return self.ttft_seconds + (self.tokens - 1) * self.token_interval

    @property
    def arrival_rate(self) -> float:
        return self.rate or self.busy * self.workers * self.num_parallel / self.service_seconds


QUICK = {"workers": 2, "models": 3, "seconds": 4.0, "load_seconds": 0.3, "conversations": 2, "timeout": 30.0}


def model_names(count: int) -> list[str]:
    return [f"pool-m{i + 1:02d}:1b" for i in range(count)]


@dataclasses.dataclass(frozen=True)
class Arrival:
    at: float  # seconds after the start
    model: str
    conversation: int


def make_trace(setup: Setup) -> list[Arrival]:
    """Poisson arrivals, Zipf-like model popularity; the same seed gives the same trace."""
    rng = random.Random(setup.seed)
    names = model_names(setup.models)
    weights = [1 / (rank + 1) ** setup.zipf_s for rank in range(setup.models)]
    out, at = [], 0.0
    while True:
        at += rng.expovariate(setup.arrival_rate)
        if at >= setup.seconds:
            return out
        out.append(Arrival(round(at, 6), rng.choices(names, weights)[0], rng.randrange(setup.conversations)))


def trace_digest(trace: list[Arrival]) -> str:
    return hashlib.sha256(json.dumps([dataclasses.astuple(a) for a in trace]).encode()).hexdigest()[:12]


# -- the doubles: a child process serving one double per worker, reporting their counters on request -------
def serve_doubles(config_text: str) -> None:
    from catalog_gen.testing.ollama_double import DoubleModel, Knobs, OllamaDouble, serve_double

    setup = Setup(**json.loads(config_text))
    doubles = [
        OllamaDouble(
            [DoubleModel(name, size=setup.model_file_bytes) for name in model_names(setup.models)],
            Knobs(num_parallel=setup.num_parallel, max_loaded_models=setup.max_loaded, memory_bytes=setup.memory_bytes,
                  load_seconds=setup.load_seconds, ttft_seconds=setup.ttft_seconds,
                  token_interval_seconds=setup.token_interval, tokens_per_reply=setup.tokens, listen_loopback=False,
                  request_log_limit=100, health_path="/health"),
        )
        for _ in range(setup.workers)
    ]
    with contextlib.ExitStack() as stack:
        urls = [stack.enter_context(serve_double(d)) for d in doubles]
        print(json.dumps(urls), flush=True)
        for line in sys.stdin:
            if line.strip() == "stats":
                print(json.dumps([d.stats() for d in doubles]), flush=True)
            elif line.strip() == "quit":
                return


class DoublePool:
    """A fresh, cold pool of doubles in a child process."""

    def __init__(self, setup: Setup) -> None:
        config = {k: v for k, v in dataclasses.asdict(setup).items()}
        self.proc = subprocess.Popen([sys.executable, __file__, "--serve-doubles", json.dumps(config)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT)
        assert self.proc.stdout is not None
        first = self.proc.stdout.readline()
        if not first:
            raise SystemExit("the pool of Ollama doubles did not start")
        self.urls: list[str] = json.loads(first)

    def stats(self) -> list[dict]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write("stats\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def close(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(OSError, ValueError):
                assert self.proc.stdin is not None
                self.proc.stdin.write("quit\n")
                self.proc.stdin.flush()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()


# -- the contenders ---------------------------------------------------------------------------------------
class Unavailable(Exception):
    """A policy that cannot run here (say why in the report)."""


NGINX_POOL_CONF = rb.NGINX_HEAD + """  upstream pool {{ {balance} {servers} keepalive 64; }}
  server {{
    listen 127.0.0.1:{port};
    location / {{
      proxy_pass http://pool;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
      proxy_request_buffering off;
      proxy_read_timeout 600s;
    }}
  }}
}}
"""


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "catalog_gen.cli", "router", *args]


def gateway_available() -> bool:
    """The gateway role exists in this checkout's router (issue 16)."""
    out = subprocess.run(_cli("--help"), capture_output=True, text=True, cwd=ROOT).stdout
    return "--role" in out and "--worker" in out


def start_policy(name: str, urls: list[str], setup: Setup, tmp: Path, procs: list, peers: Path | None) -> int:
    """Start the proxy for ``name`` in front of the workers ``urls``; returns its port."""
    port = rb.free_port()
    quiet = {"stdout": subprocess.DEVNULL, "stderr": open(tmp / f"{name}.log", "ab"), "start_new_session": True}  # noqa: SIM115
    hostports = [u.removeprefix("http://") for u in urls]
    if name.startswith("nginx-"):
        balance = "least_conn;" if name == "nginx-least_conn" else ""
        servers = " ".join(f"server {hp} max_fails=0;" for hp in hostports)
        (tmp / "nginx").mkdir(exist_ok=True)
        (tmp / "nginx.conf").write_text(NGINX_POOL_CONF.format(dir=tmp / "nginx", balance=balance, servers=servers, port=port))
        procs.append(subprocess.Popen([rb.find_nginx(), "-c", str(tmp / "nginx.conf"), "-p", str(tmp / "nginx"),
                                       "-g", "daemon off;"], **quiet))
        rb.wait_port(port, procs[-1], name)
    elif name.startswith("vllm-"):
        if peers is None:
            raise Unavailable("vllm-router is not installed (peers' venv missing; run without --no-peers once)")
        procs.append(subprocess.Popen([str(peers / "vllm-router"), "--worker-urls", *urls, "--policy", name[5:],
                                       "--host", "127.0.0.1", "--port", str(port),
                                       "--prometheus-host", "127.0.0.1", "--prometheus-port", str(rb.free_port()),
                                       "--worker-startup-check-interval", "1", "--request-timeout-secs", "600",
                                       "--log-level", "error"], **quiet))
        rb.wait_port(port, procs[-1], name, 60)
    elif name == "router":
        procs.append(subprocess.Popen(_cli("--host", "127.0.0.1", "--port", str(port), *_backend_flags(urls), *_router_flags(setup)),
                                      cwd=ROOT, **quiet))
        rb.wait_port(port, procs[-1], name)
    elif name == "gateway":
        if not gateway_available():
            raise Unavailable("this checkout's `catalog-gen router` has no gateway role yet (issue 16)")
        workers = []
        for url in urls:  # one worker router (sidecar role) in front of each double, as in a worker pod
            worker_port = rb.free_port()
            procs.append(subprocess.Popen(_cli("--host", "127.0.0.1", "--port", str(worker_port), "--backend", url,
                                               *_router_flags(setup)), cwd=ROOT, **quiet))
            rb.wait_port(worker_port, procs[-1], f"worker router for {url}")
            workers.append(f"http://127.0.0.1:{worker_port}")
        procs.append(subprocess.Popen(_cli("--role", "gateway", "--host", "127.0.0.1", "--port", str(port),
                                           *[a for w in workers for a in ("--worker", w)],
                                           "--max-queue", "100000", "--queue-timeout", str(setup.timeout * 5),
                                           "--request-timeout", "600"), cwd=ROOT, **quiet))
        rb.wait_port(port, procs[-1], name)
    else:
        raise SystemExit(f"unknown policy {name!r}; known: {', '.join(ALL_POLICIES)}")
    return port


def _backend_flags(urls: list[str]) -> list[str]:
    return [a for u in urls for a in ("--backend", u)]


def _router_flags(setup: Setup) -> list[str]:
    """What the chart gives a router in front of such a worker: its Ollama's parallelism, model limit and memory;
    a queue long enough that nothing is refused for waiting (the doubles' load times are what is measured)."""
    return ["--slots", str(setup.num_parallel), "--max-models-per-backend", str(setup.max_loaded),
            "--backend-memory-bytes", str(setup.memory_bytes), "--max-queue", "100000",
            "--queue-timeout", str(setup.timeout * 5), "--request-timeout", "600"]


def wait_models(port: int, setup: Setup, proc: subprocess.Popen, name: str, timeout: float = 60) -> None:
    """Until a chat request for an unknown model is refused by the pool itself (the proxy is up and, for the
    routers, has polled the workers' model lists): no model is loaded by this check."""
    import httpx

    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{name} exited with {proc.returncode}")
        try:
            tags = httpx.get(f"http://127.0.0.1:{port}/api/tags", timeout=5)
            if tags.status_code == 200 and len(tags.json().get("models") or []) >= setup.models:
                return
            last = f"{tags.status_code} {tags.text[:200]}"
        except (httpx.HTTPError, ValueError) as exc:
            last = repr(exc)
        time.sleep(0.2)
    raise SystemExit(f"{name} did not list the pool's models within {timeout}s: {last}")


# -- the load ---------------------------------------------------------------------------------------------
@dataclasses.dataclass
class Outcome:
    ttft: float | None = None
    ok: bool = False
    error: str = ""


def _body(arrival: Arrival) -> dict:
    return {"model": arrival.model, "stream": True, "messages": [
        {"role": "system", "content": f"You answer for {arrival.model}, conversation {arrival.conversation}."},
        {"role": "user", "content": "Why is the sky blue?"}]}


async def _one(client, url: str, arrival: Arrival, planned: float, timeout: float) -> Outcome:
    out = Outcome()
    try:
        async with asyncio.timeout(timeout):
            async with client.stream("POST", url, json=_body(arrival), headers={"x-session-id": arrival.model}) as reply:
                if reply.status_code != 200:
                    out.error = f"status {reply.status_code}"
                    await reply.aread()
                    return out
                async for line in reply.aiter_lines():
                    if not line.startswith("data: "):
                        continue
                    data = line[6:]
                    if data == "[DONE]":
                        out.ok = True
                        break
                    if out.ttft is None:
                        chunk = json.loads(data)
                        choices = chunk.get("choices") or [{}]
                        if (choices[0].get("delta") or {}).get("content"):
                            out.ttft = time.monotonic() - planned
                if not out.ok:
                    out.error = "stream ended without [DONE]"
    except TimeoutError:
        out.error = f"no complete answer within {timeout:g}s"
    except Exception as exc:  # noqa: BLE001 - any transport failure is a failed request, counted and named
        out.error = type(exc).__name__
    if not out.ok:
        out.ttft = None
    return out


async def drive(port: int, trace: list[Arrival], setup: Setup) -> tuple[list[Outcome], float]:
    """Replay ``trace`` open-loop against the proxy; returns the outcomes and the run's length in seconds."""
    import httpx

    url = f"http://127.0.0.1:{port}/v1/chat/completions"
    limits = httpx.Limits(max_connections=2000, max_keepalive_connections=200)
    async with httpx.AsyncClient(timeout=httpx.Timeout(setup.timeout), limits=limits) as client:
        start = time.monotonic() + 0.2

        async def at(arrival: Arrival) -> Outcome:
            planned = start + arrival.at
            await asyncio.sleep(max(0.0, planned - time.monotonic()))
            return await _one(client, url, arrival, planned, setup.timeout)

        outcomes = await asyncio.gather(*(at(a) for a in trace))
    return list(outcomes), time.monotonic() - start


def run_policy(name: str, setup: Setup, trace: list[Arrival], tmp: Path, peers: Path | None) -> dict:
    pool = DoublePool(setup)
    procs: list[subprocess.Popen] = []
    try:
        try:
            port = start_policy(name, pool.urls, setup, tmp, procs, peers)
            wait_models(port, setup, procs[-1], name)
        except SystemExit as exc:  # one contender that does not come up must not cost the others' results
            log = tmp / f"{name}.log"
            tail = log.read_text(errors="replace")[-400:].strip() if log.exists() else ""
            raise Unavailable(f"did not start: {exc}" + (f" (log: {tail})" if tail else "")) from None
        before = pool.stats()
        outcomes, length = asyncio.run(drive(port, trace, setup))
        after = pool.stats()
    finally:
        stop(procs)
        pool.close()
    return summarize(outcomes, length, before, after)


def stop(procs: list[subprocess.Popen]) -> None:
    for proc in reversed(procs):
        with contextlib.suppress(OSError):
            os.killpg(proc.pid, signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(OSError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


def summarize(outcomes: list[Outcome], length: float, before: list[dict], after: list[dict]) -> dict:
    ttfts = [o.ttft for o in outcomes if o.ok and o.ttft is not None]
    errors: dict[str, int] = {}
    for o in outcomes:
        if not o.ok:
            errors[o.error] = errors.get(o.error, 0) + 1
    workers = []
    for b, a in zip(before, after):
        workers.append({"served": a["served"] - b["served"], "loads": a["load_total"] - b["load_total"],
                        "evictions": a["eviction_total"] - b["eviction_total"],
                        "occupancy": (a["busy_seconds"] - b["busy_seconds"]) / length if length > 0 else 0.0,
                        "peak_loaded": a["peak_loaded"]})
    per_model: dict[str, int] = {}
    for b, a in zip(before, after):
        for model, count in a["loads"].items():
            per_model[model] = per_model.get(model, 0) + count - b["loads"].get(model, 0)
    return {"requests": len(outcomes), "failures": len(outcomes) - sum(o.ok for o in outcomes), "errors": errors,
            "loads_per_model": dict(sorted(per_model.items())),
            "p50": rb.pct(ttfts, 50), "p95": rb.pct(ttfts, 95), "p99": rb.pct(ttfts, 99),
            "loads": sum(w["loads"] for w in workers), "evictions": sum(w["evictions"] for w in workers),
            "workers": workers, "seconds": length}


# -- the report -------------------------------------------------------------------------------------------
def report(results: dict, skipped: dict, setup: Setup, trace: list[Arrival]) -> str:
    counts: dict[str, int] = {}
    for a in trace:
        counts[a.model] = counts.get(a.model, 0) + 1
    popular = ", ".join(f"{m.split(':')[0]} {n}" for m, n in sorted(counts.items(), key=lambda kv: -kv[1])[:4])
    out = [f"Pool: {setup.workers} Ollama doubles, OLLAMA_NUM_PARALLEL={setup.num_parallel}, "
           f"OLLAMA_MAX_LOADED_MODELS={setup.max_loaded}, {setup.memory_bytes / GIB:g} GiB each "
           f"({(setup.model_file_bytes + GIB) / GIB:g} GiB a loaded model), {setup.load_seconds:g} s loads, "
           f"{setup.models} models (Zipf s={setup.zipf_s:g}); {len(trace)} requests in {setup.seconds:g} s "
           f"(Poisson, {setup.arrival_rate:.2f} req/s = {setup.busy:.0%} of the slots at {setup.service_seconds:.2f} s "
           f"a reply; trace {trace_digest(trace)}, seed {setup.seed}; most asked: {popular}). "
           "TTFT from the planned send time to the first content chunk; occupancy = time a worker had a request "
           "generating / run length.", "",
           "| policy | requests | failures | TTFT p50 s | p95 s | p99 s | model loads | evictions | most models held by a worker | served per worker | occupancy per worker |",
           "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |"]
    for name, r in results.items():
        served = " / ".join(str(w["served"]) for w in r["workers"])
        occupancy = " / ".join(f"{w['occupancy']:.2f}" for w in r["workers"])
        out.append(f"| {name} | {r['requests']} | {r['failures']} | {r['p50']:.2f} | {r['p95']:.2f} | {r['p99']:.2f} | "
                   f"{r['loads']} | {r['evictions']} | {max(w['peak_loaded'] for w in r['workers'])} | {served} | {occupancy} |")
    for name, why in skipped.items():
        out.append(f"| {name} | skipped: {why} | | | | | | | | | |")
    failures = {name: r["errors"] for name, r in results.items() if r["errors"]}
    if failures:
        out += ["", "Failures: " + "; ".join(f"{n}: " + ", ".join(f"{k} x{v}" for k, v in e.items()) for n, e in failures.items())]
    base = results.get(BASELINE)
    if base:
        out += ["", f"| ratio to {BASELINE} | TTFT p50 | p95 | p99 | model loads |", "| --- | ---: | ---: | ---: | ---: |"]
        for name, r in results.items():
            out.append(f"| {name} | {_ratio(r['p50'], base['p50'])} | {_ratio(r['p95'], base['p95'])} | "
                       f"{_ratio(r['p99'], base['p99'])} | {_ratio(r['loads'], base['loads'])} |")
    gateway = results.get("gateway")
    vllm = {n: r for n, r in results.items() if n.startswith("vllm-")}
    if gateway and base:
        best_name, best = min(vllm.items(), key=lambda kv: kv[1]["p95"]) if vllm else ("(no vllm-router run)", None)
        out += ["", "| target (issue 16) | measured | met |", "| --- | --- | --- |",
                f"| gateway p95 TTFT <= 1/3 of round robin's | {gateway['p95']:.2f} s vs {base['p95']:.2f} s / 3 = "
                f"{base['p95'] / 3:.2f} s | {_yes(gateway['p95'] <= base['p95'] / 3)} |"]
        if best is not None:
            out.append(f"| gateway p95 TTFT below the best vllm-router policy ({best_name}) | {gateway['p95']:.2f} s vs "
                       f"{best['p95']:.2f} s | {_yes(gateway['p95'] < best['p95'])} |")
        out += [f"| gateway model loads <= 1/3 of round robin's | {gateway['loads']} vs {base['loads']} / 3 = "
                f"{base['loads'] / 3:.1f} | {_yes(gateway['loads'] <= base['loads'] / 3)} |",
                f"| gateway failed requests = 0 | {gateway['failures']} | {_yes(gateway['failures'] == 0)} |"]
    return "\n".join(out)


def _ratio(a: float, b: float) -> str:
    if not b or b != b or a != a:
        return "n/a"
    return f"{a / b:.2f}"


def _yes(ok: bool) -> str:
    return "yes" if ok else "**no**"


# -- one gateway replica's capacity (for the README's estimate) -------------------------------------------
STREAMS = 200
def capacity(seconds: float) -> str:
    """Requests/s and streamed chunks/s through gateway -> worker router -> instant upstream, beside the worker
    router alone; everything on the same cores, so the gateway's figures are lower bounds."""
    import uvloop

    procs: list[subprocess.Popen] = []
    quiet = {"stderr": subprocess.DEVNULL, "start_new_session": True}
    try:
        up = rb.free_port()
        procs.append(subprocess.Popen([sys.executable, str(Path(__file__).with_name("router.py")), "--upstream", str(up)],
                                      **quiet))
        rb.wait_port(up, procs[-1], "upstream")
        worker = rb.free_port()
        procs.append(subprocess.Popen(_cli("--host", "127.0.0.1", "--port", str(worker), "--backend", f"http://127.0.0.1:{up}",
                                           "--slots", "512", "--max-queue", "1000"), cwd=ROOT, **quiet))
        rb.wait_port(worker, procs[-1], "worker router")
        gateway = rb.free_port()
        procs.append(subprocess.Popen(_cli("--role", "gateway", "--host", "127.0.0.1", "--port", str(gateway),
                                           "--worker", f"http://127.0.0.1:{worker}", "--max-queue", "1000"), cwd=ROOT, **quiet))
        rb.wait_port(gateway, procs[-1], "gateway")
        time.sleep(3)  # both have polled what is below them
        rows = {}
        for name, port in (("worker router alone", worker), ("gateway -> worker router", gateway)):
            rb.check_path(port, name)
            uvloop.run(rb.load(port, 1.0, 32, False))
            plain = uvloop.run(rb.load(port, seconds, 32, False))
            streams = uvloop.run(rb.load(port, seconds, STREAMS, True))
            rows[name] = (len(plain["latency"]) / plain["elapsed"], rb.pct(plain["latency"], 50),
                          len(streams["latency"]) * rb.STREAM_CHUNKS / streams["elapsed"], rb.pct(streams["gap_added"], 99))
    finally:
        stop(procs)
    out = [f"{seconds:g} s a phase, one model, instant upstream (benchmarks/router.py's); non-streamed: 32 connections "
           f"back to back; streamed: {STREAMS} concurrent streams of {rb.STREAM_CHUNKS} chunks {rb.STREAM_GAP * 1000:g} ms "
           f"apart ({STREAMS * 1000 / (rb.STREAM_GAP * 1000):.0f} chunks/s if nothing lagged); "
           f"load average {os.getloadavg()[0]:.2f}.", "",
           "| path | non-streamed req/s | p50 ms | streamed chunks/s | gap stretch p99 ms |", "| --- | ---: | ---: | ---: | ---: |"]
    for name, (rps, p50, chunks, gap) in rows.items():
        out.append(f"| {name} | {rps:.0f} | {p50:.2f} | {chunks:.0f} | {gap:.2f} |")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, help="length of the arrival trace (default 60; --quick 4)")
    parser.add_argument("--rate", type=float, help="arrivals per second (default: 65%% of the slots busy)")
    parser.add_argument("--seed", type=int, default=16, help="seed of the trace (default 16)")
    parser.add_argument("--policies", default="all",
                        help=f"comma-separated subset of {','.join(ALL_POLICIES)} (default all)")
    parser.add_argument("--no-peers", action="store_true", help="leave out vllm-router")
    parser.add_argument("--quick", action="store_true", help="2 workers, 3 models, 4 s, 0.3 s loads: a smoke run")
    parser.add_argument("--json", type=Path, help="also write the raw results here")
    parser.add_argument("--capacity", action="store_true",
                        help="instead: requests/s and chunks/s one gateway replica passes (instant upstream)")
    parser.add_argument("--serve-doubles", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_doubles:
        serve_doubles(args.serve_doubles)
        return 0
    if args.capacity:
        if not gateway_available():
            raise SystemExit("this checkout's `catalog-gen router` has no gateway role")
        print(capacity(args.seconds or 5.0))
        return 0
    fields = dict(QUICK) if args.quick else {}
    if args.seconds is not None:
        fields["seconds"] = args.seconds
    if args.rate is not None:
        fields["rate"] = args.rate
    fields["seed"] = args.seed
    setup = Setup(**fields)
    policies = list(ALL_POLICIES) if args.policies == "all" else [p.strip() for p in args.policies.split(",") if p.strip()]
    unknown = [p for p in policies if p not in ALL_POLICIES]
    if unknown:
        parser.error(f"unknown policies {', '.join(unknown)}; known: {', '.join(ALL_POLICIES)}")
    skipped: dict = {}
    if args.no_peers:
        skipped.update({p: "left out (--no-peers)" for p in policies if p.startswith("vllm-")})
        policies = [p for p in policies if not p.startswith("vllm-")]
    peers = rb.peers_bin() if any(p.startswith("vllm-") for p in policies) else None
    trace = make_trace(setup)
    tmp = Path(tempfile.mkdtemp(prefix="pool-bench-"))
    results: dict = {}
    try:
        for name in policies:
            print(f"{name}: {len(trace)} requests over {setup.seconds:g} s ...", file=sys.stderr, flush=True)
            try:
                results[name] = run_policy(name, setup, trace, tmp, peers)
            except Unavailable as exc:
                skipped[name] = str(exc)
                print(f"{name}: skipped ({exc})", file=sys.stderr)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(report(results, skipped, setup, trace))
    if args.json:
        args.json.write_text(json.dumps({"setup": dataclasses.asdict(setup), "trace": trace_digest(trace),
                                         "results": results, "skipped": skipped}, indent=1, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
