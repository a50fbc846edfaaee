"""What the ``epay order`` and ``epay merchant`` commands do, one function each: send a ``Call``
the command built (the same one ``--dry-run`` shows) and turn the answer into a typed result.
The CLI renders the result.

A ``client`` is anything with ``send(call, deadline=…) -> Reply`` (``client.GatewayClient``);
batches go through ``client.send_all`` (async, bounded concurrency).

Every result that reports an order carries its ``AmountCheck``: the gateway's amount against
the amount epay recorded when it created the order. ``order wait``, ``query``, ``query --from``
and ``list`` all take it from here, so a script never delivers on a wrong amount.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from ..core.errors import EpayError, GatewayError
from ..core.money import amounts_equal, format_wire, parse_received_money
from ..core.redact import mask
from ..core.words import Text, Texts
from . import calls
from .calls import Call, OrderRequest
from .replies import (
    STATUS_NAMES,
    Reply,
    create_fields,
    order_fields,
    pay_field,
    php_string,
    rows_of,
)

if TYPE_CHECKING:
    from .client import Settings


class Sender(Protocol):
    def send(self, call: Call, *, deadline: float | None = None) -> Reply: ...


class LocalOrder(Protocol):
    """An order as epay recorded it when it created it (``state.RecordedOrder``)."""

    @property
    def money(self) -> Decimal: ...

    @property
    def trade_no(self) -> str: ...

    def to_dict(self) -> dict[str, Any]: ...


# out_trade_no → the order epay recorded, or None (not created by epay, or no record).
Recorded = Callable[[str], "LocalOrder | None"]

# ---- the amount: the gateway's against epay's record ------------------------------------------


@dataclass(frozen=True)
class AmountCheck:
    """What epay ordered against what the gateway holds, compared numerically."""

    ordered: Decimal
    held: str  # the gateway's money, as it wrote it

    @property
    def matches(self) -> bool:
        return amounts_equal(self.held, self.ordered)

    def to_dict(self) -> dict[str, Any]:
        return {"amount_matches": self.matches, "ordered_money": format_wire(self.ordered),
                "gateway_money": self.held}

    def line(self, out_trade_no: str) -> Text:
        """The one plain line a mismatch gets."""
        return _note("amount_mismatch", out_trade_no=out_trade_no, held=self.held,
                     ordered=format_wire(self.ordered))


MESSAGES = {
    "amount_mismatch": "{out_trade_no}: the gateway holds money {held} but epay ordered "
                       "{ordered}: do not deliver on this order",
    "empty_page": "the gateway answered HTTP 500 with an empty body at offset {offset}: read as "
                  "no orders there (past the end), but a server fault looks the same — if "
                  "orders are missing, its error log says",
    "not_an_order": "the gateway's answer is not an order: {what}",
    "not_rows": "a listing whose data is not a list of rows: {what}",
    "success_without_trade_no": "a success (code {code}) without a trade_no",
    "bad_status": "status {status} is none of 0-4",
    "bad_money": "money {money} is not an amount",
    "missing": "'(missing)'",
    "no_pay_field": "the gateway made order {out_trade_no} (trade_no {trade_no}) but gave no way "
                    "to pay it (no payurl, qrcode, urlscheme or html): query it, or try page "
                    "mode",
}
_note = Texts("gateway", MESSAGES)


def check_amount(order: Mapping[str, Any], local: LocalOrder | None) -> AmountCheck | None:
    """The comparison for one order the gateway reported (None: epay has no record of it)."""
    if local is None:
        return None
    return AmountCheck(local.money, str(order.get("money", "")))


def _amount_fields(amount: AmountCheck | None) -> dict[str, Any]:
    if amount is None:
        return {"amount_matches": None, "ordered_money": None}
    return {k: v for k, v in amount.to_dict().items() if k != "gateway_money"}


def _lookup(recorded: Recorded | None, out_trade_no: str) -> LocalOrder | None:
    return recorded(out_trade_no) if recorded is not None and out_trade_no else None


# ---- create ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Created:
    order: OrderRequest
    fields: dict[str, str]  # trade_no and the one pay field (payurl, qrcode, urlscheme, html)
    gateway: str
    pid: str
    dialect: str
    verified: bool | None
    notes: tuple[str, ...]

    @property
    def trade_no(self) -> str:
        return self.fields["trade_no"]

    def to_dict(self) -> dict[str, Any]:
        return {**self.order.to_dict(), **self.fields, "gateway": self.gateway, "pid": self.pid,
                "dialect": self.dialect, "verified": self.verified}


def create(client: Sender, call: Call, order: OrderRequest, merchant: calls.Merchant) -> Created:
    """mapi.php / api/pay/create → trade_no and the pay field. A "success" without a trade_no
    is not one: the order cannot be queried or refunded by it (a gateway error, exit 4)."""
    reply = client.send(call)
    created = create_fields(reply.data, v2=merchant.v2)
    if not created["trade_no"].strip():
        raise _incomplete(call, _note("success_without_trade_no",
                                      code=php_string(reply.data.get("code"))))
    notes = reply.notes
    if not pay_field(created)[0]:
        notes = (*notes, _note("no_pay_field", out_trade_no=order.out_trade_no,
                               trade_no=created["trade_no"]))
    return Created(order, created, merchant.gateway, merchant.pid, merchant.dialect,
                   reply.verified, notes)


# Errors after which the gateway may hold the order although epay could not read that it does.
UNREADABLE = frozenset({"gateway_not_json", "gateway_internal_error", "gateway_internal_text",
                        "gateway_empty_answer",
                        "gateway_incomplete_answer", "network_timeout", "network_protocol"})


def outcome_unknown(error: EpayError) -> bool:
    """Whether a failed create may still have created the order (an unreadable answer, or
    one cut off): then epay records it as unknown, to be queried."""
    explanation = getattr(error, "explanation", None)
    return error.code in UNREADABLE or getattr(explanation, "id", None) == "http_500_empty"



def _incomplete(call: Call, what: str) -> GatewayError:
    return GatewayError("{url} answered {what}", "the gateway (or a fork of it) broke its own "
                        "protocol: query the order, and tell its operator",
                        code="gateway_incomplete_answer",
                        fields={"url": call.shown_url, "what": what})


# ---- query ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Queried:
    """An order as the gateway reported it, and how it compares with epay's record."""

    order: dict[str, Any]
    verified: bool | None = None
    notes: tuple[str, ...] = ()
    local: LocalOrder | None = None
    amount: AmountCheck | None = None
    looked_up: bool = False  # whether epay's record was consulted at all

    @property
    def paid(self) -> bool:
        return self.order.get("status") == 1

    @property
    def amount_differs(self) -> bool:
        return self.amount is not None and not self.amount.matches

    def to_dict(self) -> dict[str, Any]:
        document = {**self.order, "verified": self.verified, **_amount_fields(self.amount)}
        if self.looked_up:
            document["local"] = None if self.local is None else {
                **self.local.to_dict(), "amount_matches": not self.amount_differs}
        return document


