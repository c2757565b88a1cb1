"""Running the router: uvicorn with uvloop and httptools, one process, graceful on SIGTERM.

Server choices and why:
- the listening socket is bound here, before uvicorn starts, so "port in use"
  is a CatalogGenError with a hint instead of uvicorn's log line and exit 1;
- ``proxy_headers=False``: forwarded-for headers are never read;
- the management listener (``adminSocket``) is a unix socket only its own user may connect to,
  bound next to the public port and served by the same app; a stale socket file
  left by a killed router is replaced;
- past the grace period uvicorn cancels what is left; the app answers those
  requests itself (503 with Retry-After, or an error ending the stream), so no
  caller gets a bare 500 and nothing is logged as a traceback;
- no access log, no Server/Date headers added (Ollama's own Date passes through);
- keep-alive 75 s, longer than common gateway idle timeouts, so the router is
  not the side that closes a connection a gateway is about to reuse;
- on SIGTERM uvicorn stops accepting, lets requests in flight (and waiting in
  the queue) finish for ``shutdownGraceSeconds``, cancels the rest, then runs
  the lifespan shutdown; ``serve`` then returns 0 (uvicorn would re-raise the
  signal and die of it; a clean exit status reads better in pod events);
- ``gc.freeze()`` once everything is imported and built: a full garbage
  collection otherwise walks every module object (about 20 ms here), a pause
  every stream in flight would feel.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import signal
import socket
import stat
import threading

from catalog_gen.errors import InputError
from catalog_gen.router.app import RouterApp
from catalog_gen.router.config import RouterConfig
from catalog_gen.router.proxy import AbortConnection

log = logging.getLogger("catalog_gen.router")
KEEP_ALIVE_SECONDS = 75


class _DropAbort(logging.Filter):
    """A cut reply (AbortConnection) is expected; keep uvicorn from logging it as a crash."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], AbortConnection))


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise InputError(f"the router cannot listen on {host}:{port}: {exc.strerror or exc}",
                         hint="pick another --port, or stop whatever listens there") from exc
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def bind_admin(path) -> socket.socket:
    """The management listener: a unix socket only processes in the pod can reach."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        with contextlib.suppress(FileNotFoundError):
            if os.path.exists(path) and not stat.S_ISSOCK(os.stat(path).st_mode):
                raise InputError(f"the management socket path {path} exists and is not a socket",
                                 hint="point adminSocket at a path in an emptyDir, e.g. /run/catalog-gen/admin.sock")
            os.unlink(path)
        old = os.umask(0o077)
        try:
            sock.bind(str(path))
        finally:
            os.umask(old)
    except OSError as exc:
        sock.close()
        raise InputError(f"the router cannot create its management socket {path}: {exc.strerror or exc}",
                         hint="adminSocket must be in a writable directory (an emptyDir), or null") from exc
    except InputError:
        sock.close()
        raise
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def make_server(config: RouterConfig, sock: socket.socket):
    """A uvicorn server for the router app (tests run it in a thread and stop it with ``should_exit``)."""
    import uvicorn

    admin = [bind_admin(config.admin_socket)] if config.admin_socket else []

    class Server(uvicorn.Server):
        async def serve(self, sockets=None) -> None:
            try:
                await super().serve(sockets=[*(sockets or []), *admin])
            finally:
                for extra in admin:
                    extra.close()
                    with contextlib.suppress(OSError):
                        os.unlink(config.admin_socket)

        def handle_exit(self, sig, frame) -> None:
            app.draining = True  # /router/state tells the gateways while requests in flight finish
            super().handle_exit(sig, frame)

        @contextlib.contextmanager
        def capture_signals(self):
            if threading.current_thread() is not threading.main_thread():
                yield
                return
            original = {sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
            try:
                yield
            finally:
                for sig, handler in original.items():
                    signal.signal(sig, handler)

    logging.getLogger("uvicorn.error").addFilter(_DropAbort())
    if config.role == "gateway":
        from catalog_gen.router.gateway import GatewayApp

        app = GatewayApp(config)
    else:
        app = RouterApp(config)
    uconfig = uvicorn.Config(
        app, loop="uvloop", http="httptools", lifespan="on", access_log=False, proxy_headers=False,
        server_header=False, date_header=False, timeout_keep_alive=KEEP_ALIVE_SECONDS,
        timeout_graceful_shutdown=config.shutdown_grace, log_level="warning", log_config=None, backlog=2048,
    )
    uconfig.load()  # imports the protocol modules now, before serve() freezes the heap
    server = Server(uconfig)
    server.router_app = app
    return server


def serve(config: RouterConfig, host: str | None = None, port: int | None = None) -> int:
    """Run until SIGTERM/SIGINT; returns the exit status. Raises InputError when the address is taken."""
    host = host or config.host
    port = config.port if port is None else port
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    sock = bind(host, port)
    server = make_server(config, sock)
    gc.collect()
    gc.freeze()
    if config.role == "gateway":
        found = config.worker_discovery
        front = (f"the workers of Service {found.namespace}/{found.service} (EndpointSlices, port {found.port_name})"
                 if found else "workers " + ", ".join(config.workers))
    else:
        front = ", ".join(config.backends)
    log.info("router (%s) listening on %s:%d in front of %s%s", config.role, host, sock.getsockname()[1], front,
             f"; management on unix socket {config.admin_socket}" if config.admin_socket else "")
    server.run(sockets=[sock])
    return 0 if server.started else 2
