"""A faithful Ollama test double: a real HTTP server on a loopback port.

Usage::

    from catalog_gen.testing.ollama_double import DoubleModel, Knobs, OllamaDouble, serve_double, spawn_double

    double = OllamaDouble(
        [DoubleModel("llama3.1:8b"), DoubleModel("nomic-embed-text:latest", capabilities=("embedding",))],
        Knobs(load_seconds=0.2, ttft_seconds=0.05, token_interval_seconds=0.01, num_parallel=2),
    )
    with serve_double(double) as url:          # uvicorn in a thread; yields "http://127.0.0.1:PORT"
        httpx.post(f"{url}/api/generate", json={"model": "llama3.1:8b", "prompt": "hi"})
        double.knobs.fail_next = 2             # change behaviour while it runs
        double.model("llama3.1:8b").wrong_digest = True
        double.loaded()                        # what /api/ps lists; double.requests: what arrived

    with spawn_double(double) as proc:         # a child process, for tests that must kill it for real
        proc.set_knobs(cut_after_chunks=3)     # knobs and model fields travel over the child's stdin
        proc.set_model("llama3.1:8b", answer_empty=True)
        proc.kill()                            # SIGKILL: connections drop mid-stream

What it does, from ``../shared/ollama-api.md`` and Ollama's server code: every
route of Ollama's API in both dialects (NDJSON ``/api/*`` streaming unless
``"stream": false``; SSE ``/v1/*`` only with ``"stream": true`` ending in ``[DONE]``),
the error bodies and status codes, the host check (403, no body), empty prompt =
load (``done_reason: load``) and ``keep_alive: 0`` = unload, keep_alive parsing
(``"300"`` is a 400), models on disk (``/api/tags``, with capabilities and lengths) vs
loaded (``/api/ps``, a model still loading IS listed), ``num_parallel`` slots per model with waiting
and no backpressure, ``max_queue`` 503 for loads, digests = sha256 of the manifest
bytes, durations in nanoseconds, final-chunk stats, and errors after the stream
started as a last ``{"error"}`` line under status 200 (lost under ``/v1``: the stream
just ends without its final event or ``[DONE]``). It has no ``/metrics`` and no
``/health``, like Ollama. From the addendum of ollama-api.md: the CORS origin check
against the Host header as received and ``Knobs.origins`` (OLLAMA_ORIGINS plus the
built-ins), before the host check; 405 with ``Allow`` (HEAD is not GET); trailing
slash redirects; capability errors (thinking, tools, insert, embedding-only models);
``think`` (on by default for thinking models); tool calls in both dialects, streamed
and not (``finish_reason: tool_calls``); ``format`` (json, schema, else a 500);
``encoding_format`` and ``dimensions`` on ``/v1/embeddings``; ``/v1/responses`` and
``/v1/messages`` with their named SSE events; the account and cloud routes.

Scheduling, after the addendum's "Environment and scheduling" (``_ollama_sched``):
loads in progress count against ``max_loaded_models`` and the memory budget
(``Knobs.memory_bytes``; a model takes ``DoubleModel.memory_estimate`` = file + 1 GiB,
the size /api/ps reports; a new model needs at most 80% of the free memory unless it
is alone), loads run one at a time, the victim is the idle model with the shortest
keep-alive (then by blob path), a busy one is drained first, requests waiting for a
load are bounded by ``max_queue``, a client leaving mid-load aborts it; slots are per
model (``num_parallel``, 1 for embedding models); models generating at once share the
backend's compute (``_ollama_compute``: k busy models each run at 1/k speed;
``share_compute=False`` turns that off). ``double.requests`` keeps only the last
``request_log_limit`` requests; ``double.stats()`` has the counters (loads and
evictions per model, requests, served, busy and slot seconds, peaks).

Knobs (``Knobs``): ``load_seconds``, ``ttft_seconds``, ``token_interval_seconds``,
``tokens_per_reply``, ``pull_seconds``, ``num_parallel``, ``max_loaded_models``,
``max_queue``, ``default_keep_alive``, ``origins`` (OLLAMA_ORIGINS), ``listen_loopback``
(False: bound to 0.0.0.0, no host check), ``version``, ``memory_bytes``, ``share_compute``,
``request_log_limit``, ``health_path`` (not Ollama: a path answering 200, for proxies that probe one); failure injection:
``fail_next`` (+ ``fail_status``, ``fail_message``), ``cut_after_chunks`` with
``cut_mode`` "error" (a last error line) or "drop" (the connection closes),
``stall_after_chunks``. Per model (``DoubleModel``): ``on_disk`` (False = only
pullable), ``answer_empty``, ``wrong_digest``, ``capabilities``, sizes.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import uvicorn

from catalog_gen.testing._ollama_app import OllamaApp
from catalog_gen.testing._ollama_state import DoubleModel, Knobs, OllamaDouble, RecordedRequest

__all__ = ["DoubleModel", "DoubleProcess", "Knobs", "OllamaDouble", "RecordedRequest", "serve_double", "spawn_double"]


def _bind_loopback(port: int = 0) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.set_inheritable(True)
    return sock


class _Server(uvicorn.Server):
    """uvicorn without its 0.1 s polling: stops at once when asked (tests start many of these)."""

    _loop: asyncio.AbstractEventLoop | None = None
    _stop: asyncio.Event | None = None

    async def main_loop(self) -> None:
        self._stop = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        await self.on_tick(0)  # sets the Date header once
        if not self.should_exit:
            await self._stop.wait()

    def stop(self) -> None:
        self.should_exit = True
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)

    async def shutdown(self, sockets=None) -> None:
        for server in self.servers:
            server.close()
        for connection in list(self.server_state.connections):
            connection.shutdown()
        deadline = time.monotonic() + _GRACE_SECONDS
        while (self.server_state.tasks or self.server_state.connections) and time.monotonic() < deadline:
            await asyncio.sleep(0.005)
        for task in list(self.server_state.tasks):
            task.cancel()
        for server in self.servers:
            await server.wait_closed()


_GRACE_SECONDS = 0.5


def _server(double: OllamaDouble) -> _Server:
    config = uvicorn.Config(OllamaApp(double), lifespan="off", log_level="warning", access_log=False, http="httptools")
    return _Server(config)


@contextlib.contextmanager
def serve_double(double: OllamaDouble | None = None, port: int = 0) -> Iterator[str]:
    """Serve ``double`` on a free loopback port (or ``port``, to bring a stopped one back) in a thread; yields the base URL."""
    double = double if double is not None else OllamaDouble([DoubleModel("llama3.1:8b")])
    sock = _bind_loopback(port)
    server = _server(double)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="ollama-double", daemon=True)
    thread.start()
    try:
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError("the Ollama double did not start")
            time.sleep(0.002)
        double.base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        yield double.base_url
    finally:
        server.stop()
        thread.join(timeout=10)
        sock.close()


# --- child process ------------------------------------------------------------------------------


def _to_jsonable(value):
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, tuple):
        return list(value)
    return value


def _model_from_json(data: dict) -> DoubleModel:
    data = dict(data)
    if "modified_at" in data:
        data["modified_at"] = dt.datetime.fromisoformat(data["modified_at"])
    if "capabilities" in data:
        data["capabilities"] = tuple(data["capabilities"])
    return DoubleModel(**data)


def _config_json(double: OllamaDouble) -> str:
    models = [{k: _to_jsonable(v) for k, v in dataclasses.asdict(m).items()} for m in double.models]
    return json.dumps({"models": models, "knobs": dataclasses.asdict(double.knobs)})


class DoubleProcess:
    """Handle on a double running in a child process."""

    def __init__(self, proc: subprocess.Popen, url: str) -> None:
        self.proc = proc
        self.url = url

    def _command(self, command: dict) -> None:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(command) + "\n")
        self.proc.stdin.flush()
        answer = self.proc.stdout.readline().strip()
        if answer != "ok":
            raise RuntimeError(f"the Ollama double child refused {command}: {answer or 'no answer'}")

    def set_knobs(self, **knobs) -> None:
        self._command({"knobs": knobs})

    def set_model(self, name: str, **fields) -> None:
        self._command({"model": name, "fields": {k: _to_jsonable(v) for k, v in fields.items()}})

    def kill(self) -> None:
        """SIGKILL the child: open connections break, like a crashed Ollama."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


