"""What epay sends to a gateway, built without sending it: one ``Call`` per request, in either
dialect (V1 MD5 pages and api.php; V2 RSA api/pay/* and api/merchant/*). The client sends
exactly these, and ``--dry-run`` shows exactly these.

Pure: no network, no clock (``now`` is handed in), no printing. Orders are validated here
before anything is signed, in the gateway's own words (from the catalogue).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from ..core.endpoints import API, MAPI, normalize_base, v1_url, v2_url
from ..core.errors import EpayError, GatewayError, InputError
from ..core.money import CENT, format_wire, parse_amount
from ..core.params import format_url
from ..core.php import htmlspecialchars, is_blank, urlencode
from ..core.redact import mask, redact_params
from ..core.request import SignedRequest, sign_request
from ..core.signing import Md5Key, RsaKeys, Signer, SignType
from ..core.words import Bilingual, Texts

OUT_TRADE_NO = re.compile(r"[A-Za-z0-9._\-|]+")
OUT_TRADE_NO_MAX = 150
NAME_STORED_MAX = 64  # newer servers cut names to 64 characters when storing
LIST_PAGE_MAX = 50  # api.php caps limit at 50
DEVICES = ("pc", "mobile", "qq", "wechat", "alipay", "jump", "app")
V2_METHODS = ("web", "jump", "jsapi", "app", "scan", "applet")
SANDBOX_PAY = "sandbox/pay"  # the local gateway's scripted cashier (epay mock only)


@dataclass(frozen=True)
class Merchant:
    """One merchant at one gateway, as the client needs it.

    ``signer`` signs requests (an ``Md5Key``, or ``RsaKeys`` with the merchant private key);
    ``md5`` is the plain key api.php takes; ``platform`` holds the platform public key that
    checks V2 responses (``None``: responses are not verified, and the reply says so)."""

    gateway: str
    pid: str
    dialect: str  # "v1" | "v2"
    signer: Signer | None
    md5: Md5Key | None = None
    platform: RsaKeys | None = None
    rewrite: bool = True  # V2: api/pay/create, or api.php?s=pay/create without URL rewriting

    def __post_init__(self) -> None:
        object.__setattr__(self, "gateway", normalize_base(self.gateway))

    @property
    def v2(self) -> bool:
        return self.dialect == "v2"

    def secrets(self) -> list[str]:
        return [self.md5.secret] if self.md5 else []


@dataclass(frozen=True)
class Call:
    """One HTTP request to a gateway: where, how, what, and what counts as success."""

    action: str  # create, query, orders, refund, refundquery, close, info, settle, pay
    method: str  # GET | POST
    endpoint: str  # URL without the query below
    query: dict[str, str]
    form: dict[str, str] | None
    success: frozenset[int]
    idempotent: bool  # only these are retried
    dialect: str
    signed: SignedRequest | None = None
    platform: RsaKeys | None = field(default=None, compare=False, repr=False)

    @property
    def url(self) -> str:
        return format_url(self.endpoint, self.query) if self.query else self.endpoint

    @property
    def shown_url(self) -> str:
        """The URL fit to print: api.php carries the merchant key in its query (shown masked,
        not percent-encoded, so it reads as a mask)."""
        if not self.query:
            return self.endpoint
        shown = redact_params(self.query)
        pairs = [f"{urlencode(k)}={v if shown[k] != self.query[k] else urlencode(v)}"
                 for k, v in shown.items()]
        return f"{self.endpoint}?{'&'.join(pairs)}"

    def to_dict(self) -> dict[str, Any]:
        """What ``--dry-run`` shows: the request as it would go out, the key masked."""
        document = {"action": self.action, "dialect": self.dialect, "method": self.method,
                    "url": self.shown_url, "form": redact_params(self.form) if self.form else None,
                    "idempotent": self.idempotent}
        if self.signed is not None:
            document["signed"] = {k: v for k, v in self.signed.to_dict().items()
                                  if k in ("sign", "sign_type", "canonical", "signed_string", "added")}
        return document


@dataclass(frozen=True)
class OrderRequest:
    """A validated order, ready to sign (``money`` is already a Decimal to the cent)."""

    out_trade_no: str
    money: Decimal
    name: str
    notify_url: str
    return_url: str = ""
    type: str = ""
    param: str = ""
    device: str = ""
    clientip: str = ""
    method: str = ""  # V2 api/pay/create only
    channel_id: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"out_trade_no": self.out_trade_no, "money": format_wire(self.money),
                "name": self.name, "type": self.type, "notify_url": self.notify_url,
                "return_url": self.return_url, "param": self.param}


# ---- validation, in the gateway's own words ---------------------------------------------------


def refusal(entry_id: str, detail: str, hint: str | None = None, *,
            meaning: str | None = None) -> InputError:
    """An ``InputError`` worded as the gateway would refuse it: its message, then why
    (``meaning``: what the message means here, when the catalogue's general one would not
    fit, e.g. a number too long is not one with characters not allowed). ``detail``, ``hint``
    and ``meaning`` are ``Text``s (or catalogue text), so the refusal is said in either
    language."""
    from ..catalogue.lookup import entry

    found = entry(entry_id)
    message = re.sub(r"\{\w+\}", "…", found.messages[0]) if found.messages else found.zh
    said = meaning or Bilingual(found.en.rstrip("."), found.zh.rstrip("。"))
    return InputError("{message} ({meaning}): {detail}", "{fix}", code="refused_by_gateway_rules",
                      fields={"message": message, "meaning": said, "detail": detail,
                              "fix": hint or found.fix_said, "entry": entry_id})



def validate_amount(text: str, *, refund: bool = False) -> Decimal:
    cleaned = text.strip()
    if cleaned and re.fullmatch(r"0*(\.0*)?", cleaned):
        raise refusal("money_empty", note("refund_amount_zero" if refund else "amount_zero",
                                           text=text), note("amount_above_zero"))
    try:
        return parse_amount(text).quantize(CENT)
    except InputError:
        raise refusal("money_invalid", note(
            "refund_amount_not_digits" if refund else "amount_not_digits", text=_cut(text))) from None


def validate_out_trade_no(value: str) -> str:
    if not value:
        raise refusal("out_trade_no_empty", note("no_out_trade_no"))
    if not OUT_TRADE_NO.fullmatch(value):
        bad = sorted({ch for ch in value if not OUT_TRADE_NO.fullmatch(ch)})
        raise refusal("out_trade_no_invalid", note(
            "out_trade_no_characters", value=_cut(value),
            characters=" ".join(repr(c) for c in bad[:5])))
    if len(value) > OUT_TRADE_NO_MAX:
        raise refusal("out_trade_no_invalid",
                      note("out_trade_no_length", length=len(value), limit=OUT_TRADE_NO_MAX),
                      note("out_trade_no_limit", limit=OUT_TRADE_NO_MAX),
                      meaning=note("out_trade_no_too_long"))
    return value


def validate_url(value: str, field_name: str, *, required: bool) -> str:
    entry_id = "notify_url_empty" if field_name == "notify_url" else "return_url_empty"
    if not value or is_blank(value):
        if required:
            raise refusal(entry_id, note("no_url", field=field_name))
        return ""
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise refusal("domain_not_allowed",
                      note("url_not_absolute", field=field_name, value=_cut(value)),
                      note("url_example", field=field_name))
    return value.strip()


def validate_order(*, money: str, name: str, out_trade_no: str, notify_url: str,
                   return_url: str = "", type: str = "", param: str = "", device: str = "",
                   clientip: str = "", method: str = "", channel_id: str = "",
                   api: bool) -> OrderRequest:
    """Check an order as the gateway would, before anything is signed. ``api``: mapi.php /
    api/pay/create (type and clientip required) rather than the submit page (return_url
    required)."""
    amount = validate_amount(money)
    if is_blank(name):
        raise refusal("name_empty", note("no_name"))
    if api and is_blank(type):
        raise refusal("type_empty", note("no_type_given"))
    if api and is_blank(clientip):
        raise refusal("clientip_empty", note("no_clientip"))
    if device and device not in DEVICES:
        raise InputError("device {device!r} is not one Epay knows", "{known}",
                         code="unknown_device", fields={"device": device,
                                                        "known": ", ".join(DEVICES)})
    if method and method not in V2_METHODS:
        raise InputError("method {method!r} is not one Epay V2 knows", "{known}",
                         code="unknown_v2_method", fields={"method": method,
                                                           "known": ", ".join(V2_METHODS)})
    return OrderRequest(
        out_trade_no=validate_out_trade_no(out_trade_no), money=amount, name=name,
        notify_url=validate_url(notify_url, "notify_url", required=True),
        return_url=validate_url(return_url, "return_url", required=not api),
        type=type, param=param, device=device, clientip=clientip, method=method,
        channel_id=channel_id,
    )


MESSAGES = {
    "amount_zero": "the amount is {text!r}",
    "refund_amount_zero": "the refund amount is {text!r}",
    "amount_above_zero": "give an amount above zero, e.g. 1.00",
    "amount_not_digits": "the amount {text!r} is not digits with at most 2 decimals",
    "refund_amount_not_digits": "the refund amount {text!r} is not digits with at most 2 "
                                "decimals",
    "no_out_trade_no": "no out_trade_no was given",
    "out_trade_no_characters": "{value!r} contains {characters}",
    "out_trade_no_length": "it is {length} characters; the gateway allows {limit}",
    "out_trade_no_limit": "use at most {limit} characters",
    "no_url": "no {field} was given",
    "url_not_absolute": "{field} {value!r} is not an absolute http(s) URL",
    "url_example": "give the full URL, e.g. https://shop.example.com/{field}",
    "no_name": "no product name was given",
    "no_type_given": "API payments need a payment type, e.g. alipay",
    "no_clientip": "API payments need the buyer's IP address",
    "no_order_no": "give OUT_TRADE_NO or --trade-no",
    "no_refund_amount": "no --amount was given",
    "refund_amount_example": "give the amount to refund, e.g. --amount 1.00",
    "out_trade_no_too_long": "out_trade_no is longer than the gateway allows",
    "query_in_notify_url": "notify_url has its own query string: real gateways store it "
                           "HTML-escaped and the notify arrives with extra unsigned fields "
                           "(a=1&amp;b=2); prefer a notify_url without one",
    "local_notify_url": "notify_url points at {host}: a gateway elsewhere cannot reach it "
                        "('epay listen --tunnel' gives a public URL)",
    "name_cut": "name is {length} characters; newer gateways keep the first {kept}",
    "name_four_byte": "name has characters the gateway stores as '?' ({characters}: emoji and "
                      "other 4-byte characters); the order's stored name becomes {stored!r}, so "
                      "an identical resend is refused as changed (支付参数有变化)",
    "no_type": "--type '': no payment type, the buyer picks one in the gateway's cashier; such "
               "an order is notified with type=0 outside the signature, which the official SDK "
               "and 'epay verify' reject — poll 'epay order query' for it, or give a type",
    "why_cut": "it keeps {kept} characters",
    "why_four_byte": "it stores emoji as '?'",
    "why_both": "it stores emoji as '?' and keeps {kept} characters",
}
note = Texts("gateway", MESSAGES)


def four_byte_characters(text: str) -> list[str]:
    """Characters outside the BMP (emoji …): MySQL's 3-byte ``utf8`` stores each as ``?``."""
    return sorted({ch for ch in text if ord(ch) > 0xFFFF})


