"""``epay order``: create, query, list, refund, wait for and (sandbox) pay orders."""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ..core.errors import ConfigError, EpayError, ExitCode, InputError
from ..core.words import Template, Text
from ..gateway import calls
from ..gateway.calls import Merchant
from .connect import (
    Connection,
    DryRunOption,
    connection_options,
    open_client,
    resolve_merchant,
    settings_of,
    show_dry_run,
    show_notes,
)
from .options import JsonOption
from .runtime import Runtime, runtime
from .wording import show_fields, show_table

if TYPE_CHECKING:
    from ..gateway.calls import Call, OrderRequest
    from ..gateway.operations import (
        BatchResult,
        Created,
        Listing,
        Queried,
        Recorded,
        WaitOutcome,
    )
    from ..state import LocalState

app = typer.Typer(help="Create, query, list, refund and wait for orders at the gateway.",
                  no_args_is_help=True)

# Where sandbox orders notify when no notify_url is configured (nothing need listen there:
# the local gateway records the failed delivery and retries as a real one would).
SANDBOX_NOTIFY_URL = "http://127.0.0.1:8788/notify"
SANDBOX_RETURN_URL = "http://127.0.0.1:8788/return"
MAX_BATCH = 100_000

MESSAGES: dict[str, Template] = {
    "create_unknown": "the gateway's answer could not be read, so the order may exist there: "
                      "epay recorded {out_trade_no} as unknown — query it: "
                      "epay order query {out_trade_no}",
    "not_remembered": "the order was created but epay could not remember it ({error})",
    "sandbox_notify_url": "notify_url: {notify} (sandbox default; --notify-url sets one, "
                          "e.g. from 'epay listen')",
    "wrote_form": "wrote the auto-submit form to {path}",
    "page_dry_run": "dry run: nothing was recorded; the URL is what a browser would open",
    "page_open": "out_trade_no {out_trade_no}: open the URL in a browser to pay",
    "html_length": "({length} characters of HTML)",
    "scan_to_pay": "scan to pay ({kind})",
    "status_value": "{status} ({text})",
    "batch_summary": "queried {queried} orders: {answered} answered, {failed} failed",
    "listed": "{orders} listed ({pages} read)",
    "orders": {"one": "{count} order", "other": "{count} orders"},
    "pages": {"one": "{count} page", "other": "{count} pages"},
    "polls": {"one": "{count} poll", "other": "{count} polls"},
    "poll": "poll {number}: {state}",
    "not_there_yet": "not at the gateway yet",
    "amount_differs": "{status} (AMOUNT DIFFERS)",
    "paid": "paid: {out_trade_no} (trade_no {trade_no}, money {money})",
    "not_paid_in_time": "not paid within {seconds} s",
    "order_is": "the order is {reason}",
    "wait_ended": "{out_trade_no}: {why} ({polls})",
    "unknown_order": "unknown — query it",
    "remembered": "{orders} remembered by epay",
    "damaged_orders": "warning: {count} damaged orders in {path} left out",
    "delivered": "delivered",
    "not_delivered": "not delivered ({why})",
    "http_status": "HTTP {status}",
    "notify_where": "{where}: {delivered}",
    # status_text (the JSON keeps these ids; a person reads them in the run's language)
    "status.unpaid": "unpaid",
    "status.paid": "paid",
    "status.refunded": "refunded",
    "status.frozen": "frozen",
    "status.pre-authorised": "pre-authorised",
    "status.unknown": "unknown",
    "status.error": "error",
    "status.failed": "failed",
}
# Labels whose English is not their id (the others are said as their id: out_trade_no …).
LABELS = {"gateway_said": "gateway said"}


def _text(run: Runtime, message_id: str, /, **fields: object) -> str:
    return run.messages.text(f"orders.{message_id}", MESSAGES[message_id], **fields)


def _status(run: Runtime, text: str) -> str:
    """An order's status_text (paid, unpaid …) as a person reads it."""
    key = f"status.{text}"
    return _text(run, key) if key in MESSAGES else text


class Mode(str, Enum):
    api = "api"
    page = "page"


