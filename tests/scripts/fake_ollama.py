"""A stand-in `ollama` executable for testing pull-models.sh and wait-models.sh.

It behaves like the real CLI and server where the scripts depend on it:
``ollama serve`` is an HTTP server on ``OLLAMA_HOST`` (loopback, host check, ``GET /``
answers "Ollama is running") that keeps models under ``$OLLAMA_MODELS`` in Ollama's
layout (``manifests/<host>/<namespace>/<model>/<tag>``, ``blobs/sha256-<hex>``, partial
downloads ``-partial``, the manifest written last, unreferenced blobs pruned at start
and after a pull unless ``OLLAMA_NOPRUNE``); a model's digest is the sha256 of its
manifest file. ``ollama pull [--insecure] NAME``, ``list``, ``show NAME`` and
``create NAME -f FILE`` talk to that server like the real client: NDJSON streams, an
error after the stream started arrives as a last ``{"error"}`` line, ``Error: ...`` on
stderr and exit 1. ``create`` parses the Modelfile with a port of Ollama's parser
(parser/parser.go) and types parameters like ``api.FormatParams``.

The "registry" is a JSON file (``FAKE_OLLAMA_REGISTRY``): ``{"<name>": {"size": bytes,
"variant": "a", "insecure_only": false}}``; blob contents derive from name and variant,
so a new variant is a moved tag. Test modes, by environment:
``FAKE_OLLAMA_SERVE_DELAY`` seconds before listening; ``FAKE_OLLAMA_SERVE_NEVER=1`` never
listens; ``FAKE_OLLAMA_SERVE_CRASH=1`` exits at start; ``FAKE_OLLAMA_PULL_DELAY`` seconds
per progress chunk (slow); ``FAKE_OLLAMA_PULL_FAIL=N`` the first N pulls of each model
fail mid-stream; ``FAKE_OLLAMA_PULL_STALL=N`` the first N pulls of each model hang forever;
``FAKE_OLLAMA_WRONG_DIGEST=1`` the registry serves another version than the pinned one.
A name whose host is ``127.0.0.1:PORT`` and that is not in that file is pulled from a real OCI
registry on loopback, as Ollama does it (one Accept header, the manifest stored byte for
byte, blobs verified; ``https`` unless ``insecure``). ``cp`` and ``rm`` copy (byte for byte)
and delete a manifest like ``/api/copy`` and ``/api/delete``.
Every CLI call is appended to ``$FAKE_OLLAMA_STATE/calls.jsonl`` and every registry
request to ``$FAKE_OLLAMA_STATE/registry.log``.
"""

from __future__ import annotations

import hashlib
import http.client
import http.server
import json
import os
import re
import signal
import sys
import threading
import time
from pathlib import Path

from fake_modelfile import ModelfileParseError, format_params, parse_modelfile

NAME_RE = re.compile(
    r"^(?:(?P<host>[A-Za-z0-9_][A-Za-z0-9_.:-]{0,349})/)?(?:(?P<ns>[A-Za-z0-9_][A-Za-z0-9_-]{0,79})/)?"
    r"(?P<model>[A-Za-z0-9_][A-Za-z0-9_.-]{0,79})(?::(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,79}))?$"
)
MT_MODEL = "application/vnd.ollama.image.model"
MT_CONFIG = "application/vnd.docker.container.image.v1+json"
TEXT_LAYERS = {"system": "application/vnd.ollama.image.system", "template": "application/vnd.ollama.image.template",
            "params": "application/vnd.ollama.image.params"}
LOCK = threading.Lock()


def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def state_dir() -> Path | None:
    return Path(env("FAKE_OLLAMA_STATE")) if env("FAKE_OLLAMA_STATE") else None


def record(file: str, line: str) -> None:
    if state_dir() is not None:
        with LOCK, open(state_dir() / file, "a", encoding="utf-8") as fh:
            fh.write(line + "\n")


