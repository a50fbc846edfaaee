"""``epay order``: create, query, list, refund, wait for and (sandbox) pay orders."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from ..core.errors import ConfigError, ExitCode, InputError
from ..gateway import calls
from ..gateway.calls import Merchant
from .connect import (
    Connection,
    DryRunOption,
    connection_options,
    open_client,
    resolve_merchant,
    show_dry_run,
    settings_of,
    show_notes,
)
from .options import JsonOption
from .runtime import Runtime, runtime

app = typer.Typer(help="Create, query, list, refund and wait for orders at the gateway.",
                  no_args_is_help=True)

# Where sandbox orders notify when no notify_url is configured (nothing need listen there:
# the local gateway records the failed delivery and retries as a real one would).
SANDBOX_NOTIFY_URL = "http://127.0.0.1:8788/notify"
SANDBOX_RETURN_URL = "http://127.0.0.1:8788/return"
MAX_BATCH = 100_000


class Mode(str, Enum):
    api = "api"
    page = "page"


TradeNoOption = Annotated[str | None, typer.Option(
    "--trade-no", metavar="NO", help="The gateway's order number instead of OUT_TRADE_NO.")]
OutTradeNoArgument = Annotated[str | None, typer.Argument(
    metavar="[OUT_TRADE_NO]", help="Your order number (out_trade_no).")]


def _state(run: Runtime):
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
    order = calls.validate_order(
        money=amount, name=name, out_trade_no=out_trade_no or _new_number(run),
        notify_url=notify, return_url=back, type=payment_type or profile.type, param=param,
        device=device, clientip=client_ip if mode is Mode.api else "", method=method,
        api=mode is Mode.api)
    # Notes only once the order is valid: a refused order is one error line, nothing more.
    show_notes(run, [*url_notes, *calls.order_warnings(order, merchant.gateway)])
    now = run.env.now()
    if mode is Mode.page:
        _page(run, merchant, order, now, html=html, dry_run=dry_run, json_output=json_output)
        return
    call = calls.create_order(merchant, order, now)
    if dry_run:
        show_dry_run(run, [call], json_output)
        return
    state = _state(run)  # opened first: a broken state folder fails before an order exists
    from ..gateway import operations

    with open_client(run, conn) as client:
        created = operations.create(client, merchant, order, now)
    _remember(run, state, merchant, order, created.get("trade_no", ""), now)
    show_notes(run, created.pop("notes"))
    _show_created(run, created, json_output)


def _urls(merchant: Merchant, notify: str, back: str) -> tuple[str, str, list[str]]:
    """The sandbox needs no configuration: a local gateway gets local placeholder URLs (and a
    note saying so)."""
    notes = []
    if calls.is_loopback_host(_host(merchant.gateway)):
        if not notify:
            notify = SANDBOX_NOTIFY_URL
            notes.append(f"notify_url: {notify} (sandbox default; --notify-url sets one, "
                         "e.g. from 'epay listen')")
        back = back or SANDBOX_RETURN_URL
    return notify, back, notes


def _host(url: str) -> str:
    from urllib.parse import urlsplit

    return urlsplit(url).hostname or ""


def _new_number(run: Runtime) -> str:
    import secrets

    return calls.new_out_trade_no(run.env.now(), secrets.token_hex(3))


def _remember(run: Runtime, state, merchant: Merchant, order, trade_no: str, now: int) -> None:
    from ..state import RecordedOrder

    try:
        state.record_order(RecordedOrder(merchant.gateway, merchant.pid, order.out_trade_no,
                                         trade_no, order.money, order.name, order.type, now))
    except Exception as error:  # noqa: BLE001 - the order exists at the gateway: say, not fail
        run.out.status(f"the order was created but epay could not remember it ({error})", "warn")


def _page(run: Runtime, merchant: Merchant, order, now: int, *, html, dry_run, json_output):
    endpoint, signed = calls.submit_page(merchant, order, now)
    url = signed.url(endpoint)
    if html is not None and not dry_run:
        try:
            html.write_text(calls.auto_submit_form(endpoint, signed), encoding="utf-8")
        except OSError as error:
            raise InputError(f"cannot write {html}: {error.strerror}",
                             "check the folder exists and is writable") from None
        run.out.status(f"wrote the auto-submit form to {html}")
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
        run.out.status("dry run: nothing was recorded; the URL is what a browser would open")
    else:
        run.out.status(f"out_trade_no {order.out_trade_no}: open the URL in a browser to pay")


def _show_created(run: Runtime, created: dict, json_output: bool) -> None:
    from ..gateway.replies import pay_field

    if json_output:
        run.out.json_object(created)
        return
    kind, value = pay_field(created)
    rows = [("out_trade_no", created["out_trade_no"]), ("trade_no", created["trade_no"]),
            ("money", created["money"])]
    if kind:
        rows.append((kind, value if kind != "html" else f"({len(value)} characters of HTML)"))
    run.out.fields(rows)
    if kind in ("qrcode", "payurl", "urlscheme") and run.out.qr_code(value):
        run.out.status(f"scan to pay ({kind})", "dim")


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
    """Query an order (status 0 unpaid, 1 paid, 2 refunded), or a file of them with --from."""
    run = runtime(ctx)
    merchant, _ = resolve_merchant(run, conn)
    now = run.env.now()
    if from_ is not None:
        if out_trade_no or trade_no:
            raise InputError("--from and an order number given together", "give one of them")
        return _query_batch(run, merchant, _numbers(from_, run), now, conn, concurrency,
                            dry_run, json_output)
    call = calls.query_order(merchant, now, out_trade_no=out_trade_no, trade_no=trade_no)
    if dry_run:
        show_dry_run(run, [call], json_output)
        return ExitCode.OK
    from ..gateway import operations

    with open_client(run, conn) as client:
        order = operations.query(client, merchant, now, out_trade_no=out_trade_no,
                                 trade_no=trade_no)
    show_notes(run, order.pop("notes"))
    _compare_with_local(run, merchant, order)
    if json_output:
        run.out.json_object(order)
    else:
        _show_order(run, order)
    return ExitCode.OK


def _numbers(source: str, run: Runtime) -> list[str]:
    from .inputs import read_file

    numbers = []
    for index, line in enumerate(read_file(source, run.env).splitlines(), 1):
        text = line.split(",")[0].strip()
        if not text or text.startswith("#"):
            continue
        try:
            numbers.append(calls.validate_out_trade_no(text))
        except InputError as error:
            raise InputError(f"line {index} of {source}: {error.message}", error.hint) from None
    if not numbers:
        raise InputError(f"{source} lists no order numbers",
                         "write one out_trade_no a line (a CSV's first column works too)")
    if len(numbers) > MAX_BATCH:
        raise InputError(f"{source} lists {len(numbers)} orders", f"split it: at most {MAX_BATCH}")
    return numbers


def _query_batch(run, merchant, numbers, now, conn, concurrency, dry_run, json_output) -> int:
    if dry_run:
        planned = [calls.query_order(merchant, now, out_trade_no=n) for n in numbers]
        show_dry_run(run, planned, json_output)
        return ExitCode.OK
    from ..gateway import operations

    results = operations.query_many(merchant, numbers, now, settings=settings_of(conn),
                                    concurrency=concurrency)
    failed = [r for r in results if not r["ok"]]
    if json_output:
        run.out.json_object({"results": results, "summary": {"queried": len(results),
                                                              "ok": len(results) - len(failed),
                                                              "failed": len(failed)}})
    else:
        rows = []
        for result in results:
            order = result.get("order") or {}
            rows.append({"out_trade_no": result["out_trade_no"],
                         "status": order.get("status_text", "error"),
                         "money": order.get("money", ""), "trade_no": order.get("trade_no", ""),
                         "error": result.get("error", {}).get("message", "")})
        run.out.table(rows, ["out_trade_no", "status", "money", "trade_no", "error"])
    run.out.status(f"queried {len(results)} orders: {len(results) - len(failed)} answered, "
                   f"{len(failed)} failed")
    # The worst failure decides: network (5) over gateway (4).
    return max((r["error"]["exit_code"] for r in failed), default=ExitCode.OK)


def _compare_with_local(run: Runtime, merchant: Merchant, order: dict) -> None:
    """What epay ordered against what the gateway holds (the amount above all)."""
    from ..core.money import amounts_equal

    number = order.get("out_trade_no", "")
    if not number:
        return
    try:
        state = _state(run)
        recorded = state.find_order(number, pid=merchant.pid, gateway=merchant.gateway)
    except ConfigError:
        return
    if recorded is None:
        order["local"] = None
        return
    matches = amounts_equal(str(order.get("money", "")), recorded.money)
    order["local"] = {**recorded.to_dict(), "amount_matches": matches}
    if not matches:
        run.out.status(f"the gateway holds money={order.get('money')!r} but epay ordered "
                       f"{recorded.money:f}: do not deliver on this order", "bad")
    if order.get("trade_no") and not recorded.trade_no:
        state.learn_trade_no(recorded.gateway, recorded.pid, number, order["trade_no"])


def _show_order(run: Runtime, order: dict) -> None:
    rows = [(k, str(order[k])) for k in ("out_trade_no", "trade_no", "api_trade_no", "type",
                                         "name", "money", "addtime", "endtime", "param", "buyer")
            if order.get(k) not in (None, "")]
    rows.append(("status", f"{order['status']} ({order['status_text']})"))
    if order.get("refundmoney"):
        rows.append(("refundmoney", str(order["refundmoney"])))
    run.out.fields(rows)


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
    """List orders at the gateway (api.php?act=orders / api/merchant/orders), or --local."""
    run = runtime(ctx)
    if local:
        _list_local(run, 1_000_000 if all_pages else limit, json_output)
        return
    merchant, _ = resolve_merchant(run, conn)
    now = run.env.now()
    if dry_run:
        show_dry_run(run, [calls.list_orders(merchant, now, limit=calls.LIST_PAGE_MAX if all_pages
                                             else limit, offset=0 if all_pages else offset,
                                             status=status)], json_output)
        return
    from ..gateway import operations

    with open_client(run, conn) as client:
        if all_pages:
            listing = operations.list_all(client, merchant, now, status=status,
                                          settings=settings_of(conn))
        else:
            listing = operations.list_page(client, merchant, now, limit=limit, offset=offset,
                                           status=status)
    show_notes(run, listing.notes)
    if json_output:
        run.out.json_object(listing.to_dict())
        return
    run.out.table(listing.orders, ["out_trade_no", "trade_no", "money", "status_text", "type",
                                   "name", "addtime"])
    total = f" of {listing.count}" if listing.count is not None else ""
    run.out.status(f"{len(listing.orders)} orders{total} ({listing.pages} "
                   f"page{'s' if listing.pages != 1 else ''})")


def _list_local(run: Runtime, limit: int, json_output: bool) -> None:
    state = _state(run)
    orders = [o.to_dict() for o in state.list_orders(limit)]
    if state.skipped:
        run.out.status(f"warning: {state.skipped} damaged orders in {state.path} left out", "warn")
    if json_output:
        run.out.json_object({"orders": orders})
        return
    run.out.table(orders, ["out_trade_no", "trade_no", "money", "name", "type", "pid", "gateway"])
    run.out.status(f"{len(orders)} orders remembered by epay")


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
        raise calls.refusal("refund_money_invalid", "no --amount was given",
                            "give the amount to refund, e.g. --amount 1.00")
    money = calls.validate_amount(amount, what="refund amount")
    merchant, _ = resolve_merchant(run, conn)
    now = run.env.now()
    call = calls.refund_order(merchant, now, money=money, out_trade_no=out_trade_no,
                              trade_no=trade_no, out_refund_no=out_refund_no)
    if dry_run:
        show_dry_run(run, [call], json_output)
        return
    from ..gateway import operations

    with open_client(run, conn) as client:
        result = operations.refund(client, merchant, now, money=money, out_trade_no=out_trade_no,
                                   trade_no=trade_no, out_refund_no=out_refund_no)
    show_notes(run, result.pop("notes"))
    if json_output:
        run.out.json_object(result)
        return
    run.out.fields([("refunded", result["money"]),
                    ("order", result["out_trade_no"] or result["trade_no"]),
                    ("gateway said", result["msg"])])


@app.command("wait")
@connection_options(timeout_flag="--request-timeout")
def wait(
    ctx: typer.Context,
    out_trade_no: Annotated[str, typer.Argument(
        metavar="OUT_TRADE_NO", help="Your order number (out_trade_no) to wait for.")],
    timeout_seconds: Annotated[float, typer.Option(
        "--timeout", metavar="SECONDS", min=0, max=86_400,
        help="Give up after this many seconds.")] = 300.0,
    interval: Annotated[float, typer.Option("--interval", metavar="SECONDS", min=0.05, max=60,
                                            help="First pause between polls (grows ×1.5 to "
                                                 "10 s).")] = 1.0,
    dry_run: DryRunOption = False,
    json_output: JsonOption = False,
    *,
    conn: Connection,
) -> int:
    """Poll an order until it is paid: the fallback when a notify never comes.

    Exit 0 paid; 7 not paid within --timeout, or refunded/frozen; 4 gateway error; 5 network.
    """
    run = runtime(ctx)
    merchant, _ = resolve_merchant(run, conn)
    if dry_run:  # each poll sends this query
        show_dry_run(run, [calls.query_order(merchant, run.env.now(), out_trade_no=out_trade_no)],
                     json_output)
        return ExitCode.OK
    from ..gateway import operations

    def on_poll(number: int, order: dict | None) -> None:
        state = order["status_text"] if order else "not at the gateway yet"
        run.out.status(f"poll {number}: {state}", "dim")

    with open_client(run, conn) as client:
        outcome = operations.wait_paid(client, merchant, out_trade_no=out_trade_no,
                                       timeout=timeout_seconds, interval=interval,
                                       clock=run.env.clock, on_poll=on_poll)
    if json_output:
        run.out.json_object(outcome.to_dict())
    elif outcome.paid:
        run.out.data(f"paid: {out_trade_no} (trade_no {outcome.order.get('trade_no', '')}, "
                     f"money {outcome.order.get('money', '')})", "ok")
    else:
        why = (f"not paid within {timeout_seconds:g} s" if outcome.reason == "timeout"
               else f"the order is {outcome.reason}")
        run.out.status(f"{out_trade_no}: {why} ({outcome.polls} polls)", "bad")
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
        result = operations.sandbox_pay(client, merchant, out_trade_no=out_trade_no,
                                        trade_no=trade_no, failed=fail)
    if json_output:
        run.out.json_object(result)
        return
    notify = result.get("notify") or {}
    rows = [("result", "failed" if fail else "paid"),
            ("out_trade_no", str(result.get("out_trade_no", ""))),
            ("trade_no", str(result.get("trade_no", "")))]
    if notify:
        delivered = "delivered" if notify.get("delivered") else (
            f"not delivered ({notify.get('error') or 'HTTP ' + str(notify.get('status'))})")
        where = str(notify.get("url") or "").split("?")[0]  # the signed fields: see --json
        rows.append(("notify", f"{where}: {delivered}"))
    run.out.fields(rows)