def stored_name(name: str) -> str:
    """The name as the gateway keeps it: 4-byte characters as ``?``, cut to 64 characters."""
    return "".join("?" if ord(ch) > 0xFFFF else ch for ch in name)[:NAME_STORED_MAX]


def payment_type(given: str | None, default: str) -> tuple[str, list[str]]:
    """``--type``: absent → the profile's; given empty (``--type ''``) → no type at all (the
    cashier), with the warning that such an order's notify is signed without its type."""
    if given is None:
        return default, []
    if not given.strip():
        return "", [note("no_type")]
    return given, []


def explain_create_error(error: EpayError, order: OrderRequest) -> EpayError:
    """A create refused as 支付参数有变化 after a name the gateway stores differently: the
    merchant did resend the same parameters — say why they still differ, and what to do."""
    if getattr(getattr(error, "explanation", None), "id", None) != "order_params_changed":
        return error
    stored = stored_name(order.name)
    if stored == order.name or not isinstance(error, GatewayError):
        return error
    cut, emoji = len(order.name) > NAME_STORED_MAX, bool(four_byte_characters(order.name))
    why = note("why_both" if cut and emoji else "why_cut" if cut else "why_four_byte",
                kept=NAME_STORED_MAX)
    return GatewayError(
        "{message} — the gateway stored this order's name as {stored!r}, not as sent ({why}), "
        "so even an identical resend counts as changed",
        "resend with --name {stored!r} (the name as stored), or use a new out_trade_no; avoid "
        "emoji and names over {kept} characters", code="order_name_stored_differently",
        fields={"message": error.said, "stored": stored, "why": why,
                "kept": NAME_STORED_MAX},
        gateway_code=error.gateway_code, gateway_message=error.gateway_message,
        explanation=error.explanation)


