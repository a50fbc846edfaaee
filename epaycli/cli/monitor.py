"""``epay monitor`` (live figures and alerts) and ``epay reconcile`` (the shop's orders against
the gateway's): options in, one library call, the result rendered."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ..core.errors import ExitCode
from .connect import (
    Connection,
    DryRunOption,
    connection_options,
    resolve_merchant,
    settings_of,
    show_dry_run,
)
from .options import JsonOption
from .runtime import Runtime, runtime

if TYPE_CHECKING:
    from collections.abc import Callable

    from ..core.errors import EpayError
    from ..gateway.calls import Merchant
    from ..monitor.figures import Report, Thresholds
    from ..monitor.reconcile import Reconciliation


class AlertFormat(str, Enum):
    wecom = "wecom"
    dingtalk = "dingtalk"
    feishu = "feishu"
    slack = "slack"
    json = "json"


class SmtpSecurity(str, Enum):
    starttls = "starttls"
    tls = "tls"
    none = "none"


@connection_options(timeout_flag="--request-timeout")
def monitor(
    ctx: typer.Context,
    interval: Annotated[str, typer.Option(
        "--interval", metavar="DURATION", help="Time between two reports (30s, 15m, 1h).")] = "30s",
    window: Annotated[str, typer.Option(
        "--window", metavar="DURATION", help="The sliding window the figures cover.")] = "1h",
    journal: Annotated[Path | None, typer.Option(
        "--journal", metavar="FILE", help="The listener's journal: notifies, their latency and "
                                          "the abnormal ones.")] = None,
    once: Annotated[bool, typer.Option("--once", help="One report, then exit (7 when a "
                                                      "threshold is crossed).")] = False,
    json_output: Annotated[bool, typer.Option(
        "--json", help="One JSON object per interval (the default when not a terminal).")] = False,
    gateway_tz: Annotated[str, typer.Option("--gateway-tz", metavar="TZ", help="The time zone of "
                                            "the gateway's addtime/endtime.")] = "UTC+8",
    pay_timeout: Annotated[str, typer.Option(
        "--pay-timeout", metavar="DURATION",
        help="An unpaid order younger than this is not due yet.")] = "15m",
    notify_grace: Annotated[str, typer.Option(
        "--notify-grace", metavar="DURATION",
        help="A paid order with no verified notify after this is abnormal.")] = "5m",
    min_success_rate: Annotated[float, typer.Option("--min-success-rate", min=0, max=1, metavar="R",
                                                    help="Threshold: paid ÷ due.")] = 0.995,
    max_response_ms: Annotated[float, typer.Option("--max-response-ms", min=1, metavar="MS",
                                                   help="Threshold: average response.")] = 500.0,
    max_abnormal_rate: Annotated[float, typer.Option(
        "--max-abnormal-rate", min=0, max=1, metavar="R",
        help="Threshold: abnormal ÷ paid must stay below it.")] = 0.001,
    alert_webhook: Annotated[str | None, typer.Option(
        "--alert-webhook", metavar="URL", help="A robot webhook (WeCom, DingTalk, Feishu, Slack "
                                               "or your own).")] = None,
    alert_format: Annotated[AlertFormat | None, typer.Option(
        "--alert-format", help="The robot's JSON (default: from the webhook's host, else "
                               "json).")] = None,
    alert_secret: Annotated[str, typer.Option(
        "--alert-secret", metavar="SECRET", help="DingTalk/Feishu signing secret (or "
                                                 "EPAY_ALERT_SECRET).")] = "",
    alert_email: Annotated[str | None, typer.Option("--alert-email", metavar="ADDR",
                                                    help="Send alerts by e-mail (SMTP).")] = None,
    smtp_host: Annotated[str | None, typer.Option(
        "--smtp-host", metavar="HOST", help="SMTP server (default: EPAY_SMTP, the profile's "
                                            "smtp, or localhost).")] = None,
    smtp_port: Annotated[int | None, typer.Option("--smtp-port", metavar="N", min=0, max=65535,
                                                  help="Default 587, 465 with tls, 25 with "
                                                       "none.")] = None,
    smtp_security: Annotated[SmtpSecurity | None, typer.Option(
        "--smtp-security", help="starttls (default), tls or none.")] = None,
    smtp_user: Annotated[str | None, typer.Option(
        "--smtp-user", metavar="USER",
        help="Log in as USER (password: EPAY_SMTP_PASSWORD).")] = None,
    alert_from: Annotated[str | None, typer.Option(
        "--alert-from", metavar="ADDR",
        help="The sender of alert e-mails (default: the SMTP user).")] = None,
    alert_cmd: Annotated[str | None, typer.Option(
        "--alert-cmd", metavar="CMD", help="Run CMD with the alert as JSON on stdin.")] = None,
    concurrency: Annotated[int, typer.Option("--concurrency", min=1, max=64,
                                             help="Gateway requests in flight.")] = 8,
    dry_run: DryRunOption = False,
    *,
    conn: Connection,
) -> int:
    """Watch a live integration: success rate, response time, abnormal orders; alert on a breach.

    Example: epay monitor --journal listen.sqlite3 --alert-webhook URL --once
    """
    run = runtime(ctx)
    from ..monitor import alerts, watch
    from ..monitor.figures import Thresholds
    from ..monitor.text import say, speaking

    ctx.with_resource(speaking(run.messages))  # its lines, alerts and errors in the run's language

    environ = run.env.environ
    merchant, resolved = resolve_merchant(run, conn)
    smtp = alerts.Smtp.from_url(environ.get("EPAY_SMTP") or resolved.profile.smtp).overridden(
        host=smtp_host, port=smtp_port, security=smtp_security and smtp_security.value,
        user=smtp_user, password=environ.get("EPAY_SMTP_PASSWORD"), sender=alert_from)
    channels = alerts.build_channels(
        webhook=alert_webhook, fmt=alert_format.value if alert_format else None,
        secret=alert_secret or environ.get("EPAY_ALERT_SECRET", ""), email=alert_email,
        smtp=smtp, command=alert_cmd)  # --insecure is for the gateway, never the robots
    thresholds = Thresholds(min_success_rate, max_response_ms, max_abnormal_rate)
    span = say("board_span", window=window, interval=interval)
    show = _shower(run, merchant, json_output or not run.env.is_terminal(run.env.stdout),
                   thresholds, span, going_on=not once)
    watching = watch.open_watch(
        merchant, interval=interval, window=window, pay_timeout=pay_timeout,
        notify_grace=notify_grace, gateway_tz=gateway_tz, journal=journal,
        thresholds=thresholds, channels=channels, settings=settings_of(conn), environ=environ,
        show=show, status=run.out.status, width=concurrency, clock=run.env.clock)
    try:
        if dry_run:  # the first interval's first requests; the rest depend on the answers
            show_dry_run(run, watching.monitor.planned(), json_output)
            return ExitCode.OK
        return watching.once() if once else watching.forever()
    finally:
        run.out.board_close()
        watching.monitor.close()


def _shower(run: Runtime, merchant: Merchant, as_json: bool, thresholds: Thresholds, span: str,
            *, going_on: bool) -> Callable[[Report, EpayError | None], None]:
    """How each interval's report is shown: a JSON line, or the live dashboard."""
    import time

    from ..monitor.dashboard import Board, title
    from ..monitor.text import say

    board = None

    def show(report: Report, error: EpayError | None) -> None:
        nonlocal board
        if as_json:
            run.out.json_line(report.to_dict())
            if error is not None and going_on:  # --once ends with the error itself
                run.out.status(say("interval_failed", reason=error.message), "warn")
            return
        if board is None:
            from ..monitor.alerts import Scope

            board = Board(title(merchant.pid, Scope(merchant.gateway, merchant.pid).host, span),
                          thresholds)
        run.out.board(board.lines(report, updated=time.strftime(
            "%H:%M:%S", time.gmtime(run.env.clock())),
            error=None if error is None else error.message))

    return show


