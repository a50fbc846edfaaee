"""Re-sending a journaled request to a handler — as it came, or changed and re-signed — to
reproduce what a handler did with it."""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from ..core.errors import InputError, NetworkError
from ..core.notify import DELIVERY_TIMEOUT_SECONDS, counts_as_delivered
from ..core.php import http_build_query
from ..core.signing import Signer

_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*([smhd])")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_KEPT_HEADERS = ("content-type", "user-agent", "accept", "accept-language")
_ANSWER_LIMIT = 65536


def parse_since(text: str, now: float) -> float:
    """``--since``: a duration back from now (``90s``, ``10m``, ``2h``, ``3d``), Unix
    seconds, or an ISO date/time (UTC when it names no zone)."""
    value = text.strip()
    match = _DURATION.fullmatch(value)
    if match:
        return now - float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if value.isdigit():
        return float(value)
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InputError("--since {text!r} is not a time",
                         "give 10m, 2h, 3d, Unix seconds or 2026-12-01T08:00",
                         code="bad_replay_since", fields={"text": text}) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


@dataclass(frozen=True)
class Replay:
    """What will be sent."""

    method: str
    url: str
    body: bytes
    headers: dict[str, str]
    changed: bool
    masked_fields: tuple[str, ...]

    def to_dict(self) -> dict[str, object]:
        return {"method": self.method, "url": self.url,
                "body": self.body.decode("utf-8", "backslashreplace"),
                "headers": self.headers, "changed": self.changed,
                "masked_fields": list(self.masked_fields)}


def build_replay(record: Mapping[str, Any], target: str, *,
                 changes: Mapping[str, str] | None = None,
                 signer: Signer | None = None, now: int | None = None) -> Replay:
    """The request to re-send: the journaled bytes unchanged, or — with ``changes`` or a
    ``signer`` — its parameters changed (``k=v``; an empty value removes the field) and, with
    a signer, signed again (sign and sign_type replaced; V2 gets a fresh timestamp)."""
    parts = urlsplit(target)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError("the replay target {target!r} is not an http(s) URL",
                         "give the handler's full URL, e.g. http://127.0.0.1:8000/notify",
                         code="bad_replay_url", fields={"target": target})
    method = record["method"] if record["method"] in ("GET", "POST") else "GET"
    headers = {name: value for name, value in record["headers"]
               if name.lower() in _KEPT_HEADERS}
    params = record.get("params")
    masked = tuple(name for name, value in (params or {}).items() if "…" in value)
    if not changes and signer is None:
        query = record["query"].encode("utf-8", "surrogateescape") if record["query"] else b""
        body = record["body"].encode("utf-8", "surrogateescape")
        return Replay(method, _join(target, query.decode("latin-1")), body, headers, False,
                      masked)
    if params is None:
        raise InputError("request {id} was not a readable notify, so it has no fields to "
                         "change", "replay it unchanged", code="replay_unreadable",
                         fields={"id": record["id"]})
    fields = dict(params)
    for name, value in (changes or {}).items():
        if value == "":
            fields.pop(name, None)
        else:
            fields[name] = value
    if signer is not None:
        from ..core.notify import signed_notify

        fields = {k: v for k, v in fields.items() if k not in ("sign", "sign_type", "timestamp")}
        fields = signed_notify(fields, signer, now=now)
    encoded = http_build_query(fields)
    from_body = method == "POST" and bool(record["body"]) and "pid" not in record["query"]
    if from_body:
        headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        return Replay(method, target, encoded.encode("utf-8"), headers, True, masked)
    return Replay(method, _join(target, encoded), b"", headers, True, masked)


def _join(target: str, query: str) -> str:
    if not query:
        return target
    return target + ("&" if "?" in target else "?") + query


@dataclass(frozen=True)
class ReplayResult:
    status: int
    body: str
    ms: float

    @property
    def delivered(self) -> bool:
        return counts_as_delivered(self.body)

    def to_dict(self) -> dict[str, object]:
        return {"status": self.status, "body": self.body, "ms": round(self.ms, 2),
                "delivered": self.delivered}


def send_replay(replay: Replay, *, timeout: float = DELIVERY_TIMEOUT_SECONDS) -> ReplayResult:
    """Send it the way a gateway does: no redirects followed, the whole answer within
    ``timeout`` — a deadline, so a handler that trickles its answer out a byte at a time is
    given up on then (httpx's own timeouts are per read)."""
    import asyncio

    import httpx

    async def exchange() -> tuple[int, bytes]:
        async with asyncio.timeout(timeout), \
                httpx.AsyncClient(timeout=timeout, follow_redirects=False) as client, \
                client.stream(replay.method, replay.url, content=replay.body or None,
                              headers=replay.headers) as response:
            body = bytearray()
            async for chunk in response.aiter_raw():
                body += chunk
                if len(body) >= _ANSWER_LIMIT:
                    break
            return response.status_code, bytes(body[:_ANSWER_LIMIT])

    started = time.perf_counter()
    try:
        status, body = asyncio.run(exchange())
    except (TimeoutError, httpx.TimeoutException):
        raise NetworkError("{url} did not answer within {timeout:g} s",
                           "a gateway gives up then: make the handler answer faster",
                           code="replay_timeout",
                           fields={"url": replay.url, "timeout": timeout}) from None
    except httpx.HTTPError as error:
        raise NetworkError("cannot reach {url} ({reason})", "is the handler running?",
                           code="replay_unreachable",
                           fields={"url": replay.url, "reason": type(error).__name__}) from None
    return ReplayResult(status, body.decode("utf-8", "replace"),
                        (time.perf_counter() - started) * 1000)