def models_dir() -> Path:
    return Path(env("OLLAMA_MODELS") or Path.home() / ".ollama" / "models")


def parse_name(name: str) -> tuple[str, str, str, str] | None:
    m = NAME_RE.match(name)
    if not m:
        return None
    host, ns = m.group("host"), m.group("ns")
    if host and not ns:  # two parts: namespace/model
        host, ns = None, host
    return host or "registry.ollama.ai", ns or "library", m.group("model"), m.group("tag") or "latest"


def display(parts: tuple[str, str, str, str]) -> str:
    host, ns, model, tag = parts
    prefix = "" if (host, ns) == ("registry.ollama.ai", "library") else f"{ns}/" if host == "registry.ollama.ai" else f"{host}/{ns}/"
    return f"{prefix}{model}:{tag}"


def manifest_path(parts) -> Path:
    return models_dir() / "manifests" / Path(*parts)


def blob_path(digest: str) -> Path:
    return models_dir() / "blobs" / digest.replace(":", "-")


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def registry() -> dict:
    path = env("FAKE_OLLAMA_REGISTRY")
    data = json.loads(Path(path).read_text()) if path else {}
    return {display(parse_name(k)).lower(): v for k, v in data.items()}


def registry_layers(parts, entry: dict) -> list[tuple[str, bytes]]:
    variant = entry.get("variant", "a") + ("-moved" if env("FAKE_OLLAMA_WRONG_DIGEST") == "1" else "")
    seed = hashlib.sha256(f"{display(parts)}|{variant}".encode()).digest()
    weights = (seed * (entry.get("size", 4096) // len(seed) + 1))[: entry.get("size", 4096)]
    template = f"{{{{ .Prompt }}}} ({display(parts)})".encode()
    config = json.dumps({"model_format": "gguf", "model_family": parts[2], "variant": variant}, sort_keys=True).encode()
    return [(MT_CONFIG, config), (MT_MODEL, weights), (TEXT_LAYERS["template"], template)]


def manifest_bytes(layers: list[tuple[str, bytes]]) -> bytes:
    (cfg_type, cfg), rest = layers[0], layers[1:]
    doc = {"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
           "config": {"mediaType": cfg_type, "digest": digest_of(cfg), "size": len(cfg)},
           "layers": [{"mediaType": t, "digest": digest_of(b), "size": len(b)} for t, b in rest]}
    return json.dumps(doc, separators=(",", ":")).encode()


def write_blob(data: bytes) -> None:
    path = blob_path(digest_of(data))
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + "-partial")
        partial.write_bytes(data)
        partial.rename(path)


def write_manifest(parts, data: bytes) -> None:
    path = manifest_path(parts)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def all_manifests() -> list[tuple[tuple[str, str, str, str], Path]]:
    root = models_dir() / "manifests"
    out = []
    if root.is_dir():
        for path in sorted(root.glob("*/*/*/*")):
            if path.is_file():
                out.append((tuple(path.relative_to(root).parts), path))
    return out


def prune() -> None:
    if env("OLLAMA_NOPRUNE"):
        return
    used = set()
    for _, path in all_manifests():
        doc = json.loads(path.read_bytes())
        used.update(layer["digest"].replace(":", "-") for layer in [doc["config"], *doc["layers"]])
    blobs = models_dir() / "blobs"
    if blobs.is_dir():
        for blob in blobs.iterdir():
            if "-partial" not in blob.name and blob.name not in used:
                blob.unlink()


def counter(kind: str, key: str) -> int:
    """How many times `kind` happened for `key` before, counting this one (kept in the state dir)."""
    directory = state_dir() or Path("/tmp")
    path = directory / f"count-{kind}-{hashlib.sha256(key.encode()).hexdigest()[:16]}"
    with LOCK:
        n = int(path.read_text()) + 1 if path.exists() else 1
        path.write_text(str(n))
    return n


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # the server log goes to stderr like Ollama's
        sys.stderr.write("[GIN] " + (fmt % args) + "\n")

    def _host_ok(self) -> bool:
        host = (self.headers.get("Host") or "").rsplit(":", 1)[0].strip("[]")
        return host in ("localhost", "127.0.0.1", "::1") or host.startswith(("10.", "192.168.", "127."))

    def _send(self, status: int, body: bytes = b"", ctype: str = "application/json; charset=utf-8") -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, obj) -> None:
        self._send(status, json.dumps(obj).encode())

    def _stream_start(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/x-ndjson")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def _chunk(self, obj) -> None:
        data = (json.dumps(obj) + "\n").encode()
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _stream_end(self) -> None:
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        if not self._host_ok():
            return self._send(403)
        if self.path == "/":
            return self._send(200, b"Ollama is running", "text/plain; charset=utf-8")
        if self.path == "/api/version":
            return self._json(200, {"version": "0.33.0"})
        if self.path == "/api/tags":
            models = []
            for parts, path in all_manifests():
                data = path.read_bytes()
                doc = json.loads(data)
                models.append({"name": display(parts), "model": display(parts), "modified_at": "2026-01-01T00:00:00Z",
                               "size": sum(layer["size"] for layer in doc["layers"]),
                               "digest": hashlib.sha256(data).hexdigest(),
                               "details": {"format": "gguf", "family": parts[2], "parameter_size": "8.0B",
                                           "quantization_level": "Q4_K_M"}})
            return self._json(200, {"models": models})
        return self._send(404, b"404 page not found", "text/plain")

    def do_DELETE(self):
        if not self._host_ok():
            return self._send(403)
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}") if length else {}
        if self.path != "/api/delete":
            return self._send(404, b"404 page not found", "text/plain")
        return self.delete(body)

    def do_POST(self):
        if not self._host_ok():
            return self._send(403)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if not raw:
            return self._json(400, {"error": "missing request body"})
        try:
            body = json.loads(raw)
        except ValueError as exc:
            return self._json(400, {"error": str(exc)})
        route = {"/api/pull": self.pull, "/api/show": self.show, "/api/create": self.create, "/api/copy": self.copy}.get(self.path)
        if route is None:
            return self._send(404, b"404 page not found", "text/plain")
        return route(body)

    def pull(self, body):
        name = body.get("model") or body.get("name") or ""
        parts = parse_name(name)
        if parts is None:
            return self._json(400, {"error": "invalid model name"})
        key = display(parts).lower()
        record("registry.log", f"pull {key}")
        n = counter("pull", key)
        self._stream_start()
        self._chunk({"status": "pulling manifest"})
        if n <= int(env("FAKE_OLLAMA_PULL_STALL", "0") or 0):
            while True:  # a stalled download: no bytes, no end
                time.sleep(3600)
        entry = registry().get(key)
        if entry is None and parts[0].startswith("127.0.0.1:"):
            return self.oci_pull(parts, bool(body.get("insecure")))
        if entry is None:
            self._chunk({"error": "pull model manifest: file does not exist"})
            return self._stream_end()
        if entry.get("insecure_only") and not body.get("insecure"):
            self._chunk({"error": f'pull model manifest: Get "https://{parts[0]}/v2/{parts[1]}/{parts[2]}/manifests/{parts[3]}": '
                                  "http: server gave HTTP response to HTTPS client"})
            return self._stream_end()
        layers = registry_layers(parts, entry)
        delay = float(env("FAKE_OLLAMA_PULL_DELAY", "0") or 0)
        failing = n <= int(env("FAKE_OLLAMA_PULL_FAIL", "0") or 0)
        for media_type, data in layers[1:] + layers[:1]:
            digest = digest_of(data)
            for done in (len(data) // 2, len(data)):
                time.sleep(delay)
                self._chunk({"status": f"pulling {digest[7:19]}", "digest": digest, "total": len(data), "completed": done})
                if failing and media_type == MT_MODEL and done < len(data):
                    partial = blob_path(digest).with_name(blob_path(digest).name + "-partial")
                    partial.parent.mkdir(parents=True, exist_ok=True)
                    partial.write_bytes(data[:done])
                    self._chunk({"error": "max retries exceeded: Get \"https://dd20bb891979d25aebc8bec07b2b3bbc.r2.cloudflarestorage.com/\": net/http: TLS handshake timeout"})
                    return self._stream_end()
            write_blob(data)
        self._chunk({"status": "verifying sha256 digest"})
        self._chunk({"status": "writing manifest"})
        write_manifest(parts, manifest_bytes(layers))
        if not env("OLLAMA_NOPRUNE"):
            self._chunk({"status": "removing unused layers"})
            prune()
        self._chunk({"status": "success"})
        self._stream_end()

    def oci_pull(self, parts, insecure: bool):
        """Pull from a real registry like server/images.go: manifest bytes kept as received, blobs verified."""
        host, ns, model, tag = parts
        base = f"{'http' if insecure else 'https'}://{host}/v2/{ns}/{model}"
        try:
            manifest = oci_get(f"{base}/manifests/{tag}", {"Accept": "application/vnd.docker.distribution.manifest.v2+json"})
            doc = json.loads(manifest)
            for layer in [*doc["layers"], doc["config"]]:
                digest = layer["digest"]
                self._chunk({"status": f"pulling {digest[7:19]}", "digest": digest, "total": layer["size"], "completed": 0})
                if not blob_path(digest).exists():
                    data = oci_get(f"{base}/blobs/{digest}", {})
                    if digest_of(data) != digest:
                        raise OSError(f"digest mismatch, file must be downloaded again: want {digest}, got {digest_of(data)}")
                    write_blob(data)
                self._chunk({"status": f"pulling {digest[7:19]}", "digest": digest, "total": layer["size"], "completed": layer["size"]})
        except FileNotFoundError:
            self._chunk({"error": "pull model manifest: file does not exist"})
            return self._stream_end()
        except OSError as exc:
            self._chunk({"error": f"pull model manifest: {exc}"})
            return self._stream_end()
        self._chunk({"status": "verifying sha256 digest"})
        self._chunk({"status": "writing manifest"})
        write_manifest(parts, manifest)
        if not env("OLLAMA_NOPRUNE"):
            self._chunk({"status": "removing unused layers"})
            prune()
        self._chunk({"status": "success"})
        self._stream_end()

    def copy(self, body):
        src, dst = parse_name(body.get("source") or ""), parse_name(body.get("destination") or "")
        if src is None or dst is None:
            return self._json(400, {"error": "invalid model name"})
        if not manifest_path(src).is_file():
            return self._json(404, {"error": f"model '{body.get('source')}' not found"})
        write_manifest(dst, manifest_path(src).read_bytes())
        return self._send(200)

    def delete(self, body):
        parts = parse_name(body.get("model") or "")
        if parts is None or not manifest_path(parts).is_file():
            return self._json(404, {"error": f"model '{body.get('model')}' not found"})
        doc = json.loads(manifest_path(parts).read_bytes())
        manifest_path(parts).unlink()
        in_use = {layer["digest"] for _, path in all_manifests()
                  for layer in [json.loads(path.read_bytes())["config"], *json.loads(path.read_bytes())["layers"]]}
        for layer in [doc["config"], *doc["layers"]]:  # like manifest.RemoveLayers: only blobs no other manifest uses
            if layer["digest"] not in in_use:
                blob_path(layer["digest"]).unlink(missing_ok=True)
        return self._send(200)

    def show(self, body):
        name = body.get("model") or body.get("name") or ""
        if not name:
            return self._json(400, {"error": "model is required"})
        parts = parse_name(name)
        if parts is None or not manifest_path(parts).is_file():
            return self._json(404, {"error": f"model '{name}' not found"})
        doc = json.loads(manifest_path(parts).read_bytes())
        texts = {layer["mediaType"]: blob_path(layer["digest"]).read_text(errors="replace") for layer in doc["layers"]
                 if layer["mediaType"] != MT_MODEL}
        return self._json(200, {
            "modelfile": f"FROM {display(parts)}\n", "template": texts.get(TEXT_LAYERS["template"], ""),
            "system": texts.get(TEXT_LAYERS["system"], ""), "parameters": texts.get(TEXT_LAYERS["params"], ""),
            "details": {"format": "gguf", "family": parts[2]}, "capabilities": ["completion"],
        })

    def create(self, body):
        name, base = body.get("model") or "", body.get("from") or ""
        parts, base_parts = parse_name(name), parse_name(base)
        if parts is None or base_parts is None:
            return self._json(400, {"error": "invalid model name"})
        if not manifest_path(base_parts).is_file():  # real Ollama would pull it here, unbounded: record it
            record("registry.log", f"pull {display(base_parts).lower()} (from create)")
            return self._json(404, {"error": f"pull model manifest: model '{base}' not found locally"})
        base_doc = json.loads(manifest_path(base_parts).read_bytes())
        cfg = blob_path(base_doc["config"]["digest"]).read_bytes()
        kept = [(layer["mediaType"], blob_path(layer["digest"]).read_bytes()) for layer in base_doc["layers"]
                if not (layer["mediaType"] == TEXT_LAYERS["system"] and "system" in body)
                and not (layer["mediaType"] == TEXT_LAYERS["template"] and "template" in body)
                and not (layer["mediaType"] == TEXT_LAYERS["params"] and "parameters" in body)]
        new = [(TEXT_LAYERS[k], (json.dumps(body[key], sort_keys=True) if k == "params" else body[key]).encode())
               for k, key in (("template", "template"), ("system", "system"), ("params", "parameters")) if key in body]
        self._stream_start()
        layers = [(MT_CONFIG, cfg), *kept, *new]
        for media_type, data in layers:
            self._chunk({"status": f"using existing layer {digest_of(data)}" if (media_type, data) not in new
                         else f"creating new layer {digest_of(data)}"})
            write_blob(data)
        self._chunk({"status": "writing manifest"})
        write_manifest(parts, manifest_bytes(layers))
        self._chunk({"status": "success"})
        self._stream_end()


def oci_get(url: str, headers: dict) -> bytes:
    """GET from a registry; FileNotFoundError on 404, OSError with Go's wording otherwise."""
    import ssl
    import urllib.error
    import urllib.request

    request = urllib.request.Request(url, headers={**headers, "User-Agent": "ollama/0.33.0 (amd64 linux) Go/go1.24"})
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return resp.read()
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            raise FileNotFoundError(url) from exc
        raise OSError(f"{exc.code}: {exc.read().decode(errors='replace')}") from exc
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, ssl.SSLError):
            raise OSError(f'Get "{url}": http: server gave HTTP response to HTTPS client') from exc
        raise OSError(f'Get "{url}": {exc.reason}') from exc


