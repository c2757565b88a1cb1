"""A small pooled HTTP/1.1 client for talking to Ollama, on asyncio protocols and httptools.

Why not httpx: measured on this project's 2-core machine, an httpx.AsyncClient
round trip costs several times the router's whole budget per request (its
transport stack, header models and anyio layers), while this client is one
asyncio Protocol feeding httptools' C parser. It does only what the router
needs: one request at a time per connection, keep-alive pooling per backend,
a bytes body with Content-Length, and a response body read chunk by chunk as
it arrives (no buffering beyond a flow-control window: reading from the socket
pauses while the caller has 256 KiB unread).

Failures are UpstreamError with ``before_response`` telling whether any byte of
the response had arrived (only then may the caller retry elsewhere). A pooled
connection that the server closed while idle is retried once, transparently, on
a fresh connection, as Go's and browsers' clients do.
"""

from __future__ import annotations

import asyncio
import collections

import httptools

_HIGH_WATER = 256 * 1024


class UpstreamError(Exception):
    """The backend failed us. ``before_response``: no status line had been received."""

    def __init__(self, message: str, *, before_response: bool, reused: bool = False, connect: bool = False) -> None:
        super().__init__(message)
        self.before_response = before_response
        self.reused = reused
        self.connect = connect  # no connection could be made: not a byte of the request left


class Response:
    """One response; read ``status``/``headers`` after ``Pool.request`` returns, then ``chunk()`` until b""."""

    __slots__ = ("_conn", "status", "headers", "keep_alive", "complete", "_chunks", "_buffered", "_error",
                 "_waiter", "_head_done", "_head_only", "_until_eof", "_paused")

    def __init__(self, conn: "_Connection", head_only: bool) -> None:
        self._conn = conn
        self.status = 0
        self.headers: list[tuple[bytes, bytes]] = []
        self.keep_alive = False
        self.complete = False
        self._chunks: collections.deque[bytes] = collections.deque()
        self._buffered = 0
        self._error: UpstreamError | None = None
        self._waiter: asyncio.Future | None = None
        self._head_done = False
        self._head_only = head_only
        self._until_eof = False
        self._paused = False

    # -- called by the protocol ---------------------------------------------------------------
    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _feed(self, data: bytes) -> None:
        self._chunks.append(data)
        self._buffered += len(data)
        if self._buffered > _HIGH_WATER and not self._paused:
            self._paused = True
            self._conn.transport.pause_reading()
        self._wake()

    def _fail(self, error: UpstreamError) -> None:
        if not self.complete and self._error is None:
            self._error = error
            self._wake()

    # -- called by the router -----------------------------------------------------------------
    async def _wait(self) -> None:
        self._waiter = self._conn.loop.create_future()
        try:
            await self._waiter
        finally:
            self._waiter = None

    async def _head(self) -> None:
        while not self._head_done:
            if self._error is not None:
                raise self._error
            await self._wait()

    async def chunk(self) -> bytes:
        """Every piece of the body that has arrived and was not handed out yet; b"" once the body is complete.

        Pieces that arrived together (the router was busy) go out together: one write instead of several.
        """
        while True:
            if self._chunks:
                chunks = self._chunks
                data = chunks.popleft() if len(chunks) == 1 else b"".join(chunks)
                chunks.clear()
                self._buffered = 0
                if self._paused:
                    self._paused = False
                    self._conn.transport.resume_reading()
                return data
            if self.complete:
                return b""
            if self._error is not None:
                raise self._error
            await self._wait()

    async def read(self) -> bytes:
        parts = []
        while data := await self.chunk():
            parts.append(data)
        return b"".join(parts)

    @property
    def exhausted(self) -> bool:
        """The body is complete and every piece of it was handed out."""
        return self.complete and not self._chunks

    def header(self, name: bytes) -> bytes | None:
        for key, value in self.headers:
            if key == name:
                return value
        return None

    def close(self) -> None:
        """Give the connection back to the pool if the response was read to its end, else drop it."""
        conn = self._conn
        if conn.response is self:
            conn.response = None
            if self.complete and self.keep_alive and not self._head_only and not conn.closed:
                conn.pool._put(conn)
            else:
                conn.close()


