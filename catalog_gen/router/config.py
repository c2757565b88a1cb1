"""Router settings: the config file the chart renders, overridden by command-line flags.

The file is JSON or YAML with camelCase keys (the contract with the chart, see
docs/router.md). Every key has a flag; a flag given on the command line wins over
the file, and a repeatable flag (``--backend``, ``--model``) replaces the file's
whole list. Unknown keys are errors, so a typo in the chart cannot silently fall
back to a default. Every message names the file (or "the command line") and the
key, and says what a valid value looks like.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import math
import re
from pathlib import Path
from urllib.parse import urlsplit

from catalog_gen import patterns
from catalog_gen.errors import InputError

_MODEL_NAME = re.compile(patterns.MODEL_NAME)
_DIGEST = re.compile(patterns.DIGEST)


@dataclasses.dataclass(frozen=True, slots=True)
class ModelPin:
    """A model the pod must serve: on disk, matching ``digest`` when set, warmed up."""

    name: str
    digest: str | None = None
    keep_warm: bool = True
    kind: str = "text"  # "text" (warm-up: generate) or "embedding" (warm-up: embed)
    min_workers: int = 0  # gateway: keep it loaded on at least this many workers (0 = on demand)


@dataclasses.dataclass(frozen=True, slots=True)
class WorkerDiscovery:
    """Where a gateway finds its workers: the EndpointSlices of a Service."""

    service: str
    namespace: str
    port_name: str = "router"


@dataclasses.dataclass(frozen=True, slots=True)
class RouterConfig:
    host: str = "0.0.0.0"
    port: int = 8080
    backends: tuple[str, ...] = ()
    models: tuple[ModelPin, ...] = ()
    slots_per_backend: int = 1
    max_queue: int = 32
    queue_timeout: float = 30.0
    idle_unload: float = 900.0
    api_keys_file: Path | None = None
    request_timeout: float = 3600.0  # total limit of one exchange with Ollama
    idle_timeout: float = 120.0  # longest silence between two chunks once the reply started
    connect_timeout: float = 5.0
    max_body_bytes: int = 16 * 1024 * 1024
    shutdown_grace: float = 30.0
    cors_allowed_origins: tuple[str, ...] = ()
    admin_socket: Path | None = None
    keep_alive_min: float = 0.0
    keep_alive_max: float = 3600.0
    max_models_per_backend: int = 3
    backend_memory_bytes: int | None = None
    role: str = "sidecar"  # "sidecar": in front of the pod's Ollama processes; "gateway": in front of worker routers
    workers: tuple[str, ...] = ()
    worker_discovery: WorkerDiscovery | None = None
    worker_slots: int | None = None
    prefix_affinity: bool = True
    hash_load_factor: float = 1.25
    # Warm every model once before readiness. A pool worker does not: it is ready once its models are on disk
    # and match their pins, and the gateway decides which of them are loaded where.
    warm_up: bool = True
    # Not rendered by the chart; tuned for tests and odd sites.
    poll_interval: float = 2.0
    breaker_failures: int = 3
    breaker_cooldown: float = 5.0


GATEWAY_POLL_INTERVAL = 0.5  # role gateway's default pollIntervalSeconds (each worker's /router/state)

# file key -> (field, flag, kind); kind drives the check and the message.
KEYS: dict[str, tuple[str, str, str]] = {
    "backends": ("backends", "--backend", "backends"),
    "models": ("models", "--model", "models"),
    "slotsPerBackend": ("slots_per_backend", "--slots", "int>=1"),
    "maxQueue": ("max_queue", "--max-queue", "int>=0"),
    "queueTimeoutSeconds": ("queue_timeout", "--queue-timeout", "seconds>0"),
    "idleUnloadSeconds": ("idle_unload", "--idle-unload", "seconds>0"),
    "apiKeysFile": ("api_keys_file", "--api-keys", "file"),
    "requestTimeoutSeconds": ("request_timeout", "--request-timeout", "seconds>0"),
    "idleTimeoutSeconds": ("idle_timeout", "--idle-timeout", "seconds>0"),
    "connectTimeoutSeconds": ("connect_timeout", "--connect-timeout", "seconds>0"),
    "maxBodyBytes": ("max_body_bytes", "--max-body-bytes", "int>=1"),
    "shutdownGraceSeconds": ("shutdown_grace", "--shutdown-grace", "seconds>=0"),
    "corsAllowedOrigins": ("cors_allowed_origins", "--cors-origin", "origins"),
    "adminSocket": ("admin_socket", "--admin-socket", "socket"),
    "keepAliveMinSeconds": ("keep_alive_min", "--keep-alive-min", "seconds>=0"),
    "keepAliveMaxSeconds": ("keep_alive_max", "--keep-alive-max", "seconds>=0"),
    "maxModelsPerBackend": ("max_models_per_backend", "--max-models-per-backend", "int>=1"),
    "backendMemoryBytes": ("backend_memory_bytes", "--backend-memory-bytes", "bytes"),
    "pollIntervalSeconds": ("poll_interval", "--poll-interval", "seconds>0"),
    "breakerFailures": ("breaker_failures", "--breaker-failures", "int>=1"),
    "breakerCooldownSeconds": ("breaker_cooldown", "--breaker-cooldown", "seconds>0"),
    "role": ("role", "--role", "role"),
    "workers": ("workers", "--worker", "backends"),
    "workerDiscovery": ("worker_discovery", "--worker-service", "discovery"),
    "workerSlots": ("worker_slots", "--worker-slots", "int>=1"),
    "prefixAffinity": ("prefix_affinity", "--prefix-affinity", "bool"),
    "hashLoadFactor": ("hash_load_factor", "--hash-load-factor", "factor"),
    "warmUp": ("warm_up", "--warm-up", "bool"),
}
DISCOVERY_FLAGS = {"worker_service": "service", "worker_namespace": "namespace", "worker_port_name": "portName"}
FIELD_TO_KEY = {field: key for key, (field, _flag, _kind) in KEYS.items()}
_MODEL_KEYS = {"name", "digest", "keepWarm", "kind", "minWorkers"}


def load_config(path: Path | None = None, **overrides) -> RouterConfig:
    """Read ``path`` (JSON or YAML; None = defaults only) and apply ``overrides``.

    Overrides use the field names of RouterConfig (``backends=["http://..."]``,
    ``models=["llama3.1:8b@<digest>"]``, ``slots_per_backend=2``, ``host=...``,
    ``port=...``); a value of None means "not given". Raises InputError naming
    the file or flag and the key.
    """
    values: dict = {}
    if path is not None:
        raw = _read(path)
        values.update(_from_file(raw, str(path)))
    discovery_flags = {DISCOVERY_FLAGS[f]: overrides.pop(f) for f in list(overrides) if f in DISCOVERY_FLAGS}
    discovery_flags = {k: v for k, v in discovery_flags.items() if v is not None}
    if discovery_flags:
        merged = dict(_discovery_as_dict(values.get("worker_discovery")))
        merged.update(discovery_flags)
        values["worker_discovery"] = _check("discovery", merged, "the command line: --worker-service/--worker-namespace")
    for field, value in overrides.items():
        if value is None:
            continue
        if field in ("host", "port"):
            values[field] = _check_listen(field, value, "the command line")
            continue
        key = FIELD_TO_KEY.get(field)
        if key is None:
            raise TypeError(f"load_config() got an unknown override {field!r}")
        flag = KEYS[key][1]
        where = f"the command line: {flag}"
        if key == "models":
            values[field] = tuple(_model_from_flag(v, where) for v in value)
        else:
            values[field] = _check(KEYS[key][2], value, where)
    if values.get("role") == "gateway" and "poll_interval" not in values:
        values["poll_interval"] = GATEWAY_POLL_INTERVAL  # worker states change by the second: poll them faster
    config = RouterConfig(**values)
    if config.keep_alive_min > config.keep_alive_max:
        where = f"{path}: key \"keepAliveMinSeconds\"" if path else "the command line: --keep-alive-min"
        raise InputError(f"{where}: {config.keep_alive_min:g} is above keepAliveMaxSeconds {config.keep_alive_max:g}",
                         hint="the lower bound of a caller's keep_alive must not exceed the upper bound")
    _check_role(config, path)
    return config


def _check_role(config: RouterConfig, path: Path | None) -> None:
    where = f"{path}" if path else "the command line"
    if config.role == "gateway":
        if config.backends:
            raise InputError(f"{where}: \"backends\" (Ollama processes) are for role sidecar; a gateway talks to worker routers",
                             hint="list worker routers in \"workers\" (--worker URL) or use \"workerDiscovery\"")
        if bool(config.workers) == bool(config.worker_discovery):
            raise InputError(f"{where}: role gateway needs exactly one of \"workers\" and \"workerDiscovery\", "
                             f"got {'both' if config.workers else 'neither'}",
                             hint="local use: --worker http://127.0.0.1:8081 (repeatable); in a cluster: "
                                  "--worker-service NAME --worker-namespace NS (the workers' Service)")
        return
    if config.workers or config.worker_discovery:
        key = "workers" if config.workers else "workerDiscovery"
        raise InputError(f"{where}: \"{key}\" is a gateway setting but the role is sidecar",
                         hint="set \"role\": \"gateway\" (--role gateway), or list Ollama processes in \"backends\"")
    if not config.backends:
        where = f"{path}: key \"backends\"" if path else "the command line"
        raise InputError(
            f"{where}: no Ollama backend given",
            hint="list them in the config file (\"backends\": [\"http://127.0.0.1:11434\"]) or pass --backend URL",
        )


def _discovery_as_dict(value) -> dict:
    if value is None:
        return {}
    return {"service": value.service, "namespace": value.namespace, "portName": value.port_name}


def _read(path: Path) -> object:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{path}: cannot read the router config: {exc.strerror or exc}",
                         hint="pass the file the chart mounts, e.g. --config /etc/catalog-gen/router.json") from exc
    try:
        if str(path).endswith(".json"):
            return json.loads(text)
        import yaml

        return yaml.safe_load(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}:{exc.lineno}:{exc.colno}: not valid JSON: {exc.msg}") from exc
    except Exception as exc:  # yaml.YAMLError and its subclasses
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise InputError(f"{where}: not valid YAML: {getattr(exc, 'problem', None) or exc}") from exc


def _from_file(raw: object, name: str) -> dict:
    if not isinstance(raw, dict):
        raise InputError(f"{name}: the router config must be a mapping of keys, got {type(raw).__name__}",
                         hint="see docs/router.md for the keys")
    values: dict = {}
    for key, value in raw.items():
        where = f"{name}: key \"{key}\""
        if key == "listen":
            if not isinstance(value, dict) or set(value) - {"host", "port"}:
                raise InputError(f"{where} must be a mapping with \"host\" and \"port\"",
                                 hint='write "listen": {"host": "0.0.0.0", "port": 8080}')
            for sub in ("host", "port"):
                if sub in value:
                    values[sub] = _check_listen(sub, value[sub], f"{name}: key \"listen.{sub}\"")
            continue
        if key not in KEYS:
            close = difflib.get_close_matches(str(key), [*KEYS, "listen"], n=1)
            raise InputError(f"{where} is not a router setting",
                             hint=f"did you mean \"{close[0]}\"?" if close else "see docs/router.md for the keys")
        field, _flag, kind = KEYS[key]
        if key == "models":
            if not isinstance(value, list):
                raise InputError(f"{where} must be a list of models", hint='write [{"name": "llama3.1:8b"}]')
            values[field] = tuple(_model_from_file(item, f"{name}: key \"models[{i}]\"") for i, item in enumerate(value))
        elif value is None and (kind in ("file", "socket", "bytes", "discovery") or key == "workerSlots"):
            values[field] = None
        else:
            values[field] = _check(kind, value, where)
    return values


def _check_listen(field: str, value, where: str):
    if field == "host":
        if not isinstance(value, str) or not value or any(c.isspace() for c in value):
            raise InputError(f"{where}: the listen host must be an address such as 0.0.0.0 or 127.0.0.1, got {value!r}")
        return value
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 65535:
        raise InputError(f"{where}: the listen port must be an integer 0-65535, got {value!r}")
    return value


def _check(kind: str, value, where: str):
    if kind == "backends":
        if isinstance(value, str) or not isinstance(value, (list, tuple)):
            raise InputError(f"{where} must be a list of URLs", hint='write ["http://127.0.0.1:11434"]')
        urls = tuple(_backend_url(v, where) for v in value)
        if len(set(urls)) != len(urls):
            raise InputError(f"{where} lists a backend twice", hint="give each Ollama process once")
        return urls
    if kind.startswith("int"):
        low = int(kind.split(">=")[1])
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise InputError(f"{where} must be an integer >= {low}, got {value!r}")
        return value
    if kind.startswith("seconds"):
        ok = not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value)
        ok = ok and (value > 0 if kind.endswith(">0") else value >= 0)
        if not ok:
            bound = "> 0" if kind.endswith(">0") else ">= 0"
            raise InputError(f"{where} must be a number of seconds {bound}, got {value!r}")
        return float(value)
    if kind == "origins":
        return _origins(value, where)
    if kind == "role":
        if value not in ("sidecar", "gateway"):
            raise InputError(f"{where} must be \"sidecar\" or \"gateway\", got {value!r}",
                             hint="sidecar: in front of the pod's Ollama processes; gateway: in front of a pool's workers")
        return value
    if kind == "bool":
        if not isinstance(value, bool):
            raise InputError(f"{where} must be true or false, got {value!r}")
        return value
    if kind == "factor":
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 1:
            raise InputError(f"{where} must be a number above 1, got {value!r}",
                             hint="the bound c of consistent hashing with bounded loads: a worker takes at most c x the "
                                  "average load, e.g. 1.25")
        return float(value)
    if kind == "discovery":
        return _discovery(value, where)
    if kind == "socket":
        if not isinstance(value, (str, Path)) or not str(value).startswith("/"):
            raise InputError(f"{where} must be an absolute path for a unix socket, or null, got {value!r}",
                             hint="e.g. /run/catalog-gen/admin.sock (inside the pod only; leave null for no management listener)")
        return Path(value)
    if kind == "bytes":
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise InputError(f"{where} must be a number of bytes >= 1 or null, got {value!r}")
        return value
    if kind == "file":
        if not isinstance(value, (str, Path)) or not str(value):
            raise InputError(f"{where} must be a file path or null, got {value!r}")
        file = Path(value)
        if not file.is_file():
            raise InputError(f"{where}: the API key file {file} does not exist",
                             hint="mount the Secret holding the keys there, or leave the key null to accept every caller")
        return file
    raise AssertionError(kind)


_ORIGIN_SCHEMES = ("http://", "https://", "chrome-extension://", "safari-extension://", "moz-extension://", "ms-browser-extension://")


def _origins(value, where: str) -> tuple[str, ...]:
    """Allowed CORS origins, in Ollama's OLLAMA_ORIGINS syntax (so the same entries mean the same thing)."""
    if isinstance(value, str):
        value = [value] if "," not in value else value.split(",")
    if not isinstance(value, (list, tuple)):
        raise InputError(f"{where} must be a list of origins", hint='write ["https://app.example.com", "https://*.example.com"]')
    out = []
    for entry in value:
        if not isinstance(entry, str) or not entry or entry != entry.strip():
            raise InputError(f"{where}: {entry!r} is not an origin", hint="write scheme://host[:port] without spaces")
        if entry.count("*") > 1:
            raise InputError(f"{where}: {entry!r} has more than one *", hint="one * per entry: https://*.example.com")
        if "*" not in entry and not entry.lower().startswith(_ORIGIN_SCHEMES):
            raise InputError(f"{where}: {entry!r} is not an origin", hint="an origin starts with http:// or https:// (or a browser-extension scheme), e.g. https://app.example.com")
        if entry != "*" and entry.endswith("/"):
            raise InputError(f"{where}: {entry!r} ends with /", hint="an origin has no path: https://app.example.com")
        out.append(entry if "*" in entry else entry.lower())
    return tuple(out)


