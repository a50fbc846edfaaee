"""``epay trigger notify``: send a signed notify to any handler, as a gateway would."""

from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING, Annotated

import typer

from ..core.errors import InputError
from ..core.notify import DELIVERY_TIMEOUT_SECONDS
from ..core.redact import scrub
from ..core.signing import Keys, Md5Key, RsaKeys, Signer, SignType
from ..profiles.keys import load_key, profile_keys
from ..profiles.resolve import Resolved, current, key_notes
from .options import JsonOption, KeyOption, NowOption, ProfileOption
from .runtime import Runtime, runtime

if TYPE_CHECKING:
    from collections.abc import Mapping

    from ..conformance.events import TriggerPlanned, TriggerResult
    from ..conformance.notifies import Method as NotifyMethod
    from ..conformance.notifies import OutgoingNotify
    from ..core.notify import MoneyFormat as NotifyMoneyFormat
    from ..messages import Messages
    from ..state import RecordedOrder

app = typer.Typer(help="Send a signed notify to a shop's handler, as a gateway would.",
                  no_args_is_help=True)


MAX_COUNT = 100_000  # a load test, bounded: every answer is kept to be counted

# What trigger prints, by id (trigger.<id> in the catalogue).
MESSAGES = {
    "recorded": "order {order} as 'epay order create' recorded it: money {money}, "
                "trade_no {trade_no}",
    "dry_run": "dry run: nothing sent ({method})",
    "status": "status",
    "latency": "latency",
    "body": "body",
    "location": "location",
    "delivered": "delivered",
    "ms": "{ms:.1f} ms",
    "not_followed": "{location} (not followed)",
    "sent": "sent",
    "no_answer": "no answer",
    "statuses": "statuses",
    "first_body": "first body",
    "sent_rate": "{sent} in {seconds:.2f} s ({rate:.0f}/s)",
    "delivered_count": "{delivered} (as a gateway counts it)",
    "percentiles": "p50 {p50} ms, p95 {p95} ms, max {max} ms",
    "status_count": "{status}: {count}",
    "status_separator": ", ",
}


class Method(str, Enum):
    GET = "GET"
    POST = "POST"


class MoneyFormat(str, Enum):
    gateway = "gateway"
    two_dp = "2dp"


# The choices as the notify's plan names them (the enums' values, typed as its literals).
_METHODS: dict[Method, NotifyMethod] = {Method.GET: "GET", Method.POST: "POST"}
_MONEY_FORMATS: dict[MoneyFormat, NotifyMoneyFormat] = {MoneyFormat.gateway: "gateway",
                                                        MoneyFormat.two_dp: "2dp"}


Opt = typer.Option


