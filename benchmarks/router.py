"""Router overhead, side by side: straight to an instant upstream, through Debian's nginx, through the router,
and through the peers users pick for routing LLM traffic: vllm-router and the LiteLLM proxy.

    .venv/bin/python benchmarks/router.py [--seconds 3] [--rounds 3] [--concurrency 32] [--no-peers] [--gateway [N]]

Everything runs on loopback: an upstream that answers ``POST /v1/chat/completions``
at once (or streams SSE chunks at a fixed pace, each chunk's content stamped with
the monotonic clock at send, ending with ``[DONE]``), nginx as a streaming reverse
proxy (``proxy_buffering off``, keep-alive upstream, one worker, installed with
apt-get when missing), ``catalog-gen router`` (one process), and the two peers,
each in front of the same upstream as an OpenAI-compatible backend. The peers
come from PyPI into a venv of their own (``~/.cache/catalog-gen-bench-peers``,
pinned versions, created on the first run; never by ``make test``). The load
generator keeps ``--concurrency`` keep-alive connections busy for ``--seconds``
per phase (capped at 200,000 requests), ``--rounds`` times with the paths
interleaved, then prints Markdown tables: p50/p99 latency, requests/s, chunk
delivery delay and the gap stretch between chunks, the router's resident
memory, and the ratios against nginx and against each peer. Timings are the
load generator's, on the same 2 cores as everything else; nothing here asserts.

``--gateway N`` adds the path ``gateway``: ``catalog-gen router --role gateway``
in front of N worker routers (the measured router plus N-1 more, each a
sidecar in front of the same upstream), as a pool chart deploys it; its rows
are the gateway and a worker router together (two hops), so the gateway's own
cost is its row minus the router's.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import httptools

ROOT = Path(__file__).resolve().parent.parent
MAX_REQUESTS = 200_000
STREAM_CHUNKS = 40
STREAM_GAP = 0.005
PATH = b"/v1/chat/completions"
BENCH_KEY = "sk-" + "5e" * 32  # LiteLLM refuses to start without a master key; the other paths ignore it
PEERS_VENV = Path.home() / ".cache" / "catalog-gen-bench-peers"
# litellm 1.107.0 was a compromised release; the proxy extra of 1.108+ needs a litellm-proxy package not on the index here.
PEER_PACKAGES = ["litellm[proxy]==1.106.12", "vllm-router==0.1.17"]


# -- the instant upstream (runs as a child process: `router.py --upstream PORT`) -------------------------
class _Upstream(asyncio.Protocol):
    def connection_made(self, transport) -> None:
        self.transport = transport
        self.parser = httptools.HttpRequestParser(self)
        self.body = []
        self.url = b""

    def data_received(self, data: bytes) -> None:
        self.parser.feed_data(data)

    def on_url(self, url: bytes) -> None:
        self.url = url
        self.body = []

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        body = b"".join(self.body)
        if self.url == b"/api/tags":  # the router polls this: it 404s models no backend has
            self._send(b"application/json; charset=utf-8",
                       b'{"models":[{"name":"bench:latest","model":"bench:latest","size":1,"digest":"' + b"0" * 64 + b'"}]}')
        elif self.url == b"/v1/models":
            self._send(b"application/json", b'{"object":"list","data":[{"id":"bench","object":"model","created":0,"owned_by":"library"}]}')
        elif self.url != PATH:
            self._send(b"application/json", b"{}")
        elif b'"stream":true' in body.replace(b" ", b""):
            asyncio.get_running_loop().create_task(self._stream())
        else:
            reply = (b'{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"bench","system_fingerprint":"fp_ollama",'
                     b'"choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],'
                     b'"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}')
            self._send(b"application/json", reply)

    def _send(self, content_type: bytes, body: bytes) -> None:
        self.transport.write(b"HTTP/1.1 200 OK\r\ncontent-type: " + content_type
                             + b"\r\ncontent-length: " + str(len(body)).encode() + b"\r\n\r\n" + body)

    async def _stream(self) -> None:
        self.transport.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n")
        for i in range(STREAM_CHUNKS):
            await asyncio.sleep(STREAM_GAP)
            finish = b'"stop"' if i == STREAM_CHUNKS - 1 else b"null"
            event = (b'data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"bench",'
                     b'"choices":[{"index":0,"delta":{"role":"assistant","content":"@T%d@"},"finish_reason":%s}]}\n\n'
                     % (time.monotonic_ns(), finish))
            self.transport.write(b"%x\r\n%s\r\n" % (len(event), event))
        done = b"data: [DONE]\n\n"
        self.transport.write(b"%x\r\n%s\r\n0\r\n\r\n" % (len(done), done))


def run_upstream(port: int) -> None:
    import uvloop

    async def main() -> None:
        server = await asyncio.get_running_loop().create_server(_Upstream, "127.0.0.1", port, backlog=1024)
        await server.serve_forever()

    uvloop.run(main())


# -- load generator --------------------------------------------------------------------------------------
class _Client(asyncio.Protocol):
    """One keep-alive connection sending requests back to back, or on a fixed schedule when ``interval`` is set."""

    def __init__(self, request: bytes, stream: bool, stats: dict, stop_at: float, budget: list, interval: float,
                 offset: float) -> None:
        self.request, self.stream, self.stats, self.stop_at, self.budget = request, stream, stats, stop_at, budget
        self.interval = interval
        self.loop = asyncio.get_running_loop()
        self.next_at = self.loop.time() + offset
        self.parser = httptools.HttpResponseParser(self)
        self.done = self.loop.create_future()
        self.partial = b""
        self.first = False
        self.previous: tuple[int, int] | None = None

    def connection_made(self, transport) -> None:
        self.transport = transport
        self._schedule()

    def _schedule(self) -> None:
        if time.monotonic() >= self.stop_at or self.budget[0] <= 0:
            self.transport.close()
            return
        self.budget[0] -= 1
        if self.interval:
            self.next_at += self.interval
            delay = self.next_at - self.loop.time()
            if delay > 0:
                self.loop.call_later(delay, self._send, self.next_at)
                return
            self._send(self.next_at)  # late: latency still counts from the planned time (no coordinated omission)
        else:
            self._send(None)

    def _send(self, planned: float | None) -> None:
        now = self.loop.time()
        self.sent = time.perf_counter() - (now - planned if planned is not None and planned < now else 0.0)
        self.first = True
        self.previous = None
        self.transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        self.parser.feed_data(data)

    def on_body(self, body: bytes) -> None:
        if not self.stream:
            return
        if self.first:
            self.first = False
            self.stats["first_byte"].append((time.perf_counter() - self.sent) * 1e3)
        now = time.monotonic_ns()
        data = self.partial + body
        lines = data.split(b"\n")
        self.partial = lines.pop()
        for line in lines:
            at = line.find(b"@T")
            if at >= 0:
                sent = int(line[at + 2:line.index(b"@", at + 2)])
                self.stats["chunk_delay"].append((now - sent) / 1e6)
                if self.previous is not None:  # gap seen by the client minus gap at the upstream
                    self.stats["gap_added"].append(((now - self.previous[0]) - (sent - self.previous[1])) / 1e6)
                self.previous = (now, sent)

    def on_message_complete(self) -> None:
        self.stats["latency"].append((time.perf_counter() - self.sent) * 1e3)
        self._schedule()

    def connection_lost(self, exc) -> None:
        if not self.done.done():
            self.done.set_result(None)


async def load(port: int, seconds: float, concurrency: int, stream: bool, rate: float = 0.0,
               max_requests: int = MAX_REQUESTS) -> dict:
    """Keep ``concurrency`` connections busy for ``seconds``; ``rate`` > 0 paces them to that many requests/s in all."""
    body = json.dumps({"model": "bench", "messages": [{"role": "user", "content": "hi"}], "stream": stream}).encode()
    request = (b"POST " + PATH + b" HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n"
               b"authorization: Bearer " + BENCH_KEY.encode() + b"\r\ncontent-length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
    stats: dict = {"latency": [], "chunk_delay": [], "first_byte": [], "gap_added": []}
    loop = asyncio.get_running_loop()
    started = time.monotonic()
    budget = [max_requests]
    interval = concurrency / rate if rate else 0.0
    clients = []
    for i in range(concurrency):
        _t, client = await loop.create_connection(
            lambda: _Client(request, stream, stats, started + seconds, budget, interval, i * interval / concurrency),
            "127.0.0.1", port)
        clients.append(client)
    await asyncio.gather(*(c.done for c in clients))
    stats["elapsed"] = time.monotonic() - started
    return stats


def pct(values: list, q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]


# -- the contenders --------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, proc: subprocess.Popen, what: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{what} exited with {proc.returncode} before listening")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"{what} did not listen on {port} within {timeout}s")


def find_nginx() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if found:
        return found
    print("nginx missing: installing Debian's nginx with apt-get", file=sys.stderr)
    # RUNLEVEL=1: invoke-rc.d then does not start the packaged nginx on port 80.
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive", "RUNLEVEL": "1"}
    if subprocess.run(["apt-get", "install", "-y", "-q", "nginx"], env=env).returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], env=env, check=True)
        subprocess.run(["apt-get", "install", "-y", "-q", "nginx"], env=env, check=True)
    return shutil.which("nginx") or "/usr/sbin/nginx"


# The part of an nginx.conf every benchmark here shares: one worker, no logs, temp files in {dir}.
NGINX_HEAD = """
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  client_body_temp_path {dir}/body; proxy_temp_path {dir}/proxy;
  fastcgi_temp_path {dir}/fastcgi; uwsgi_temp_path {dir}/uwsgi; scgi_temp_path {dir}/scgi;
