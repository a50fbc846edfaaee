"""Passing a notify on to the shop's own handler, unchanged, and bringing back what it said."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Generic, TypedDict, TypeVar
from urllib.parse import urlsplit

from ..core.errors import InputError
from ..core.notify import DELIVERY_TIMEOUT_SECONDS, counts_as_delivered

# What a handler may look at; hop-by-hop headers and Host are the connection's own.
FORWARDED_HEADERS = ("content-type", "user-agent", "accept", "accept-language",
                     "x-forwarded-for", "x-real-ip")
MAX_ANSWER_BYTES = 64 * 1024


class ForwardAnswer(TypedDict):
    """``Forwarded.to_dict()``: the ``forward`` of a notify event and of the journal."""

    url: str
    status: int | None
    body: str
    ms: float
    delivered: bool
    error: str | None


@dataclass(frozen=True)
class Forwarded:
    url: str
    status: int | None  # None: no answer (down, timeout)
    body: str
    content_type: str
    ms: float
    error: str | None

    @property
    def delivered(self) -> bool:
        return self.status is not None and counts_as_delivered(self.body)

    def to_dict(self) -> ForwardAnswer:
        return {"url": self.url, "status": self.status, "body": self.body, "ms": round(self.ms, 2),
                "delivered": self.delivered, "error": self.error}


def check_target(url: str) -> str:
    """A forward target must be an absolute http(s) URL."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError("the forward target {url!r} is not an http(s) URL",
                         "give the handler's full URL, e.g. http://127.0.0.1:8000/epay/notify",
                         code="bad_forward_url", fields={"url": url})
    return url


class Forwarder:
    """One connection pool to the handler, shared by every request thread. ``timeout`` is a
    deadline for the whole exchange — connect, send, the answer's head and body — as a gateway
    has it: a handler that sends its headers and then a byte a second is given up on at the
    deadline, not kept while each byte comes within it (httpx's own timeouts are per read). The
    requests run on one event loop thread of the forwarder's own, where ``asyncio.timeout``
    bounds each one whole."""

    def __init__(self, url: str, *, timeout: float = DELIVERY_TIMEOUT_SECONDS) -> None:
        import asyncio

        import httpx  # only a listener that forwards pays for httpx

        self.url = check_target(url)
        self.timeout = timeout
        self._httpx = httpx
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="epay-forwarder",
                                        daemon=True)
        self._thread.start()
        self._client = httpx.AsyncClient(timeout=timeout, follow_redirects=False,
                                         limits=httpx.Limits(max_connections=64,
                                                             max_keepalive_connections=32))

    def send(self, method: str, query: bytes, body: bytes,
             headers: Iterable[tuple[str, str]], client_ip: str) -> Forwarded:
        """The notify as it came (method, query string, body, relevant headers); the query is
        appended to the target's own. Called from any thread; returns by the deadline."""
        import asyncio
        from concurrent.futures import CancelledError

        target = self.url
        if query:
            target += ("&" if "?" in target else "?") + query.decode("latin-1")
        sent = {k: v for k, v in headers if k.lower() in FORWARDED_HEADERS}
        sent.setdefault("X-Forwarded-For", client_ip)
        started = time.perf_counter()
        try:
            status, raw, content_type = asyncio.run_coroutine_threadsafe(
                self._exchange(method, target, body, sent), self._loop).result(self.timeout + 5)
            return Forwarded(self.url, status, raw.decode("utf-8", "replace"), content_type,
                             _ms(started), None)
        except (TimeoutError, self._httpx.TimeoutException):
            error = f"no answer within {self.timeout:g} s (a gateway gives up then)"
        except self._httpx.ConnectError:
            error = "connection refused: is the handler running?"
        except self._httpx.HTTPError as failure:
            error = f"{type(failure).__name__}: {failure}"
        except (self._httpx.InvalidURL, ValueError, UnicodeError) as failure:
            error = f"cannot be sent on as it came ({type(failure).__name__}: {failure})"
        except (RuntimeError, CancelledError):  # the forwarder was closed while this one ran
            error = "the listener stopped before the handler answered"
        return Forwarded(self.url, None, "", "text/plain", _ms(started), error)

    async def _exchange(self, method: str, target: str, body: bytes,
                        headers: dict[str, str]) -> tuple[int, bytes, str]:
        import asyncio

        async with asyncio.timeout(self.timeout):
            async with self._client.stream(method, target, content=body or None,
                                           headers=headers) as response:
                raw = bytearray()
                async for chunk in response.aiter_raw():
                    raw += chunk
                    if len(raw) >= MAX_ANSWER_BYTES:
                        break
                return (response.status_code, bytes(raw[:MAX_ANSWER_BYTES]),
                        response.headers.get("content-type", "text/plain"))

    def close(self) -> None:
        """Close the pool and stop the loop; a forward still running ends with an error."""
        import asyncio

        if not self._loop.is_running():
            return
        async def end() -> None:
            running = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
            for task in running:
                task.cancel()
            # their futures resolve (the waiting workers wake) before the loop stops
            await asyncio.gather(*running, return_exceptions=True)
            await self._client.aclose()

        try:
            asyncio.run_coroutine_threadsafe(end(), self._loop).result(2)
        except Exception:  # noqa: BLE001 - closing: what is left ends with the loop
            pass
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(2)


_Result = TypeVar("_Result")


class Workers(Generic[_Result]):
    """Daemon threads that run the forwards, so the event loop never waits for a shop's
    handler. ``close`` waits for them a bounded time."""

    def __init__(self, count: int, name: str) -> None:
        # (function, args, then): then(result, error) once it ran
        self._jobs: queue.SimpleQueue[tuple[Callable[..., _Result], tuple[object, ...], Callable[
            [_Result | None, Exception | None], object]] | None] = queue.SimpleQueue()
        self._threads = [threading.Thread(target=self._run, name=f"{name}-{number}", daemon=True)
                         for number in range(count)]
        for thread in self._threads:
            thread.start()

    def submit(self, function: Callable[..., _Result], args: tuple[object, ...],
               then: Callable[[_Result | None, Exception | None], object]) -> None:
        """Run ``function(*args)`` on a worker; then ``then(result, error)`` there."""
        self._jobs.put((function, args, then))

    def _run(self) -> None:
        while (job := self._jobs.get()) is not None:
            function, args, then = job
            try:
                result, error = function(*args), None
            except Exception as failure:  # noqa: BLE001 - handed to whoever asked
                result, error = None, failure
            try:
                then(result, error)
            except Exception:  # noqa: BLE001 - the listener is stopping
                pass

    def close(self, timeout: float) -> None:
        for _ in self._threads:
            self._jobs.put(None)
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000