POD_NAMESPACE_FILE = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_PORT_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]{0,13}[a-z0-9])?$")


def _discovery(value, where: str) -> WorkerDiscovery:
    if isinstance(value, WorkerDiscovery):
        return value
    example = '{"service": "chat-workers", "namespace": "ml", "portName": "router"}'
    if not isinstance(value, dict):
        raise InputError(f"{where} must be a mapping", hint=f"write {example}")
    unknown = set(value) - {"service", "namespace", "portName"}
    if unknown:
        raise InputError(f"{where}: unknown key \"{sorted(unknown)[0]}\"", hint=f"write {example}")
    if "namespace" not in value:  # in a pod: its own namespace, as kubectl and client-go default to
        try:
            value = {**value, "namespace": Path(POD_NAMESPACE_FILE).read_text(encoding="utf-8").strip()}
        except OSError:
            raise InputError(f"{where}: \"namespace\" is missing and this is not a pod with a service account",
                             hint=f"write {example} (--worker-namespace NS)") from None
    for key, pattern in (("service", _DNS_LABEL), ("namespace", _DNS_LABEL), ("portName", _PORT_NAME)):
        if key == "portName" and key not in value:
            continue
        item = value.get(key)
        if not isinstance(item, str) or not pattern.match(item):
            raise InputError(f"{where}: \"{key}\" must be a Kubernetes name (lower case letters, digits and -), got {item!r}",
                             hint=f"write {example}")
    return WorkerDiscovery(value["service"], value["namespace"], value.get("portName", "router"))