def host_port() -> tuple[str, int]:
    value = env("OLLAMA_HOST", "127.0.0.1:11434")
    value = re.sub(r"^[a-z]+://", "", value)
    host, _, port = value.rpartition(":") if ":" in value else (value, "", "11434")
    return host or "127.0.0.1", int(port or 11434)


def serve() -> int:
    record("serve.pid", str(os.getpid()))
    if env("FAKE_OLLAMA_SERVE_CRASH") == "1":
        print("Error: listen tcp 127.0.0.1: bind: address already in use", file=sys.stderr)
        return 1
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    if env("FAKE_OLLAMA_SERVE_NEVER") == "1":
        while True:
            time.sleep(3600)
    time.sleep(float(env("FAKE_OLLAMA_SERVE_DELAY", "0") or 0))
    (models_dir() / "blobs").mkdir(parents=True, exist_ok=True)
    prune()
    record("serve.log", "serve")
    server = http.server.ThreadingHTTPServer(host_port(), Handler)
    server.daemon_threads = True
    print(f"Listening on {host_port()[0]}:{host_port()[1]} (version 0.33.0)", file=sys.stderr, flush=True)
    server.serve_forever()
    return 0


def request(method: str, path: str, body: dict | None = None):
    host, port = host_port()
    conn = http.client.HTTPConnection("127.0.0.1" if host in ("0.0.0.0", "") else host, port, timeout=3600)
    try:
        conn.request(method, path, body=json.dumps(body) if body is not None else None,
                     headers={"Content-Type": "application/json"})
        return conn, conn.getresponse()
    except OSError:
        print("Error: could not connect to ollama server, run 'ollama serve' to start it", file=sys.stderr)
        sys.exit(1)


