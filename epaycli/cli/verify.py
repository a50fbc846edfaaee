"""``epay verify``: is this callback genuine — and if not, why?"""

from __future__ import annotations

import time
from typing import Annotated

import typer

from .. import render, settings
from ..core.errors import ExitCode
from ..core.models import CallbackReport, Expectations
from ..core.params import parse_pasted
from .inputs import read_text
from .options import JsonOption, KeyOption, NowOption, ProfileOption


def verify(
    source: Annotated[str | None, typer.Argument(
        metavar="[INPUT|-]",
        help="The callback: URL, query string, form body, JSON or k=v lines; - or nothing reads stdin.",
    )] = None,
    key: KeyOption = None,
    public_key: Annotated[str | None, typer.Option(
        "--public-key", metavar="FILE", help="Platform RSA public key (V2): a file or the key."
    )] = None,
    amount: Annotated[str | None, typer.Option(
        "--amount", metavar="X", help="Your own order amount; money must equal it numerically."
    )] = None,
    pid: Annotated[str | None, typer.Option(
        "--pid", metavar="N", help="Your merchant id; the callback's pid must match it."
    )] = None,
    now: NowOption = None,
    json_output: JsonOption = False,
    profile: ProfileOption = None,
) -> int:
    """Verify a pasted notify or return callback; exit 0 if genuine, 3 if not.

    When the sign does not match, the diagnoser names the mistake that explains it
    (&key=, URL-encoded values, sign_type signed, money re-formatted, extra field …).
    """
    from ..core.callback import check_callback  # with money/decimal: only verify needs them
    from ..core.money import parse_amount

    params = parse_pasted(read_text(source))
    expected_amount = parse_amount(amount) if amount is not None else None
    resolved = settings.current(profile, {"key": key, "public_key": public_key, "pid": pid})
    credentials = settings.verifier_for(resolved, params)
    expect = Expectations(amount=expected_amount, pid=settings.expected_pid(resolved),
                          now=int(time.time()) if now is None else now)
    report = check_callback(params, credentials, expect)
    notes = settings.key_notes(resolved, uses_md5_key=report.sign_type == "MD5")
    _show(report, params, notes, json_output)
    return ExitCode.OK if report.genuine else ExitCode.SIGNATURE_INVALID


def _show(report: CallbackReport, params, notes: list[str], json_output: bool) -> None:
    diagnosis = report.diagnosis
    if json_output:
        render.json_object({
            "valid": report.genuine,
            "sign_type": report.sign_type,
            "signature_valid": report.signature_valid,
            "problems": [vars(p) for p in report.problems],
            "diagnosis": None if diagnosis is None else {
                "mistake": diagnosis.mistake,
                "mistakes": list(diagnosis.mistakes),
                "title": diagnosis.title,
                "fix": diagnosis.fix,
                "detail": diagnosis.detail,
                "signed_string": diagnosis.signed_string,
                "expected_string": diagnosis.expected_string,
            },
            "notes": notes,
            "params": dict(params),
        })
        return
    for note in notes:
        render.status(note, "warn")
    if report.genuine:
        render.data("valid", "ok")
        render.status(f"genuine {report.sign_type} callback: pid {params.get('pid', '?')}, "
                      f"out_trade_no {params.get('out_trade_no', '?')}, "
                      f"money {params.get('money', '?')}", "ok")
        return
    render.data("invalid", "bad")
    for problem in report.problems:
        render.status(f"✗ {problem.message}", "bad")
        if problem.fix:
            render.status(f"  fix: {problem.fix}")
    if diagnosis is not None and diagnosis.detail:
        render.status(f"  detail: {diagnosis.detail}", "dim")
    if diagnosis is not None and diagnosis.explained:
        if diagnosis.signed_string != diagnosis.expected_string:
            render.status(f"  the sender signed: {diagnosis.signed_string}", "dim")
            render.status(f"  the protocol signs: {diagnosis.expected_string}", "dim")