def query(client: Sender, call: Call, *, recorded: Recorded | None = None,
          deadline: float | None = None) -> Queried:
    """api.php?act=order / api/pay/query, checked: an answer whose status or money is not an
    order's is a gateway error (exit 4), never a result a script could act on."""
    reply = client.send(call, deadline=deadline)
    order = order_fields(reply.data)
    problem = order_problem(order)
    if problem:
        raise _incomplete(call, _note("not_an_order", what=problem))
    local = _lookup(recorded, str(order.get("out_trade_no", "")))
    return Queried(order, reply.verified, reply.notes, local, check_amount(order, local),
                   recorded is not None)


def order_problem(order: Mapping[str, Any]) -> str | None:
    """Why an order the gateway reported cannot be trusted as one (None: it can)."""
    if order.get("status") not in STATUS_NAMES:
        return _note("bad_status", status=_shown(order.get("status", _note("missing"))))
    money = str(order.get("money", ""))
    if parse_received_money(money) is None:
        return _note("bad_money", money=_shown(money or _note("missing")))
    return None


def _shown(value: object) -> str:
    if isinstance(value, Text):  # already quoted, in either language
        return value
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 40 else text[:40] + "…"


@dataclass(frozen=True)
class BatchResult:
    out_trade_no: str
    queried: Queried | None = None
    error: EpayError | None = None

    def to_dict(self) -> dict[str, Any]:
        if self.queried is None:
            assert self.error is not None
            return {"out_trade_no": self.out_trade_no, "ok": False,
                    "error": error_dict(self.error)}
        return {"out_trade_no": self.out_trade_no, "ok": True,
                "order": self.queried.order, **_amount_fields(self.queried.amount)}