@contextlib.contextmanager
def spawn_double(double: OllamaDouble | None = None) -> Iterator[DoubleProcess]:
    """Run a copy of ``double`` (its models and knobs) in a child process on a free loopback port."""
    double = double if double is not None else OllamaDouble([DoubleModel("llama3.1:8b")])
    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"
    proc = subprocess.Popen(
        [sys.executable, "-m", "catalog_gen.testing.ollama_double", _config_json(double)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline().strip()
        if not first.startswith("listening "):
            raise RuntimeError(f"the Ollama double child did not start: {first!r}")
        handle = DoubleProcess(proc, first.split(" ", 1)[1])
        yield handle
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        for stream in (proc.stdin, proc.stdout):
            if stream is not None:
                stream.close()


def _apply(double: OllamaDouble, command: dict) -> None:
    if "knobs" in command:
        for key, value in command["knobs"].items():
            if not hasattr(double.knobs, key):
                raise KeyError(key)
            setattr(double.knobs, key, value)
    if "model" in command:
        model = double.model(command["model"])
        for key, value in command["fields"].items():
            if not hasattr(model, key):
                raise KeyError(key)
            setattr(model, key, tuple(value) if key == "capabilities" else value)


def _child_main(config_text: str) -> None:
    config = json.loads(config_text)
    double = OllamaDouble([_model_from_json(m) for m in config["models"]], Knobs(**config["knobs"]))
    with serve_double(double) as url:
        print(f"listening {url}", flush=True)
        for line in sys.stdin:
            try:
                _apply(double, json.loads(line))
                print("ok", flush=True)
            except (KeyError, ValueError, TypeError) as exc:
                print(f"error {exc!r}", flush=True)


if __name__ == "__main__":
    _child_main(sys.argv[1])
