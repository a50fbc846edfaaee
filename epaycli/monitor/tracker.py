"""What the monitor learns each interval: the gateway's orders in the window, the notifies the
listener journaled, and how fast the gateway answered epay's own probe.

The order list pages newest first (offset, limit, status) and says nothing of what changed, so
the first interval pages back to the start of the window, and each later one pages only until
it meets an order it already knows, then asks again about the orders that may still be paid.
One event loop and one set of keep-alive connections serve every interval."""

from __future__ import annotations

import asyncio
import heapq
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..core.errors import EpayError, GatewayError
from ..gateway import calls
from ..gateway.calls import Call, Merchant
from ..gateway.client import AsyncGatewayClient, Settings
from ..gateway.replies import rows_of
from .figures import GatewayOrder, Probes, Report, SeenNotify, Thresholds, Window, compute
from .listing import PAGE, page_calls, probe_call
from .transport import KeptConnections

QUERY_AT_MOST = 64  # more open orders than this: list the unpaid ones instead of asking each


class OrderTracker:
    """The gateway's orders in the window, kept up to date interval by interval."""

    def __init__(self, client: AsyncGatewayClient, merchant: Merchant, window: Window, *,
                 width: int = 8) -> None:
        self.client = client
        self.merchant = merchant
        self.window = window
        self.width = max(1, width)
        self.orders: dict[str, GatewayOrder] = {}
        # (added_at, trade_no), a heap: the orders leave the window oldest first, and each
        # interval drops only those instead of going through the whole window
        self._by_age: list[tuple[float, str]] = []
        self._newest = 0.0
        self.started = False

    def _order(self, row: dict[str, Any]) -> GatewayOrder:
        return GatewayOrder.from_fields(row, self.window.gateway_tz)

    async def probe(self, now: int) -> float:
        """The gateway's response time to the probe, in milliseconds."""
        began = time.perf_counter()
        await self.client.send(probe_call(self.merchant, now))
        return (time.perf_counter() - began) * 1000

    async def refresh(self, now: int, *, recheck_after: float) -> None:
        """New orders (down to those already known, or the window's start), then the open
        ones: unpaid orders younger than ``recheck_after`` seconds."""
        start = now - self.window.seconds
        if not self.started:
            enough = lambda o: _older(o, start)  # noqa: E731
        else:
            # trade_no is the second it was made plus random digits: an order made in the same
            # second as the newest known one (or committed a moment late) may sort below it,
            # so page on past that second and the one before
            known, newest = self.orders, self._newest
            enough = lambda o: _older(o, start) or (  # noqa: E731
                o.trade_no in known and o.added_at is not None and o.added_at < newest - 1)
        self._keep(await self._pages(now, None, self.width if not self.started else 1, enough))
        if self.started:
            await self._recheck(now, now - recheck_after)
        self.started = True
        while self._by_age and self._by_age[0][0] < start:
            self.orders.pop(heapq.heappop(self._by_age)[1], None)

    def _keep(self, found: list[GatewayOrder]) -> None:
        """Orders not known yet (a known one stays as it was seen, or last asked)."""
        aged = []
        for order in found:
            if order.trade_no not in self.orders:
                self.orders[order.trade_no] = order
                if order.added_at is not None:
                    aged.append((order.added_at, order.trade_no))
        self._newest = max(self._newest, max((at for at, _ in aged), default=0.0))
        if len(aged) > len(self._by_age):  # the first interval: one heapify, O(n)
            self._by_age += aged
            heapq.heapify(self._by_age)
        else:
            for entry in aged:
                heapq.heappush(self._by_age, entry)

    async def _pages(self, now: int, status: int | None, width: int,
                     enough: Callable[[GatewayOrder], bool]) -> list[GatewayOrder]:
        """Pages from the newest, ``width`` at a time, up to the page where ``enough`` holds
        for an order (or a short page)."""
        found: list[GatewayOrder] = []
        offset = 0
        while True:
            batch = page_calls(self.merchant, now, offset=offset, width=width, status=status)
            for outcome in await self.client.send_all(batch):
                if isinstance(outcome, EpayError):
                    raise outcome
                page = [self._order(row) for row in rows_of(outcome.data)]
                found.extend(page)
                if len(page) < PAGE or any(enough(o) for o in page):
                    return found
            offset += width * PAGE

    async def _recheck(self, now: int, since: float) -> None:
        open_orders = [o for o in self.orders.values()
                       if o.status == 0 and (o.added_at is None or o.added_at >= since)]
        if not open_orders:
            return
        if len(open_orders) > QUERY_AT_MOST:
            oldest = min(o.added_at or now for o in open_orders)
            still = {o.trade_no for o in await self._pages(now, 0, self.width,
                                                           lambda o: _older(o, oldest))}
            open_orders = [o for o in open_orders if o.trade_no not in still]
        queries = [calls.query_order(self.merchant, now, trade_no=o.trade_no)
                   for o in open_orders]
        for order, outcome in zip(open_orders, await self.client.send_all(queries)):
            if isinstance(outcome, GatewayError):
                continue  # closed or gone: it stays as it was last seen
            if isinstance(outcome, EpayError):
                raise outcome
            self.orders[order.trade_no] = self._order(outcome.data)