TradeNoOption = Annotated[str | None, typer.Option(
    "--trade-no", metavar="NO", help="The gateway's order number instead of OUT_TRADE_NO.")]
OutTradeNoArgument = Annotated[str | None, typer.Argument(
    metavar="[OUT_TRADE_NO]", help="Your order number (out_trade_no).")]


def _state(run: Runtime) -> LocalState:
    from ..state import LocalState

    return LocalState.default(run.env.environ)


@app.command("create")
@connection_options
def create(
    ctx: typer.Context,
    amount: Annotated[str, typer.Option("--amount", "-a", metavar="YUAN",
                                        help="Amount in yuan, at most 2 decimals, e.g. 1.00.")],
    name: Annotated[str, typer.Option("--name", "-n", help="Product name (商品名称).")],
    payment_type: Annotated[str | None, typer.Option(
        "--type", metavar="TYPE", help="alipay, wxpay, qqpay … (default: the profile's).")] = None,
    out_trade_no: Annotated[str | None, typer.Option(
        "--out-trade-no", metavar="NO", help="Your order number (default: generated).")] = None,
    mode: Annotated[Mode, typer.Option(
        "--mode", help="api: mapi.php / api/pay/create; page: the signed submit URL.")] = Mode.api,
    device: Annotated[str, typer.Option("--device", metavar="D",
                                        help="pc, mobile, qq, wechat, alipay, jump (API mode).")] = "",
    method: Annotated[str, typer.Option("--method", metavar="M",
                                        help="V2 only: web, jump, jsapi, app, scan, applet.")] = "",
    param: Annotated[str, typer.Option("--param", metavar="TEXT",
                                       help="Opaque text echoed back in the notify.")] = "",
    notify_url: Annotated[str | None, typer.Option(
        "--notify-url", metavar="URL",
        help="Where the gateway sends the paid notify (异步通知地址; default: the profile's).")] = None,
    return_url: Annotated[str | None, typer.Option(
        "--return-url", metavar="URL",
        help="Where the buyer's browser returns after paying (跳转地址; default: the profile's).")] = None,
    client_ip: Annotated[str, typer.Option("--client-ip", metavar="IP",
                                           help="The buyer's IP (API mode).")] = "127.0.0.1",
    html: Annotated[Path | None, typer.Option(
        "--html", metavar="FILE", help="Page mode: also write the auto-submit HTML form.")] = None,
    dry_run: DryRunOption = False,
    json_output: JsonOption = False,
    *,
    conn: Connection,
) -> None:
    """Create an order: API mode prints trade_no and how to pay; page mode the submit URL.

    Example: epay order create --amount 1.00 --name 月卡
    """
    run = runtime(ctx)
    merchant, resolved = resolve_merchant(run, conn)
    profile = resolved.profile
    notify, back, url_notes = _urls(merchant, notify_url or profile.notify_url,
                                    return_url or profile.return_url)
    kind, type_notes = calls.payment_type(payment_type, profile.type)
    order = calls.validate_order(
        money=amount, name=name, out_trade_no=out_trade_no or _new_number(run),
        notify_url=notify, return_url=back, type=kind, param=param,
        device=device, clientip=client_ip if mode is Mode.api else "", method=method,
        api=mode is Mode.api)
    # Notes only once the order is valid: a refused order is one error line, nothing more.
    show_notes(run, [*url_notes, *type_notes, *calls.order_warnings(order, merchant.gateway)])
    now = run.env.now()
    if mode is Mode.page:
        _page(run, merchant, order, now, html=html, dry_run=dry_run, json_output=json_output)
        return
    call = calls.create_order(merchant, order, now)
    if dry_run:
        show_dry_run(run, [call], json_output)
        return
    created = _send_create(run, conn, merchant, order, call, now)
    show_notes(run, created.notes)
    _show_created(run, created.to_dict(), json_output)


def _send_create(run: Runtime, conn: Connection, merchant: Merchant, order: OrderRequest,
                 call: Call, now: int) -> Created:
    """Send the create and remember the order: as created, or as unknown when the answer could
    not be read (the gateway may hold it)."""
    state = _state(run)  # opened first: a broken state folder fails before an order exists
    from ..gateway import operations

    try:
        with open_client(run, conn) as client:
            created = operations.create(client, call, order, merchant)
    except EpayError as error:
        if operations.outcome_unknown(error):
            _remember(run, state, merchant, order, "", now, unknown=True)
        raise calls.explain_create_error(error, order) from None
    _remember(run, state, merchant, order, created.trade_no, now)
    return created


