"""Sending notifies as a gateway does, and judging each answer the way a gateway does: the
body must contain success/SUCCESS/Success within 5 s; the HTTP status is ignored and a
redirect is not followed. httpx is imported by the caller's first send, not at start-up.

One notify or a few at once (``deliver``, the check) go through httpx's transport and its
pool; the same notify many times (``deliver_many``, trigger) goes through ``KeepAlive``."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..core.notify import DELIVERY_TIMEOUT_SECONDS, counts_as_delivered
from ..core.words import Text, Texts
from .notifies import OutgoingNotify

if TYPE_CHECKING:
    import ssl

    import httpcore
    import httpx

BODY_LIMIT = 64 * 1024  # far above any handler's answer; a runaway body is cut here
# What a real gateway's notify looks like to the handler (seen on a real server).
GATEWAY_HEADERS = {
    "User-Agent": "Mozilla/5.0 (Windows NT 10.0; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) "
                  "Chrome/78.0.3904.108 Safari/537.36",
    "Accept": "*/*",
    "Accept-Language": "zh-CN,zh;q=0.8",
    "Accept-Encoding": "identity",  # a gateway's curl asks for no compression
}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


# How an answer is described, by id (check.answer.<id> in the catalogue).
ANSWER = {
    "no_answer_within": "no answer within {timeout:g} s",
    "tls_untrusted": "TLS certificate not trusted ({detail})",
    "refused": "connection refused (is the handler running?)",
    "could_not_connect": "could not connect: {detail}",
    "broke": "the handler broke the connection: {detail}",
    "other": "{kind}: {detail}",
    "http": "HTTP {status} {body!r} in {ms}",
    "http_redirect": "HTTP {status} {body!r} in {ms} (redirect to {location}, not followed)",
}


said = Texts("check.answer", ANSWER)


@dataclass(frozen=True)
class Answer:
    """What the handler answered to one notify (or why it did not)."""

    status: int | None
    body: str
    seconds: float
    location: str = ""
    error: str = ""  # no answer: why (refused, timed out …)
    timed_out: bool = False
    connected: bool = True  # False: no connection was made at all (refused, DNS, TLS)
    why: Text | None = field(default=None, compare=False, repr=False)  # ``error``, to say

    @property
    def answered(self) -> bool:
        return not self.error

    @property
    def unreachable(self) -> bool:
        """No connection at all — as opposed to a handler that was reached and then was too
        slow or dropped the connection (which some handlers do to forged notifies)."""
        return bool(self.error) and not self.connected

    @property
    def redirected(self) -> bool:
        return self.status is not None and 300 <= self.status < 400

    @property
    def delivered(self) -> bool:
        """Whether a real gateway would mark the notify delivered: an answer within its 5 s
        whose body (of the first response: redirects are not followed) contains success."""
        return (self.answered and self.seconds <= DELIVERY_TIMEOUT_SECONDS
                and counts_as_delivered(self.body))

    def short_body(self, limit: int = 80) -> str:
        text = " ".join(self.body.split())
        return text if len(text) <= limit else text[:limit] + "…"

    def describe(self) -> Text | str:
        """One line: 'HTTP 200 'success' in 3 ms', or why there was no answer."""
        if self.error:
            return self.why or self.error
        if self.redirected:
            return said("http_redirect", status=self.status, body=self.short_body(40),
                        ms=_ms(self.seconds), location=self.location or "?")
        return said("http", status=self.status, body=self.short_body(40), ms=_ms(self.seconds))

    def to_dict(self) -> dict[str, object]:
        return {"status": self.status, "body": self.short_body(200),
                "ms": round(self.seconds * 1000, 1),
                "location": self.location or None, "error": self.error or None,
                "delivered": self.delivered}


def make_transport(*, concurrency: int = 16, verify_tls: bool | ssl.SSLContext = True
                   ) -> httpx.AsyncHTTPTransport:
    """What the check's notifies go through: httpx's transport, used directly. It never
    follows redirects (as a gateway) and takes no proxy from the environment (a gateway calls
    the handler directly); skipping the client's layers (auth, cookies, redirect handling)
    saves a sixth of the time of a local notify. Time per notify is bounded in ``deliver``."""
    import httpx

    return httpx.AsyncHTTPTransport(
        verify=verify_tls, trust_env=False,
        limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
    )


def build_request(notify: OutgoingNotify, *, timeout: float = DELIVERY_TIMEOUT_SECONDS
                  ) -> httpx.Request:
    """The notify as an httpx request, with the gateway's headers (built once to be sent many
    times: parsing the URL costs more than sending it)."""
    import httpx

    body = notify.body
    headers = {**GATEWAY_HEADERS, **(FORM if body is not None else {})}
    return httpx.Request(notify.method, notify.url, headers=headers,
                         content=body.encode("utf-8") if body is not None else None,
                         extensions={"timeout": httpx.Timeout(timeout).as_dict()})


async def deliver(transport: httpx.AsyncHTTPTransport, notify: OutgoingNotify, *,
                  timeout: float = DELIVERY_TIMEOUT_SECONDS,
                  request: httpx.Request | None = None) -> Answer:
    """Send one notify; never raises for what the handler does (no answer is an ``Answer``).
    ``request`` is the notify already built by ``build_request`` (to send it many times)."""
    import httpx

    request = request or build_request(notify, timeout=timeout)
    started = time.perf_counter()
    try:
        async with asyncio.timeout(timeout):  # the whole exchange, not each read
            response = await transport.handle_async_request(request)
            try:
                received = await _read_bounded(response.aiter_raw())
            finally:
                await response.aclose()
            return Answer(response.status_code, received.decode("utf-8", "replace"),
                          time.perf_counter() - started,
                          location=response.headers.get("location", ""))
    except TimeoutError:
        return no_answer(started, said("no_answer_within", timeout=timeout), timed_out=True)
    except httpx.TransportError as error:
        return no_answer(started, _transport_text(error),
                         connected=not isinstance(error, httpx.ConnectError | httpx.ConnectTimeout))


def no_answer(started: float, why: Text, *, timed_out: bool = False,
              connected: bool = True) -> Answer:
    return Answer(None, "", time.perf_counter() - started, error=str(why), why=why,
                  timed_out=timed_out, connected=connected)


async def _read_bounded(stream: AsyncIterator[bytes]) -> bytes:
    """At most BODY_LIMIT bytes of an answer's body (httpx's ``aiter_raw`` or httpcore's
    ``aiter_stream``); the rest is not read."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in stream:
        chunks.append(chunk)
        size += len(chunk)
        if size > BODY_LIMIT:
            break
    return b"".join(chunks)[:BODY_LIMIT]