@app.command("notify")
def notify(
    ctx: typer.Context,
    to: Annotated[str, Opt("--to", metavar="URL", help="The handler's notify_url.")],
    order: Annotated[str | None, Opt("--order", metavar="OUT_TRADE_NO",
                                     help="The shop's order number (default: a new one).")] = None,
    amount: Annotated[str | None, Opt(
        "--amount", metavar="X",
        help="money, in yuan (default: the order's, if epay created it; else 1.00).")] = None,
    trade_no: Annotated[str | None, Opt(
        "--trade-no", metavar="N", help="The gateway's number (default: a new 19-digit one).",
    )] = None,
    type_: Annotated[str | None, Opt(
        "--type", metavar="TYPE", help="Payment type (default: the profile's, or alipay).",
    )] = None,
    name: Annotated[str, Opt(
        "--name", help="Product name (a default server install sends 'product').")] = "product",
    param: Annotated[str, Opt("--param", help="Echoed param (left out when empty or 0).")] = "",
    pid: Annotated[str | None, Opt("--pid", metavar="N", help="Merchant id.")] = None,
    set_: Annotated[list[str] | None, Opt(
        "--set", metavar="K=V", help="Change or add a field (signed); repeatable.")] = None,
    unsigned: Annotated[bool, Opt("--unsigned", help="Send without sign and sign_type.")] = False,
    bad_sign: Annotated[bool, Opt("--bad-sign",
                                  help="Change one character of the sign.")] = False,
    sign_with: Annotated[str | None, Opt(
        "--sign-with", metavar="KEY", help="Sign with this key instead (V2: a private key file).",
    )] = None,
    platform_key: Annotated[str | None, Opt(
        "--platform-key", metavar="FILE",
        help="Platform RSA private key: send a V2 (RSA) notify signed with it.")] = None,
    method: Annotated[Method, Opt("--method",
                                  help="GET (as Epay) or POST (some forks).")] = Method.GET,
    money_format: Annotated[MoneyFormat, Opt(
        "--money-format", help="gateway: float-cast like newer servers (1.00 → 1); 2dp: 1.00 "
                               "like older ones.")] = MoneyFormat.gateway,
    count: Annotated[int, Opt("--count", min=1, max=MAX_COUNT, help="Send it N times.")] = 1,
    concurrency: Annotated[int, Opt("--concurrency", min=1, max=512,
                                    help="At most C in flight.")] = 1,
    timeout: Annotated[float, Opt(
        "--timeout", min=0.05, max=120, metavar="S",
        help="Seconds to wait for an answer (a gateway waits 5).")] = DELIVERY_TIMEOUT_SECONDS,
    insecure: Annotated[bool, Opt(
        "--insecure", help="Do not verify the handler's TLS certificate (gateways do not).",
    )] = False,
    dry_run: Annotated[bool, Opt("--dry-run",
                                 help="Print what would be sent; send nothing.")] = False,
    json_output: JsonOption = False,
    key: KeyOption = None,
    profile: ProfileOption = None,
    now: NowOption = None,
) -> None:
    """Send one signed notify (or --count N) to --to URL; print the answer and whether a
    gateway counts it as delivered (body contains success within 5 s, no redirect followed).

    Example: epay trigger notify --to http://127.0.0.1:8000/notify --order A1 --amount 9.90
    """
    from ..conformance import trigger as engine

    run = runtime(ctx)
    if sum((unsigned, bad_sign, sign_with is not None)) > 1:
        raise InputError("--unsigned, --bad-sign and --sign-with exclude each other",
                         "give one of them", code="trigger_signing_conflict", fields={})
    resolved = current(profile, {"key": key, "pid": pid}, run.env.environ)
    signer = notify_signer(resolved, platform_key)
    recorded = recorded_order(order, resolved.profile.pid, run.env.environ) if order else None
    if recorded is not None:
        run.out.status(_text(run.messages, "recorded", order=order,
                             money=f"{recorded.money:.2f}", trade_no=recorded.trade_no), "dim")
    request = engine.TriggerRequest(
        to=to, order=order,
        amount=amount or (f"{recorded.money:.2f}" if recorded else "1.00"),
        trade_no=trade_no or (recorded.trade_no if recorded else None),
        type=type_ or (recorded.type if recorded else "") or resolved.profile.type or "alipay",
        name=name, param=param,
        pid=resolved.profile.pid or (recorded.pid if recorded else ""),
        changes=set_ or [], method=_METHODS[method],
        money_format=_MONEY_FORMATS[money_format], signer=signer,
        sign_with=forger_signer(signer, sign_with) if sign_with is not None else None,
        signing="unsigned" if unsigned else "bad_sign" if bad_sign else "genuine",
        now=run.env.now() if now is None else now)
    outgoing = engine.prepare(request)
    secrets = [resolved.profile.key, sign_with or ""]
    if not platform_key:
        for note in key_notes(resolved, uses_md5_key=True):
            run.out.status(run.messages.say(note), "warn")
    if dry_run:
        from ..conformance.events import TriggerPlanned

        _show(run, TriggerPlanned(outgoing), json_output, secrets)
        return
    _send(run, outgoing, count=count, concurrency=concurrency, timeout=timeout,
          verify_tls=not insecure, json_output=json_output, secrets=secrets)