"""
NGINX_CONF = NGINX_HEAD + """  keepalive_requests 10000000;
  upstream ollama {{ server 127.0.0.1:{upstream}; keepalive 64; keepalive_requests 10000000; }}
  server {{
    listen 127.0.0.1:{port};
    location / {{
      proxy_pass http://ollama;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host localhost:{upstream};
      proxy_buffering off;
      keepalive_requests 10000000;
      proxy_request_buffering off;
    }}
  }}
}}
"""


LITELLM_CONFIG = """model_list:
  - model_name: bench
    litellm_params:
      model: openai/bench
      api_base: http://127.0.0.1:{upstream}/v1
      api_key: sk-bench
litellm_settings:
  telemetry: false
  drop_params: true
general_settings:
  master_key: {key}
"""


def peers_bin() -> Path | None:
    """The peers' venv (created and filled from PyPI on first use); None, with a message, when that fails."""
    bin_dir = PEERS_VENV / "bin"
    if (bin_dir / "vllm-router").exists() and (bin_dir / "litellm").exists():
        return bin_dir
    print(f"installing the peers into {PEERS_VENV}: {', '.join(PEER_PACKAGES)}", file=sys.stderr)
    try:
        subprocess.run([sys.executable, "-m", "venv", str(PEERS_VENV)], check=True)
        subprocess.run([str(bin_dir / "pip"), "install", "-q", *PEER_PACKAGES], check=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        print(f"peers unavailable ({exc}); running without them", file=sys.stderr)
        return None
    return bin_dir


def start_peers(bin_dir: Path, upstream: int, tmp: Path, procs: list) -> dict[str, tuple[int, subprocess.Popen]]:
    """vllm-router and the LiteLLM proxy in front of the upstream; returns {name: (port, process)} of those that came up."""
    ports = {}
    quiet = {"stdout": subprocess.DEVNULL, "stderr": open(tmp / "peers.log", "ab")}  # noqa: SIM115 (closed at exit)
    port = free_port()
    procs.append(subprocess.Popen([str(bin_dir / "vllm-router"), "--worker-urls", f"http://127.0.0.1:{upstream}",
                                   "--host", "127.0.0.1", "--port", str(port), "--policy", "round_robin",
                                   "--prometheus-host", "127.0.0.1", "--prometheus-port", str(free_port()),
                                   "--log-level", "error"], start_new_session=True, **quiet))
    try:
        wait_port(port, procs[-1], "vllm-router", 60)
        ports["vllm-router"] = (port, procs[-1])
    except SystemExit as exc:
        print(f"{exc}; see {tmp / 'peers.log'}", file=sys.stderr)
    (tmp / "litellm.yaml").write_text(LITELLM_CONFIG.format(upstream=upstream, key=BENCH_KEY))
    port = free_port()
    env = {**os.environ, "LITELLM_TELEMETRY": "False", "LITELLM_LOG": "ERROR", "LITELLM_LOCAL_MODEL_COST_MAP": "True",
           "NO_DOCS": "True"}
    procs.append(subprocess.Popen([str(bin_dir / "litellm"), "--config", str(tmp / "litellm.yaml"), "--host", "127.0.0.1",
                                   "--port", str(port), "--num_workers", "1"], env=env, start_new_session=True, **quiet))
    try:
        wait_port(port, procs[-1], "litellm proxy", 120)
        ports["litellm"] = (port, procs[-1])
    except SystemExit as exc:
        print(f"{exc}; see {tmp / 'peers.log'}", file=sys.stderr)
    return ports


def check_path(port: int, name: str) -> None:
    """One request through the path, so a misconfigured peer fails loudly instead of measuring its error page."""
    body = json.dumps({"model": "bench", "messages": [{"role": "user", "content": "hi"}]}).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{port}{PATH.decode()}", data=body, method="POST",
                                     headers={"content-type": "application/json", "authorization": f"Bearer {BENCH_KEY}"})
    with urllib.request.urlopen(request, timeout=30) as reply:
        data = json.loads(reply.read())
    if data.get("choices", [{}])[0].get("message", {}).get("content") != "hi":
        raise SystemExit(f"{name} answered {data!r}")


