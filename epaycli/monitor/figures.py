"""The monitor's figures over a sliding window, computed from plain data: the gateway's orders,
the notifies the listener journaled, and the response times of epay's own probes. Pure: no
network, no files, no clock (``now`` is handed in)."""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from typing import Any, NamedTuple

from ..core.errors import InputError
from ..core.money import amounts_equal, parse_received_money
from .text import say

_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*([smhd]?)")
_TZ = re.compile(r"(?:utc|gmt)?\s*(?:([+-])(\d{1,2})(?::?(\d{2}))?)?")
DEFAULT_GATEWAY_TZ = 8 * 3600  # real servers write Beijing time
PAID_STATUSES = frozenset({1, 2, 3, 4})  # refunded, frozen and pre-authorised were paid first
ABNORMAL_KINDS = ("notify_missing", "bad_signature", "amount_mismatch", "pid_mismatch",
                  "duplicate_changed")


def parse_duration(text: str, what: str, *, low: float = 1, high: float = 30 * 86400) -> float:
    """``30s``, ``15m``, ``1h``, ``2d`` or a plain number of seconds."""
    found = _DURATION.fullmatch(str(text).strip().lower())
    if not found:
        raise InputError(say("duration_invalid", what=what, value=text), say("duration_hint"),
                         code="bad_duration")
    seconds = float(found.group(1)) * _UNITS[found.group(2)]
    if not low <= seconds <= high:
        raise InputError(say("duration_range", what=what, value=text,
                             low=format_duration(low), high=format_duration(high)),
                         say("duration_hint"), code="bad_duration")
    return seconds


