"""``epay doctor request``: lint a payment request a shop built, before it is sent — which
endpoint it is for, its required fields, names borrowed from Alipay, the amount (fen for yuan,
decimals, zero, negative, the usual cap), out_trade_no, name, the URLs, and the sign when there
is one (checked with the key, and explained by the diagnoser when it does not match)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from ..core.diagnose import diagnose_md5, diagnose_rsa
from ..core.errors import InputError
from ..core.lint import ForeignName, alipay_style_names
from ..core.money import CENT, format_wire
from ..core.php import is_blank
from ..core.redact import mask
from ..core.signing import Md5Key, RsaKeys, SignType, UnknownSignType, pick_sign_type, verify
from ..gateway.calls import NAME_STORED_MAX, OUT_TRADE_NO, OUT_TRADE_NO_MAX
from .findings import Finding, Report, finding
from .urls import Resolver, check_url

if TYPE_CHECKING:  # cryptography is imported only when a key is loaded
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

    from ..profiles.resolve import Resolved

USUAL_MAX_MONEY = Decimal(1000)  # a fresh install caps one payment at 1000 yuan
FEN_FROM = Decimal(100)
_PLAIN_AMOUNT = re.compile(r"-?[0-9]*\.?[0-9]*")


@dataclass(frozen=True)
class Endpoint:
    name: str
    path: str
    required: tuple[str, ...]


ENDPOINTS = {
    "submit": Endpoint("submit", "submit.php",
                       ("pid", "out_trade_no", "notify_url", "return_url", "name", "money")),
    "mapi": Endpoint("mapi", "mapi.php",
                     ("pid", "type", "out_trade_no", "notify_url", "name", "money", "clientip")),
    "create": Endpoint("create", "api/pay/create",
                       ("pid", "type", "out_trade_no", "notify_url", "name", "money", "clientip",
                        "timestamp")),
}

def _renamed(found: ForeignName) -> str:
    if found.epay_name is None:
        return f"{found.name} → — (leave it out)"
    return f"{found.name} → {found.epay_name}" + (" (in yuan, not fen)" if found.in_fen else "")


def choose_endpoint(params: Mapping[str, str], asked: str | None) -> tuple[Endpoint, str]:
    """The endpoint and the message id saying why: asked for, else api/pay/create when the
    request has V2's method or timestamp, mapi.php when it has clientip, else submit.php."""
    if asked is not None:
        if asked not in ENDPOINTS:
            raise InputError("endpoint {asked!r} is not submit, mapi or create",
                             "use --endpoint submit, mapi or create",
                             code="doctor_request_endpoint", fields={"asked": asked})
        return ENDPOINTS[asked], "request_endpoint_asked"
    if "method" in params or "timestamp" in params:
        return ENDPOINTS["create"], "request_endpoint_v2"
    if "clientip" in params:
        return ENDPOINTS["mapi"], "request_endpoint_clientip"
    return ENDPOINTS["submit"], "request_endpoint_default"


@dataclass(frozen=True)
class RequestKeys:
    """What the sign is checked with: the merchant MD5 key, and the merchant public key (from
    the private key, or given) for an RSA sign."""

    md5: str = ""
    merchant_public: RSAPublicKey | None = None


def request_keys(resolved: Resolved, merchant_public_key: str | None = None) -> tuple[RequestKeys, bool]:
    """What the sign is checked with, from the profile (and ``--merchant-public-key``), and
    whether the profile's gateway is on this machine or its network (local notify_urls work)."""
    from ..profiles.keys import load_key
    from .urls import is_local_host

    profile = resolved.profile
    public: RSAPublicKey | None = None
    if merchant_public_key:
        public = load_key(merchant_public_key, "public", what="merchant public key")
    elif profile.private_key:
        public = load_key(profile.private_key, "private").public_key()
    host = urlsplit(profile.gateway).hostname or "" if profile.gateway else ""
    return RequestKeys(profile.key, public), bool(host) and is_local_host(host)