@connection_options
def reconcile(
    ctx: typer.Context,
    from_: Annotated[str | None, typer.Option(
        "--from", metavar="FILE|-", help="The shop's export: CSV or JSON with out_trade_no, "
                                         "money and status.")] = None,
    local: Annotated[bool, typer.Option("--local", help="epay's own memory of the orders it "
                                                         "created instead.")] = False,
    since: Annotated[str | None, typer.Option(
        "--since", metavar="WHEN", help="Only orders made since (24h, 7d or 2026-12-01).")] = None,
    csv_file: Annotated[Path | None, typer.Option("--csv", metavar="FILE",
                                                  help="Also write the mismatches as CSV.")] = None,
    concurrency: Annotated[int, typer.Option("--concurrency", min=1, max=64,
                                             help="Gateway requests in flight.")] = 32,
    dry_run: DryRunOption = False,
    json_output: JsonOption = False,
    *,
    conn: Connection,
) -> int:
    """Compare the shop's orders with the gateway's: paid but not credited, credited but not
    paid, amounts that differ, orders the gateway does not know. Exit 7 on a mismatch."""
    run = runtime(ctx)
    from ..monitor import reconcile as rec
    from ..monitor.text import speaking

    ctx.with_resource(speaking(run.messages))

    merchant, resolved = resolve_merchant(run, conn)
    now = run.env.now()
    shop = rec.shop_orders(from_, local=local, since=since, now=now, merchant=merchant,
                           read=lambda source: _read_export(source, run),
                           environ=run.env.environ)
    if dry_run:
        show_dry_run(run, rec.planned(merchant, shop, concurrency=concurrency, now=now),
                     json_output)
        return ExitCode.OK
    result = rec.reconcile(merchant, shop, settings=settings_of(conn), concurrency=concurrency,
                           now=now, notify_url=resolved.profile.notify_url)
    if csv_file is not None:
        rec.write_csv(csv_file, result)
    if json_output:
        run.out.json_object(result.to_dict())
    else:
        _show_reconciliation(run, result)
    return ExitCode.CHECK_FAILED if result.mismatches else ExitCode.OK