def query_many(batch: Sequence[Call], numbers: Sequence[str], *, settings: Settings,
               recorded: Recorded | None = None, concurrency: int = 16) -> list[BatchResult]:
    """Query many orders at once (reconciliation): one result per number, in order — one
    failure does not stop the batch."""
    from .client import send_all

    results = []
    outcomes = send_all(list(batch), settings, concurrency=concurrency)
    for number, call, outcome in zip(numbers, batch, outcomes, strict=True):
        if isinstance(outcome, EpayError):
            results.append(BatchResult(number, error=outcome))
            continue
        order = order_fields(outcome.data)
        problem = order_problem(order)
        if problem:
            error = _incomplete(call, _note("not_an_order", what=problem))
            results.append(BatchResult(number, error=error))
            continue
        local = _lookup(recorded, number)
        results.append(BatchResult(number, Queried(order, outcome.verified, outcome.notes, local,
                                                   check_amount(order, local),
                                                   recorded is not None)))
    return results


def error_dict(error: EpayError) -> dict[str, Any]:
    document: dict[str, Any] = {"kind": type(error).__name__, "message": error.message,
                                "exit_code": int(error.exit_code)}
    if isinstance(error, GatewayError):
        document["gateway_code"] = error.gateway_code
        document["gateway_message"] = error.gateway_message
        document["explanation"] = getattr(error.explanation, "id", None)
    return document


# ---- list -----------------------------------------------------------------------------------


@dataclass
class Listing:
    """Orders as listed. Only what was counted is reported: the gateway's own ``count`` is the
    size of a page on real servers, never the total."""

    orders: list[dict[str, Any]] = field(default_factory=list)
    pages: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def mismatches(self) -> list[dict[str, Any]]:
        return [row for row in self.orders if row.get("amount_matches") is False]

    def mismatch_lines(self) -> list[str]:
        """One plain line per row whose amount is not what epay ordered."""
        return [AmountCheck(Decimal(row["ordered_money"]), str(row.get("money", "")))
                .line(str(row.get("out_trade_no", ""))) for row in self.mismatches]

    def to_dict(self) -> dict[str, Any]:
        return {"count": len(self.orders), "pages": self.pages, "orders": self.orders,
                "amount_mismatches": len(self.mismatches), "notes": self.notes}


def _listed(reply: Reply) -> list[dict[str, Any]]:
    """The rows of a listing; a "success" whose ``data`` is no list of rows (a string, a
    number, rows that are not objects) is a gateway error, not an empty list."""
    data = reply.data.get("data")
    rows = rows_of(reply.data)
    empty = data is None or data is False or data == "" or data == [] or data == {}
    if (not rows and not empty) or len(rows) != len(data or ()):
        raise _incomplete(reply.call, _note("not_rows", what=_shown(data)))
    return rows


def _rows(reply: Reply, recorded: Recorded | None) -> list[dict[str, Any]]:
    rows = []
    for row in _listed(reply):
        order = order_fields(row)
        if recorded is not None:
            local = _lookup(recorded, str(order.get("out_trade_no", "")))
            order.update(_amount_fields(check_amount(order, local)))
        rows.append(order)
    return rows


def list_page(client: Sender, call: Call, *, recorded: Recorded | None = None) -> Listing:
    """One page, as asked for (``--offset``): an empty HTTP 500 is read as no orders, and said
    to be possibly a fault."""
    reply = client.send(call)
    listing = Listing(_rows(reply, recorded), 1, list(reply.notes))
    if reply.empty:
        listing.notes.append(_note("empty_page", offset=call_offset(call)))
    return listing


