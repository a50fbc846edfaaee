"""``epay doctor``: find a broken set-up before the first order; ``epay doctor request``: lint
a payment request before it is sent."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from ..core.errors import CheckFailed, InputError
from ..core.params import merged_params, parse_pairs, parse_pasted
from ..profiles.resolve import current
from .inputs import read_file
from .options import JsonOption, KeyOption, ProfileOption
from .runtime import Runtime, runtime

if TYPE_CHECKING:
    from ..doctor.findings import Report
    from ..env import Environment

app = typer.Typer(help="Check the profile, gateway, key, notify_url and clock (exit 7 when a "
                       "check fails); 'doctor request' lints a payment request.",
                  invoke_without_command=True)

MerchantPublicKeyOption = Annotated[str | None, typer.Option(
    "--merchant-public-key", metavar="FILE",
    help="The merchant public key uploaded to the gateway: checked against the private key.")]


@app.callback()
def doctor(
    ctx: typer.Context,
    offline: Annotated[bool, typer.Option(
        "--offline", help="Only what needs no network: the profile, the URLs as written.")] = False,
    probe: Annotated[bool, typer.Option(
        "--probe", help="Send a signed and a tampered test notify to the notify_url (done "
                        "anyway when 'epay listen' answers there).")] = False,
    timeout: Annotated[float, typer.Option(
        "--timeout", metavar="SECONDS", min=0.1, max=60.0,
        help="Seconds to wait for the gateway.")] = 5.0,
    merchant_public_key: MerchantPublicKeyOption = None,
    json_output: JsonOption = False,
    profile: ProfileOption = None,
) -> None:
    """Check a set-up before the first order: the profile, the gateway, the key, the
    notify_url, the clock; one line per check (✓ / ! / ✗) with the fix; exit 7 when a check
    fails.

    Example: epay doctor --profile live
    """
    if ctx.invoked_subcommand is not None:
        return
    from ..doctor.run import DoctorRequest, run_doctor

    run = runtime(ctx)
    resolved = current(profile, {}, run.env.environ, as_written=True)
    report = run_doctor(DoctorRequest(resolved, offline=offline, probe=probe, timeout=timeout,
                                      merchant_public_key=merchant_public_key,
                                      clock=run.env.clock))
    _show(run, report, json_output, [resolved.profile.key])


@app.command("request")
def request(
    ctx: typer.Context,
    pairs: Annotated[list[str] | None, typer.Argument(
        metavar="[K=V]...", help="The request's parameters, e.g. money=1.00")] = None,
    from_: Annotated[str | None, typer.Option(
        "--from", metavar="FILE|-",
        help="Read the parameters from a file or stdin (-): URL, query, form body, JSON or k=v "
             "lines.")] = None,
    endpoint: Annotated[str | None, typer.Option(
        "--endpoint", metavar="submit|mapi|create",
        help="Where it goes (default: submit.php; mapi.php with clientip; api/pay/create with "
             "method or timestamp).")] = None,
    amount_hint: Annotated[str | None, typer.Option(
        "--amount-hint", metavar="YUAN", help="The amount the order is for, in yuan: money "
                                              "100 times it is fen.")] = None,
    offline: Annotated[bool, typer.Option(
        "--offline", help="Do not resolve the URLs' host names.")] = False,
    merchant_public_key: MerchantPublicKeyOption = None,
    json_output: JsonOption = False,
    key: KeyOption = None,
    profile: ProfileOption = None,
) -> None:
    """Lint a payment request before it is sent: required fields, Alipay-style names, the
    amount, out_trade_no, name, the URLs, and the sign when present; exit 7 when a rule fails.

    Example: epay doctor request pid=1001 money=100 name=VIP out_trade_no=A1 …
    """
    from ..doctor.request import lint_request, request_keys
    from ..doctor.urls import resolve

    run = runtime(ctx)
    params = _collect(pairs or [], from_, run.env)
    resolved = current(profile, {"key": key}, run.env.environ)
    keys, gateway_local = request_keys(resolved, merchant_public_key)
    report = lint_request(params, endpoint=endpoint, amount_hint=amount_hint, keys=keys,
                          gateway_local=gateway_local, resolver=None if offline else resolve)
    _show(run, report, json_output, [resolved.profile.key])


def _collect(pairs: list[str], from_: str | None, env: Environment) -> dict[str, str]:
    params = merged_params(parse_pasted(read_file(from_, env)) if from_ else {},
                           parse_pairs(pairs))
    if not params:
        raise InputError("no request to check",
                         "give its parameters as k=v arguments or with --from FILE",
                         code="doctor_request_empty", fields={})
    return params


def _show(run: Runtime, report: Report, json_output: bool, secrets: list[str]) -> None:
    from ..core.redact import scrub
    from ..doctor.findings import worded
    from ..doctor.messages import MESSAGES
    from ..doctor.run import text_lines

    messages = run.messages
    report = worded(report, messages)
    if json_output:
        run.out.json_object(scrub(report.to_dict(), secrets))
    else:
        for line, style in text_lines(report, messages):
            run.out.data(scrub(line, secrets), style)
    if report.failed:
        failed = {"failed": len(report.failed), "total": len(report.findings),
                  "names": ", ".join(dict.fromkeys(f.id for f in report.failed))}
        english, fix = MESSAGES["checks_failed"]
        raise CheckFailed(messages.text("doctor.checks_failed.message", english, **failed),
                          messages.text("doctor.checks_failed.fix", fix))
