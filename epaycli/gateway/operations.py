"""What the ``epay order`` and ``epay merchant`` commands do, one function each: build the call,
send it through a client, and turn the answer into plain data. The CLI renders the result.

A ``client`` is anything with ``send(call) -> Reply`` (``client.GatewayClient``); batches go
through ``client.send_all`` (async, bounded concurrency).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from ..core.errors import EpayError, GatewayError
from ..core.money import format_wire
from . import calls
from .calls import Call, Merchant, OrderRequest
from .replies import Reply, count_of, create_fields, order_fields, rows_of


def _send(client, call: Call) -> Reply:
    return client.send(call)


def create(client, merchant: Merchant, order: OrderRequest, now: int) -> dict:
    """mapi.php / api/pay/create → trade_no and the pay field."""
    reply = _send(client, calls.create_order(merchant, order, now))
    created = create_fields(reply.data, v2=merchant.v2)
    return {**order.to_dict(), **created, "gateway": merchant.gateway, "pid": merchant.pid,
            "dialect": merchant.dialect, "verified": reply.verified, "notes": reply.notes}


def query(client, merchant: Merchant, now: int, *, out_trade_no: str | None = None,
          trade_no: str | None = None) -> dict:
    reply = _send(client, calls.query_order(merchant, now, out_trade_no=out_trade_no,
                                            trade_no=trade_no))
    return {**order_fields(reply.data), "verified": reply.verified, "notes": reply.notes}


def query_many(merchant: Merchant, numbers: list[str], now: int, *, settings,
               concurrency: int = 16) -> list[dict]:
    """Query many orders at once (reconciliation): one result per number, in order, each
    ``{"out_trade_no", "ok", "order"|"error"}`` — one failure does not stop the batch."""
    from .client import send_all

    batch = [calls.query_order(merchant, now, out_trade_no=number) for number in numbers]
    results = []
    outcomes = send_all(batch, settings, concurrency=concurrency)
    for number, outcome in zip(numbers, outcomes, strict=True):
        if isinstance(outcome, EpayError):
            results.append({"out_trade_no": number, "ok": False, "error": _error_dict(outcome)})
        else:
            results.append({"out_trade_no": number, "ok": True,
                            "order": order_fields(outcome.data)})
    return results


def _error_dict(error: EpayError) -> dict:
    document = {"kind": type(error).__name__, "message": error.message,
                "exit_code": int(error.exit_code)}
    if isinstance(error, GatewayError):
        document["gateway_code"] = error.gateway_code
        document["gateway_message"] = error.gateway_message
        explanation = getattr(error.explanation, "id", None)
        document["explanation"] = explanation
    return document


@dataclass
class Listing:
    orders: list[dict]
    count: int | None  # what the gateway says it has (None: not said)
    pages: int
    notes: list[str]

    def to_dict(self) -> dict:
        return {"count": self.count, "pages": self.pages, "orders": self.orders,
                "notes": self.notes}


def list_page(client, merchant: Merchant, now: int, *, limit: int, offset: int = 0,
              status: int | None = None) -> Listing:
    reply = _send(client, calls.list_orders(merchant, now, limit=limit, offset=offset,
                                            status=status))
    rows = [order_fields(row) for row in rows_of(reply.data)]
    return Listing(rows, count_of(reply.data), 1, reply.notes)


def list_all(client, merchant: Merchant, now: int, *, status: int | None = None,
             settings=None, concurrency: int = 8, max_orders: int = 100_000) -> Listing:
    """Every order, paging through offset 50 at a time until a short or empty page (PHP 8
    gateways answer an empty page with HTTP 500). With ``settings``, the pages after the first
    are fetched ``concurrency`` at a time (a page or two past the end may be asked for);
    without, one after another. ``count`` is not trusted as a total: real servers send the
    number of rows in the page. Orders seen twice (the list moved while paging) are kept once."""
    page = calls.LIST_PAGE_MAX
    first = list_page(client, merchant, now, limit=page, status=status)
    listing = Listing([], first.count, 1, list(first.notes))
    seen: set[str] = set()

    def take(rows: list[dict]) -> None:
        for row in rows:
            key = row.get("trade_no") or json_key(row)
            if key not in seen:
                seen.add(key)
                listing.orders.append(row)

    take(first.orders)
    offset, done = page, len(first.orders) < page
    width = max(1, concurrency) if settings is not None else 1
    while not done and offset < max_orders:
        offsets = [offset + i * page for i in range(width) if offset + i * page < max_orders]
        pages = _fetch_pages(client, merchant, now, offsets, status, settings, width)
        for rows in pages:
            listing.pages += 1
            take(rows)
            if len(rows) < page:
                done = True
                break
        offset = offsets[-1] + page
    return listing


def json_key(row: dict) -> str:
    import json

    return json.dumps(row, sort_keys=True, default=str)


def _fetch_pages(client, merchant, now, offsets, status, settings, width) -> list[list[dict]]:
    batch = [calls.list_orders(merchant, now, limit=calls.LIST_PAGE_MAX, offset=o, status=status)
             for o in offsets]
    if len(batch) == 1 or settings is None:
        return [[order_fields(row) for row in rows_of(_send(client, call).data)] for call in batch]
    from .client import send_all

    pages = []
    for outcome in send_all(batch, settings, concurrency=width):
        if isinstance(outcome, EpayError):
            raise outcome
        pages.append([order_fields(row) for row in rows_of(outcome.data)])
    return pages


def refund(client, merchant: Merchant, now: int, *, money: Decimal,
           out_trade_no: str | None = None, trade_no: str | None = None,
           out_refund_no: str = "") -> dict:
    reply = _send(client, calls.refund_order(merchant, now, money=money, out_trade_no=out_trade_no,
                                             trade_no=trade_no, out_refund_no=out_refund_no))
    data = {k: v for k, v in reply.data.items() if k not in ("sign", "sign_type")}
    return {"refunded": True, "money": format_wire(money), "out_trade_no": out_trade_no or "",
            "trade_no": trade_no or "", "msg": str(reply.data.get("msg") or ""), "reply": data,
            "verified": reply.verified, "notes": reply.notes}


def merchant_info(client, merchant: Merchant, now: int) -> dict:
    reply = _send(client, calls.merchant_info(merchant, now))
    info = {k: v for k, v in reply.data.items()
            if k not in ("code", "sign", "sign_type", "timestamp")}
    if "key" in info:  # api.php echoes the key back: never show it whole
        from ..core.redact import mask

        info["key"] = mask(str(info["key"]))
    return {"info": info, "verified": reply.verified, "notes": reply.notes}


def settles(client, merchant: Merchant, *, limit: int, offset: int) -> dict:
    reply = _send(client, calls.settles(merchant, limit=limit, offset=offset))
    return {"settles": rows_of(reply.data), "msg": str(reply.data.get("msg") or ""),
            "notes": reply.notes}


def sandbox_pay(client, merchant: Merchant, *, out_trade_no: str | None = None,
                trade_no: str | None = None, failed: bool = False) -> dict:
    reply = _send(client, calls.sandbox_pay(merchant, out_trade_no=out_trade_no,
                                            trade_no=trade_no, failed=failed))
    return dict(reply.data)


@dataclass
class WaitOutcome:
    paid: bool
    order: dict | None
    polls: int
    waited: float
    reason: str  # paid | timeout | refunded | frozen …

    def to_dict(self) -> dict:
        return {"paid": self.paid, "reason": self.reason, "polls": self.polls,
                "waited_seconds": round(self.waited, 3), "order": self.order}


def wait_paid(client, merchant: Merchant, *, out_trade_no: str, timeout: float,
              interval: float = 1.0, max_interval: float = 10.0,
              clock: Callable[[], float] = time.time,
              sleep: Callable[[float], None] = time.sleep,
              on_poll: Callable[[int, dict | None], None] | None = None) -> WaitOutcome:
    """Poll the order until it is paid or ``timeout`` seconds pass (the fallback when a notify
    never comes). The pause grows ×1.5 from ``interval`` up to ``max_interval``. An order the
    gateway does not know yet (a page-mode order not yet opened) counts as unpaid."""
    start = clock()
    polls, pause = 0, max(0.05, interval)
    while True:
        polls += 1
        order = None
        try:
            order = query(client, merchant, int(clock()), out_trade_no=out_trade_no)
        except GatewayError as error:
            if getattr(error.explanation, "id", None) != "order_not_found":
                raise
        if on_poll:
            on_poll(polls, order)
        status = order.get("status") if order else None
        waited = clock() - start
        if status == 1:
            return WaitOutcome(True, order, polls, waited, "paid")
        if status is not None and status >= 2:
            return WaitOutcome(False, order, polls, waited, order.get("status_text", "unknown"))
        remaining = timeout - waited
        if remaining <= 0:
            return WaitOutcome(False, order, polls, waited, "timeout")
        sleep(min(pause, remaining))
        pause = min(pause * 1.5, max_interval)