def order_warnings(order: OrderRequest, gateway: str) -> list[str]:
    """What the gateway will do to this order that the merchant may not expect."""
    notes: list[str] = []
    if urlsplit(order.notify_url).query:
        notes.append(note("query_in_notify_url"))
    host = urlsplit(order.notify_url).hostname or ""
    if is_loopback_host(host) and not is_loopback_host(urlsplit(gateway).hostname or ""):
        notes.append(note("local_notify_url", host=host))
    if len(order.name) > NAME_STORED_MAX:
        notes.append(note("name_cut", length=len(order.name), kept=NAME_STORED_MAX))
    emoji = four_byte_characters(order.name)
    if emoji:
        notes.append(note("name_four_byte", characters=" ".join(emoji[:5]),
                             stored=stored_name(order.name)))
    return notes


def new_out_trade_no(now: int, token: str) -> str:
    """A merchant order number epay makes up: time (UTC) plus a random token."""
    import datetime

    stamp = datetime.datetime.fromtimestamp(now, datetime.UTC).strftime("%Y%m%d%H%M%S")
    return f"epay{stamp}{token}"


# ---- the calls ------------------------------------------------------------------------------


def _signed_call(merchant: Merchant, action: str, fields: dict[str, str], *, route: str,
                 v1_page: str | None, success: frozenset[int], idempotent: bool,
                 now: int) -> Call:
    """A signed POST form: mapi.php (V1) or an api/* route (V2, with its timestamp)."""
    signer = _require_signer(merchant)
    params = {"pid": merchant.pid, **{k: v for k, v in fields.items() if v != ""}}
    if merchant.v2:
        params["timestamp"] = str(now)
        endpoint, query = _v2_endpoint(merchant, route)
    else:
        endpoint, query = v1_url(merchant.gateway, v1_page or MAPI), {}
    signed = sign_request(params, signer, now=now)
    return Call(action, "POST", endpoint, query, dict(signed.params), success, idempotent,
                merchant.dialect, signed, merchant.platform)