def _urls(merchant: Merchant, notify: str, back: str) -> tuple[str, str, list[str]]:
    """The sandbox needs no configuration: a local gateway gets local placeholder URLs (and a
    note saying so)."""
    notes: list[str] = []
    if calls.is_loopback_host(_host(merchant.gateway)):
        if not notify:
            notify = SANDBOX_NOTIFY_URL
            notes.append(Text("orders.sandbox_notify_url", MESSAGES["sandbox_notify_url"],
                              notify=notify))
        back = back or SANDBOX_RETURN_URL
    return notify, back, notes


def _host(url: str) -> str:
    from urllib.parse import urlsplit

    return urlsplit(url).hostname or ""


def _new_number(run: Runtime) -> str:
    import secrets

    return calls.new_out_trade_no(run.env.now(), secrets.token_hex(3))


def _remember(run: Runtime, state: LocalState, merchant: Merchant, order: OrderRequest,
              trade_no: str, now: int, *,
              unknown: bool = False) -> None:
    from ..state import RecordedOrder

    try:
        state.record_order(RecordedOrder(merchant.gateway, merchant.pid, order.out_trade_no,
                                         trade_no, order.money, order.name, order.type, now,
                                         unknown))
    except Exception as error:  # noqa: BLE001 - the order exists at the gateway: say, not fail
        run.out.status(_text(run, "not_remembered", error=error), "warn")
        return
    if unknown:
        run.out.status(_text(run, "create_unknown", out_trade_no=order.out_trade_no), "warn")


def _page(run: Runtime, merchant: Merchant, order: OrderRequest, now: int, *,
          html: Path | None, dry_run: bool, json_output: bool) -> None:
    endpoint, signed = calls.submit_page(merchant, order, now)
    url = signed.url(endpoint)
    if html is not None and not dry_run:
        try:
            html.write_text(calls.auto_submit_form(endpoint, signed), encoding="utf-8")
        except OSError as error:
            raise InputError("cannot write {path}: {reason}",
                             "check the folder exists and is writable", code="html_unwritable",
                             fields={"path": html, "reason": error.strerror}) from None
        run.out.status(_text(run, "wrote_form", path=html))
    if not dry_run:
        _remember(run, _state(run), merchant, order, "", now)
    if json_output:
        run.out.json_object({**order.to_dict(), "mode": "page", "trade_no": "", "payurl": url,
                             "url": url, "gateway": merchant.gateway, "pid": merchant.pid,
                             "dialect": merchant.dialect, "dry_run": dry_run,
                             "signed": signed.to_dict()})
        return
    run.out.data(url)
    if dry_run:
        run.out.status(_text(run, "page_dry_run"))
    else:
        run.out.status(_text(run, "page_open", out_trade_no=order.out_trade_no))


def _show_created(run: Runtime, created: dict[str, Any], json_output: bool) -> None:
    from ..gateway.replies import pay_field

    if json_output:
        run.out.json_object(created)
        return
    kind, value = pay_field(created)
    rows = [("out_trade_no", created["out_trade_no"]), ("trade_no", created["trade_no"]),
            ("money", created["money"])]
    if kind:
        rows.append((kind, value if kind != "html" else _text(run, "html_length",
                                                               length=len(value))))
    show_fields(run, rows, "orders")
    if kind in ("qrcode", "payurl", "urlscheme") and run.out.qr_code(value):
        run.out.status(_text(run, "scan_to_pay", kind=kind), "dim")