def format_duration(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


def parse_tz(text: str) -> int:
    """A UTC offset in seconds: ``UTC+8``, ``+08:00``, ``UTC``, ``-5``."""
    found = _TZ.fullmatch(str(text).strip().lower())
    if not found or not str(text).strip():
        raise InputError(say("tz_invalid", value=text), say("tz_hint"), code="bad_timezone")
    sign, hours, minutes = found.groups()
    if sign is None:
        return 0
    offset = int(hours) * 3600 + int(minutes or 0) * 60
    if offset > 14 * 3600 or int(minutes or 0) >= 60:
        raise InputError(say("tz_invalid", value=text), say("tz_hint"), code="bad_timezone")
    return -offset if sign == "-" else offset


@lru_cache(maxsize=16384)
def gateway_time(text: str, offset: int) -> float | None:
    """``addtime``/``endtime`` (``2026-12-06 17:30:00``, the gateway's local time) → Unix.
    Read by position (strptime costs ~15 µs, and a window may hold 100,000 orders), and
    remembered: a window of an hour holds at most 3,600 distinct seconds of each, however
    many orders share them."""
    if not text or len(text) != 19 or text[4] != "-" or text[10] != " " or text[13] != ":":
        return None
    try:
        fields = (int(text[0:4]), int(text[5:7]), int(text[8:10]), int(text[11:13]),
                  int(text[14:16]), int(text[17:19]))
    except ValueError:
        return None
    if not (1 <= fields[1] <= 12 and 1 <= fields[2] <= 31 and fields[3] < 24 and fields[4] < 60
            and fields[5] < 61):
        return None
    return calendar.timegm((*fields, 0, 0, 0)) - offset


def shown_gateway_time(stamp: float, offset: int) -> str:
    return datetime.fromtimestamp(stamp, timezone(timedelta(seconds=offset))).strftime(
        "%Y-%m-%d %H:%M:%S")


def shown_offset(offset: int) -> str:
    sign = "-" if offset < 0 else "+"
    hours, rest = divmod(abs(offset), 3600)
    return f"UTC{sign}{hours}" + (f":{rest // 60:02d}" if rest else "")


@dataclass(frozen=True)
class Thresholds:
    min_success_rate: float = 0.995
    max_response_ms: float = 500.0
    max_abnormal_rate: float = 0.001  # abnormal orders must stay below it


@dataclass(frozen=True)
class Window:
    """What the figures look at, and how long an order may take."""

    seconds: float = 3600.0
    pay_timeout: float = 900.0
    notify_grace: float = 300.0
    gateway_tz: int = DEFAULT_GATEWAY_TZ
    pid: str = ""


class GatewayOrder(NamedTuple):
    """An order as the gateway lists it, its times in Unix seconds. A named tuple: a first
    interval makes 100,000 of them, and a tuple is made ~4x faster than a frozen dataclass."""

    trade_no: str
    out_trade_no: str
    money: str
    status: int | None
    pid: str
    added_at: float | None
    paid_at: float | None

    @classmethod
    def from_fields(cls, order: Mapping[str, Any], offset: int) -> GatewayOrder:
        """From an order as the gateway wrote it (a listed row or a query's answer: numbers
        or text, null or false for nothing)."""
        get = order.get
        status = get("status")
        if status.__class__ is not int:  # a bool is no status either
            status = int(status) if isinstance(status, str) and status.isdigit() else None
        money = get("money")
        if money.__class__ is not str:
            money = f"{money:.2f}" if isinstance(money, float) else _text(money)
        trade_no, number, pid = get("trade_no"), get("out_trade_no"), get("pid")
        added, paid = get("addtime"), get("endtime")
        return cls(trade_no if trade_no.__class__ is str else _text(trade_no),
                   number if number.__class__ is str else _text(number), money, status,
                   pid if pid.__class__ is str else _text(pid),
                   gateway_time(added if added.__class__ is str else _text(added), offset),
                   gateway_time(paid if paid.__class__ is str else _text(paid), offset))

    @property
    def paid(self) -> bool:
        return self.status in PAID_STATUSES


@dataclass(frozen=True)
class SeenNotify:
    """A notify the listener journaled: what the monitor needs of it."""

    id: int
    received_at: float
    trade_no: str
    out_trade_no: str
    pid: str
    money: str
    verdict: str  # genuine | rejected | bad_signature | malformed
    reason: str
    content_changed: bool
    duplicate_count: int
    problems: tuple[str, ...] = ()  # the verdict's problem codes (amount_mismatch …)

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> SeenNotify:
        """From a journal record (``listener.journal.record_dict``)."""
        return cls(int(record.get("id") or 0), float(record.get("received_at") or 0),
                   str(record.get("trade_no") or ""), str(record.get("out_trade_no") or ""),
                   str(record.get("pid") or ""), str(record.get("money") or ""),
                   str(record.get("verdict") or ""), str(record.get("reason") or ""),
                   bool(record.get("content_changed")), int(record.get("duplicate_count") or 0),
                   _problem_codes(record.get("report")))

    @property
    def signature_verified(self) -> bool:
        return self.verdict in ("genuine", "rejected")


def _text(value: object) -> str:
    return "" if value is None or value is False else str(value)


def _problem_codes(report: object) -> tuple[str, ...]:
    if not isinstance(report, Mapping):
        return ()
    return tuple(str(p.get("code")) for p in report.get("problems") or ()
                 if isinstance(p, Mapping))


@dataclass(frozen=True)
class Abnormal:
    out_trade_no: str
    trade_no: str
    kind: str
    detail: str

    def to_dict(self) -> dict[str, object]:
        return {"out_trade_no": self.out_trade_no, "trade_no": self.trade_no, "kind": self.kind,
                "detail": self.detail}


@dataclass(frozen=True)
class Breach:
    figure: str  # success_rate | avg_response_ms | abnormal_rate | gateway
    value: float | str
    threshold: float | None

    def to_dict(self) -> dict[str, object]:
        return {"figure": self.figure, "value": self.value, "threshold": self.threshold}

    def sentence(self) -> str:
        value: object = self.value
        threshold: object = self.threshold
        if self.figure in ("success_rate", "abnormal_rate") and not isinstance(self.value, str):
            value, threshold = percent(self.value), percent(self.threshold)
        elif self.figure == "avg_response_ms":
            value, threshold = f"{self.value:g}", f"{self.threshold:g}"
        return say(f"breach_{self.figure}", value=value, threshold=threshold)


@dataclass(frozen=True)
class Report:
    window: float
    orders: int
    paid: int
    success_rate: float | None
    avg_response_ms: float | None
    p95_response_ms: float | None
    abnormal_rate: float | None
    abnormal: tuple[Abnormal, ...]
    notify_latency_ms: float | None
    breaches: tuple[Breach, ...]

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` line: exactly these names (stable ids)."""
        return {"window": int(self.window) if self.window == int(self.window) else self.window,
                "orders": self.orders, "paid": self.paid, "success_rate": self.success_rate,
                "avg_response_ms": self.avg_response_ms,
                "p95_response_ms": self.p95_response_ms, "abnormal_rate": self.abnormal_rate,
                "abnormal": [a.to_dict() for a in self.abnormal],
                "notify_latency_ms": self.notify_latency_ms,
                "breaches": [b.to_dict() for b in self.breaches]}


@dataclass
class Probes:
    """Response times of epay's own probes, kept as long as the window."""

    samples: list[tuple[float, float]] = field(default_factory=list)  # (at, milliseconds)

    def add(self, at: float, milliseconds: float) -> None:
        self.samples.append((at, milliseconds))

    def within(self, start: float) -> list[float]:
        self.samples = [(at, ms) for at, ms in self.samples if at >= start]
        return [ms for _, ms in self.samples]


def percent(value: float | None) -> str:
    return say("not_known") if value is None else f"{value * 100:.2f} %"


def nearest_rank(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, -(-len(ordered) * fraction // 1) - 1))
    return ordered[int(index)]


def compute(orders: Iterable[GatewayOrder], notifies: Iterable[SeenNotify] | None,
            response_ms: list[float], *, now: float, window: Window, thresholds: Thresholds,
            gateway_error: str | None = None) -> Report:
    """The figures of one interval. ``notifies`` is None without a journal (then nothing is
    said about notifies: no latency, no notify-based abnormal orders)."""
    start = now - window.seconds
    # one pass: a window may hold 100,000 orders, and this runs every interval
    in_window: list[GatewayOrder] = []
    paid = unpaid_due = 0
    due_by = now - window.pay_timeout
    for order in orders:
        added = order.added_at
        if added is not None and added < start:
            continue
        in_window.append(order)
        if order.status in PAID_STATUSES:
            paid += 1
        elif order.status == 0 and added is not None and added <= due_by:
            unpaid_due += 1
    due = paid + unpaid_due
    success_rate = round(paid / due, 6) if due else None
    avg = round(sum(response_ms) / len(response_ms), 1) if response_ms else None
    p95 = round(nearest_rank(response_ms, 0.95), 1) if response_ms else None
    abnormal: list[Abnormal] = []
    latency = None
    if notifies is not None:
        seen = [n for n in notifies if n.received_at >= start]
        abnormal, latency = _notify_figures(in_window, seen, now=now, window=window)
    distinct = len({a.trade_no or a.out_trade_no for a in abnormal})
    abnormal_rate = (round(min(1.0, distinct / paid), 6) if paid
                     else (1.0 if distinct else None))
    breaches = []
    if success_rate is not None and success_rate < thresholds.min_success_rate:
        breaches.append(Breach("success_rate", success_rate, thresholds.min_success_rate))
    if avg is not None and avg > thresholds.max_response_ms:
        breaches.append(Breach("avg_response_ms", avg, thresholds.max_response_ms))
    if abnormal_rate is not None and abnormal_rate >= thresholds.max_abnormal_rate:
        breaches.append(Breach("abnormal_rate", abnormal_rate, thresholds.max_abnormal_rate))
    if gateway_error:
        breaches.append(Breach("gateway", gateway_error, None))
    return Report(window.seconds, len(in_window), paid, success_rate, avg, p95,
                  abnormal_rate, tuple(abnormal), latency, tuple(breaches))


def _notify_figures(orders: list[GatewayOrder], notifies: list[SeenNotify], *, now: float,
                    window: Window) -> tuple[list[Abnormal], float | None]:
    by_trade_no = {o.trade_no: o for o in orders if o.trade_no}
    by_number = {o.out_trade_no: o for o in orders if o.out_trade_no}
    verified: dict[str, float] = {}  # trade_no → first verified notify
    found: dict[tuple[str, str], Abnormal] = {}

    def note(notify: SeenNotify, kind: str, detail: str) -> None:
        key = (notify.trade_no or notify.out_trade_no, kind)
        if key not in found:
            found[key] = Abnormal(notify.out_trade_no, notify.trade_no, kind, detail)

    for notify in sorted(notifies, key=lambda n: (n.received_at, n.id)):
        order = by_trade_no.get(notify.trade_no) or by_number.get(notify.out_trade_no)
        if notify.verdict == "bad_signature":
            note(notify, "bad_signature", say("abnormal_bad_signature", reason=notify.reason))
            continue
        if not notify.signature_verified:
            continue
        if order is not None:
            verified.setdefault(order.trade_no, notify.received_at)
            ordered = parse_received_money(order.money)
            if ordered is not None and notify.money and not amounts_equal(notify.money, ordered):
                note(notify, "amount_mismatch", say("abnormal_amount_mismatch",
                                                    notified=notify.money, ordered=order.money))
        elif "amount_mismatch" in notify.problems:
            note(notify, "amount_mismatch", say("abnormal_amount_mismatch",
                                                notified=notify.money, ordered="?"))
        if window.pid and notify.pid and notify.pid != window.pid:
            note(notify, "pid_mismatch", say("abnormal_pid_mismatch", notified=notify.pid,
                                             pid=window.pid))
        if notify.content_changed:
            note(notify, "duplicate_changed", say("abnormal_duplicate_changed",
                                                  count=notify.duplicate_count + 1))
    latencies = []
    missing = []
    for order in orders:
        if not order.paid or order.paid_at is None:
            continue
        received = verified.get(order.trade_no)
        if received is not None:
            latencies.append(max(0.0, received - order.paid_at) * 1000)
        elif order.status == 1 and order.paid_at + window.notify_grace <= now:
            missing.append(Abnormal(order.out_trade_no, order.trade_no, "notify_missing",
                                    say("abnormal_notify_missing",
                                        paid=shown_gateway_time(order.paid_at, window.gateway_tz),
                                        gateway_tz=shown_offset(window.gateway_tz),
                                        grace=format_duration(window.notify_grace))))
    latency = round(sum(latencies) / len(latencies), 1) if latencies else None
    return missing + list(found.values()), latency