def _v2_endpoint(merchant: Merchant, route: str) -> tuple[str, dict[str, str]]:
    return v2_url(merchant.gateway, route, rewrite=merchant.rewrite), {}


def _api_call(merchant: Merchant, act: str, fields: dict[str, str], *, method: str = "GET",
              success: frozenset[int] = frozenset({1}), idempotent: bool = True) -> Call:
    """V1 api.php: plain pid + key, no signature; ``act`` always in the query string."""
    key = _require_md5(merchant, act)
    params = {"pid": merchant.pid, "key": key.secret, **{k: v for k, v in fields.items() if v != ""}}
    endpoint = v1_url(merchant.gateway, API)
    if method == "POST":
        return Call(act, "POST", endpoint, {"act": act}, params, success, idempotent, "v1")
    return Call(act, "GET", endpoint, {"act": act, **params}, None, success, idempotent, "v1")


def create_order(merchant: Merchant, order: OrderRequest, now: int) -> Call:
    """mapi.php (V1) or api/pay/create (V2): the gateway answers trade_no and how to pay."""
    fields = {"type": order.type, "out_trade_no": order.out_trade_no,
              "notify_url": order.notify_url, "return_url": order.return_url,
              "name": order.name, "money": format_wire(order.money), "clientip": order.clientip,
              "device": order.device, "param": order.param, "channel_id": order.channel_id}
    if merchant.v2:
        fields["method"] = order.method
    success = frozenset({0}) if merchant.v2 else frozenset({1})
    return _signed_call(merchant, "create", fields, route="pay/create", v1_page=MAPI,
                        success=success, idempotent=False, now=now)