def lint_request(params: Mapping[str, str], *, endpoint: str | None = None,
                 amount_hint: str | None = None, keys: RequestKeys = RequestKeys(),
                 gateway_local: bool = False, resolver: Resolver | None = None) -> Report:
    chosen, why = choose_endpoint(params, endpoint)
    report = Report()
    report.add(finding("request.endpoint", why, "ok", endpoint=chosen.path))
    missing = [name for name in chosen.required if is_blank(params.get(name, ""))]
    if missing:
        report.add(finding("request.fields", "request_field_missing", "fail",
                           endpoint=chosen.path, fields=", ".join(missing)))
    else:
        report.add(finding("request.fields", "request_fields_ok", "ok", endpoint=chosen.path))
    borrowed = alipay_style_names(params)  # the rule `epay sign` warns with
    if borrowed:
        report.add(finding("request.names", "request_alipay_names", "fail",
                           names=", ".join(found.name for found in borrowed),
                           renames="; ".join(_renamed(found) for found in borrowed)))
    if "money" in params and not is_blank(params["money"]):
        report.add(check_money(params["money"], amount_hint))
    if params.get("out_trade_no"):
        report.add(check_out_trade_no(params["out_trade_no"]))
    if params.get("name"):
        report.extend(check_name(params["name"]))
    for field_name in ("notify_url", "return_url"):
        if params.get(field_name):
            report.extend(check_url(f"request.{field_name}", field_name, params[field_name],
                                    gateway_local=gateway_local, resolver=resolver))
    report.add(check_sign(params, keys))
    return report


def check_money(text: str, amount_hint: str | None) -> Finding:
    check = "request.money"
    value = _decimal(text)
    if value is None:
        return finding(check, "money_invalid", "fail", money=text)
    if value < 0:
        return finding(check, "money_negative", "fail", money=text)
    if value == 0:
        return finding(check, "money_zero", "fail", money=text)
    if value != value.quantize(CENT):
        stored = format_wire(value.quantize(CENT))
        return finding(check, "money_decimals", "fail", money=text, stored=stored)
    hint = _decimal(amount_hint) if amount_hint is not None else None
    yuan = format_wire((value / FEN_FROM).quantize(CENT))
    if hint is not None and hint > 0 and value == hint * FEN_FROM:
        return finding(check, "money_fen", "fail", money=text, hint=format_wire(hint), yuan=yuan)
    if hint is None and "." not in text and value >= FEN_FROM:
        return finding(check, "money_maybe_fen", "warn", money=text, yuan=yuan)
    if value > USUAL_MAX_MONEY:
        return finding(check, "money_above_cap", "warn", money=text, cap=USUAL_MAX_MONEY)
    return finding(check, "money_ok", "ok", money=text)


def _decimal(text: str | None) -> Decimal | None:
    """``text`` as an amount when it is plain digits with one optional point (and sign)."""
    if text is None or not text or not _PLAIN_AMOUNT.fullmatch(text) \
            or not any(ch.isdigit() for ch in text):
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        return None


def check_out_trade_no(value: str) -> Finding:
    check = "request.out_trade_no"
    if not OUT_TRADE_NO.fullmatch(value):
        bad = sorted({ch for ch in value if not OUT_TRADE_NO.fullmatch(ch)})
        return finding(check, "out_trade_no_chars", "fail",
                       characters=" ".join(repr(ch) for ch in bad[:6]))
    if len(value) > OUT_TRADE_NO_MAX:
        return finding(check, "out_trade_no_long", "fail", length=len(value),
                       limit=OUT_TRADE_NO_MAX)
    return finding(check, "out_trade_no_ok", "ok", value=value, length=len(value))


def check_name(value: str) -> list[Finding]:
    check = "request.name"
    found = []
    if len(value) > NAME_STORED_MAX:
        found.append(finding(check, "name_cut", "warn", length=len(value), limit=NAME_STORED_MAX))
    astral = sorted({ch for ch in value if ord(ch) > 0xFFFF})
    if astral:
        found.append(finding(check, "name_four_byte", "warn", characters=" ".join(astral[:5])))
    return found or [finding(check, "name_ok", "ok", length=len(value))]


def check_sign(params: Mapping[str, str], keys: RequestKeys) -> Finding:
    check = "request.sign"
    if not params.get("sign"):
        return finding(check, "sign_not_yet", "ok")
    try:
        sign_type = pick_sign_type(params)
    except UnknownSignType:
        return finding(check, "sign_type_unknown", "fail", sign_type=params.get("sign_type", ""))
    if sign_type is SignType.MD5:
        if not keys.md5:
            return finding(check, "sign_no_key", "warn")
        if verify(params, Md5Key(keys.md5)):
            return finding(check, "sign_ok", "ok", sign_type="MD5", key=mask(keys.md5))
        diagnosis = diagnose_md5(params, keys.md5)
    else:
        if keys.merchant_public is None:
            return finding(check, "sign_no_rsa_key", "warn")
        if verify(params, RsaKeys(public=keys.merchant_public)):
            return finding(check, "sign_ok", "ok", sign_type="RSA", key="merchant key pair")
        diagnosis = diagnose_rsa(params, keys.merchant_public)
    if diagnosis.explained:
        return finding(check, "sign_mismatch", "fail", title=diagnosis.title, fix=diagnosis.fix)
    return finding(check, "sign_wrong_key", "fail")
