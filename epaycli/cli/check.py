"""``epay check notify``: grade a shop's notify handler, case by case, for people and CI."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ..core.errors import CheckFailed, InputError
from ..core.notify import DELIVERY_TIMEOUT_SECONDS
from ..core.redact import scrub
from ..profiles.resolve import current, key_notes
from .options import JsonOption, KeyOption, NowOption, ProfileOption
from .runtime import Runtime, runtime
from .trigger import notify_signer

if TYPE_CHECKING:
    from ..conformance.events import CheckPlanned, CheckReport

app = typer.Typer(help="Grade a shop's notify handler (exit 7 when a case fails).",
                  no_args_is_help=True)

CASE_HELP = ("bad_signature, missing_signature, unsigned, tampered_amount, amount_mismatch, "
             "wrong_pid, unknown_order, not_paid, genuine, post_delivery, extra_field, "
             "float_money, duplicate, slow_redirect")


@app.command("notify")
def notify(
    ctx: typer.Context,
    url: Annotated[str, typer.Argument(metavar="URL", help="The handler's notify_url.")],
    order: Annotated[str | None, typer.Option(
        "--order", metavar="OUT_TRADE_NO", help="A real, unpaid order in the shop.")] = None,
    amount: Annotated[str | None, typer.Option(
        "--amount", metavar="X", help="That order's amount, in yuan.")] = None,
    create_order_cmd: Annotated[str | None, typer.Option(
        "--create-order-cmd", metavar="CMD",
        help='A command that creates an order and prints {"out_trade_no": …, "money": …} or '
             '"OUT_TRADE_NO AMOUNT".')] = None,
    state_url: Annotated[str | None, typer.Option(
        "--state-url", metavar="URL",
        help='The shop\'s order state: GET URL?out_trade_no=… (or {out_trade_no} in URL) '
             'answers {"credits": N}; turns "answered success" into "credited once".')] = None,
    only: Annotated[list[str] | None, typer.Option(
        "--only", metavar="CASES", help=f"Run only these cases (comma-separated): {CASE_HELP}.",
    )] = None,
    skip: Annotated[list[str] | None, typer.Option(
        "--skip", metavar="CASES", help="Leave these cases out.")] = None,
    trade_no: Annotated[str | None, typer.Option(
        "--trade-no", metavar="N", help="The gateway's number (default: a new one).")] = None,
    type_: Annotated[str | None, typer.Option("--type", metavar="TYPE",
                                              help="Payment type.")] = None,
    name: Annotated[str, typer.Option("--name", help="Product name in the notifies.")] = "product",
    pid: Annotated[str | None, typer.Option("--pid", metavar="N", help="Your merchant id.")] = None,
    platform_key: Annotated[str | None, typer.Option(
        "--platform-key", metavar="FILE", help="Platform RSA private key: check V2 notifies.",
    )] = None,
    timeout: Annotated[float, typer.Option(
        "--timeout", min=0.05, max=120, metavar="S",
        help="The gateway's wait for an answer (5 s); slow is over 60 % of it.",
    )] = DELIVERY_TIMEOUT_SECONDS,
    junit: Annotated[Path | None, typer.Option(
        "--junit", metavar="FILE", help="Also write JUnit XML for CI.")] = None,
    insecure: Annotated[bool, typer.Option(
        "--insecure", help="Do not verify the handler's TLS certificate.")] = False,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="Print every case's notifies; send nothing, run no command.")] = False,
    gateway_posts: Annotated[bool, typer.Option(
        "--gateway-posts", help="Your gateway sends notifies as POST: a handler that fails "
                                "post_delivery FAILs (Rainbow servers send GET: a WARN).")] = False,
    json_output: JsonOption = False,
    key: KeyOption = None,
    profile: ProfileOption = None,
    now: NowOption = None,
) -> None:
    """Send the suite of notifies to URL and grade each case PASS / FAIL / WARN with the
    reason and the fix; exit 0 when no case fails, 7 otherwise.

    Example: epay check notify http://127.0.0.1:8000/notify --order A1 --amount 1.00
    """
    from ..conformance import reports
    from ..conformance.plan import CheckRequest, prepare_check
    from ..conformance.runner import run_check

    run = runtime(ctx)
    if junit is not None and not junit.expanduser().parent.is_dir():  # before anything is sent
        raise InputError("--junit {path!r}: the folder does not exist",
                         "create it first, or write the report elsewhere",
                         code="junit_no_folder", fields={"path": str(junit)})
    resolved = current(profile, {"key": key, "pid": pid}, run.env.environ)
    plan = prepare_check(CheckRequest(
        url=url, order=order, amount=amount, create_order_cmd=create_order_cmd,
        state_url=state_url, trade_no=trade_no, type=type_ or resolved.profile.type or "alipay",
        name=name, pid=resolved.profile.pid, signer=notify_signer(resolved, platform_key),
        only=only or [], skip=skip or [],
        timeout=timeout, now=run.env.now() if now is None else now, dry_run=dry_run,
        gateway_posts=gateway_posts),
        run.env.environ)
    if not platform_key:
        for note in key_notes(resolved, uses_md5_key=True):
            run.out.status(run.messages.say(note), "warn")
    if dry_run:
        _show(run, reports.planned(plan.suite, plan.cases), json_output)
        return
    report = run_check(plan.suite, plan.cases, state=plan.state, verify_tls=not insecure)
    _show(run, report, json_output)
    if junit is not None:  # a file, not output: masked here
        _write(junit, scrub(reports.junit_xml(report), [resolved.profile.key]))
    if report.failed:
        raise CheckFailed("{count} of {total} cases failed: {names}",
                          "fix the handler as each case's fix says, then run the check again",
                          code="check_cases_failed",
                          fields={"count": len(report.failed), "total": len(report.results),
                                  "names": ", ".join(r.case.id for r in report.failed)})


def _show(run: Runtime, event: CheckPlanned | CheckReport, json_output: bool) -> None:
    """An event of the check: its to_dict() with --json; else lines by its type (the output
    masks the run's keys in all of it)."""
    from ..conformance.events import CheckPlanned

    if json_output:
        run.out.json_object(event.to_dict())
    elif isinstance(event, CheckPlanned):
        _show_planned(run, event)
    else:
        _show_report(run, event)


def _show_report(run: Runtime, report: CheckReport) -> None:
    from ..conformance import reports

    out, messages = run.out, run.messages
    for note in report.notes:
        out.status(messages.say(note), "warn")
    if run.env.colour(run.env.stdout):
        out.table(reports.table_rows(report, messages), reports.table_columns(messages))
    else:
        for line, style in reports.text_lines(report, messages):
            out.data(line, style)
    out.data(reports.summary_line(report, messages), "bad" if report.failed else "ok")


def _show_planned(run: Runtime, planned: CheckPlanned) -> None:
    from ..conformance.reports import text

    out, messages = run.out, run.messages
    out.status(text(messages, "dry_run"))
    for case in planned.cases:
        for notify, count in case.notifies:
            where = {"case": case.id, "method": notify.method, "url": notify.url}
            out.data(text(messages, "planned_times", count=count, **where) if count > 1
                     else text(messages, "planned", **where))
            if notify.body is not None:
                out.data(text(messages, "body", body=notify.body))


def _write(path: Path, text: str) -> None:
    try:
        path.expanduser().write_text(text, encoding="utf-8")
    except OSError as error:
        raise InputError("cannot write --junit {path!r}: {reason}",
                         "check the directory exists and is writable", code="junit_unwritable",
                         fields={"path": str(path), "reason": error.strerror}) from None