def submit_page(merchant: Merchant, order: OrderRequest, now: int) -> tuple[str, SignedRequest]:
    """The browser payment page (submit.php / api/pay/submit): its URL and the signed fields."""
    signer = _require_signer(merchant)
    params = {"pid": merchant.pid, "type": order.type, "out_trade_no": order.out_trade_no,
              "notify_url": order.notify_url, "return_url": order.return_url,
              "name": order.name, "money": format_wire(order.money), "param": order.param,
              "channel_id": order.channel_id}
    params = {k: v for k, v in params.items() if v != ""}
    if merchant.v2:
        params["timestamp"] = str(now)
        endpoint, _ = _v2_endpoint(merchant, "pay/submit")
    else:
        endpoint = v1_url(merchant.gateway, "submit.php")
    signed = sign_request(params, signer, now=now)
    return endpoint, signed


def auto_submit_form(endpoint: str, signed: SignedRequest) -> str:
    """The HTML page the official SDK prints: a form that posts itself to the gateway."""
    inputs = "\n".join(f'  <input type="hidden" name="{htmlspecialchars(k)}" '
                       f'value="{htmlspecialchars(v)}">' for k, v in signed.params.items())
    return ("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>正在跳转…</title></head>\n"
            f"<body>\n<form id=\"epay\" action=\"{htmlspecialchars(endpoint)}\" method=\"post\">\n"
            f"{inputs}\n  <noscript><button type=\"submit\">Pay / 支付</button></noscript>\n"
            "</form>\n<script>document.getElementById('epay').submit();</script>\n</body></html>\n")


def _order_ref(out_trade_no: str | None, trade_no: str | None) -> dict[str, str]:
    if trade_no:
        if not OUT_TRADE_NO.fullmatch(trade_no) or len(trade_no) > OUT_TRADE_NO_MAX:
            raise InputError("trade_no {trade_no!r} is not an order number",
                             "the gateway's trade_no is 19 digits, e.g. 2026120112000012345",
                             code="bad_trade_no", fields={"trade_no": _cut(trade_no)})
        return {"trade_no": trade_no}
    if out_trade_no:
        return {"out_trade_no": validate_out_trade_no(out_trade_no)}
    raise refusal("order_no_empty", note("no_order_no"))


def query_order(merchant: Merchant, now: int, *, out_trade_no: str | None = None,
                trade_no: str | None = None) -> Call:
    ref = _order_ref(out_trade_no, trade_no)
    if merchant.v2:
        return _signed_call(merchant, "query", ref, route="pay/query", v1_page=None,
                            success=frozenset({0}), idempotent=True, now=now)
    return _api_call(merchant, "order", ref)


def list_orders(merchant: Merchant, now: int, *, limit: int = 20, offset: int = 0,
                status: int | None = None) -> Call:
    if not 1 <= limit <= LIST_PAGE_MAX:
        raise InputError("limit {limit} is outside 1…{most}",
                         "the gateway pages at most {most} orders; --all pages through",
                         code="orders_limit_out_of_range",
                         fields={"limit": limit, "most": LIST_PAGE_MAX})
    if offset < 0:
        raise _negative_offset(offset)
    fields = {"limit": str(limit), "offset": str(offset),
              "status": "" if status is None else str(status)}
    if merchant.v2:
        return _signed_call(merchant, "orders", fields, route="merchant/orders", v1_page=None,
                            success=frozenset({0}), idempotent=True, now=now)
    return _api_call(merchant, "orders", fields)


def refund_order(merchant: Merchant, now: int, *, money: Decimal, out_trade_no: str | None = None,
                 trade_no: str | None = None, out_refund_no: str = "") -> Call:
    ref = _order_ref(out_trade_no, trade_no)
    fields = {**ref, "money": format_wire(money)}
    if merchant.v2:
        fields["out_refund_no"] = out_refund_no
        return _signed_call(merchant, "refund", fields, route="pay/refund", v1_page=None,
                            success=frozenset({0}), idempotent=False, now=now)
    # Success is code 0 here (1 everywhere else on V1); forks answer 1: both count.
    return _api_call(merchant, "refund", fields, method="POST", success=frozenset({0, 1}),
                     idempotent=False)