class _Connection(asyncio.Protocol):
    def __init__(self, pool: "Pool") -> None:
        self.pool = pool
        self.loop = asyncio.get_running_loop()
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.response: Response | None = None
        self.closed = False
        self.reused = False

    def connection_made(self, transport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        if self.response is None:  # bytes nobody asked for: the connection is unusable
            self.close()
            return
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self.response._fail(UpstreamError(f"malformed response from {self.pool.name}: {exc}",
                                              before_response=not self.response._head_done))
            self.close()

    def connection_lost(self, exc) -> None:
        self.closed = True
        response = self.response
        if response is not None and not response.complete:
            if response._until_eof and response._head_done:
                response.complete = True
                response._wake()
            else:
                before = not response._head_done
                what = "closed the connection" if exc is None else f"reset the connection ({exc})"
                response._fail(UpstreamError(f"{self.pool.name} {what}", before_response=before, reused=self.reused))

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.abort()

    # -- httptools callbacks --------------------------------------------------------------------
    def on_header(self, name: bytes, value: bytes) -> None:
        self.response.headers.append((name.lower(), value))

    def on_headers_complete(self) -> None:
        response = self.response
        response.status = self.parser.get_status_code()
        response.keep_alive = self.parser.should_keep_alive()
        response._head_done = True
        if response._head_only:
            response.complete = True
        elif response.header(b"content-length") is None and b"chunked" not in (response.header(b"transfer-encoding") or b""):
            response._until_eof = response.status not in (204, 304) and not 100 <= response.status < 200
            response.keep_alive = response.keep_alive and not response._until_eof
        response._wake()

    def on_body(self, body: bytes) -> None:
        if not self.response._head_only:
            self.response._feed(body)

    def on_message_complete(self) -> None:
        response = self.response
        if response is not None:
            response.complete = True
            self.reused = True
            response._wake()


class Pool:
    """Keep-alive connections to one backend (``host``:``port``), sending ``Host: host_header``."""

    def __init__(self, host: str, port: int, host_header: str, connect_timeout: float, max_idle: int = 64) -> None:
        self.host = host
        self.port = port
        self.name = f"{host}:{port}"
        self.host_header = host_header.encode()
        self.connect_timeout = connect_timeout
        self.max_idle = max_idle
        self._idle: list[_Connection] = []

    def _put(self, conn: _Connection) -> None:
        if len(self._idle) < self.max_idle:
            self._idle.append(conn)
        else:
            conn.close()

    async def _connect(self) -> _Connection:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self.connect_timeout):
                _transport, conn = await loop.create_connection(lambda: _Connection(self), self.host, self.port)
        except TimeoutError as exc:
            raise UpstreamError(f"connecting to {self.name} timed out after {self.connect_timeout:g}s",
                                before_response=True, connect=True) from exc
        except OSError as exc:
            raise UpstreamError(f"cannot connect to {self.name}: {exc.strerror or exc}", before_response=True,
                                connect=True) from exc
        return conn

    async def request(self, method: bytes, target: bytes, headers: list[tuple[bytes, bytes]], body: bytes = b"") -> Response:
        """Send one request; return once the status line and headers arrived. Raises UpstreamError."""
        parts = [method, b" ", target, b" HTTP/1.1\r\nhost: ", self.host_header, b"\r\n"]
        for name, value in headers:
            parts += (name, b": ", value, b"\r\n")
        if body or method not in (b"GET", b"HEAD"):
            parts += (b"content-length: ", str(len(body)).encode(), b"\r\n")
        parts += (b"\r\n", body)
        payload = b"".join(parts)
        head_only = method == b"HEAD"
        for _attempt in range(2):
            conn = None
            while self._idle:
                candidate = self._idle.pop()
                if not candidate.closed:
                    conn = candidate
                    break
            if conn is None:
                conn = await self._connect()
            response = Response(conn, head_only)
            conn.response = response
            conn.transport.write(payload)
            try:
                await response._head()
            except UpstreamError as exc:
                conn.response = None
                conn.close()
                if exc.reused:  # stale pooled connection: drop the others too, one fresh try
                    self.close()
                    continue
                raise
            except BaseException:
                conn.response = None
                conn.close()
                raise
            return response
        raise UpstreamError(f"{self.name} closed fresh connections too", before_response=True)

    def close(self) -> None:
        for conn in self._idle:
            conn.close()
        self._idle.clear()
