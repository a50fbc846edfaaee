"""Judge one received callback (notify or return): is it genuine, and may goods be credited?

This is what ``epay verify`` prints and what the listener will journal: the signature, and when
it fails the diagnosis of why, then the business checks a handler must make (amount, status,
merchant id, V2 timestamp window).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

from .models import SUCCESS_STATUS
from .php import colliding_names, describe_php_name, renames_any, rewritten_names
from .signing import (
    MD5_SIGN_PATTERN,
    RSA_SIGN_PATTERN,
    Keys,
    Md5Key,
    SignMatch,
    SignType,
    UnknownSignType,
    pick_sign_type,
    verify_match,
)
from .words import Joined, Text, Texts

if TYPE_CHECKING:
    from decimal import Decimal

    from .diagnose import Diagnosis

class Expectations(NamedTuple):
    """What the merchant knows independently of the callback, to check it against."""

    amount: Decimal | None = None
    pid: str | None = None
    now: int | None = None  # Unix seconds; the V2 timestamp window is checked against it
    window_seconds: int = 300


class Problem(NamedTuple):
    """One reason a callback must not be trusted: ``message`` and ``fix`` are ``Text``s."""

    code: str
    message: str
    fix: str


# Every problem's (message, fix), by the id it is worded by (its code, but for the two codes
# worded two ways); the CLI says them in the run's language as ``verify.problems.<id>.*``.
PROBLEMS: dict[str, tuple[str, str]] = {
    "unknown_sign_type": (
        "sign_type {shown!r} is not MD5 or RSA",
        "Epay signs with MD5 (V1) or RSA (V2); check what the sender put in sign_type"),
    "missing_sign": (
        "there is no sign parameter",
        "paste the whole callback; a genuine Epay callback always carries sign"),
    "signature_invalid": ("the {sign_type} sign does not match: {title}", "{fix}"),
    "php_names_collide": (
        "{shown} are all {name!r} to a PHP handler, which keeps only one of them",
        "a gateway sends each field once under a plain name: treat this as forged, or parse the "
        "raw query yourself"),
    "sign_is_rsa": (
        "sign_type says MD5 but the sign looks like an RSA (V2) sign",
        "verify it as RSA, with the platform public key (平台公钥)"),
    "sign_malformed": (
        "the sign {sign} is not the 32 hex digits of an MD5 sign",
        "paste the whole callback; the sign may have been cut"),
    "not_paid": (
        "trade_status is {status}, not {paid}",
        "credit goods only for TRADE_SUCCESS"),
    "pid_mismatch": (
        "pid is {pid}, but your merchant id is {expected!r}",
        "this callback is for another merchant (or the wrong profile is selected)"),
    "amount_missing": ("there is no money field", "paste the whole callback"),
    "amount_invalid": ("{problem}", "do not credit"),
    "amount_mismatch": (
        "money is {money}, not your order's {expected}: the amount was tampered with",
        "do not credit; compare money with your own order amount, numerically"),
    "timestamp_missing": (
        "a V2 callback needs a Unix timestamp",
        "V2 signs a timestamp; without one the callback can be replayed"),
    "timestamp_invalid": (
        "a V2 callback needs a Unix timestamp, got {stamp}",
        "V2 signs a timestamp; without one the callback can be replayed"),
    "timestamp_ahead": (
        "timestamp is {skew} s ahead of your clock (allowed ±{window} s)",
        "check both clocks (NTP); a stale callback may be a replay"),
    "timestamp_behind": (
        "timestamp is {skew} s behind your clock (allowed ±{window} s)",
        "check both clocks (NTP); a stale callback may be a replay"),
}

# The report's own sentences (``verify.reason.*``, ``verify.notes.*``).
REASONS = {
    "rejected": "signature valid, but {problems}",
    "no_match": "the sign does not match",
    "separator": "; ",
}
NOTES = {
    "other_order": "the sign holds in {order}, not in the PHP 8.2+ order epay signs with: the "
                   "sender runs another PHP version (or sorted with sign present); names that "
                   "look like numbers are ordered differently there",
    "php_name": "{name}; a PHP handler would check the sign over that",
    "no_clock": "the V2 timestamp window was not checked: pass Expectations(now=<unix time>)",
}


def problem(code: str, /, words: str | None = None, **fields: object) -> Problem:
    """The problem ``code``, worded by ``PROBLEMS[words or code]`` from ``fields``."""
    words = words or code
    message, fix = PROBLEMS[words]
    return Problem(code, Text(f"verify.problems.{words}.message", message, **fields),
                   Text(f"verify.problems.{words}.fix", fix, **fields))


note = Texts("verify.notes", NOTES)


class CallbackReport(NamedTuple):
    """The verdict on one callback: genuine only with a valid sign and no problem at all."""

    sign_type: SignType | str  # a str only when the callback declared an unknown one
    signature_valid: bool
    problems: tuple[Problem, ...] = ()
    diagnosis: Diagnosis | None = None
    notes: tuple[str, ...] = ()

    @property
    def genuine(self) -> bool:
        return self.signature_valid and not self.problems

    @property
    def verdict(self) -> str:
        """``genuine``; ``bad_signature`` (not sent by the gateway, or signed wrongly); or
        ``rejected`` (genuinely signed, but a business check failed: amount, status, pid …)."""
        if self.genuine:
            return "genuine"
        return "rejected" if self.signature_valid else "bad_signature"

    @property
    def reason(self) -> str:
        """One line: why it is not genuine (empty when it is)."""
        if self.genuine:
            return ""
        messages = Joined("verify.reason.separator", REASONS["separator"],
                          [p.message for p in self.problems])
        if self.verdict == "rejected":
            return Text("verify.reason.rejected", REASONS["rejected"], problems=messages)
        return messages or Text("verify.reason.no_match", REASONS["no_match"])

    def to_dict(self) -> dict[str, Any]:
        """The one shape of a verdict: ``verify --json``, the listener's lines and journal."""
        diagnosis = self.diagnosis
        return {
            "valid": self.genuine,
            "verdict": self.verdict,
            "reason": self.reason,
            "sign_type": str(self.sign_type),
            "signature_valid": self.signature_valid,
            "problems": [{"code": p.code, "message": p.message, "fix": p.fix}
                         for p in self.problems],
            "diagnosis": None if diagnosis is None else diagnosis.to_dict(),
            "notes": list(self.notes),
        }


