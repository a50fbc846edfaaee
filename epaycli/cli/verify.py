"""``epay verify``: is this callback genuine — and if not, why?"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from ..core.errors import ExitCode
from ..core.params import parse_pasted_as, unescape_separators
from ..core.redact import SECRET_NAMES
from ..core.signing import SignType, key_text
from ..core.words import Texts
from ..profiles.keys import rsa_key_notes, verifier_for
from ..profiles.resolve import current, expected_pid, key_notes
from ..render import Output

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping
    from decimal import Decimal

    from ..core.callback import CallbackReport
    from ..messages import Messages
from .inputs import read_text
from .options import JsonOption, KeyOption, NowOption, ProfileOption
from .runtime import runtime

# Every line `epay verify` words itself (English source; `verify.lines.<id>` in the catalogue).
# The diagnoses, problems and notes are core's own Texts (core/callback.py, core/diagnose.py).
MESSAGES = {
    "amp": "the pairs were separated by '&amp;' (HTML-escaped, as copied from a web page or a "
           "log): read them with '&' and verified what that decodes to",
    "url_in_json": "the JSON is not signed itself but carries a callback URL (as the admin page's "
                   "重新通知 answers): verified that URL's parameters",
    "genuine": "genuine {sign_type} callback: pid {pid}, out_trade_no {out_trade_no}, "
               "money {money}",
    "rejected": "rejected: the sign is genuine, but a check failed — do not credit ({codes})",
    "bad_signature": "bad signature: the sign does not match — do not credit",
    "problem": "✗ {message}",
    "fix": "  fix: {fix}",
    "detail": "  detail: {detail}",
    "sender_signed": "  the sender signed: {string}",
    "protocol_signs": "  the protocol signs: {string}",
}
_line = Texts("verify.lines", MESSAGES)

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
    # Imported here: only verify needs them (cold start of `sign`).
    from ..core.callback import Expectations, check_callback

    run = runtime(ctx)
    text, unescaped = unescape_separators(read_text(source, run.env))
    form, params = parse_pasted_as(text)
    expected_amount = _amount(amount) if amount is not None else None
    resolved = current(profile, {"key": key, "public_key": public_key, "pid": pid},
                       run.env.environ)
    keys = verifier_for(resolved, params)
    expect = Expectations(amount=expected_amount, pid=expected_pid(resolved),
                          now=run.env.now() if now is None else now)
    report = check_callback(params, keys, expect)
    notes = [*(_line("amp"),) * unescaped, *(_line("url_in_json"),) * (form == "json_url"),
             *resolved.notes,
             *key_notes(resolved, uses_md5_key=report.sign_type == SignType.MD5), *report.notes]
    if keys.rsa is not None and keys.rsa.public is not None:
        notes += rsa_key_notes(keys.rsa.public, key_text("platform_public"))
    say = run.messages
    _show(run.out, report, params, [say.say(note) for note in notes], json_output, say)
    return ExitCode.OK if report.genuine else ExitCode.SIGNATURE_INVALID


def _amount(given: str) -> Decimal:
    from ..core.money import parse_amount  # decimal only for --amount (cold start of verify)

    return parse_amount(given)


def _show(out: Output, report: CallbackReport, params: Mapping[str, str], notes: list[str],
          json_output: bool, say: Messages) -> None:
    # A pasted api.php URL carries the merchant key, under whatever name the sender chose; the
    # configured key is masked by the output itself, wherever it turns up.
    out.add_secrets(*(value for name, value in params.items() if name.lower() in SECRET_NAMES))
    if json_output:
        # the free text (reason, message, fix, title, detail) in the run's language
        out.json_object({**say.say_all(report.to_dict()), "notes": notes, "params": dict(params)})
        return
    for text, style, is_data in _lines(report, params, notes, say):
        (out.data if is_data else out.status)(text, style)


def _lines(report: CallbackReport, params: Mapping[str, str], notes: list[str],
           say: Messages) -> Iterator[tuple[str, str, bool]]:
    """(text, style, is_data): the verdict is data (stdout); reasons and hints are not."""
    def line(message_id: str, **fields: object) -> str:
        return say.say(_line(message_id, **fields))

    yield from ((note, "warn", False) for note in notes)
    if report.genuine:
        yield "valid", "ok", True
        yield (line("genuine", sign_type=report.sign_type, pid=params.get("pid", "?"),
                    out_trade_no=params.get("out_trade_no", "?"), money=params.get("money", "?")),
               "ok", False)
        return
    yield "invalid", "bad", True
    if report.verdict == "rejected":
        yield line("rejected", codes=", ".join(p.code for p in report.problems)), "bad", False
    else:
        yield line("bad_signature"), "bad", False
    for problem in report.problems:
        yield line("problem", message=say.say(problem.message)), "bad", False
        if problem.fix:
            yield line("fix", fix=say.say(problem.fix)), "", False
    diagnosis = report.diagnosis
    if diagnosis is not None and diagnosis.detail:
        yield line("detail", detail=say.say(diagnosis.detail)), "dim", False
    if diagnosis is not None and diagnosis.explained and \
            diagnosis.signed_string != diagnosis.expected_string:
        yield line("sender_signed", string=diagnosis.signed_string), "dim", False
        yield line("protocol_signs", string=diagnosis.expected_string), "dim", False