def untrusted_tls(answer: Answer) -> bool:
    """The handler's certificate was not trusted (the fix: --insecure, or a trusted one)."""
    return answer.why is not None and answer.why.id == "check.answer.tls_untrusted"


def _transport_text(error: Exception) -> Text:
    """One line for a failed exchange (httpx's errors, or httpcore's under them)."""
    import httpcore
    import httpx

    detail = str(error) or type(error).__name__
    if isinstance(error, httpx.ConnectError | httpcore.ConnectError):
        lowered = detail.lower()
        if "certificate" in lowered:
            return said("tls_untrusted", detail=_cut(detail))
        if "refused" in lowered or "all connection attempts failed" in lowered:
            return said("refused")
        return said("could_not_connect", detail=_cut(detail))
    if isinstance(error, httpx.RemoteProtocolError | httpcore.RemoteProtocolError
                  | httpx.ReadError | httpcore.ReadError):
        return said("broke", detail=_cut(detail))
    return said("other", kind=type(error).__name__, detail=_cut(detail))


async def deliver_many(notify: OutgoingNotify, *, count: int, concurrency: int,
                       timeout: float = DELIVERY_TIMEOUT_SECONDS,
                       verify_tls: bool = True) -> list[Answer]:
    """The same notify ``count`` times, at most ``concurrency`` in flight: a fixed set of
    workers (10,000 notifies are not 10,000 tasks), each on one keep-alive connection."""
    concurrency = max(1, min(concurrency, count))
    answers: list[Answer] = []
    remaining = iter(range(count))
    # Made once for every worker: loading the CA bundle is slow.
    tls = tls_context(verify_tls) if notify.url.startswith("https:") else None

    async def worker() -> None:
        connection = KeepAlive(notify, timeout=timeout, tls=tls)
        try:
            for _ in remaining:
                answers.append(await connection.deliver())
        finally:
            await connection.close()

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return answers