def _older(order: GatewayOrder, start: float) -> bool:
    return order.added_at is not None and order.added_at < start


class NotifyReader:
    """The listener's journal, read incrementally: the notifies of the window."""

    def __init__(self, path: Path) -> None:
        from ..listener.journal import Journal

        self.journal = Journal(path, readonly=True)
        self.seen: dict[int, SeenNotify] = {}
        self.last = 0.0

    def read(self, start: float) -> list[SeenNotify]:
        for record in self.journal.records(since=max(start, self.last - 1)):
            if record.get("kind") == "notify":
                notify = SeenNotify.from_record(record)
                self.seen[notify.id] = notify
                self.last = max(self.last, notify.received_at)
        self.seen = {k: n for k, n in self.seen.items() if n.received_at >= start}
        return list(self.seen.values())

    def close(self) -> None:
        self.journal.close()


class Monitor:
    """One interval after another: probe, refresh, read the journal, compute the report."""

    def __init__(self, merchant: Merchant, window: Window, thresholds: Thresholds, *,
                 settings: Settings,
                 journal: Path | None = None, interval: float = 30.0, width: int = 8,
                 clock: Callable[[], float] = time.time) -> None:
        self.window = window
        self.thresholds = thresholds
        self.interval = interval
        self.clock = clock
        self.probes = Probes()
        self.notifies = NotifyReader(journal) if journal is not None else None
        self._runner = asyncio.Runner()
        self._client = AsyncGatewayClient(settings, concurrency=width, clock=clock,
                                          transport=KeptConnections(
                                              verify_tls=settings.verify_tls))
        self.tracker = OrderTracker(self._client, merchant, window, width=width)

    def planned(self) -> list[Call]:
        """What the first interval starts with (``--dry-run``): its first batch of pages and
        the probe; the pages after them depend on what the gateway answers."""
        now = int(self.clock())
        return [*page_calls(self.tracker.merchant, now, offset=0, width=self.tracker.width),
                probe_call(self.tracker.merchant, now)]

    def step(self) -> Report:
        """The report of one interval; a gateway that fails is a breach of its own (an
        ``EpayError`` is kept in ``last_error`` for ``--once`` to exit with)."""
        now = self.clock()
        self.last_error: EpayError | None = None
        try:
            self._runner.run(self._gather(int(now)))
        except EpayError as error:
            self.last_error = error
        start = now - self.window.seconds
        notifies = self.notifies.read(start) if self.notifies is not None else None
        return compute(self.tracker.orders.values(), notifies, self.probes.within(start),
                       now=now, window=self.window, thresholds=self.thresholds,
                       gateway_error=self.last_error.code if self.last_error else None)

    async def _gather(self, now: int) -> None:
        # the listing first: the probe then measures the gateway, not opening a connection
        await self.tracker.refresh(now, recheck_after=self.window.pay_timeout + 2 * self.interval)
        self.probes.add(now, round(await self.tracker.probe(now), 1))

    def close(self) -> None:
        try:
            self._runner.run(self._client.aclose())
        finally:
            self._runner.close()
            if self.notifies is not None:
                self.notifies.close()
