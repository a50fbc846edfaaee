"""Passing a notify on to the shop's own handler, unchanged, and bringing back what it said."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from ..core.errors import InputError
from ..core.notify import DELIVERY_TIMEOUT_SECONDS, counts_as_delivered

# What a handler may look at; hop-by-hop headers and Host are the connection's own.
FORWARDED_HEADERS = ("content-type", "user-agent", "accept", "accept-language",
                     "x-forwarded-for", "x-real-ip")
MAX_ANSWER_BYTES = 64 * 1024


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

    def to_dict(self) -> dict:
        return {"url": self.url, "status": self.status, "body": self.body, "ms": round(self.ms, 2),
                "delivered": self.delivered, "error": self.error}


def check_target(url: str) -> str:
    """A forward target must be an absolute http(s) URL."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError(f"the forward target {url!r} is not an http(s) URL",
                         "give the handler's full URL, e.g. http://127.0.0.1:8000/epay/notify",
                         code="bad_forward_url")
    return url


class Forwarder:
    """One connection pool to the handler, shared by every request thread."""

    def __init__(self, url: str, *, timeout: float = DELIVERY_TIMEOUT_SECONDS) -> None:
        import httpx  # only a listener that forwards pays for httpx

        self.url = check_target(url)
        self._httpx = httpx
        self._client = httpx.Client(timeout=timeout, follow_redirects=False,
                                    limits=httpx.Limits(max_connections=64,
                                                        max_keepalive_connections=32))

    def send(self, method: str, query: bytes, body: bytes,
             headers: Iterable[tuple[str, str]], client_ip: str) -> Forwarded:
        """The notify as it came (method, query string, body, relevant headers); the query is
        appended to the target's own."""
        target = self.url
        if query:
            target += ("&" if "?" in target else "?") + query.decode("latin-1")
        sent = {k: v for k, v in headers if k.lower() in FORWARDED_HEADERS}
        sent.setdefault("X-Forwarded-For", client_ip)
        started = time.perf_counter()
        try:
            response = self._client.request(method, target, content=body or None, headers=sent)
            raw = response.content[:MAX_ANSWER_BYTES]
            return Forwarded(self.url, response.status_code, raw.decode("utf-8", "replace"),
                             response.headers.get("content-type", "text/plain"),
                             _ms(started), None)
        except self._httpx.TimeoutException:
            error = f"no answer within {self._client.timeout.read:g} s (a gateway gives up then)"
        except self._httpx.ConnectError:
            error = "connection refused: is the handler running?"
        except self._httpx.HTTPError as failure:
            error = f"{type(failure).__name__}: {failure}"
        except (self._httpx.InvalidURL, ValueError, UnicodeError) as failure:
            error = f"cannot be sent on as it came ({type(failure).__name__}: {failure})"
        return Forwarded(self.url, None, "", "text/plain", _ms(started), error)

    def close(self) -> None:
        self._client.close()


class Workers:
    """Daemon threads that run the forwards, so the event loop never waits for a shop's
    handler. ``close`` waits for them a bounded time: a handler that trickles its answer out
    byte by byte is not waited for (httpx's timeout is per read)."""

    def __init__(self, count: int, name: str) -> None:
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._threads = [threading.Thread(target=self._run, name=f"{name}-{number}", daemon=True)
                         for number in range(count)]
        for thread in self._threads:
            thread.start()

    def submit(self, function: Callable, args: tuple,
               then: Callable[[object, Exception | None], object]) -> None:
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