class KeepAlive:
    """One worker's connection to the handler, made again when the handler closes it.

    It is httpcore's HTTP/1.1 connection — the engine under httpx's transport — used without
    the connection pool above it: the pool's locking and bookkeeping cost more CPU than the
    request itself (measured here: 530 µs a local notify through the transport, 230 µs on
    the connection), and one connection per worker needs no pool. Answers are judged exactly
    as ``deliver`` judges them."""

    def __init__(self, notify: OutgoingNotify, *, timeout: float,
                 tls: ssl.SSLContext | None) -> None:
        import httpcore
        import httpx

        url = httpx.URL(notify.url)
        self._origin = httpcore.Origin(url.raw_scheme, url.raw_host, url.port or
                                       (443 if url.scheme == "https" else 80))
        request = build_request(notify, timeout=timeout)
        self._request = httpcore.Request(
            request.method, httpcore.URL(scheme=url.raw_scheme, host=url.raw_host,
                                         port=url.port, target=url.raw_path),
            headers=request.headers.raw, content=request.content,
            extensions={"timeout": request.extensions["timeout"]})
        self._tls = tls
        self._timeout = timeout
        self._connection: httpcore.AsyncHTTPConnection | None = None

    async def deliver(self) -> Answer:
        import httpcore

        started = time.perf_counter()
        try:
            async with asyncio.timeout(self._timeout):
                response = await self._send()
                try:
                    received = await _read_bounded(response.aiter_stream())
                finally:
                    await response.aclose()
                location = next((v.decode("latin-1") for k, v in response.headers
                                 if k.lower() == b"location"), "")
                return Answer(response.status, received.decode("utf-8", "replace"),
                              time.perf_counter() - started, location=location)
        except TimeoutError:
            await self.close()
            return no_answer(started, said("no_answer_within", timeout=self._timeout),
                             timed_out=True)
        except httpcore.NetworkError as error:  # ConnectError, ReadError, WriteError
            await self.close()
            return no_answer(started, _transport_text(error),
                             connected=not isinstance(error, httpcore.ConnectError))
        except httpcore.ProtocolError as error:
            await self.close()
            return no_answer(started, _transport_text(error))

    async def _send(self) -> httpcore.Response:
        import httpcore

        for _ in range(2):  # the handler may have closed the kept-alive connection
            if self._connection is None:
                self._connection = httpcore.AsyncHTTPConnection(self._origin,
                                                                ssl_context=self._tls)
            try:
                return await self._connection.handle_async_request(self._request)
            except httpcore.ConnectionNotAvailable:
                await self.close()
        raise httpcore.RemoteProtocolError("the handler closed every connection at once")

    async def close(self) -> None:
        if self._connection is not None:
            connection, self._connection = self._connection, None
            await connection.aclose()


def tls_context(verify_tls: bool) -> ssl.SSLContext:
    """The TLS settings of a run: verified against the system's CAs, or not verified at all
    (``--insecure``, as a gateway does)."""
    import httpx

    return httpx.create_ssl_context(verify=verify_tls, trust_env=False)


@dataclass(frozen=True)
class Summary:
    """Many answers to one notify, counted."""

    sent: int
    delivered: int
    no_answer: int
    statuses: dict[str, int]
    p50_ms: float
    p95_ms: float
    max_ms: float
    seconds: float

    @property
    def rate(self) -> float:
        return self.sent / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict[str, object]:
        return {"sent": self.sent, "delivered": self.delivered, "no_answer": self.no_answer,
                "statuses": self.statuses, "p50_ms": self.p50_ms, "p95_ms": self.p95_ms,
                "max_ms": self.max_ms, "seconds": round(self.seconds, 3),
                "per_second": round(self.rate, 1)}


def summarize(answers: list[Answer], seconds: float) -> Summary:
    latencies = sorted(a.seconds * 1000 for a in answers)

    def percentile(share: float) -> float:
        if not latencies:
            return 0.0
        return round(latencies[min(len(latencies) - 1, int(share * len(latencies)))], 1)

    statuses = Counter(str(a.status) if a.answered else "no answer" for a in answers)
    return Summary(len(answers), sum(a.delivered for a in answers),
                   sum(not a.answered for a in answers), dict(statuses.most_common()),
                   percentile(0.5), percentile(0.95), round(latencies[-1], 1) if latencies else 0.0,
                   seconds)


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds >= 0.01 else f"{seconds * 1000:.1f} ms"


def _cut(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[:limit] + "…"