def refund_query(merchant: Merchant, now: int, *, out_refund_no: str) -> Call:
    _require_v2(merchant, "refundquery")
    return _signed_call(merchant, "refundquery", {"out_refund_no": out_refund_no},
                        route="pay/refundquery", v1_page=None, success=frozenset({0}),
                        idempotent=True, now=now)


def close_order(merchant: Merchant, now: int, *, out_trade_no: str | None = None,
                trade_no: str | None = None) -> Call:
    _require_v2(merchant, "close")
    return _signed_call(merchant, "close", _order_ref(out_trade_no, trade_no), route="pay/close",
                        v1_page=None, success=frozenset({0}), idempotent=False, now=now)


def merchant_info(merchant: Merchant, now: int) -> Call:
    if merchant.v2:
        return _signed_call(merchant, "info", {}, route="merchant/info", v1_page=None,
                            success=frozenset({0}), idempotent=True, now=now)
    return _api_call(merchant, "query", {})


def settles(merchant: Merchant, *, limit: int = 10, offset: int = 0) -> Call:
    """Settlement records exist on api.php only (V1, plain key), also for V2 merchants."""
    if not 1 <= limit <= LIST_PAGE_MAX:
        raise InputError("limit {limit} is outside 1…{most}",
                         "the gateway returns at most {most} settlements a page",
                         code="settles_limit_out_of_range",
                         fields={"limit": limit, "most": LIST_PAGE_MAX})
    if offset < 0:
        raise _negative_offset(offset)
    return _api_call(merchant, "settle", {"limit": str(limit), "offset": str(offset)})


def _negative_offset(offset: int) -> InputError:
    return InputError("offset {offset} is negative", "use 0 or more", code="negative_offset",
                      fields={"offset": offset})


def sandbox_pay(merchant: Merchant, *, out_trade_no: str | None = None,
                trade_no: str | None = None, failed: bool = False) -> Call:
    """The local gateway's scripted cashier: pay (or fail) an order as a buyer would. Refused
    for any gateway that is not on this machine."""
    require_loopback(merchant.gateway)
    key = _require_md5(merchant, "sandbox pay")
    form = {"pid": merchant.pid, "key": key.secret, **_order_ref(out_trade_no, trade_no),
            "result": "failed" if failed else "paid"}
    return Call("pay", "POST", merchant.gateway + SANDBOX_PAY, {}, form, frozenset({1}), False,
                merchant.dialect)


def is_loopback_host(host: str) -> bool:
    if host in ("localhost", "localhost.localdomain") or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def require_loopback(gateway: str) -> None:
    host = urlsplit(gateway).hostname or ""
    if not is_loopback_host(host):
        raise InputError("{gateway} is not a local gateway: 'epay order pay' pays sandbox "
                         "orders only", "pay real orders in the gateway's cashier; start "
                         "'epay mock' for a sandbox", code="not_sandbox",
                         fields={"gateway": gateway})


def _require_signer(merchant: Merchant) -> Signer:
    if merchant.signer is None:
        raise InputError("no key to sign with", "give the merchant key (V1) or private key (V2)",
                         code="missing_md5_key", words="no_signing_key", fields={})
    return merchant.signer


def _require_md5(merchant: Merchant, what: str) -> Md5Key:
    if merchant.md5 is None:
        from ..core.errors import KeyFormatError

        raise KeyFormatError("api.php ({what}) takes the merchant MD5 key, and none was given",
                             code="missing_md5_key", words="api_needs_md5_key",
                             fields={"what": what})
    return merchant.md5


def _require_v2(merchant: Merchant, what: str) -> None:
    if not merchant.v2:
        raise InputError("{what} exists on V2 gateways only (api/pay/{what})",
                         "use a V2 profile (dialect v2, RSA keys)", code="v2_only",
                         fields={"what": what})


def _cut(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


def signer_kind(signer: Signer | None) -> str:
    if isinstance(signer, Md5Key):
        return f"MD5 key {mask(signer.secret)}"
    if isinstance(signer, RsaKeys):
        return "RSA private key"
    return "none"


__all__ = ["Call", "Merchant", "OrderRequest", "SignType"]