def stream(path: str, body: dict) -> int:
    conn, resp = request("POST", path, body)
    if resp.status != 200:
        print(f"Error: {json.loads(resp.read() or b'{}').get('error', resp.reason)}", file=sys.stderr)
        return 1
    for line in resp:
        msg = json.loads(line)
        if "error" in msg:
            print(f"Error: {msg['error']}", file=sys.stderr)
            return 1
        done = f" {100 * msg['completed'] // msg['total']}%" if msg.get("total") else ""
        print(f"{msg['status']}{done}", flush=True)
    return 0


def cli(argv: list[str]) -> int:
    record("calls.jsonl", json.dumps(argv))
    if not argv:
        print("Usage: ollama [command]", file=sys.stderr)
        return 1
    command, args = argv[0], argv[1:]
    if command == "serve":
        return serve()
    if command == "pull":
        insecure = "--insecure" in args
        names = [a for a in args if a != "--insecure"]
        if any(a.startswith("-") for a in names) or len(names) != 1:
            print(f"Error: accepts 1 arg(s), received {len(names)}", file=sys.stderr)
            return 1
        return stream("/api/pull", {"model": names[0], "insecure": insecure, "stream": True})
    if command == "list":
        _, resp = request("GET", "/api/tags")
        print("NAME\tID\tSIZE\tMODIFIED")
        for m in json.loads(resp.read())["models"]:
            print(f"{m['name']}\t{m['digest'][:12]}\t{m['size']} B\tnow")
        return 0
    if command == "show":
        _, resp = request("POST", "/api/show", {"model": args[0] if args else ""})
        data = json.loads(resp.read())
        if resp.status != 200:
            print(f"Error: {data['error']}", file=sys.stderr)
            return 1
        print(json.dumps(data, indent=2))
        return 0
    if command == "create":
        if len(args) != 3 or args[1] != "-f":
            print("Error: usage: ollama create MODEL -f FILE", file=sys.stderr)
            return 1
        try:
            commands = parse_modelfile(Path(args[2]).read_text(encoding="utf-8"))
            body = format_params(commands)
        except (OSError, ModelfileParseError) as exc:
            print(f"Error: {exc}", file=sys.stderr)
            return 1
        return stream("/api/create", {"model": args[0], **body, "stream": True})
    if command == "cp":
        if len(args) != 2:
            print(f"Error: accepts 2 arg(s), received {len(args)}", file=sys.stderr)
            return 1
        _, resp = request("POST", "/api/copy", {"source": args[0], "destination": args[1]})
        if resp.status != 200:
            print(f"Error: {json.loads(resp.read() or b'{}').get('error', resp.reason)}", file=sys.stderr)
            return 1
        print(f"copied '{args[0]}' to '{args[1]}'")
        return 0
    if command == "rm":
        for name in args:
            _, resp = request("DELETE", "/api/delete", {"model": name})
            if resp.status != 200:
                print(f"Error: {json.loads(resp.read() or b'{}').get('error', resp.reason)}", file=sys.stderr)
                return 1
            resp.read()
            print(f"deleted '{name}'")
        return 0
    print(f'Error: unknown command "{command}" for "ollama"', file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(cli(sys.argv[1:]))
