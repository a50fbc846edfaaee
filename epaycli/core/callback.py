"""Judge one received callback (notify or return): is it genuine, and may goods be credited?

This is what ``epay verify`` prints and what the listener will journal: the signature, and when
it fails the diagnosis of why, then the business checks a handler must make (amount, status,
merchant id, V2 timestamp window).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .errors import KeyFormatError
from .models import SUCCESS_STATUS
from .money import amounts_equal, format_wire, parse_received_money
from .signing import MISSING_KEY_HINT, md5_verify, rsa_verify

if TYPE_CHECKING:
    from decimal import Decimal

    from .diagnose import Diagnosis

_HEX32 = re.compile(r"[0-9A-Fa-f]{32}")
_BASE64 = re.compile(r"[A-Za-z0-9+/]{40,}={0,2}")


@dataclass(frozen=True)
class Expectations:
    """What the merchant knows independently of the callback, to check it against."""

    amount: Decimal | None = None
    pid: str | None = None
    now: int | None = None  # Unix seconds; the V2 timestamp window is checked against it
    window_seconds: int = 300


@dataclass(frozen=True)
class Problem:
    """One reason a callback must not be trusted."""

    code: str
    message: str
    fix: str


@dataclass(frozen=True)
class CallbackReport:
    """The verdict on one callback: genuine only with a valid sign and no problem at all."""

    sign_type: str
    signature_valid: bool
    problems: tuple[Problem, ...] = ()
    diagnosis: Diagnosis | None = None
    notes: tuple[str, ...] = field(default=())

    @property
    def genuine(self) -> bool:
        return self.signature_valid and not self.problems


@dataclass(frozen=True)
class Credentials:
    """What verification needs: the MD5 merchant key, or the platform RSA public key."""

    key: str = ""
    public_key: Any = None  # a loaded RSA public key (signing.load_public_key)


def sign_type_of(params: Mapping[str, str], credentials: Credentials) -> str:
    """MD5 or RSA as the callback says; when it says nothing, as the sign's shape says."""
    declared = params.get("sign_type", "")
    if declared:
        return declared.upper()
    sign = params.get("sign", "")
    if _HEX32.fullmatch(sign):
        return "MD5"
    if _BASE64.fullmatch(sign) or (credentials.public_key is not None and not credentials.key):
        return "RSA"
    return "MD5"


def check_callback(
    params: Mapping[str, str], credentials: Credentials, expect: Expectations = Expectations()
) -> CallbackReport:
    sign_type = sign_type_of(params, credentials)
    if sign_type not in ("MD5", "RSA"):
        problem = Problem(
            "unknown_sign_type",
            f"sign_type {_short(params.get('sign_type', ''))} is not one Epay uses",
            "Epay signs with MD5 (V1) or RSA (V2); check what the sender put in sign_type",
        )
        return CallbackReport(sign_type, False, (problem,))
    if not params.get("sign"):
        problem = Problem(
            "missing_sign",
            "there is no sign parameter",
            "paste the whole callback; a genuine Epay callback always carries sign",
        )
        return CallbackReport(sign_type, False, (problem,) + business_problems(params, expect))

    if sign_type == "MD5":
        if not credentials.key:
            raise KeyFormatError("this callback is MD5-signed and no merchant key was given",
                                 MISSING_KEY_HINT)
        valid = md5_verify(params, credentials.key)
        shape = _sign_shape_problem(params["sign"], "MD5")
    else:
        if credentials.public_key is None:
            raise KeyFormatError(
                "this callback is RSA-signed (V2) and no platform public key was given",
                "pass --public-key FILE (平台公钥), or add it to the profile",
            )
        valid = rsa_verify(params, credentials.public_key)
        shape = None

    problems: list[Problem] = []
    diagnosis = None
    if not valid and shape is not None:
        problems.append(shape)  # no use diagnosing a sign that cannot be an MD5 sign
    elif not valid:
        from .diagnose import diagnose_md5, diagnose_rsa  # only a failed sign needs it

        if sign_type == "MD5":
            diagnosis = diagnose_md5(params, credentials.key)
        else:
            diagnosis = diagnose_rsa(params, credentials.public_key)
        problems.append(Problem("signature_invalid",
                                f"the {sign_type} sign does not match: {diagnosis.title}",
                                diagnosis.fix))
    problems.extend(business_problems(params, expect, sign_type=sign_type))
    notes = ()
    if sign_type == "RSA" and expect.now is None:
        notes = ("the V2 timestamp window was not checked: pass Expectations(now=<unix time>)",)
    return CallbackReport(sign_type, valid, tuple(problems), diagnosis, notes)