@app.command("query")
@connection_options
def query(
    ctx: typer.Context,
    out_trade_no: OutTradeNoArgument = None,
    trade_no: TradeNoOption = None,
    from_: Annotated[str | None, typer.Option(
        "--from", metavar="FILE|-", help="Query every out_trade_no in FILE (one a line), "
                                         "concurrently.")] = None,
    concurrency: Annotated[int, typer.Option("--concurrency", min=1, max=64,
                                             help="Queries in flight with --from.")] = 32,
    dry_run: DryRunOption = False,
    json_output: JsonOption = False,
    *,
    conn: Connection,
) -> int:
    """Query an order (status 0 unpaid, 1 paid, 2 refunded), or a file of them with --from.

    Exit 3 when the gateway's amount is not what epay ordered (do not deliver).
    """
    run = runtime(ctx)
    merchant, _ = resolve_merchant(run, conn)
    now = run.env.now()
    if from_ is not None:
        if out_trade_no or trade_no:
            raise InputError("--from and an order number given together", "give one of them",
                             code="from_and_order_number", fields={})
        return _query_batch(run, merchant, _numbers(from_, run), now, conn, concurrency,
                            dry_run, json_output)
    call = calls.query_order(merchant, now, out_trade_no=out_trade_no, trade_no=trade_no)
    if dry_run:
        show_dry_run(run, [call], json_output)
        return ExitCode.OK
    from ..gateway import operations

    state = _state_or_none(run)
    with open_client(run, conn) as client:
        queried = operations.query(client, call, recorded=_recorded(state, merchant))
    show_notes(run, queried.notes)
    _learn_trade_no(state, merchant, queried)
    if json_output:
        run.out.json_object(queried.to_dict())
    else:
        _show_order(run, queried.order)
    return _amount_verdict(run, queried)


def _state_or_none(run: Runtime) -> LocalState | None:
    """epay's record of its orders, or None when it cannot be opened (a query still works)."""
    try:
        return _state(run)
    except ConfigError:
        return None


def _recorded(state: LocalState | None, merchant: Merchant) -> Recorded | None:
    """The lookup operations compare amounts with: this merchant's orders at this gateway."""
    if state is None:
        return None
    return lambda number: state.find_order(number, pid=merchant.pid, gateway=merchant.gateway)


def _learn_trade_no(state: LocalState | None, merchant: Merchant, queried: Queried) -> None:
    """A page-mode order learns its trade_no from the first query."""
    trade_no = queried.order.get("trade_no")
    if state is not None and queried.local is not None and trade_no and \
            not queried.local.trade_no:
        state.learn_trade_no(merchant.gateway, merchant.pid, queried.order["out_trade_no"],
                             trade_no)


def _amount_verdict(run: Runtime, queried: Queried) -> int:
    """Exit 3 and one plain line when the gateway holds another amount than epay ordered."""
    amount = queried.amount
    if amount is not None and not amount.matches:  # (queried.amount_differs)
        run.out.status(run.messages.say(
            amount.line(queried.order.get("out_trade_no", ""))), "bad")
        return ExitCode.SIGNATURE_INVALID
    return ExitCode.OK


def _numbers(source: str, run: Runtime) -> list[str]:
    from .inputs import read_file

    numbers: list[str] = []
    for index, line in enumerate(read_file(source, run.env).splitlines(), 1):
        text = line.split(",")[0].strip()
        if not text or text.startswith("#"):
            continue
        try:
            numbers.append(calls.validate_out_trade_no(text))
        except InputError as error:
            raise InputError("line {line} of {source}: {problem}", "{fix}",
                             code="bad_order_number_line",
                             fields={"line": index, "source": source,
                                     "problem": error.said,
                                     "fix": error.fields.get("fix", error.hint)}) from None
    if not numbers:
        raise InputError("{source} lists no order numbers",
                         "write one out_trade_no a line (a CSV's first column works too)",
                         code="no_order_numbers", fields={"source": source})
    if len(numbers) > MAX_BATCH:
        raise InputError("{source} lists {count} orders", "split it: at most {most}",
                         code="too_many_order_numbers",
                         fields={"source": source, "count": len(numbers), "most": MAX_BATCH})
    return numbers


