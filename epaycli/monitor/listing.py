"""The requests the monitor and reconcile send, built in one place so that ``--dry-run`` shows
exactly what would go out: the gateway's order list pages newest first, at most 50 orders a
page (api.php caps limit), a batch of pages at once; single orders are asked by number."""

from __future__ import annotations

from ..gateway import calls
from ..gateway.calls import Call, Merchant

PAGE = calls.LIST_PAGE_MAX


def page_calls(merchant: Merchant, now: int, *, offset: int, width: int,
               status: int | None = None) -> list[Call]:
    """``width`` pages of the list from ``offset`` on."""
    return [calls.list_orders(merchant, now, limit=PAGE, offset=offset + index * PAGE,
                              status=status) for index in range(width)]


def probe_call(merchant: Merchant, now: int) -> Call:
    """The monitor's probe of the gateway's response time: the cheapest call (the newest
    order)."""
    return calls.list_orders(merchant, now, limit=1)
