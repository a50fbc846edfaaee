"""``epay verify``: is this callback genuine — and if not, why?"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from ..core.errors import ExitCode
from ..core.params import parse_pasted_as, unescape_separators
from ..core.redact import SECRET_NAMES
from ..core.signing import SignType
from ..profiles.keys import rsa_key_notes, verifier_for
from ..profiles.resolve import current, expected_pid, key_notes
from ..render import Output

if TYPE_CHECKING:
    from ..core.callback import CallbackReport
from .inputs import read_text
from .options import JsonOption, KeyOption, NowOption, ProfileOption
from .runtime import runtime

AMP_NOTE = ("the pairs were separated by '&amp;' (HTML-escaped, as copied from a web page or a "
            "log): read them with '&' and verified what that decodes to")
URL_IN_JSON_NOTE = ("the JSON is not signed itself but carries a callback URL (as the admin "
                    "page's 重新通知 answers): verified that URL's parameters")


def verify(
    ctx: typer.Context,
    source: Annotated[str | None, typer.Argument(
        metavar="[INPUT|-]",
        help="The callback: URL, query string, form body, JSON or k=v lines, or a file holding "
             "it; - or nothing reads stdin.",
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
    # Imported here: with money and decimal, only verify needs them (cold start of `sign`).
    from ..core.callback import Expectations, check_callback
    from ..core.money import parse_amount

    run = runtime(ctx)
    text, unescaped = unescape_separators(read_text(source, run.env))
    form, params = parse_pasted_as(text)
    expected_amount = parse_amount(amount) if amount is not None else None
    resolved = current(profile, {"key": key, "public_key": public_key, "pid": pid},
                       run.env.environ)
    keys = verifier_for(resolved, params)
    expect = Expectations(amount=expected_amount, pid=expected_pid(resolved),
                          now=run.env.now() if now is None else now)
    report = check_callback(params, keys, expect)
    notes = [*(AMP_NOTE,) * unescaped, *(URL_IN_JSON_NOTE,) * (form == "json_url"),
             *resolved.notes,
             *key_notes(resolved, uses_md5_key=report.sign_type == SignType.MD5), *report.notes]
    if keys.rsa is not None and keys.rsa.public is not None:
        notes += rsa_key_notes(keys.rsa.public, "the platform public key")
    _show(run.out, report, params, notes, json_output)
    return ExitCode.OK if report.genuine else ExitCode.SIGNATURE_INVALID


def _show(out: Output, report: CallbackReport, params, notes: list[str], json_output: bool) -> None:
    # A pasted api.php URL carries the merchant key, under whatever name the sender chose; the
    # configured key is masked by the output itself, wherever it turns up.
    out.add_secrets(*(value for name, value in params.items() if name.lower() in SECRET_NAMES))
    if json_output:
        out.json_object({**report.to_dict(), "notes": notes, "params": dict(params)})
        return
    for text, style, is_data in _lines(report, params, notes):
        (out.data if is_data else out.status)(text, style)


def _lines(report: CallbackReport, params, notes: list[str]):
    """(text, style, is_data): the verdict is data (stdout); reasons and hints are not."""
    yield from ((note, "warn", False) for note in notes)
    if report.genuine:
        yield "valid", "ok", True
        yield (f"genuine {report.sign_type} callback: pid {params.get('pid', '?')}, "
               f"out_trade_no {params.get('out_trade_no', '?')}, money {params.get('money', '?')}",
               "ok", False)
        return
    yield "invalid", "bad", True
    if report.verdict == "rejected":
        yield ("rejected: the sign is genuine, but a check failed — do not credit "
               f"({', '.join(p.code for p in report.problems)})", "bad", False)
    else:
        yield "bad signature: the sign does not match — do not credit", "bad", False
    for problem in report.problems:
        yield f"✗ {problem.message}", "bad", False
        if problem.fix:
            yield f"  fix: {problem.fix}", "", False
    diagnosis = report.diagnosis
    if diagnosis is not None and diagnosis.detail:
        yield f"  detail: {diagnosis.detail}", "dim", False
    if diagnosis is not None and diagnosis.explained and \
            diagnosis.signed_string != diagnosis.expected_string:
        yield f"  the sender signed: {diagnosis.signed_string}", "dim", False
        yield f"  the protocol signs: {diagnosis.expected_string}", "dim", False