def _read_export(source: str, run: Runtime) -> str:
    """The shop's export: a file or stdin, up to 64 MiB (a million orders)."""
    from ..core.errors import InputError
    from ..files import file_name, read_limited, user_path
    from ..monitor.text import say

    limit, shown = 64 * 1024 * 1024, "standard input" if source == "-" else repr(source)
    if source == "-":
        if run.env.stdin is None:
            raise InputError(say("export_stdin_closed"), say("export_stdin_hint"))
        raw = run.env.stdin.buffer.read(limit + 1)
    else:
        raw = read_limited(user_path(source, what=file_name("file", path=source), error=InputError),
                           limit=limit, what=file_name("file", path=source), error=InputError,
                           too_large_hint=say("export_too_large_hint"))
    if len(raw) > limit:
        raise InputError(say("export_too_large", source=shown), say("export_too_large_hint"))
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise InputError(say("export_not_utf8", source=shown, byte=raw[error.start],
                             offset=error.start), say("export_not_utf8_hint")) from None


def _show_reconciliation(run: Runtime, result: Reconciliation) -> None:
    from ..monitor.text import say

    rows = [{"out_trade_no": m.out_trade_no, "kind": m.kind,
             "shop": f"{m.shop['money']} {m.shop['status']}".strip(),
             "gateway": f"{m.gateway['money']} {m.gateway['status_text']}" if m.gateway else "-",
             "fix": m.command} for m in result.mismatches]
    if rows:
        run.out.table(rows, ["out_trade_no", "kind", "shop", "gateway", "fix"])
        run.out.status(say("reconcile_summary", checked=result.checked,
                           count=len(result.mismatches)), "bad")
    else:
        run.out.status(say("reconcile_clean", checked=result.checked), "ok")