def _send(run: Runtime, outgoing: OutgoingNotify, *, count: int, concurrency: int,
          timeout: float, verify_tls: bool, json_output: bool, secrets: list[str]) -> None:
    """Send, print what came back, and end with exit 5 when a notify got no answer."""
    from ..conformance import trigger as engine

    result = engine.send(outgoing, count=count, concurrency=concurrency, timeout=timeout,
                         verify_tls=verify_tls)
    summary = result.summary
    if summary.no_answer < summary.sent:  # nothing answered: the error line says it all
        _show(run, result, json_output, secrets)
    if summary.no_answer:
        raise engine.no_answer_error(result)


def recorded_order(out_trade_no: str, pid: str, environ: Mapping[str, str]
                   ) -> RecordedOrder | None:
    """The order as ``epay order create`` recorded it, if it did (the state file is only read,
    never created, here)."""
    from ..state import LocalState  # sqlite3: only when an order is named

    state = LocalState.existing(environ)
    return state.find_order(out_trade_no, pid=pid or None) if state is not None else None


def notify_signer(resolved: Resolved, platform_key: str | None) -> Signer:
    """What signs a notify: the platform private key (V2, RSA) when given, else the merchant's
    MD5 key (V1) from --key / EPAY_KEY / the profile."""
    if platform_key:
        return RsaKeys(private=load_key(platform_key, "private", what="platform private key"))
    return Keys(md5=profile_keys(resolved).md5).to_sign(SignType.MD5)


def forger_signer(signer: Signer, given: str) -> Signer:
    """``--sign-with``: an MD5 key for a V1 notify, a private key file for a V2 one."""
    if isinstance(signer, Md5Key):
        return Md5Key(given.strip())
    return RsaKeys(private=load_key(given, "private", what="key given to --sign-with"))


def _text(messages: Messages, message_id: str, /, **fields: object) -> str:
    return messages.text(f"trigger.{message_id}", MESSAGES[message_id], **fields)


def _show(run: Runtime, event: TriggerPlanned | TriggerResult, json_output: bool,
          secrets: list[str]) -> None:
    """An event of the trigger: its to_dict() with --json; else lines by its type."""
    from ..conformance.events import TriggerPlanned

    out = run.out
    if json_output:
        out.json_object(scrub(event.to_dict(), secrets))
    elif isinstance(event, TriggerPlanned):
        outgoing = event.notify
        out.status(_text(run.messages, "dry_run", method=outgoing.method))
        out.data(scrub(outgoing.url, secrets))
        if outgoing.body is not None:
            out.data(scrub(outgoing.body, secrets))
    else:
        if event.summary.sent == 1:
            out.status(f"{event.notify.method} {scrub(event.notify.url, secrets)}", "dim")
        out.fields(result_fields(event, run.messages))


def result_fields(result: TriggerResult, messages: Messages) -> list[tuple[str, str]]:
    """The answer (one notify) or the figures (many), as labelled fields."""
    def say(message_id: str, /, **fields: object) -> str:
        return _text(messages, message_id, **fields)

    if result.summary.sent == 1:
        answer = result.answers[0]
        rows = [(say("status"), str(answer.status) if answer.answered else "—"),
                (say("latency"), say("ms", ms=answer.seconds * 1000)),
                (say("body"), answer.short_body() if answer.answered
                 else messages.say(answer.describe()))]
        if answer.redirected:
            rows.append((say("location"), say("not_followed", location=answer.location)))
        return [*rows, (say("delivered"), messages.say(result.verdict(answer)))]
    summary = result.summary
    statuses = say("status_separator").join(
        say("status_count", status=say("no_answer") if status == "no answer" else status,
            count=count) for status, count in summary.statuses.items())
    return [
        (say("sent"), say("sent_rate", sent=summary.sent, seconds=summary.seconds,
                          rate=summary.rate)),
        (say("delivered"), say("delivered_count", delivered=summary.delivered)),
        (say("no_answer"), str(summary.no_answer)),
        (say("statuses"), statuses),
        (say("latency"), say("percentiles", p50=summary.p50_ms, p95=summary.p95_ms,
                             max=summary.max_ms)),
        (say("first_body"), result.answers[0].short_body() if result.answers else ""),
    ]
