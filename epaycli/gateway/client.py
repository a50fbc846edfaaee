"""Sending ``Call``s to a gateway over httpx: explicit timeouts, TLS verified unless told
otherwise, no redirects followed, retries with backoff for idempotent queries only. One sync
client for single requests, one async client for many at once (bounded concurrency).

Transport failures become ``NetworkError`` (exit 5) naming the URL and the timeout tried;
answers are read by ``replies.parse_reply`` (errors → ``GatewayError``, exit 4).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import httpx

from .. import __version__
from ..core.errors import EpayError, NetworkError
from ..core.words import Text
from .calls import Call
from .replies import Reply, parse_reply

RETRY_STATUSES = frozenset({502, 503, 504})  # a proxy in front of the gateway hiccuped
MAX_ANSWER_BYTES = 4 * 1024 * 1024  # a listing of 50 orders is ~30 KiB; more is not an answer


MESSAGES = {  # what was tried, inside a network error
    "tried": "timeout {seconds} s",
    "tried_attempts": "timeout {seconds} s, {attempts} attempts",
    "tried_whole": "timeout {seconds} s for the whole request",
    "tried_whole_attempts": "timeout {seconds} s for the whole request, {attempts} attempts",
}


def _tried(settings: Settings, attempts: int, *, whole: bool = False) -> Text:
    message_id = ("tried_whole" if whole else "tried") + ("_attempts" if attempts > 1 else "")
    return Text(f"gateway.{message_id}", MESSAGES[message_id],
                seconds=f"{settings.timeout:g}", attempts=attempts)


class _TooLarge(Exception):
    pass


class _DeadlinePassed(Exception):
    pass


def _deadline_error(call: Call, settings: Settings, attempts: int, *,
                    by_caller: bool) -> NetworkError:
    """The whole request ran out of time: its own --timeout, or the caller's deadline (the
    end of an ``order wait``)."""
    if by_caller:
        return NetworkError("{url} did not answer before the wait's deadline",
                            "raise --timeout", code="network_deadline",
                            fields={"url": call.shown_url})
    return _timed_out(call.shown_url, _tried(settings, attempts, whole=True))


def _timed_out(url: str, tried: str) -> NetworkError:
    return NetworkError("{url} did not answer in time ({tried})",
                        "check the gateway is up and reachable, or raise --timeout",
                        code="network_timeout", fields={"url": url, "tried": tried})


def _parse(call: Call, response: httpx.Response, body: bytes, *, now: int) -> Reply:
    return parse_reply(call, response.status_code, response.headers.get("content-type", ""),
                       body, now=now, location=response.headers.get("location", ""))


def _read_sync(client: httpx.Client, call: Call) -> tuple[httpx.Response, bytes]:
    with client.stream(**_request_args(call)) as response:
        body = bytearray()
        for chunk in response.iter_bytes():
            body += chunk
            if len(body) > MAX_ANSWER_BYTES:
                raise _TooLarge
        return response, bytes(body)


async def _read_async(client: httpx.AsyncClient, call: Call) -> tuple[httpx.Response, bytes]:
    async with client.stream(**_request_args(call)) as response:
        body = bytearray()
        async for chunk in response.aiter_bytes():
            body += chunk
            if len(body) > MAX_ANSWER_BYTES:
                raise _TooLarge
        return response, bytes(body)


def _too_large(call: Call) -> NetworkError:
    return NetworkError("{url} answered more than {mib} MiB: not an Epay answer",
                        "check the gateway URL", code="network_too_large",
                        fields={"url": call.shown_url, "mib": MAX_ANSWER_BYTES // 1024 // 1024})


@dataclass(frozen=True)
class Settings:
    timeout: float = 10.0
    verify_tls: bool = True
    retries: int = 2  # extra attempts, idempotent calls only
    backoff: float = 0.3  # seconds before the first retry; doubles each time


def _headers() -> dict[str, str]:
    return {"User-Agent": f"epay/{__version__} (+https://pypi.org/project/epaycli/)",
            "Accept": "application/json, text/html;q=0.5, */*;q=0.1"}


def _request_args(call: Call) -> dict[str, Any]:
    args: dict[str, Any] = {"method": call.method, "url": call.url}
    if call.form is not None:
        args["data"] = call.form
    return args


def _network_error(call: Call, error: Exception, settings: Settings, attempts: int) -> NetworkError:
    """What was tried and why it failed, in one line (never the key: ``shown_url``)."""
    tried = _tried(settings, attempts)
    url = call.shown_url
    if isinstance(error, httpx.TimeoutException):
        return _timed_out(url, tried)
    reason = str(error) or type(error).__name__
    fields = {"url": url, "reason": _short(reason), "tried": tried}
    if "CERTIFICATE_VERIFY_FAILED" in reason or "certificate verify failed" in reason.lower() \
            or "SSL" in reason or "TLS" in reason:
        return NetworkError("TLS failed for {url}: {reason} ({tried})",
                            "fix the gateway's certificate; pass --insecure only for a test gateway",
                            code="network_tls", fields=fields)
    if isinstance(error, httpx.ConnectError):
        return NetworkError("cannot connect to {url}: {reason} ({tried})",
                            "is the gateway running and the URL right? for the sandbox, start "
                            "'epay mock'", code="network_connect", fields=fields)
    return NetworkError("{url} did not answer as an HTTP server should: {reason} ({tried})",
                        "check the gateway URL (http vs https, port)", code="network_protocol",
                        fields=fields)


def _short(text: str, limit: int = 120) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "…"


def _retryable(error: Exception) -> bool:
    if isinstance(error, httpx.TimeoutException):
        return True
    if isinstance(error, httpx.ConnectError):
        return "SSL" not in str(error) and "certificate" not in str(error).lower()
    return isinstance(error, (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError))


class GatewayClient:
    """One connection pool for a run; use as a context manager.

    ``settings.timeout`` is a deadline for the whole of each ``send`` (connect, every read,
    retries): httpx's own timeouts are per operation, so a gateway that trickles one byte a
    second would hold a request for minutes. The request runs on a worker thread that the
    caller stops waiting for at the deadline (closing its connections, so it ends too)."""

    def __init__(self, settings: Settings = Settings(), *, clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], None] = time.sleep,
                 transport: httpx.BaseTransport | None = None,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings
        self._clock = clock
        self._sleep = sleep
        self._monotonic = monotonic
        self._transport = transport
        self._http = self._new_http()

    def _new_http(self) -> httpx.Client:
        return httpx.Client(timeout=httpx.Timeout(self.settings.timeout),
                            verify=self.settings.verify_tls, follow_redirects=False,
                            headers=_headers(), transport=self._transport, trust_env=False)

    def __enter__(self) -> GatewayClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def send(self, call: Call, *, deadline: float | None = None) -> Reply:
        """``call``'s answer, within ``settings.timeout`` seconds, and before ``deadline`` (a
        ``time.monotonic`` instant, e.g. the end of a whole wait) when one is given."""
        own = self._monotonic() + self.settings.timeout
        stop = own if deadline is None else min(own, deadline)
        attempts = 1 + (self.settings.retries if call.idempotent else 0)
        failed: httpx.HTTPError | None = None  # the last attempt's failure, if it failed
        for attempt in range(1, attempts + 1):
            try:
                response, body = self._read_by(call, stop)
            except _TooLarge:
                raise _too_large(call) from None
            except _DeadlinePassed:
                if failed is not None:  # a retry ran out of time: the failure is the news
                    raise _network_error(call, failed, self.settings, attempt - 1) from None
                raise _deadline_error(call, self.settings, attempt,
                                      by_caller=deadline is not None and deadline < own) from None
            except httpx.HTTPError as error:
                failed = error
                pause = self.settings.backoff * 2 ** (attempt - 1)
                if attempt < attempts and _retryable(error) and self._monotonic() + pause < stop:
                    self._sleep(pause)
                    continue
                raise _network_error(call, error, self.settings, attempt) from None
            failed = None
            pause = self.settings.backoff * 2 ** (attempt - 1)
            if attempt < attempts and response.status_code in RETRY_STATUSES \
                    and self._monotonic() + pause < stop:
                self._sleep(pause)
                continue
            return _parse(call, response, body, now=int(self._clock()))
        raise AssertionError("unreachable")  # pragma: no cover

    def _read_by(self, call: Call, stop: float) -> tuple[httpx.Response, bytes]:
        """``_read_sync`` on a worker thread, waited for until ``stop`` at most."""
        remaining = stop - self._monotonic()
        if remaining <= 0:
            raise _DeadlinePassed
        outcome: list[tuple[httpx.Response, bytes] | BaseException] = []
        finished = threading.Event()
        http = self._http

        def work() -> None:
            try:
                outcome.append(_read_sync(http, call))
            except BaseException as error:  # noqa: BLE001 - handed to the caller's thread
                outcome.append(error)
            finally:
                finished.set()

        threading.Thread(target=work, name="epay-request", daemon=True).start()
        if not finished.wait(remaining):
            # Closing the pool closes the worker's socket: it stops at its next read.
            http.close()
            self._http = self._new_http()
            raise _DeadlinePassed
        result = outcome[0]
        if isinstance(result, BaseException):
            raise result
        return result


class AsyncGatewayClient:
    """Many calls at once, at most ``concurrency`` in flight: one worker per lane, each lane
    its own keep-alive connection. (One pool of N connections costs O(N) per request in
    httpcore's pool bookkeeping; N pools of one do not.)"""

    def __init__(self, settings: Settings = Settings(), *, concurrency: int = 16,
                 clock: Callable[[], float] = time.time,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.settings = settings
        self.concurrency = max(1, concurrency)
        self._clock = clock
        self._transport = transport
        # One TLS context for every lane: building one loads the CA bundle (~20 ms).
        self._verify = httpx.create_ssl_context() if settings.verify_tls else False
        self._lanes: list[httpx.AsyncClient] = []

    def _lane(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(timeout=httpx.Timeout(self.settings.timeout),
                                 verify=self._verify, follow_redirects=False, headers=_headers(),
                                 limits=httpx.Limits(max_connections=1,
                                                     max_keepalive_connections=1),
                                 transport=self._transport, trust_env=False)

    async def aclose(self) -> None:
        for lane in self._lanes:
            await lane.aclose()
        self._lanes.clear()

    async def send(self, call: Call, lane: httpx.AsyncClient | None = None) -> Reply:
        """``call``'s answer within ``settings.timeout`` seconds, retries included."""
        if lane is None:
            if not self._lanes:
                self._lanes.append(self._lane())
            lane = self._lanes[0]
        attempts: list[int] = [1]
        try:
            async with asyncio.timeout(self.settings.timeout):
                return await self._send(call, lane, attempts)
        except TimeoutError:
            raise _deadline_error(call, self.settings, attempts[0], by_caller=False) from None

    async def _send(self, call: Call, lane: httpx.AsyncClient, tried: list[int]) -> Reply:
        attempts = 1 + (self.settings.retries if call.idempotent else 0)
        for attempt in range(1, attempts + 1):
            tried[0] = attempt
            try:
                response, body = await _read_async(lane, call)
            except _TooLarge:
                raise _too_large(call) from None
            except httpx.HTTPError as error:
                if attempt < attempts and _retryable(error):
                    await asyncio.sleep(self.settings.backoff * 2 ** (attempt - 1))
                    continue
                raise _network_error(call, error, self.settings, attempt) from None
            if attempt < attempts and response.status_code in RETRY_STATUSES:
                await asyncio.sleep(self.settings.backoff * 2 ** (attempt - 1))
                continue
            return _parse(call, response, body, now=int(self._clock()))
        raise AssertionError("unreachable")  # pragma: no cover

    async def send_all(self, calls: Iterable[Call]) -> list[Reply | EpayError]:
        """Every call's reply, or the error it ended in, in the order given."""
        pending = list(enumerate(calls))
        results: list[Reply | EpayError | None] = [None] * len(pending)
        work = iter(pending)  # shared by the workers: each call is taken once

        async def worker(lane: httpx.AsyncClient) -> None:
            for index, call in work:
                try:
                    results[index] = await self.send(call, lane)
                except EpayError as error:
                    results[index] = error

        lanes = min(self.concurrency, len(pending))
        while len(self._lanes) < lanes:
            self._lanes.append(self._lane())
        await asyncio.gather(*(worker(lane) for lane in self._lanes[:lanes]))
        return results  # type: ignore[return-value]


def send_all(calls: list[Call], settings: Settings = Settings(), *, concurrency: int = 16,
             clock: Callable[[], float] = time.time) -> list[Reply | EpayError]:
    """Run ``calls`` concurrently from synchronous code."""

    async def main() -> list[Reply | EpayError]:
        client = AsyncGatewayClient(settings, concurrency=concurrency, clock=clock)
        try:
            return await client.send_all(calls)
        finally:
            await client.aclose()

    return asyncio.run(main())