def call_offset(call: Call) -> str:
    return (call.query or call.form or {}).get("offset", "0")


def page_builder(merchant: calls.Merchant, now: int, *,
                 status: int | None = None) -> Callable[[int], Call]:
    """The request for the full page at ``offset`` (what ``list --all`` sends, page by page)."""

    def build(offset: int) -> Call:
        return calls.list_orders(merchant, now, limit=calls.LIST_PAGE_MAX, offset=offset,
                                 status=status)

    return build


def list_all(client: Sender, build: Callable[[int], Call], *, recorded: Recorded | None = None,
             settings: Settings | None = None, concurrency: int = 8,
             max_orders: int = 100_000) -> Listing:
    """Every order, paging through offset 50 at a time (``build(offset)``, from
    ``page_builder``) until a short or empty page (PHP 8 gateways answer an empty page with
    HTTP 500: the end, said nothing about). With ``settings``, the pages after the first are
    fetched ``concurrency`` at a time (a page or two past the end may be asked for); without,
    one after another. Orders seen twice (the list moved while paging) are kept once."""
    page = calls.LIST_PAGE_MAX
    first = client.send(build(0))
    listing = Listing([], 1, list(first.notes))
    seen: set[str] = set()

    def take(rows: list[dict[str, Any]]) -> None:
        for row in rows:
            key = row.get("trade_no") or json.dumps(row, sort_keys=True, default=str)
            if key not in seen:
                seen.add(key)
                listing.orders.append(row)

    rows = _rows(first, recorded)
    take(rows)
    offset, done = page, len(rows) < page
    width = max(1, concurrency) if settings is not None else 1
    while not done and offset < max_orders:
        offsets = [offset + i * page for i in range(width) if offset + i * page < max_orders]
        for reply in _fetch_pages(client, [build(o) for o in offsets], settings, width):
            listing.pages += 1
            rows = _rows(reply, recorded)
            take(rows)
            if len(rows) < page:
                done = True
                break
        offset = offsets[-1] + page
    return listing


def _fetch_pages(client: Sender, batch: list[Call], settings: Settings | None,
                 width: int) -> Iterator[Reply]:
    if len(batch) == 1 or settings is None:
        yield from (client.send(call) for call in batch)
        return
    from .client import send_all

    for outcome in send_all(batch, settings, concurrency=width):
        if isinstance(outcome, EpayError):
            raise outcome
        yield outcome


# ---- refund, merchant, sandbox --------------------------------------------------------------


@dataclass(frozen=True)
class Refunded:
    money: Decimal
    out_trade_no: str
    trade_no: str
    msg: str
    reply: dict[str, Any]
    verified: bool | None
    notes: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"refunded": True, "money": format_wire(self.money),
                "out_trade_no": self.out_trade_no, "trade_no": self.trade_no, "msg": self.msg,
                "reply": self.reply, "verified": self.verified}


def refund(client: Sender, call: Call, *, money: Decimal, out_trade_no: str | None = None,
           trade_no: str | None = None) -> Refunded:
    reply = client.send(call)
    data = {k: v for k, v in reply.data.items() if k not in ("sign", "sign_type")}
    return Refunded(money, out_trade_no or "", trade_no or "", php_string(reply.data.get("msg")),
                    data, reply.verified, reply.notes)


@dataclass(frozen=True)
class MerchantInfo:
    info: dict[str, Any]
    verified: bool | None
    notes: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {**self.info, "verified": self.verified}


def merchant_info(client: Sender, call: Call) -> MerchantInfo:
    reply = client.send(call)
    info = {k: v for k, v in reply.data.items()
            if k not in ("code", "sign", "sign_type", "timestamp")}
    if "pid" in info:  # a number on api.php, a string elsewhere: one type, as order query
        info["pid"] = php_string(info["pid"])
    if "key" in info:  # api.php echoes the key back: never show it whole
        info["key"] = mask(str(info["key"]))
    return MerchantInfo(info, reply.verified, reply.notes)


# The columns a merchant reads in a settlement record, in the order they read them.
SETTLE_COLUMNS = ("id", "status", "money", "realmoney", "account", "username", "addtime",
                  "endtime")
