"""What the local gateway says while it runs: one frozen record per kind. ``--json`` prints each
event's ``to_dict()`` on a line of its own (the contract: docs/events.md, "epay mock"); the
human renderer (``cli/mock.py``) dispatches on the type. Field names are stable ids."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class GatewayStarted:
    """The gateway listens: where, as which merchants, with which data."""

    url: str
    pid: str
    key: str  # the sandbox merchant's key: public on purpose, it signs only sandbox traffic
    v2_pid: str
    v2_private_key: str | None  # the V2 merchant's key file (None: kept in memory)
    v2_public_key: str | None  # the platform public key file (None: kept in memory)
    data_dir: str | None
    process: int
    quirks: str
    profiles: tuple[str, ...]  # what was written to the profiles file, as sentences

    def to_dict(self) -> dict[str, Any]:
        return {"event": "started", "url": self.url, "pid": self.pid, "key": self.key,
                "v2": {"pid": self.v2_pid, "private_key": self.v2_private_key,
                       "public_key": self.v2_public_key},
                "data_dir": self.data_dir, "process": self.process, "quirks": self.quirks,
                "profiles": list(self.profiles)}


@dataclass(frozen=True)
class NotifyAttempt:
    """One notify the gateway sent to a shop (or meant to: ``error`` says why nothing came
    back), as its delivery log records it."""

    out_trade_no: str
    trade_no: str
    attempt: int  # 1 … 5 on the retry schedule
    copy: int  # 2 for the second copy the "duplicate" fault sends
    at: float  # Unix seconds, from the gateway's clock
    method: str
    url: str
    status: int | None
    body: str  # the answer's start
    error: str | None
    delivered: bool  # the answer contained "success", as a gateway counts it
    faults: str  # the faults applied, comma-separated ("" for none)
    elapsed_ms: int | None

    def to_dict(self) -> dict[str, Any]:
        return {"event": "notify", "out_trade_no": self.out_trade_no, "trade_no": self.trade_no,
                "attempt": self.attempt, "copy": self.copy, "at": self.at,
                "method": self.method, "url": self.url, "status": self.status, "body": self.body,
                "error": self.error, "delivered": self.delivered, "faults": self.faults,
                "elapsed_ms": self.elapsed_ms}


@dataclass(frozen=True)
class RequestFailed:
    """A request the gateway could not handle (a bug: it answered 500 and kept serving)."""

    path: str
    error: str

    def to_dict(self) -> dict[str, Any]:
        return {"event": "error", "path": self.path, "error": self.error}


MockEvent = GatewayStarted | NotifyAttempt | RequestFailed
