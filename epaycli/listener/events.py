"""What ``epay listen`` reports: one frozen dataclass per kind of event. The engine and the
session emit them (never print); ``to_dict()`` is the event's ``--json`` line — the contract
in docs/events.md, whose field names and order stay as they are — and the human renderer
dispatches on the type."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Self

from .journal import iso_time

if TYPE_CHECKING:
    from .forwarder import ForwardAnswer
    from .journal import Record


class ListenEvent:
    """An event of the listener; ``name`` is its ``"event"`` in JSON."""

    name: ClassVar[str]

    def to_dict(self) -> dict[str, Any]:
        # A dataclass's __init__ sets its fields in their order, so its __dict__ is the
        # line's order already (a copy, not a getattr a field: one of these a notify)
        return {"event": self.name, **self.__dict__}


@dataclass(frozen=True)
class _RequestEvent(ListenEvent):
    """A request answered (said once it is journaled, just before its answer is written)."""

    id: int | None  # its row in the journal (None until committed)
    time: str  # when it arrived, ISO 8601 UTC
    kind: str  # notify | bad_request | too_large | not_found | timeout
    method: str
    path: str
    client: str
    trade_no: str
    out_trade_no: str
    money: str
    type: str
    pid: str
    trade_status: str
    valid: bool | None
    verdict: str  # genuine | bad_signature | rejected | malformed
    reason: str
    duplicate_count: int  # copies of this trade_no before this one
    content_changed: bool  # … and this one says something else than the first
    changed_fields: list[dict[str, str | None]] | None  # [{name, before, after}]; None: not known
    order_amount: str | None  # the amount of the order epay recorded, if any
    answer: str
    answer_status: int
    delivered: bool  # would a gateway count the answer as delivered?
    answered_by: str  # verdict | reply | forward
    forward: ForwardAnswer | None  # the shop handler's answer, when forwarding
    sign_type: str
    check: dict[str, Any] | None  # the whole verdict (CallbackReport.to_dict())
    params: dict[str, str] | None  # the parameters as received (masked)
    timings: dict[str, float] | None = None  # milliseconds: judge_ms, forward_ms, journal_ms
    ms: float | None = None  # from the first byte to the answer

    @classmethod
    def of(cls, record: Record, *, id: int | None = None, ms: float | None = None,
           timings: dict[str, float] | None = None) -> Self:
        """The event of a journal record; its id and times are known once it is committed."""
        # (the keys every record has are read by subscript; a notify's own, by get)
        params = record["params"] or {}
        report = record.get("report") or {}
        return cls(
            id=id, time=iso_time(record["received_at"]), kind=record["kind"],
            method=record["method"], path=record["path"], client=record["client"],
            trade_no=record.get("trade_no", ""), out_trade_no=record.get("out_trade_no", ""),
            money=record.get("money", ""), type=record.get("type", ""),
            pid=record.get("pid", ""), trade_status=params.get("trade_status", ""),
            valid=record["valid"], verdict=record["verdict"], reason=record["reason"],
            duplicate_count=record.get("duplicate_count") or 0,
            content_changed=bool(record.get("content_changed")),
            changed_fields=record.get("changed_fields"),
            order_amount=record.get("order_amount"),
            answer=record["answer"], answer_status=record["answer_status"],
            delivered=record["delivered"], answered_by=record["answered_by"],
            forward=record.get("forward"), sign_type=report.get("sign_type", ""),
            check=report or None, params=record["params"], timings=timings, ms=ms)


@dataclass(frozen=True)
class Notify(_RequestEvent):
    """A notify read whole: judged, journaled, answered."""

    name: ClassVar[str] = "notify"


@dataclass(frozen=True)
class BadRequest(_RequestEvent):
    """A request that is not a readable notify (malformed, too large, cut off, elsewhere)."""

    name: ClassVar[str] = "bad_request"


@dataclass(frozen=True)
class NotJournaled(ListenEvent):
    """A request could not be journaled, so it was answered 503 (never acknowledged)."""

    name: ClassVar[str] = "journal_error"
    code: str  # journal_unwritable | journal_locked
    message: str
    hint: str
    time: str


@dataclass(frozen=True)
class InternalError(ListenEvent):
    """A bug in epay: the connection is closed, the listener serves on."""

    name: ClassVar[str] = "internal_error"
    time: str
    message: str


@dataclass(frozen=True)
class Ready(ListenEvent):
    """The listener accepts notifies (and the public URL, if any, reaches it)."""

    name: ClassVar[str] = "ready"
    time: str
    local_url: str
    public_url: str | None
    journal: str
    path: str | None  # None: any path
    forward_to: str | None
    reply: str
    pid: str | None
    agent_pid: int | None  # the ngrok agent's process, with --tunnel
    inspector_url: str | None = None  # the web page of the journal, with --inspect


@dataclass(frozen=True)
class ListenWarning(ListenEvent):
    name: ClassVar[str] = "warning"
    time: str
    message: str


@dataclass(frozen=True)
class Stopped(ListenEvent):
    name: ClassVar[str] = "stopped"
    time: str
    reason: str  # stopped | interrupted
    answered: int


@dataclass(frozen=True)
class ProfileUpdated(ListenEvent):
    """The notify URL was stored as the profile's notify_url (--set-profile)."""

    name: ClassVar[str] = "profile_updated"
    time: str
    profile: str
    notify_url: str


@dataclass(frozen=True)
class TunnelOk(ListenEvent):
    name: ClassVar[str] = "tunnel_ok"
    time: str
    public_url: str | None
    ms: float


@dataclass(frozen=True)
class TunnelLost(ListenEvent):
    name: ClassVar[str] = "tunnel_lost"
    time: str
    public_url: str | None
    reason: str
    action: str  # exit | reopening | watching


@dataclass(frozen=True)
class TunnelError(ListenEvent):
    name: ClassVar[str] = "tunnel_error"
    time: str
    message: str
    hint: str | None


@dataclass(frozen=True)
class TunnelReopened(ListenEvent):
    name: ClassVar[str] = "tunnel_reopened"
    time: str
    public_url: str | None
    agent_pid: int | None
    changed: bool  # a new URL: notify_url must be updated