def _query_batch(run: Runtime, merchant: Merchant, numbers: list[str], now: int, conn: Connection,
                 concurrency: int, dry_run: bool, json_output: bool) -> int:
    batch = [calls.query_order(merchant, now, out_trade_no=n) for n in numbers]
    if dry_run:
        show_dry_run(run, batch, json_output)
        return ExitCode.OK
    from ..gateway import operations

    results = operations.query_many(batch, numbers, settings=settings_of(conn),
                                    recorded=_recorded(_state_or_none(run), merchant),
                                    concurrency=concurrency)
    failed = [r.error for r in results if r.error is not None]
    differ = [(r.out_trade_no, r.queried.amount) for r in results  # (queried.amount_differs)
              if r.queried is not None and r.queried.amount is not None
              and not r.queried.amount.matches]
    if json_output:
        run.out.json_object({"results": [r.to_dict() for r in results],
                             "summary": {"queried": len(results),
                                         "ok": len(results) - len(failed),
                                         "failed": len(failed),
                                         "amount_mismatches": len(differ)}})
    else:
        show_table(run, [_batch_row(run, r) for r in results],
                   ["out_trade_no", "status", "money", "trade_no", "error"], "orders")
    for out_trade_no, amount in differ:
        run.out.status(run.messages.say(amount.line(out_trade_no)), "bad")
    run.out.status(_text(run, "batch_summary", queried=len(results),
                         answered=len(results) - len(failed), failed=len(failed)))
    # The worst outcome decides: network (5) over gateway (4) over a wrong amount (3).
    worst = max((int(error.exit_code) for error in failed), default=ExitCode.OK)
    return max(worst, ExitCode.SIGNATURE_INVALID if differ else ExitCode.OK)


def _batch_row(run: Runtime, result: BatchResult) -> dict[str, str]:
    queried = result.queried
    if queried is None:
        error = result.error
        return {"out_trade_no": result.out_trade_no, "status": _status(run, "error"),
                "error": run.messages.say(error.said) if error is not None else ""}
    order = queried.order
    status = _status(run, order.get("status_text", ""))
    if queried.amount_differs:
        status = _text(run, "amount_differs", status=status)
    return {"out_trade_no": result.out_trade_no, "status": status,
            "money": order.get("money", ""), "trade_no": order.get("trade_no", ""), "error": ""}


def _show_order(run: Runtime, order: Mapping[str, Any]) -> None:
    rows = [(k, str(order[k])) for k in ("out_trade_no", "trade_no", "api_trade_no", "type",
                                         "name", "money", "addtime", "endtime", "param", "buyer")
            if order.get(k) not in (None, "")]
    rows.append(("status", _text(run, "status_value", status=order["status"],
                                 text=_status(run, order["status_text"]))))
    if order.get("refundmoney"):
        rows.append(("refundmoney", str(order["refundmoney"])))
    show_fields(run, rows, "orders")


@app.command("list")
@connection_options
def list_orders(
    ctx: typer.Context,
    status: Annotated[int | None, typer.Option("--status", min=0, max=4,
                                               help="Only orders in this status (0-4).")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=calls.LIST_PAGE_MAX,
                                       help="Orders in one page.")] = 20,
    offset: Annotated[int, typer.Option("--offset", min=0, help="Skip this many.")] = 0,
    all_pages: Annotated[bool, typer.Option("--all", help="Every order, paging through.")] = False,
    local: Annotated[bool, typer.Option(
        "--local", help="The orders epay created (its own memory), not the gateway's list.")] = False,
    dry_run: DryRunOption = False,
    json_output: JsonOption = False,
    *,
    conn: Connection,
) -> None:
    """List orders at the gateway (api.php?act=orders / api/merchant/orders), or --local.

    Rows whose amount differs from what epay ordered are flagged (exit 0).
    """
    run = runtime(ctx)
    if local:
        _list_local(run, 1_000_000 if all_pages else limit, json_output)
        return
    merchant, _ = resolve_merchant(run, conn)
    from ..gateway import operations

    now = run.env.now()
    build = operations.page_builder(merchant, now, status=status)
    call = build(0) if all_pages else calls.list_orders(merchant, now, limit=limit,
                                                        offset=offset, status=status)
    if dry_run:
        show_dry_run(run, [call], json_output)
        return
    recorded = _recorded(_state_or_none(run), merchant)
    with open_client(run, conn) as client:
        listing = (operations.list_all(client, build, recorded=recorded,
                                       settings=settings_of(conn)) if all_pages
                   else operations.list_page(client, call, recorded=recorded))
    _show_listing(run, listing, json_output)


