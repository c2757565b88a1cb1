"""drain-wait.sh, the preStop of each Ollama container, against real sockets of this machine.

Ollama drops every connection at once on SIGTERM, so the hook must hold it back while the router still
listens or still holds a connection to the process, and let it go as soon as neither is true (or at the
deadline). The script reads /proc/net/tcp as the pod's shared network namespace shows it; here, this
machine's, with sockets the test opens itself.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time

from script_helpers import FILES

DRAIN = FILES / "drain-wait.sh"


def listener() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    return sock


def start(port: int, router_port: int | None, deadline: int) -> subprocess.Popen:
    env = {**os.environ, "PRESTOP_DELAY_SECONDS": "0", "DRAIN_DEADLINE_SECONDS": str(deadline)}
    if router_port is not None:
        env["ROUTER_PORT"] = str(router_port)
    return subprocess.Popen(["bash", str(DRAIN), str(port)], env=env, stderr=subprocess.PIPE, text=True)


def finish(proc: subprocess.Popen, timeout: float = 10) -> tuple[float, str]:
    began = time.monotonic()
    _, err = proc.communicate(timeout=timeout)
    return time.monotonic() - began, err


def test_nothing_to_drain_returns_at_once():
    ollama = listener()
    try:
        began = time.monotonic()
        proc = start(ollama.getsockname()[1], None, deadline=30)
        finish(proc)
        assert proc.returncode == 0
        assert time.monotonic() - began < 5
    finally:
        ollama.close()


def test_waits_while_the_router_listens_and_goes_when_it_stops():
    ollama, router = listener(), listener()
    try:
        proc = start(ollama.getsockname()[1], router.getsockname()[1], deadline=30)
        time.sleep(2.5)
        assert proc.poll() is None, "the router still listens: Ollama must not stop yet"
        router.close()
        elapsed, err = finish(proc)
        assert proc.returncode == 0 and elapsed < 5
        assert "nothing left to drain" in err
    finally:
        ollama.close()
        router.close()


def test_waits_while_a_connection_to_the_process_is_open():
    ollama = listener()
    client = socket.create_connection(ollama.getsockname())
    accepted, _ = ollama.accept()
    try:
        proc = start(ollama.getsockname()[1], None, deadline=30)
        time.sleep(2.5)
        assert proc.poll() is None, "a request is still in flight on the process"
        client.close()
        accepted.close()
        elapsed, _ = finish(proc)
        assert proc.returncode == 0 and elapsed < 5
    finally:
        client.close()
        accepted.close()
        ollama.close()


def test_gives_up_at_the_deadline():
    ollama, router = listener(), listener()
    try:
        began = time.monotonic()
        proc = start(ollama.getsockname()[1], router.getsockname()[1], deadline=2)
        _, err = finish(proc)
        assert proc.returncode == 0
        assert 1.5 < time.monotonic() - began < 8
        assert "deadline reached" in err
    finally:
        ollama.close()
        router.close()