SETTLE_STATUS = {0: "pending", 1: "settled", 2: "processing", 3: "failed"}


@dataclass(frozen=True)
class Settles:
    rows: list[dict[str, Any]]
    msg: str
    notes: tuple[str, ...]

    def columns(self) -> list[str]:
        present = {k for row in self.rows for k in row}
        return [c for c in SETTLE_COLUMNS if c in present] or ["id", "money", "status"]

    def to_dict(self) -> dict[str, Any]:
        return {"settles": self.rows}


def settles(client: Sender, call: Call) -> Settles:
    reply = client.send(call)
    return Settles(_listed(reply), php_string(reply.data.get("msg")), reply.notes)


@dataclass(frozen=True)
class SandboxPaid:
    """What the local gateway's scripted cashier answered: the order and its notify."""

    data: dict[str, Any]

    @property
    def notify(self) -> dict[str, Any]:
        notify = self.data.get("notify")
        return notify if isinstance(notify, dict) else {}

    def to_dict(self) -> dict[str, Any]:
        return dict(self.data)


def sandbox_pay(client: Sender, call: Call) -> SandboxPaid:
    return SandboxPaid(dict(client.send(call).data))


# ---- wait -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class WaitOutcome:
    queried: Queried | None
    polls: int
    waited: float
    reason: str  # paid | timeout | refunded | frozen …

    @property
    def paid(self) -> bool:
        return self.reason == "paid"

    @property
    def order(self) -> dict[str, Any] | None:
        return self.queried.order if self.queried else None

    @property
    def amount(self) -> AmountCheck | None:
        return self.queried.amount if self.queried else None

    @property
    def deliverable(self) -> bool:
        """Paid, and not for another amount than epay ordered."""
        return self.paid and not (self.queried and self.queried.amount_differs)

    def to_dict(self) -> dict[str, Any]:
        return {"paid": self.paid, "reason": self.reason, "polls": self.polls,
                "waited_seconds": round(self.waited, 3), "order": self.order,
                **(self.amount.to_dict() if self.amount else
                   {**_amount_fields(None), "gateway_money": None})}


def wait_paid(client: Sender, build: Callable[[int], Call], *, timeout: float,
              recorded: Recorded | None = None, interval: float = 1.0,
              max_interval: float = 10.0, clock: Callable[[], float] = time.time,
              monotonic: Callable[[], float] = time.monotonic,
              sleep: Callable[[float], None] = time.sleep,
              on_poll: Callable[[int, Queried | None], None] | None = None) -> WaitOutcome:
    """Poll the order (``build(now)`` makes each poll's query, fresh for V2's timestamp) until
    it is paid or ``timeout`` seconds pass — a deadline for the whole wait, polls included
    (the fallback when a notify never comes). The pause grows ×1.5 from ``interval`` up to
    ``max_interval``. An order the gateway does not know yet (a page-mode order not yet
    opened) counts as unpaid."""
    start = monotonic()
    deadline = start + timeout
    polls, pause = 0, max(0.05, interval)
    last: Queried | None = None
    while True:
        polls += 1
        queried = None
        try:
            queried = query(client, build(int(clock())), recorded=recorded, deadline=deadline)
        except GatewayError as error:
            if getattr(error.explanation, "id", None) != "order_not_found":
                raise
        except EpayError as error:  # the wait's own deadline cut this poll: not paid in time
            if error.code != "network_deadline":
                raise
            return WaitOutcome(last, polls, monotonic() - start, "timeout")
        last = queried or last
        if on_poll:
            on_poll(polls, queried)
        status = queried.order.get("status") if queried else None
        waited = monotonic() - start
        if status == 1:
            return WaitOutcome(queried, polls, waited, "paid")
        if queried is not None and status is not None and status >= 2:
            return WaitOutcome(queried, polls, waited, str(queried.order["status_text"]))
        remaining = deadline - monotonic()
        if remaining <= 0:
            return WaitOutcome(last, polls, waited, "timeout")
        sleep(min(pause, remaining))
        pause = min(pause * 1.5, max_interval)