def _show_listing(run: Runtime, listing: Listing, json_output: bool) -> None:
    """The rows (a wrong amount flagged in its row, and said once more on stderr)."""
    show_notes(run, listing.notes)
    if json_output:
        run.out.json_object(listing.to_dict())
    else:
        rows = [{**row, "status_text": _listed_status(run, row)} for row in listing.orders]
        show_table(run, rows, ["out_trade_no", "trade_no", "money", "status_text", "type",
                               "name", "addtime"], "orders")
        run.out.status(_text(run, "listed",
                             orders=_text(run, "orders", count=len(listing.orders)),
                             pages=_text(run, "pages", count=listing.pages)))
    for line in listing.mismatch_lines():
        run.out.status(run.messages.say(line), "bad")


def _listed_status(run: Runtime, row: Mapping[str, Any]) -> str:
    status = _status(run, row["status_text"])
    if row.get("amount_matches") is False:
        return _text(run, "amount_differs", status=status)
    return status


def _list_local(run: Runtime, limit: int, json_output: bool) -> None:
    state = _state(run)
    orders = [o.to_dict() for o in state.list_orders(limit)]
    if state.skipped:
        run.out.status(_text(run, "damaged_orders", count=state.skipped, path=state.path), "warn")
    if json_output:
        run.out.json_object({"orders": orders})
        return
    rows = [{**o, "trade_no": _text(run, "unknown_order")} if o["unknown"] else o
            for o in orders]
    show_table(run, rows, ["out_trade_no", "trade_no", "money", "name", "type", "pid",
                           "gateway"], "orders")
    run.out.status(_text(run, "remembered", orders=_text(run, "orders", count=len(orders))))


@app.command("refund")
@connection_options
def refund(
    ctx: typer.Context,
    out_trade_no: OutTradeNoArgument = None,
    amount: Annotated[str, typer.Option("--amount", "-a", metavar="YUAN",
                                        help="Amount to refund (any refund sets status 2).")] = "",
    trade_no: TradeNoOption = None,
    out_refund_no: Annotated[str, typer.Option("--out-refund-no", metavar="NO",
                                               help="V2: your refund number.")] = "",
    dry_run: DryRunOption = False,
    json_output: JsonOption = False,
    *,
    conn: Connection,
) -> None:
    """Refund a paid order (api.php?act=refund / api/pay/refund). Not retried."""
    run = runtime(ctx)
    if not amount:
        raise calls.refusal("refund_money_invalid", calls.note("no_refund_amount"),
                            calls.note("refund_amount_example"))
    money = calls.validate_amount(amount, refund=True)
    merchant, _ = resolve_merchant(run, conn)
    now = run.env.now()
    call = calls.refund_order(merchant, now, money=money, out_trade_no=out_trade_no,
                              trade_no=trade_no, out_refund_no=out_refund_no)
    if dry_run:
        show_dry_run(run, [call], json_output)
        return
    from ..gateway import operations

    with open_client(run, conn) as client:
        result = operations.refund(client, call, money=money, out_trade_no=out_trade_no,
                                   trade_no=trade_no)
    show_notes(run, result.notes)
    if json_output:
        run.out.json_object(result.to_dict())
        return
    document = result.to_dict()
    show_fields(run, [("refunded", document["money"]),
                      ("order", result.out_trade_no or result.trade_no),
                      ("gateway_said", result.msg)], "orders", LABELS)