def _backend_url(value, where: str) -> str:
    text = value if isinstance(value, str) else ""
    parts = urlsplit(text) if text else None
    try:
        port = parts.port if parts else None
    except ValueError:
        port = -1
    if (not parts or parts.scheme != "http" or not parts.hostname or port == -1
            or parts.path not in ("", "/") or parts.query or parts.username):
        raise InputError(f"{where}: {value!r} is not a backend URL",
                         hint="write http://HOST:PORT, e.g. http://127.0.0.1:11434 (plain http, no path)")
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"http://{host}:{port or 80}"


def _model(name, digest, keep_warm, kind, where: str, min_workers=0) -> ModelPin:
    if not isinstance(name, str) or not _MODEL_NAME.match(name):
        raise InputError(f"{where}: {name!r} is not a valid Ollama model name",
                         hint=patterns.FRIENDLY[patterns.MODEL_NAME][1])
    if digest is not None and (not isinstance(digest, str) or not _DIGEST.match(digest)):
        raise InputError(f"{where}: digest {digest!r} is not a model digest", hint=patterns.FRIENDLY[patterns.DIGEST][1])
    if not isinstance(keep_warm, bool):
        raise InputError(f"{where}: keepWarm must be true or false, got {keep_warm!r}")
    if kind not in ("text", "embedding"):
        raise InputError(f"{where}: kind must be \"text\" or \"embedding\", got {kind!r}")
    if isinstance(min_workers, bool) or not isinstance(min_workers, int) or min_workers < 0:
        raise InputError(f"{where}: minWorkers must be an integer >= 0, got {min_workers!r}",
                         hint="the workers a gateway keeps this model loaded on; 0 = loaded on demand")
    return ModelPin(name=name, digest=digest, keep_warm=keep_warm, kind=kind, min_workers=min_workers)


