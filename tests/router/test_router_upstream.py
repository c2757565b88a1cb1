"""The pooled HTTP/1.1 client against small real servers that behave in the ways servers do."""

from __future__ import annotations

import asyncio

import pytest

from catalog_gen.router.upstream import Pool, UpstreamError


class _Server(asyncio.Protocol):
    """Answers each request with ``reply(n)``; counts connections; optionally closes after every reply."""

    connections = 0

    def __init__(self, reply, close_after: bool) -> None:
        self.reply, self.close_after, self.buf = reply, close_after, b""

    def connection_made(self, transport) -> None:
        type(self).connections += 1
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while b"\r\n\r\n" in self.buf:
            head, _, rest = self.buf.partition(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            if len(rest) < length:
                return
            self.buf = rest[length:]
            self.transport.write(self.reply(head))
            if self.close_after:
                self.transport.close()


async def _serve(reply, close_after=False):
    _Server.connections = 0
    server = await asyncio.get_running_loop().create_server(lambda: _Server(reply, close_after), "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


def _ok(body: bytes = b'{"ok":true}'):
    return lambda head: b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body)


def run(coro):
    return asyncio.run(coro)


def test_keep_alive_connections_are_reused_and_the_host_header_is_set():
    seen = []

    async def scenario():
        def reply(head):
            seen.append(head)
            return _ok()(head)

        server, port = await _serve(reply)
        pool = Pool("127.0.0.1", port, f"localhost:{port}", 1.0)
        for _ in range(20):
            response = await pool.request(b"POST", b"/api/generate?x=1", [(b"content-type", b"application/json")], b"{}")
            assert response.status == 200 and await response.read() == b'{"ok":true}'
            response.close()
        pool.close()
        server.close()
        return _Server.connections

    assert run(scenario()) == 1
    assert seen[0].startswith(b"POST /api/generate?x=1 HTTP/1.1\r\nhost: localhost:")
    assert b"content-length: 2" in seen[0]


def test_a_pooled_connection_the_server_closed_is_retried_on_a_fresh_one():
    async def scenario():
        server, port = await _serve(_ok(), close_after=True)
        pool = Pool("127.0.0.1", port, "localhost", 1.0)
        bodies = []
        for _ in range(3):
            response = await pool.request(b"GET", b"/api/ps", [])
            bodies.append(await response.read())
            response.close()
            await asyncio.sleep(0)  # the close has not necessarily been seen yet: the pool may hand out a dead one
        server.close()
        return bodies, _Server.connections

    bodies, connections = run(scenario())
    assert bodies == [b'{"ok":true}'] * 3 and connections == 3


def test_body_until_eof_head_without_body_and_chunked():
    async def scenario():
        replies = {
            b"/eof": b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\nall of it",
            b"/head": b"HTTP/1.1 200 OK\r\ncontent-length: 1234\r\n\r\n",
            b"/chunked": b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
        }
        server, port = await _serve(lambda head: replies[head.split(b" ")[1]], close_after=True)
        pool = Pool("127.0.0.1", port, "localhost", 1.0)
        out = {}
        for method, path in ((b"GET", b"/eof"), (b"HEAD", b"/head"), (b"GET", b"/chunked")):
            response = await asyncio.wait_for(pool.request(method, path, []), 2)
            out[path] = (response.header(b"content-length"), await asyncio.wait_for(response.read(), 2))
            response.close()
        server.close()
        return out

    out = run(scenario())
    assert out[b"/eof"] == (None, b"all of it")
    assert out[b"/head"] == (b"1234", b"")
    assert out[b"/chunked"] == (None, b"abcde")


def test_reading_pauses_while_the_caller_is_behind():
    big = b"x" * (4 * 1024 * 1024)

    async def scenario():
        server, port = await _serve(_ok(big))
        pool = Pool("127.0.0.1", port, "localhost", 1.0)
        response = await pool.request(b"GET", b"/big", [])
        await asyncio.sleep(0.3)  # the caller does not read
        buffered_while_paused = response._buffered
        paused = response._paused
        data = await response.read()
        response.close()
        server.close()
        return paused, buffered_while_paused, data

    paused, buffered, data = run(scenario())
    assert paused and buffered < 1024 * 1024, "no unbounded buffering of a slow caller's reply"
    assert data == big


def test_failures_say_whether_a_response_had_started():
    async def scenario():
        cut = lambda head: b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\npartial"  # noqa: E731
        server, port = await _serve(cut, close_after=True)
        pool = Pool("127.0.0.1", port, "localhost", 1.0)
        response = await pool.request(b"GET", b"/", [])
        with pytest.raises(UpstreamError) as mid:
            await response.read()
        server.close()
        garbage, gport = await _serve(lambda head: b"NOT HTTP AT ALL\r\n\r\n")
        with pytest.raises(UpstreamError) as bad:
            await Pool("127.0.0.1", gport, "localhost", 1.0).request(b"GET", b"/", [])
        garbage.close()
        with pytest.raises(UpstreamError) as refused:
            await Pool("127.0.0.1", port, "localhost", 1.0).request(b"GET", b"/", [])
        return mid.value, bad.value, refused.value

    mid, bad, refused = run(scenario())
    assert mid.before_response is False and "closed the connection" in str(mid)
    assert bad.before_response is True and "malformed" in str(bad)
    assert refused.before_response is True and "cannot connect" in str(refused)