@app.command("wait")
@connection_options(timeout_flag="--request-timeout")
def wait(
    ctx: typer.Context,
    out_trade_no: Annotated[str, typer.Argument(
        metavar="OUT_TRADE_NO", help="Your order number (out_trade_no) to wait for.")],
    timeout_seconds: Annotated[float, typer.Option(
        "--timeout", metavar="SECONDS", min=0, max=86_400,
        help="Give up after this many seconds: a deadline for the whole wait.")] = 300.0,
    interval: Annotated[float, typer.Option("--interval", metavar="SECONDS", min=0.05, max=60,
                                            help="First pause between polls (grows ×1.5 to "
                                                 "10 s).")] = 1.0,
    dry_run: DryRunOption = False,
    json_output: JsonOption = False,
    *,
    conn: Connection,
) -> int:
    """Poll an order until it is paid: the fallback when a notify never comes.

    Exit 0 paid; 3 paid, but not the amount epay ordered (do not deliver); 7 not paid within
    --timeout (a deadline for the whole wait), or refunded/frozen; 4 gateway error; 5 network.
    """
    run = runtime(ctx)
    merchant, _ = resolve_merchant(run, conn)

    def build(now: int) -> Call:  # each poll sends this query (fresh for a V2 timestamp)
        return calls.query_order(merchant, now, out_trade_no=out_trade_no)

    if dry_run:
        show_dry_run(run, [build(run.env.now())], json_output)
        return ExitCode.OK
    from ..gateway import operations

    def on_poll(number: int, queried: Queried | None) -> None:
        state = _status(run, queried.order["status_text"]) if queried else \
            _text(run, "not_there_yet")
        run.out.status(_text(run, "poll", number=number, state=state), "dim")

    with open_client(run, conn) as client:
        outcome = operations.wait_paid(client, build, timeout=timeout_seconds,
                                       recorded=_recorded(_state_or_none(run), merchant),
                                       interval=interval, clock=run.env.clock, on_poll=on_poll)
    return _show_wait(run, outcome, out_trade_no, timeout_seconds, json_output)


def _show_wait(run: Runtime, outcome: WaitOutcome, out_trade_no: str, timeout: float,
               json_output: bool) -> int:
    if json_output:
        run.out.json_object(outcome.to_dict())
    elif outcome.paid:
        order = outcome.order or {}  # (paid: the order is there)
        run.out.data(_text(run, "paid", out_trade_no=out_trade_no,
                           trade_no=order.get("trade_no", ""), money=order.get("money", "")),
                     "ok" if outcome.deliverable else "bad")
    else:
        why = (_text(run, "not_paid_in_time", seconds=f"{timeout:g}")
               if outcome.reason == "timeout" else
               _text(run, "order_is", reason=_status(run, outcome.reason)))
        run.out.status(_text(run, "wait_ended", out_trade_no=out_trade_no, why=why,
                             polls=_text(run, "polls", count=outcome.polls)), "bad")
    amount = outcome.amount
    if outcome.paid and not outcome.deliverable and amount is not None:  # (another amount)
        run.out.status(run.messages.say(amount.line(out_trade_no)), "bad")
        return ExitCode.SIGNATURE_INVALID
    return ExitCode.OK if outcome.paid else ExitCode.CHECK_FAILED


@app.command("pay")
@connection_options
def pay(
    ctx: typer.Context,
    out_trade_no: OutTradeNoArgument = None,
    trade_no: TradeNoOption = None,
    fail: Annotated[bool, typer.Option("--fail", help="Make the payment fail instead.")] = False,
    dry_run: DryRunOption = False,
    json_output: JsonOption = False,
    *,
    conn: Connection,
) -> None:
    """Pay a sandbox order as a buyer would (local gateway only) and trigger its notify."""
    run = runtime(ctx)
    merchant, _ = resolve_merchant(run, conn)
    call = calls.sandbox_pay(merchant, out_trade_no=out_trade_no, trade_no=trade_no, failed=fail)
    if dry_run:
        show_dry_run(run, [call], json_output)
        return
    from ..gateway import operations

    with open_client(run, conn) as client:
        result = operations.sandbox_pay(client, call)
    if json_output:
        run.out.json_object(result.to_dict())
        return
    notify = result.notify
    rows = [("result", _status(run, "failed" if fail else "paid")),
            ("out_trade_no", str(result.data.get("out_trade_no", ""))),
            ("trade_no", str(result.data.get("trade_no", "")))]
    if notify:
        delivered = _text(run, "delivered") if notify.get("delivered") else _text(
            run, "not_delivered", why=notify.get("error") or
            _text(run, "http_status", status=notify.get("status")))
        where = str(notify.get("url") or "").split("?")[0]  # the signed fields: see --json
        rows.append(("notify", _text(run, "notify_where", where=where, delivered=delivered)))
    show_fields(run, rows, "orders")