_NOTHING_EXPECTED = Expectations()


def check_callback(
    params: Mapping[str, str], keys: Keys, expect: Expectations = _NOTHING_EXPECTED
) -> CallbackReport:
    """The verdict on one received callback. Raises ``KeyFormatError`` only when the key its
    sign_type needs is missing; everything wrong with the callback itself is in the report."""
    try:
        sign_type = pick_sign_type(params, preferred=keys.preferred)
    except UnknownSignType as error:
        unknown = problem("unknown_sign_type", None, **error.fields)
        return CallbackReport(params.get("sign_type", ""), False, (unknown,))
    if not params.get("sign"):
        return CallbackReport(sign_type, False,
                              (problem("missing_sign"),) + business_problems(params, expect))

    signer = keys.to_verify(sign_type)
    match = verify_match(params, signer)
    valid = match is not None
    shape = _sign_shape_problem(params["sign"]) if sign_type is SignType.MD5 else None

    problems: list[Problem] = []
    diagnosis = None
    if not valid and shape is not None:
        problems.append(shape)  # no use diagnosing a sign that cannot be an MD5 sign
    elif not valid:
        from .diagnose import diagnose_md5, diagnose_rsa  # only a failed sign needs it

        if isinstance(signer, Md5Key):
            diagnosis = diagnose_md5(params, signer.secret)
        else:
            diagnosis = diagnose_rsa(params, signer.checking_key())
        problems.append(problem("signature_invalid", sign_type=str(sign_type),
                                title=diagnosis.title, fix=diagnosis.fix))
    renamed = renames_any(params)  # (names PHP keeps as they are: nothing more to look at)
    if renamed:
        problems.extend(php_name_problems(params))
    problems.extend(business_problems(params, expect, sign_type=sign_type))
    notes = [*_order_notes(match), *(php_name_notes(params) if renamed else ())]
    if sign_type is SignType.RSA and expect.now is None:
        notes.append(note("no_clock"))
    return CallbackReport(sign_type, valid, tuple(problems), diagnosis, tuple(notes))