def _model_from_file(item, where: str) -> ModelPin:
    if not isinstance(item, dict) or "name" not in item:
        raise InputError(f"{where} must be a mapping with at least \"name\"", hint='write {"name": "llama3.1:8b"}')
    unknown = set(item) - _MODEL_KEYS
    if unknown:
        raise InputError(f"{where}: unknown key \"{sorted(unknown)[0]}\"", hint=f"a model has {', '.join(sorted(_MODEL_KEYS))}")
    return _model(item["name"], item.get("digest"), item.get("keepWarm", True), item.get("kind", "text"), where,
                  item.get("minWorkers", 0))


def _model_from_flag(text, where: str) -> ModelPin:
    """``NAME[@DIGEST][,kind=text|embedding][,keepWarm=true|false][,minWorkers=N]``."""
    if isinstance(text, ModelPin):
        return text
    head, *options = str(text).split(",")
    name, _, digest = head.partition("@")
    settings = {"kind": "text", "keepWarm": "true", "minWorkers": "0"}
    for option in options:
        key, _, value = option.partition("=")
        if key not in settings or not value:
            raise InputError(f"{where} {text!r}: unknown option {option!r}",
                             hint="write NAME[@DIGEST][,kind=text|embedding][,keepWarm=true|false][,minWorkers=N]")
        settings[key] = value
    if settings["keepWarm"] not in ("true", "false"):
        raise InputError(f"{where} {text!r}: keepWarm must be true or false")
    if not settings["minWorkers"].isdigit():
        raise InputError(f"{where} {text!r}: minWorkers must be an integer >= 0")
    return _model(name, digest or None, settings["keepWarm"] == "true", settings["kind"], f"{where} {text!r}",
                  int(settings["minWorkers"]))
