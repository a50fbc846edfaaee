"""``epay reconcile``: the shop's orders (its export, or epay's own memory) against the
gateway's. Reading the export and comparing are pure; fetching the gateway's side lists its
orders newest first while that finds them faster than asking for each, then asks for the rest
with bounded concurrency."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import shlex
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ..core.errors import EpayError, GatewayError, InputError
from ..core.money import amounts_equal, format_wire, parse_received_money
from ..gateway import calls
from ..gateway.replies import order_fields, rows_of
from .listing import PAGE, page_calls
from .text import say

if TYPE_CHECKING:
    from pathlib import Path

    from ..gateway.calls import Call, Merchant
    from ..gateway.client import AsyncGatewayClient, Settings

MAX_ORDERS = 1_000_000
CREDITED = ("paid", "credited", "success", "trade_success", "1", "true", "yes", "done",
            "completed", "finished", "delivered")
NOT_CREDITED = ("unpaid", "0", "pending", "created", "new", "false", "no", "open", "waiting",
                "closed", "cancelled", "canceled", "refunded", "failed", "expired", "")
COLUMNS = {"out_trade_no": ("out_trade_no", "order_no", "order"),
           "money": ("money", "amount", "total"),
           "status": ("status", "state", "trade_status")}
TIME_COLUMNS = ("created_at", "time", "addtime")
KINDS = ("paid_not_credited", "credited_not_paid", "amount_differs", "unknown_to_gateway")
LIST_FIRST_FROM = 200  # from this many orders on, listing pages finds them faster
# A row of the shop's export, its column names lower-cased (CSV text, or JSON values).
Row = dict[str, Any]
# An order's fields as the gateway answered them (``gateway.replies.order_fields``).
GatewayFields = dict[str, Any]


@dataclass(frozen=True)
class ShopOrder:
    out_trade_no: str
    money: Decimal
    credited: bool | None  # None: the shop's status is not known (epay's own memory)
    status: str
    at: float | None = None

    def to_dict(self) -> dict[str, str]:
        return {"money": format_wire(self.money), "status": self.status}


@dataclass(frozen=True)
class Mismatch:
    out_trade_no: str
    kind: str
    shop: dict[str, str]
    gateway: GatewayFields | None
    command: str = ""

    def to_dict(self) -> dict[str, object]:
        document: dict[str, object] = {"out_trade_no": self.out_trade_no, "kind": self.kind, "shop": self.shop,
                    "gateway": self.gateway}
        if self.command:
            document["command"] = self.command
        return document


@dataclass(frozen=True)
class Reconciliation:
    checked: int
    mismatches: tuple[Mismatch, ...]

    def to_dict(self) -> dict[str, object]:
        return {"checked": self.checked, "mismatches": [m.to_dict() for m in self.mismatches]}


# ---- the shop's side (pure) ----------------------------------------------------------------

def read_shop(text: str, source: str, *, limit: int = MAX_ORDERS) -> list[ShopOrder]:
    """A CSV export with a header, or JSON (a list of objects, or {"orders": [...]})."""
    stripped = text.lstrip("\ufeff").strip()
    if stripped.startswith(("[", "{")):
        rows = _json_rows(stripped, source)
        where = "shop_item"
    else:
        rows = _csv_rows(stripped, source)
        where = "shop_line"
    orders = []
    for index, row in rows:
        try:
            orders.append(_shop_order(row, source))
        except InputError as error:
            raise InputError(say("shop_bad_row", where=say(where, index=index), source=source,
                                 problem=error.message), error.hint, code="bad_shop_export") \
                from None
        if len(orders) > limit:
            raise InputError(say("shop_too_many", source=source, count=say("shop_more_than", limit=limit)),
                             say("shop_too_many_hint", limit=limit), code="bad_shop_export")
    if not orders:
        raise InputError(say("shop_empty", source=source), say("shop_empty_hint"),
                         code="bad_shop_export")
    return orders


def _json_rows(text: str, source: str) -> list[tuple[int, Row]]:
    try:
        document = json.loads(text)
    except ValueError:
        raise InputError(say("shop_unreadable", source=source), say("shop_unreadable_hint"),
                         code="bad_shop_export") from None
    if isinstance(document, dict):
        document = document.get("orders")
    if not isinstance(document, list) or not all(isinstance(row, dict) for row in document):
        raise InputError(say("shop_unreadable", source=source), say("shop_unreadable_hint"),
                         code="bad_shop_export")
    rows = [(index, {str(k).strip().lower(): v for k, v in row.items()})
            for index, row in enumerate(document, 1)]
    _require_columns({name for _, row in rows for name in row}, source)
    return rows


def _csv_rows(text: str, source: str) -> list[tuple[int, Row]]:
    try:
        dialect = csv.Sniffer().sniff(text.split("\n", 1)[0], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    try:
        header = [name.strip().lower() for name in next(reader)]
        _require_columns(set(header), source)
        rows = [(reader.line_num, dict(zip(header, values))) for values in reader
                if any(value.strip() for value in values)]
    except (StopIteration, csv.Error):
        raise InputError(say("shop_unreadable", source=source), say("shop_unreadable_hint"),
                         code="bad_shop_export") from None
    return rows


def _require_columns(names: set[str], source: str) -> None:
    for column, aliases in COLUMNS.items():
        if not any(alias in names for alias in aliases):
            raise InputError(say("shop_missing_column", source=source, column=column),
                             say("shop_missing_column_hint"), code="bad_shop_export")


def _value(row: Row, column: str) -> str:
    for alias in COLUMNS[column]:
        if alias in row and row[alias] is not None:
            return str(row[alias]).strip()
    return ""


def _shop_order(row: Row, source: str) -> ShopOrder:
    number = _value(row, "out_trade_no")
    if not calls.OUT_TRADE_NO.fullmatch(number) or len(number) > calls.OUT_TRADE_NO_MAX:
        raise InputError(say("shop_bad_number", value=number[:40]))
    money = parse_received_money(_value(row, "money"))
    if money is None:
        raise InputError(say("shop_bad_money", value=_value(row, "money")[:40]))
    status = _value(row, "status")
    if status.lower() in CREDITED:
        credited = True
    elif status.lower() in NOT_CREDITED:
        credited = False
    else:
        raise InputError(say("shop_bad_status", value=status[:40]),
                         say("shop_bad_status_hint", credited=", ".join(CREDITED),
                             open=", ".join(v for v in NOT_CREDITED if v)))
    return ShopOrder(number, money, credited, status, _time(row))


def _time(row: Row) -> float | None:
    from datetime import datetime

    for name in TIME_COLUMNS:
        value = str(row.get(name) or "").strip()
        if not value:
            continue
        try:
            return float(value)
        except ValueError:
            pass
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return None
    return None


# ---- comparing (pure) ----------------------------------------------------------------------

def compare(shop: Iterable[ShopOrder], gateway: Mapping[str, GatewayFields | None], *,
            notify_url: str = "") -> Reconciliation:
    """Every mismatch between the shop's orders and the gateway's (``gateway`` maps each
    out_trade_no to the gateway's order fields, or None when it does not know the order)."""
    mismatches: list[Mismatch] = []
    checked = 0
    for order in shop:
        checked += 1
        found = gateway.get(order.out_trade_no)
        if found is None:
            mismatches.append(Mismatch(order.out_trade_no, "unknown_to_gateway",
                                       order.to_dict(), None))
            continue
        seen = {"money": str(found.get("money", "")), "status": found.get("status"),
                "status_text": found.get("status_text", ""),
                "trade_no": str(found.get("trade_no", ""))}
        paid = found.get("status") == 1
        if order.credited is False and paid:
            mismatches.append(Mismatch(order.out_trade_no, "paid_not_credited", order.to_dict(),
                                       seen, resend_command(order, seen, notify_url)))
        elif order.credited and not paid:
            mismatches.append(Mismatch(order.out_trade_no, "credited_not_paid", order.to_dict(),
                                       seen))
        if not amounts_equal(seen["money"], order.money):
            mismatches.append(Mismatch(order.out_trade_no, "amount_differs", order.to_dict(),
                                       seen))
    return Reconciliation(checked, tuple(mismatches))


def resend_command(order: ShopOrder, gateway: GatewayFields, notify_url: str) -> str:
    """The command that sends this order's notify to the shop's handler again (signed with the
    merchant's key, as the gateway would)."""
    return shlex.join(["epay", "trigger", "notify", "--to", notify_url or "NOTIFY_URL",
                       "--order", order.out_trade_no, "--trade-no", gateway["trade_no"],
                       "--amount", gateway["money"] or format_wire(order.money)])


# ---- the gateway's side (I/O) ---------------------------------------------------------------

def fetch_gateway(merchant: Merchant, numbers: list[str], *, settings: Settings,
                  concurrency: int, now: int) -> dict[str, GatewayFields | None]:
    """The gateway's order for each number (None: it does not know it)."""
    from ..gateway.client import AsyncGatewayClient
    from .transport import KeptConnections

    async def main() -> dict[str, GatewayFields | None]:
        client = AsyncGatewayClient(settings, concurrency=concurrency,
                                    transport=KeptConnections(verify_tls=settings.verify_tls))
        try:
            wanted = set(numbers)
            found: dict[str, GatewayFields | None] = {}
            exhausted = False
            if len(wanted) >= LIST_FIRST_FROM:
                exhausted = await _list(client, merchant, now, wanted, found, concurrency)
            rest = [n for n in numbers if n not in found]
            if exhausted:
                found.update((n, None) for n in rest)
            else:
                await _query(client, merchant, now, rest, found)
            return found
        finally:
            await client.aclose()

    return asyncio.run(main())


async def _list(client: AsyncGatewayClient, merchant: Merchant, now: int, wanted: set[str],
                found: dict[str, GatewayFields | None], width: int) -> bool:
    """Page the list newest first until every wanted order was seen, the list ends (True), or
    three times as many orders as wanted were listed (then the rest are asked for)."""
    offset = 0
    budget = 3 * len(wanted) + 1000
    while offset < budget:
        for outcome in await client.send_all(page_calls(merchant, now, offset=offset,
                                                        width=width)):
            if isinstance(outcome, EpayError):
                raise outcome
            rows = rows_of(outcome.data)
            for row in rows:
                number = str(row.get("out_trade_no") or "")
                if number in wanted and number not in found:  # newest first: the latest wins
                    found[number] = order_fields(row)
            if len(rows) < PAGE:
                return True
            if len(found) == len(wanted):
                return False
        offset += width * PAGE
    return False


def _query_calls(merchant: Merchant, now: int, numbers: list[str]) -> list[Call]:
    return [calls.query_order(merchant, now, out_trade_no=n) for n in numbers]


async def _query(client: AsyncGatewayClient, merchant: Merchant, now: int, numbers: list[str],
                 found: dict[str, GatewayFields | None]) -> None:
    for number, outcome in zip(numbers, await client.send_all(_query_calls(merchant, now,
                                                                           numbers))):
        if isinstance(outcome, GatewayError) and _not_found(outcome):
            found[number] = None
        elif isinstance(outcome, EpayError):
            raise outcome
        else:
            found[number] = order_fields(outcome.data)


def _not_found(error: GatewayError) -> bool:
    return getattr(error.explanation, "id", None) == "order_not_found"


# ---- what the command calls --------------------------------------------------------------

def parse_since(text: str, now: float) -> float:
    """``24h``/``7d`` (ago) or a date/time (``2026-12-01``, ISO 8601; UTC unless it says)."""
    from datetime import UTC, datetime

    from .figures import parse_duration

    try:
        return now - parse_duration(text, "--since", low=0, high=3650 * 86400)
    except InputError:
        pass
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InputError(say("since_invalid", value=text), say("since_hint"),
                         code="bad_since") from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def shop_orders(source: str | None, *, local: bool, since: str | None, now: float,
                merchant: Merchant, read: Callable[[str], str], environ: Mapping[str, str]
                ) -> list[ShopOrder]:
    """The shop's side: its export (``read(source)`` gives the text), or epay's own memory of
    the orders it created at this gateway for this pid (no shop status: only amounts and
    existence are compared)."""
    if (source is None) == (not local):
        raise InputError(say("reconcile_source"), say("reconcile_source_hint"),
                         code="bad_reconcile_source")
    start = parse_since(since, now) if since else None
    if source is None:  # --local (checked above)
        from ..state import LocalState

        remembered = LocalState.default(environ).list_orders(MAX_ORDERS, gateway=merchant.gateway,
                                                            pid=merchant.pid)
        orders = [ShopOrder(o.out_trade_no, o.money, None, "", float(o.created_at))
                  for o in remembered]
        if not orders:
            raise InputError(say("local_empty", pid=merchant.pid, gateway=merchant.gateway),
                             say("local_empty_hint"), code="nothing_to_reconcile")
    else:
        orders = read_shop(read(source), source)
    if start is not None:  # orders whose time is not known are kept
        orders = [o for o in orders if o.at is None or o.at >= start]
    return orders


def _numbers(shop: list[ShopOrder]) -> list[str]:
    return list(dict.fromkeys(o.out_trade_no for o in shop))


def planned(merchant: Merchant, shop: list[ShopOrder], *, concurrency: int, now: int
            ) -> list[Call]:
    """What reconcile starts with (``--dry-run``): a question per order, or, for many
    orders, the first batch of list pages (the pages after them depend on the answers)."""
    numbers = _numbers(shop)
    if len(numbers) >= LIST_FIRST_FROM:
        return page_calls(merchant, now, offset=0, width=concurrency)
    return _query_calls(merchant, now, numbers)


def reconcile(merchant: Merchant, shop: list[ShopOrder], *, settings: Settings,
              concurrency: int, now: int,
              notify_url: str = "") -> Reconciliation:
    numbers = _numbers(shop)
    gateway = fetch_gateway(merchant, numbers, settings=settings, concurrency=concurrency,
                            now=now) if numbers else {}
    return compare(shop, gateway, notify_url=notify_url)


CSV_COLUMNS = ("out_trade_no", "kind", "shop_money", "shop_status", "gateway_money",
               "gateway_status", "trade_no", "command")


def write_csv(path: Path, result: Reconciliation) -> None:
    try:
        with open(path, "w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(CSV_COLUMNS)
            for m in result.mismatches:
                gateway = m.gateway or {}
                writer.writerow([m.out_trade_no, m.kind, m.shop["money"], m.shop["status"],
                                 gateway.get("money", ""), gateway.get("status_text", ""),
                                 gateway.get("trade_no", ""), m.command])
    except OSError as error:
        raise InputError(say("csv_unwritable", path=path, reason=error.strerror or error),
                         say("csv_hint"), code="csv_unwritable") from None