def _order_notes(match: SignMatch | None) -> list[str]:
    if match is None or match.default_order:
        return []
    return [note("other_order", order=match.order.description)]


def php_name_problems(params: Mapping[str, str]) -> list[Problem]:
    """Names that a PHP handler would merge into one: it would see other fields and values
    than were checked here, so the callback cannot be judged genuine."""
    problems = []
    for name, raws in colliding_names(params).items():
        shown = ", ".join(repr(raw) for raw in raws)
        problems.append(problem("php_names_collide", shown=shown, name=name))
    return problems


def php_name_notes(params: Mapping[str, str]) -> list[str]:
    """Names a PHP handler would read differently (without a collision): worth knowing."""
    collided = {raw for raws in colliding_names(params).values() for raw in raws}
    return [note("php_name", name=describe_php_name(raw, seen))
            for raw, seen in rewritten_names(params) if raw not in collided]


def _sign_shape_problem(sign: str) -> Problem | None:
    if MD5_SIGN_PATTERN.fullmatch(sign):
        return None
    if RSA_SIGN_PATTERN.fullmatch(sign):
        return problem("sign_is_rsa")
    return problem("sign_malformed", sign=_short(sign))


def _short(text: str, limit: int = 24) -> str:
    """A received value fit for a one-line message: quoted, and cut when long."""
    return repr(text if len(text) <= limit else text[:limit] + "…")


def business_problems(
    params: Mapping[str, str], expect: Expectations, *, sign_type: SignType = SignType.MD5
) -> tuple[Problem, ...]:
    """Checks a handler must make even when the sign is genuine."""
    problems = []
    status = params.get("trade_status")
    if status is not None and status != SUCCESS_STATUS:
        problems.append(problem("not_paid", status=_short(status), paid=SUCCESS_STATUS))
    if expect.pid is not None and params.get("pid", "") != expect.pid:
        problems.append(problem("pid_mismatch", pid=_short(params.get("pid", "")),
                                expected=expect.pid))
    if expect.amount is not None:
        problems.extend(_amount_problems(params, expect.amount))
    if expect.now is not None and (sign_type is SignType.RSA or "timestamp" in params):
        problems.extend(_timestamp_problems(params, expect.now, expect.window_seconds))
    return tuple(problems)


def _amount_problems(params: Mapping[str, str], amount: Decimal) -> list[Problem]:
    # decimal (~2 ms to import) only for a callback held to an amount (cold start of verify)
    from .money import (
        amounts_equal,
        format_wire,
        money_text,
        money_text_problem,
        parse_received_money,
    )

    money = params.get("money")
    expected = format_wire(amount)
    if money is None:
        return [problem("amount_missing")]
    if parse_received_money(money) is None:
        wrong = money_text_problem(money) or money_text("too_many_decimals", money=_short(money))
        return [problem("amount_invalid", problem=wrong)]
    if not amounts_equal(money, amount):
        return [problem("amount_mismatch", money=money, expected=expected)]
    return []


def _timestamp_problems(params: Mapping[str, str], now: int,
                        window_seconds: int) -> list[Problem]:
    stamp = params.get("timestamp", "")
    if not (stamp.isascii() and stamp.isdigit() and len(stamp) <= 12):
        if not stamp:
            return [problem("timestamp_missing")]
        return [problem("timestamp_invalid", stamp=_short(stamp))]
    skew = int(stamp) - now
    if abs(skew) > window_seconds:
        return [problem("timestamp_outside_window",
                        "timestamp_ahead" if skew > 0 else "timestamp_behind",
                        skew=abs(skew), window=window_seconds)]
    return []