NEEDS: dict[str, set[str]] = {}  # a path -> the other proxies it goes through (the gateway: its worker routers)


def pause(proxies: dict, keep: str | None) -> None:
    """SIGSTOP every proxy but ``keep`` and what it needs (None: resume all); each runs in its own process group."""
    running = {keep, *NEEDS.get(keep, ())}
    for name, (_port, proc) in proxies.items():
        os.killpg(proc.pid, signal.SIGCONT if name in running or keep is None else signal.SIGSTOP)
    time.sleep(0.05)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="length of each load phase (default 3)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of all phases, paths interleaved (default 3)")
    parser.add_argument("--concurrency", type=int, default=32, help="connections kept busy (default 32)")
    parser.add_argument("--rate", type=float, default=1500.0, help="paced load for the latency columns, requests/s (default 1500)")
    parser.add_argument("--rss-requests", type=int, default=100_000, help="requests sent before the last memory reading")
    parser.add_argument("--no-peers", action="store_true", help="leave out vllm-router and the LiteLLM proxy")
    parser.add_argument("--gateway", type=int, nargs="?", const=4, default=0, metavar="N",
                        help="add a gateway (role gateway) in front of N worker routers (default 4 when given)")
    parser.add_argument("--upstream", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.upstream:
        run_upstream(args.upstream)
        return 0
    import uvloop

    load_before = os.getloadavg()[0]
    tmp = Path(tempfile.mkdtemp(prefix="router-bench-"))
    procs: list[subprocess.Popen] = []
    try:
        up_port, nginx_port, router_port = free_port(), free_port(), free_port()
        procs.append(subprocess.Popen([sys.executable, __file__, "--upstream", str(up_port)]))
        wait_port(up_port, procs[-1], "upstream")
        (tmp / "nginx.conf").write_text(NGINX_CONF.format(dir=tmp, upstream=up_port, port=nginx_port))
        procs.append(subprocess.Popen([find_nginx(), "-c", str(tmp / "nginx.conf"), "-p", str(tmp), "-g", "daemon off;"],
                                      start_new_session=True))
        wait_port(nginx_port, procs[-1], "nginx")
        router = subprocess.Popen([sys.executable, "-m", "catalog_gen.cli", "router", "--host", "127.0.0.1",
                                   "--port", str(router_port), "--backend", f"http://127.0.0.1:{up_port}",
                                   "--slots", str(args.concurrency), "--max-queue", "1000"],
                                  stderr=subprocess.DEVNULL, start_new_session=True)
        procs.append(router)
        wait_port(router_port, router, "router")
        proxies = {"nginx": (nginx_port, procs[1]), "router": (router_port, router)}
        if args.gateway:
            workers = [router_port]
            for i in range(1, args.gateway):
                port = free_port()
                procs.append(subprocess.Popen([sys.executable, "-m", "catalog_gen.cli", "router", "--host", "127.0.0.1",
                                               "--port", str(port), "--backend", f"http://127.0.0.1:{up_port}",
                                               "--slots", str(args.concurrency), "--max-queue", "1000"],
                                              stderr=subprocess.DEVNULL, start_new_session=True))
                wait_port(port, procs[-1], f"worker router {i + 1}")
                proxies[f"worker-{i + 1}"] = (port, procs[-1])
                workers.append(port)
            gateway_port = free_port()
            worker_flags = [flag for port in workers for flag in ("--worker", f"http://127.0.0.1:{port}")]
            procs.append(subprocess.Popen([sys.executable, "-m", "catalog_gen.cli", "router", "--role", "gateway",
                                           "--host", "127.0.0.1", "--port", str(gateway_port), *worker_flags,
                                           "--max-queue", "1000", "--poll-interval", "0.5"],
                                          stderr=subprocess.DEVNULL, start_new_session=True))
            wait_port(gateway_port, procs[-1], "gateway")
            proxies["gateway"] = (gateway_port, procs[-1])
            NEEDS["gateway"] = {"router", *(f"worker-{i + 1}" for i in range(1, args.gateway))}
        bin_dir = None if args.no_peers else peers_bin()
        if bin_dir is not None:
            proxies.update(start_peers(bin_dir, up_port, tmp, procs))
        targets = {"direct": up_port, **{name: port for name, (port, _proc) in proxies.items() if not name.startswith("worker-")}}
        time.sleep(2.5)  # the router has polled the upstream's model list
        for name, port in targets.items():
            check_path(port, name)
        results: dict = {name: {} for name in targets}
        for port in targets.values():
            uvloop.run(load(port, 1.0, args.concurrency, False))  # warm caches and pools
        # Rounds interleave the paths so that a burst of load from elsewhere on the machine hits all alike. The proxies
        # not under test are paused (SIGSTOP) meanwhile: an idle proxy's background work (LiteLLM's) must not take
        # CPU from the one measured.
        for _round in range(args.rounds):
            for name, port in targets.items():
                pause(proxies, keep=name)
                phases = {
                    "max": uvloop.run(load(port, args.seconds, args.concurrency, False)),
                    "paced": uvloop.run(load(port, args.seconds, args.concurrency, False, rate=args.rate)),
                    "streams": uvloop.run(load(port, args.seconds, args.concurrency, True)),
                }
                for phase, stats in phases.items():
                    merged = results[name].setdefault(phase, {"elapsed": 0.0})
                    merged["elapsed"] += stats.pop("elapsed")
                    for key, values in stats.items():
                        merged.setdefault(key, []).extend(values)
        pause(proxies, keep="router")
        rss = [rss_mb(router.pid)]
        sent = sum(len(phase["latency"]) for phase in results["router"].values())
        while sent < args.rss_requests:
            batch = min(25_000, args.rss_requests - sent)
            got = uvloop.run(load(router_port, 120, args.concurrency, False, max_requests=batch))
            sent += len(got["latency"])
            rss.append(rss_mb(router.pid))
        pause(proxies, keep=None)
        print(table(results, rss, sent, args))
        print(f"\nload average (1 min) at start / end: {load_before:.2f} / {os.getloadavg()[0]:.2f} "
              "(anything above ~1 means other work shared the 2 cores and the p99 columns measure it too)")
        with urllib.request.urlopen(f"http://127.0.0.1:{router_port}/metrics") as reply:
            inflight = [line for line in reply.read().decode().splitlines() if line.startswith("ollama_router_inflight_requests{")]
        print(f"\nrouter in-flight gauge after the run: {', '.join(inflight)}")
    finally:
        for proc in procs:
            with contextlib.suppress(OSError):
                os.killpg(proc.pid, signal.SIGCONT)
        for proc in reversed(procs):
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


def table(results: dict, rss: list, sent: int, args) -> str:
    rows = {}
    for name, phases in results.items():
        paced, streams = phases["paced"], phases["streams"]
        rows[name] = {"max": len(phases["max"]["latency"]) / phases["max"]["elapsed"],
                      "p50": pct(paced["latency"], 50), "p99": pct(paced["latency"], 99),
                      "f50": pct(streams["first_byte"], 50), "f99": pct(streams["first_byte"], 99),
                      "d50": pct(streams["chunk_delay"], 50), "d99": pct(streams["chunk_delay"], 99),
                      "g99": pct(streams["gap_added"], 99)}
    direct, ng, ro = rows["direct"], rows["nginx"], rows["router"]
    out = [f"{args.concurrency} keep-alive connections per phase, {args.rounds} rounds of {args.seconds:g} s per phase "
           "and path (paths interleaved, samples pooled), loopback, one 2-core machine, all on POST /v1/chat/completions. "
           f"max: back-to-back non-streamed requests; paced: non-streamed at {args.rate:g} req/s in all "
           f"(latency from the planned send time); streams: {args.concurrency} concurrent SSE streams of "
           f"{STREAM_CHUNKS} chunks {STREAM_GAP * 1000:g} ms apart (chunk delay: upstream send to client receipt; "
           "gap stretch: gap between two chunks at the client minus the same gap at the upstream).", "",
           "| path | max req/s | paced p50 ms | paced p99 ms | stream first byte p50 ms | p99 ms | chunk delay p50 ms | p99 ms | gap stretch p99 ms |",
           "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for name, r in rows.items():
        note = " (overloaded: max req/s below the paced rate)" if r["max"] < args.rate else ""
        out.append(f"| {name}{note} | {r['max']:.0f} | {r['p50']:.2f} | {r['p99']:.2f} | {r['f50']:.2f} | {r['f99']:.2f} | "
                   f"{r['d50']:.2f} | {r['d99']:.2f} | {r['g99']:.2f} |")
    proxies = [name for name in rows if name != "direct"]
    out += ["", "Added by each proxy (its value minus the direct path's):", "",
            "| proxy | added p50 ms | added p99 ms | req/s | added chunk delay p50 ms | p99 ms | added gap stretch p99 ms |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    added = {}
    for name in proxies:
        r = rows[name]
        added[name] = {"p50": r["p50"] - direct["p50"], "p99": r["p99"] - direct["p99"], "max": r["max"],
                       "d50": r["d50"] - direct["d50"], "d99": r["d99"] - direct["d99"], "g99": r["g99"] - direct["g99"]}
        a = added[name]
        out.append(f"| {name} | {a['p50']:.2f} | {a['p99']:.2f} | {a['max']:.0f} | {a['d50']:.2f} | {a['d99']:.2f} | {a['g99']:.2f} |")
    out += ["", "| ratio router / peer | added p50 | added p99 | req/s | chunk delay p99 |", "| --- | ---: | ---: | ---: | ---: |"]
    mine = added["router"]
    for name in proxies:
        if name == "router":
            continue
        a = added[name]
        out.append(f"| router / {name} | {_ratio(mine['p50'], a['p50'])} | {_ratio(mine['p99'], a['p99'])} | "
                   f"{_ratio(mine['max'], a['max'])} | {_ratio(rows['router']['d99'], rows[name]['d99'])} |")
    out += ["", "| target | measured | goal |", "| --- | ---: | --- |",
            f"| router added p50 minus nginx added p50 (paced) | {ro['p50'] - ng['p50']:.2f} ms | <= 1 ms |",
            f"| router added p99 minus nginx added p99 (paced) | {ro['p99'] - ng['p99']:.2f} ms | <= 5 ms |",
            f"| router non-streamed req/s, one process | {ro['max']:.0f} | >= 1500 |",
            f"| router added delay between chunks: gap stretch p99 minus direct's | {ro['g99'] - direct['g99']:.2f} ms | <= 1 ms |",
            f"| router RSS after {sent} requests | {rss[-1]:.1f} MB (readings: {', '.join(f'{x:.1f}' for x in rss)}) | <= 80 MB, flat |"]
    return "\n".join(out)


def _ratio(a: float, b: float) -> str:
    """a / b, or a note when b is too small to divide by meaningfully."""
    if abs(b) < 0.005:
        return "n/a (peer adds ~0)"
    return f"{a / b:.2f}"


if __name__ == "__main__":
    sys.exit(main())
