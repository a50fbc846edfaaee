"""A lean transport under the gateway client's lanes for the monitor and reconcile: httpcore's
HTTP/1.1 connections, kept open and handed from one request to the next, without the
connection pool httpx puts above them.

The monitor's first interval reads the whole window, at most 50 orders a page (2,000 pages
for 100,000 orders); reconcile asks about every order. Through httpx's default transport a
request cost ~2 ms of CPU here, ~0.7 ms of it the pool's locking and bookkeeping, which lanes
with one request in flight each do not need (measured with bench/monitor.py). Everything
above the transport stays the client's: timeouts, retries, redirects refused, errors worded.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager

import httpcore
import httpx

KEEPALIVE_SECONDS = 5.0  # as httpx's pool: a connection idle longer is made anew
_PORTS = {b"http": 80, b"https": 443}

# httpcore's errors as httpx's, the most specific first: the client words httpx's errors
# (timeouts, refused connections, TLS) and retries on them.
_ERRORS: tuple[tuple[type[Exception], type[httpx.TransportError]], ...] = (
    (httpcore.ConnectTimeout, httpx.ConnectTimeout),
    (httpcore.ReadTimeout, httpx.ReadTimeout),
    (httpcore.WriteTimeout, httpx.WriteTimeout),
    (httpcore.PoolTimeout, httpx.PoolTimeout),
    (httpcore.TimeoutException, httpx.TimeoutException),
    (httpcore.ConnectError, httpx.ConnectError),
    (httpcore.ReadError, httpx.ReadError),
    (httpcore.WriteError, httpx.WriteError),
    (httpcore.NetworkError, httpx.NetworkError),
    (httpcore.ProxyError, httpx.ProxyError),
    (httpcore.UnsupportedProtocol, httpx.UnsupportedProtocol),
    (httpcore.LocalProtocolError, httpx.LocalProtocolError),
    (httpcore.RemoteProtocolError, httpx.RemoteProtocolError),
    (httpcore.ProtocolError, httpx.ProtocolError),
)


@contextmanager
def _as_httpx_errors() -> Iterator[None]:
    try:
        yield
    except Exception as error:
        for core, mapped in _ERRORS:
            if isinstance(error, core):
                raise mapped(str(error)) from error
        raise


class KeptConnections(httpx.AsyncBaseTransport):
    """Shared by a client's lanes: an idle connection per lane at most, taken by the next
    request and given back when its answer has been read."""

    def __init__(self, *, verify_tls: bool = True) -> None:
        self._verify_tls = verify_tls
        self._tls: ssl.SSLContext | None = None  # built at the first https request (~20 ms)
        self._idle: dict[tuple[bytes, bytes, int], list[httpcore.AsyncHTTPConnection]] = {}

    def _tls_context(self) -> ssl.SSLContext:
        if self._tls is None:
            self._tls = httpx.create_ssl_context(verify=self._verify_tls)
        return self._tls

    async def _take(self, origin: httpcore.Origin) -> httpcore.AsyncHTTPConnection:
        idle = self._idle.get(_key(origin), [])
        while idle:
            connection = idle.pop()
            if not connection.has_expired():
                return connection
            await connection.aclose()  # closed by the gateway, or idle too long
        return httpcore.AsyncHTTPConnection(
            origin, ssl_context=self._tls_context() if origin.scheme == b"https" else None,
            keepalive_expiry=KEEPALIVE_SECONDS)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        origin = httpcore.Origin(url.raw_scheme, url.raw_host, url.port or _PORTS.get(
            url.raw_scheme, 80))
        core_request = httpcore.Request(
            method=request.method,
            url=httpcore.URL(scheme=url.raw_scheme, host=url.raw_host, port=url.port,
                             target=url.raw_path),
            headers=request.headers.raw, content=request.stream, extensions=request.extensions)
        with _as_httpx_errors():
            connection = await self._take(origin)
            try:
                response = await connection.handle_async_request(core_request)
            except BaseException:  # a timeout or a broken connection: it serves no one else
                await connection.aclose()
                raise
        return httpx.Response(status_code=response.status, headers=response.headers,
                              stream=_Answer(self, origin, connection, response),
                              extensions=response.extensions)

    def _give_back(self, origin: httpcore.Origin,
                   connection: httpcore.AsyncHTTPConnection) -> None:
        if connection.is_available():  # the answer was read whole and the gateway keeps it open
            self._idle.setdefault(_key(origin), []).append(connection)

    async def aclose(self) -> None:
        """Every lane's client closes its transport: the second call finds nothing left."""
        idle, self._idle = self._idle, {}
        for connections in idle.values():
            for connection in connections:
                await connection.aclose()


def _key(origin: httpcore.Origin) -> tuple[bytes, bytes, int]:
    return origin.scheme, origin.host, origin.port  # an Origin is not hashable


class _Answer(httpx.AsyncByteStream):
    """An answer's body; once read and closed, its connection serves the next request."""

    def __init__(self, transport: KeptConnections, origin: httpcore.Origin,
                 connection: httpcore.AsyncHTTPConnection, response: httpcore.Response) -> None:
        self._transport = transport
        self._origin = origin
        self._connection = connection
        self._response = response

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with _as_httpx_errors():
            async for chunk in self._response.aiter_stream():
                yield chunk

    async def aclose(self) -> None:
        await self._response.aclose()
        self._transport._give_back(self._origin, self._connection)