def _sign_shape_problem(sign: str, sign_type: str) -> Problem | None:
    if _HEX32.fullmatch(sign):
        return None
    if _BASE64.fullmatch(sign):
        return Problem(
            "sign_is_rsa",
            "sign_type says MD5 but the sign looks like an RSA (V2) sign",
            "verify it with --public-key (the platform public key)",
        )
    return Problem(
        "sign_malformed",
        f"the sign {_short(sign)} is not the 32 hex digits of an MD5 sign",
        "paste the whole callback; the sign may have been cut",
    )


def _short(text: str, limit: int = 24) -> str:
    """A received value fit for a one-line message: quoted, and cut when long."""
    return repr(text if len(text) <= limit else text[:limit] + "…")


def business_problems(
    params: Mapping[str, str], expect: Expectations, *, sign_type: str = "MD5"
) -> tuple[Problem, ...]:
    """Checks a handler must make even when the sign is genuine."""
    problems = []
    status = params.get("trade_status")
    if status is not None and status != SUCCESS_STATUS:
        problems.append(Problem(
            "not_paid",
            f"trade_status is {_short(status)}, not {SUCCESS_STATUS}",
            "credit goods only for TRADE_SUCCESS",
        ))
    if expect.pid is not None and params.get("pid", "") != expect.pid:
        problems.append(Problem(
            "pid_mismatch",
            f"pid is {_short(params.get('pid', ''))}, but your merchant id is {expect.pid!r}",
            "this callback is for another merchant (or the wrong profile is selected)",
        ))
    if expect.amount is not None:
        problems.extend(_amount_problems(params, expect))
    if expect.now is not None and (sign_type == "RSA" or "timestamp" in params):
        problems.extend(_timestamp_problems(params, expect))
    return tuple(problems)


def _amount_problems(params: Mapping[str, str], expect: Expectations) -> list[Problem]:
    money = params.get("money")
    expected = format_wire(expect.amount)
    if money is None:
        return [Problem("amount_missing", "there is no money field", "paste the whole callback")]
    if parse_received_money(money) is None:
        return [Problem("amount_invalid", f"money {_short(money)} is not a number", "do not credit")]
    if not amounts_equal(money, expect.amount):
        return [Problem(
            "amount_mismatch",
            f"money is {money} but your order is {expected}: the amount was tampered with",
            "do not credit; compare money with your own order amount, numerically",
        )]
    return []


def _timestamp_problems(params: Mapping[str, str], expect: Expectations) -> list[Problem]:
    stamp = params.get("timestamp", "")
    if not (stamp.isascii() and stamp.isdigit() and len(stamp) <= 12):
        return [Problem(
            "timestamp_missing" if not stamp else "timestamp_invalid",
            "a V2 callback needs a Unix timestamp" + (f", got {_short(stamp)}" if stamp else ""),
            "V2 signs a timestamp; without one the callback can be replayed",
        )]
    skew = int(stamp) - expect.now
    if abs(skew) > expect.window_seconds:
        when = "ahead of" if skew > 0 else "behind"
        return [Problem(
            "timestamp_outside_window",
            f"timestamp is {abs(skew)} s {when} your clock (allowed ±{expect.window_seconds} s)",
            "check both clocks (NTP); a stale callback may be a replay",
        )]
    return []
