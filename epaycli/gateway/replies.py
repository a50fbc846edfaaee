"""Reading what a gateway answered — leniently, because real servers send numbers as strings or
numbers, ``data: null``, Chinese as ``\\uXXXX``, refund success as code 0, HTML notice pages
(sometimes labelled application/json), PHP warnings before the JSON, and HTTP 500 with an
empty body. Every error answer becomes a ``GatewayError`` explained by the catalogue.

Pure: bytes and headers in, data or an exception out (``client.py`` does the I/O).
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..core.errors import GatewayError, SignatureError
from ..core.php import float_text
from ..core.signing import verify
from ..core.words import Texts
from .calls import Call

if TYPE_CHECKING:
    from ..catalogue.lookup import Entry

TIMESTAMP_WINDOW_SECONDS = 300  # V2: requests and responses within ±300 s of the clock
_TAG = re.compile(r"<[^>]+>")
_SCRIPT = re.compile(r"<(script|style)\b.*?</\1>", re.IGNORECASE | re.DOTALL)
_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_CHARSET = re.compile(r"charset\s*=\s*[\"']?([A-Za-z0-9_.:-]+)", re.IGNORECASE)
# What PHP prints when it fails (display_errors on), in text or its HTML rendering.
_PHP_ERROR = re.compile(r"\b(Fatal error|Parse error|Uncaught|Warning|Notice|Deprecated)\b"
                        r"|SQLSTATE\[|on line \d+")
SHOWN_BODY = 160  # characters of an unexpected body carried in an error

MESSAGES = {
    "proxy_failed": "a proxy in front of the gateway failed: try again, or tell the gateway's "
                    "operator",
    "check_site_root": "check the gateway URL: the site root where submit.php and api.php are",
    "php_stopped": "the gateway's PHP stopped before it answered (its error log says why); "
                   "check the URL is the site root",
    "no_location": "(no Location header)",
    "behind": "{seconds} s behind",
    "ahead": "{seconds} s ahead of",
    "not_signed": "the answer is not signed: it could not be verified",
    "no_platform_key": "the answer is signed but not verified: no platform public key "
                       "(平台公钥) was given",
    "an_html_page": "an HTML page",
    "text": "text",
    "labelled": " labelled {content_type}",
    "nothing_readable": "(nothing readable)",
    "no_message": "(no message)",
    "answer_without_code": "an answer without a code",
}
_note = Texts("gateway", MESSAGES)



@dataclass(frozen=True)
class Reply:
    """A successful answer: the fields as sent (``data``), whether a V2 signature was checked
    (``verified``: True, or None when the answer was unsigned or no platform key was given).
    ``empty``: the answer was an HTTP 500 with an empty body, read as an empty listing page."""

    call: Call
    data: dict[str, Any]
    verified: bool | None = None
    notes: tuple[str, ...] = ()
    http_status: int = 200
    empty: bool = False


def decode_body(body: bytes, content_type: str) -> str:
    """The answer's text, by the charset it declares (``charset=gbk`` in the header, else a
    ``<meta charset>`` near the top); UTF-8 otherwise. Chinese PHP sites still answer GBK."""
    head = body[:1024].decode("ascii", "replace")
    charset = _charset(content_type) or (_charset(head) if "<meta" in head.lower() else None)
    if charset in ("gbk", "gb2312", "gb_2312-80", "x-gbk", "cp936"):
        charset = "gb18030"  # a superset: what browsers do with every GB label
    try:
        return body.decode(charset or "utf-8", "replace").lstrip("\ufeff")
    except LookupError:  # a charset Python does not know: UTF-8 is the best guess
        return body.decode("utf-8", "replace").lstrip("\ufeff")


def _charset(text: str) -> str | None:
    found = _CHARSET.search(text)
    return found.group(1).lower() if found else None


def parse_reply(call: Call, status: int, content_type: str, body: bytes, *, now: int,
                location: str = "") -> Reply:
    """Interpret one HTTP answer to ``call`` (``location``: the Location header, if any)."""
    if 300 <= status < 400:  # before the body: a redirect usually has none
        raise _redirect(call, status, location)
    text = decode_body(body, content_type)
    if not text.strip():
        if call.action == "orders" and status == 500:
            # api.php?act=orders on PHP 8: an empty page (or offset past the end) is a 500.
            return Reply(call, {"code": 1, "data": [], "count": None}, None, (), status,
                         empty=True)
        raise _empty(call, status)
    document = _json_object(text)
    if document is None:
        raise _not_json(call, status, content_type, text)
    code = _code(document.get("code"))
    message = _text(document.get("msg") if document.get("msg") is not None
                    else document.get("message", ""))
    if code is None:
        raise _error(call, document.get("code"), message or _note("answer_without_code"),
                     status=status)
    if code not in call.success:
        raise _error(call, code, message, status=status)
    if status >= 400:
        raise _error(call, code, message or f"HTTP {status}", status=status)
    verified, notes = check_signed_reply(call, document, now=now)
    return Reply(call, document, verified, tuple(notes), status)


def _empty(call: Call, status: int) -> GatewayError:
    """An empty body, said as what it is: only a 500 is the catalogue's ``http_500_empty``."""
    if status == 500:
        return _error(call, None, "HTTP 500 with an empty body", status=status,
                      entry_id="http_500_empty")
    advice = _note("proxy_failed" if status > 500 else "check_site_root" if status >= 400
                   else "php_stopped")
    return GatewayError("{url} answered HTTP {status} with an empty body", "{advice}",
                        code="gateway_empty_answer",
                        fields={"url": call.shown_url, "status": status, "advice": advice},
                        gateway_code=status)


def _redirect(call: Call, status: int, location: str) -> GatewayError:
    # Only where it points, not its query: it may repeat the request's own (with the key).
    target = location.split("?")[0] + ("?…" if "?" in location else "") if location else ""
    target = _cut(target, 120) or _note("no_location")
    return GatewayError("{url} answered a redirect (HTTP {status}) to {target}",
                        "use the gateway URL it redirects to (https, trailing slash); epay does "
                        "not follow redirects with a signed request", code="gateway_redirect",
                        fields={"url": call.shown_url, "status": status, "target": target},
                        gateway_code=status)


def check_signed_reply(call: Call, document: dict[str, Any], *,
                       now: int) -> tuple[bool | None, list[str]]:
    """V2 answers carry the platform's signature: check it and the timestamp window."""
    if call.dialect != "v2" or call.action == "pay":
        return None, []
    notes: list[str] = []
    stamp = document.get("timestamp")
    if stamp not in (None, ""):
        seconds = _code(stamp)
        if seconds is None:
            raise SignatureError("the answer's timestamp {stamp!r} is not Unix seconds",
                                 "the gateway or something between is mangling answers",
                                 code="reply_timestamp", fields={"stamp": stamp})
        if abs(now - seconds) > TIMESTAMP_WINDOW_SECONDS:
            raise SignatureError(
                "the answer's timestamp is {off} this clock (allowed: {window} s)",
                "synchronise the clock (NTP); a stale answer may be replayed",
                code="reply_timestamp_window",
                fields={"off": _note("behind" if seconds < now else "ahead",
                                     seconds=abs(now - seconds)),
                        "window": TIMESTAMP_WINDOW_SECONDS})
    sign = document.get("sign")
    if not sign:
        notes.append(_note("not_signed"))
        return None, notes
    if call.platform is None or call.platform.public is None:
        notes.append(_note("no_platform_key"))
        return None, notes
    fields = signed_fields(document)
    if not verify(fields, call.platform, received=str(sign)):
        raise SignatureError("the answer from {url} does not verify with the platform public "
                             "key", "check the platform public key (平台公钥) in the profile; an "
                             "answer that does not verify is not trusted",
                             code="reply_signature", fields={"url": call.shown_url})
    return True, notes


def signed_fields(document: dict[str, Any]) -> dict[str, str]:
    """The answer's fields as the PHP gateway signed them: scalars as PHP turns them into
    strings (``false`` and ``null`` → empty, which the canonical string leaves out)."""
    fields = {}
    for key, value in document.items():
        if key in ("sign", "sign_type") or isinstance(value, (dict, list)):
            continue
        fields[key] = php_string(value)
    return fields


def php_string(value: object) -> str:
    if value is None or value is False:
        return ""
    if value is True:
        return "1"
    if isinstance(value, float):
        from decimal import Decimal

        return float_text(Decimal(repr(value)))
    return str(value)


def _json_object(text: str) -> dict[str, Any] | None:
    """The JSON object in ``text``; also after a PHP warning or BOM printed before it."""
    stripped = text.strip()
    candidates = [stripped]
    start = stripped.find("{")
    if start > 0:
        candidates.append(stripped[start:])
    for candidate in candidates:
        try:
            found, _ = json.JSONDecoder().raw_decode(candidate)
        except (ValueError, RecursionError):
            continue
        if isinstance(found, dict):
            return found
    return None


def _not_json(call: Call, status: int, content_type: str, text: str) -> GatewayError:
    """An HTML notice page (站点提示信息), a web server's page, or text. Text that is not a
    page is the gateway's PHP talking (a database down, a fatal error): an internal error of
    the gateway, not a wrong URL."""
    from ..catalogue.lookup import explain

    looks_html = "<" in text and ">" in text
    shown = page_text(text) if looks_html else " ".join(text.split())
    broken_json = text.lstrip().startswith(("{", "["))  # cut short or not an object
    internal = (not looks_html and not broken_json) or bool(_PHP_ERROR.search(shown))
    entry = explain(None, shown)
    if entry is not None and entry.id == "http_error_page":
        entry = explain(None, shown.replace("站点提示信息", "")) or entry
    kind = _note("an_html_page" if looks_html else "text")
    labelled = _note("labelled", content_type=content_type.split(";")[0]) \
        if "json" in content_type else ""
    said = _cut(shown) or _note("nothing_readable")
    if entry is None and internal:
        return GatewayError(
            "the gateway reports an internal error: {url} answered {kind}{labelled} "
            "(HTTP {status}), not JSON: {said}",
            "the gateway's server is failing (its database, its PHP), not your request: tell "
            "its operator, or look it up with 'epay errors'", code="gateway_internal_text",
            fields={"url": call.shown_url, "kind": kind, "labelled": labelled, "status": status,
                    "said": said},
            gateway_code=status, gateway_message=said)
    if entry is None:
        return GatewayError(
            "{url} answered {kind}{labelled} (HTTP {status}), not JSON: {said}",
            "is the gateway URL right? it must be the Epay site root",
            code="gateway_not_json", fields={"url": call.shown_url, "kind": kind,
                                             "labelled": labelled, "status": status,
                                             "said": said},
            gateway_code=status, gateway_message=said)
    message = _message_of(entry, shown)
    fields = {"kind": kind, "labelled": labelled, "status": status, "message": message,
              "meaning": entry.meaning, "fix": entry.fix_said}
    if internal:  # the gateway's own failure, explained (a database down, a PHP error)
        return GatewayError("gateway answered {kind}{labelled} (HTTP {status}): {message} — "
                            "{meaning}", "{fix}", code="gateway_internal_error", fields=fields,
                            gateway_code=status, gateway_message=message, explanation=entry)
    return GatewayError("gateway answered {kind}{labelled} (HTTP {status}): {message} — {meaning}",
                        "{fix}", code="gateway_page", fields=fields, gateway_code=status,
                        gateway_message=message, explanation=entry)


def page_text(page: str) -> str:
    """The readable text of an HTML page: scripts and tags out, entities decoded."""
    title = _TITLE.search(page)
    body = _SCRIPT.sub(" ", page)
    body = _TITLE.sub(" ", body)
    text = " ".join(html.unescape(_TAG.sub(" ", body)).split())
    if title:
        heading = " ".join(html.unescape(title.group(1)).split())
        if heading and heading not in text:
            text = f"{heading} {text}".strip()
    return text


def _message_of(entry: Entry, text: str) -> str:
    """The catalogue message as it appears in ``text`` (with its values), else the first one."""
    from ..catalogue.lookup import normalize

    for message in entry.messages:
        literal = message.split("{")[0]
        if literal and literal in text:
            start = text.index(literal)
            return text[start:start + max(len(message) + 40, 60)].split("  ")[0].strip()
        if normalize(message) and normalize(message) in normalize(text):
            return message
    return entry.messages[0] if entry.messages else _cut(text)


def _error(call: Call, code: object, message: str, *, status: int,
           entry_id: str | None = None) -> GatewayError:
    """The gateway's error answer, explained by the catalogue; what it said (``said``) is
    quoted as it came, in every language."""
    from ..catalogue.lookup import catalogue

    book = catalogue()
    entry = book.entry(entry_id) if entry_id else book.explain(code, message)
    said = message or _note("no_message")
    details: dict[str, Any] = {"gateway_code": code, "gateway_message": message}
    if entry is not None:
        fields = {"code": code, "said": said, "meaning": entry.meaning, "fix": entry.fix_said}
        if code is None:
            return GatewayError("gateway answered no code: {said} — {meaning}", "{fix}",
                                code="gateway_answered_no_code", fields=fields, **details,
                                explanation=entry)
        if entry.from_other_gateways:
            return GatewayError("gateway answered code {code} (a code of other gateways, quoted "
                                "by tutorials): {said} — {meaning}", "{fix}",
                                code="gateway_answered_quoted", fields=fields, **details,
                                explanation=entry)
        return GatewayError("gateway answered code {code}: {said} — {meaning}", "{fix}",
                            code="gateway_answered", fields=fields, **details,
                            explanation=entry)
    meaning = book.code_meaning(code)
    fields = {"code": code, "said": said, "what": _cut(message, 30) or code}
    if meaning is not None:
        return GatewayError("gateway answered code {code}: {said} — {meaning}",
                            "look it up with 'epay errors {what}'", code="gateway_code_only",
                            fields={**fields, "meaning": meaning.said}, **details)
    if code is None:
        return GatewayError("gateway answered no code: {said}",
                            "look it up with 'epay errors {what}'",
                            code="gateway_unexplained_no_code", fields=fields, **details)
    return GatewayError("gateway answered code {code}: {said}",
                        "look it up with 'epay errors {what}'", code="gateway_unexplained",
                        fields=fields, **details)


def _code(value: object) -> int | None:
    """``1``, ``"1"``, ``-1``, ``"-1"``, ``1.0`` → int; anything else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"\s*[+-]?[0-9]{1,12}\s*", value):
        return int(value)
    return None


def _text(value: object) -> str:
    return "" if value is None or value is False else str(value)


def _cut(text: str, limit: int = SHOWN_BODY) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


# ---- the fields callers use ------------------------------------------------------------------

ORDER_FIELDS = ("trade_no", "out_trade_no", "api_trade_no", "type", "pid", "addtime", "endtime",
                "name", "money", "param", "buyer", "status", "payurl", "refundmoney",
                "bill_trade_no", "clientip")
STATUS_NAMES = {0: "unpaid", 1: "paid", 2: "refunded", 3: "frozen", 4: "pre-authorised"}


def order_fields(document: dict[str, Any]) -> dict[str, Any]:
    """An order as scripts rely on it: ``status`` an int, text fields text ('' for null/false),
    ``money`` as the gateway wrote it; unknown fields kept."""
    order = {}
    for key in ORDER_FIELDS:
        if key in document:
            order[key] = document[key]
    for key, value in document.items():
        if key not in order and key not in ("code", "msg", "sign", "sign_type", "timestamp"):
            order[key] = value
    for key, value in list(order.items()):
        if key == "status":
            continue
        if not isinstance(value, (dict, list)):
            order[key] = php_string(value)
    status = _code(order.get("status"))
    order["status"] = status
    order["status_text"] = STATUS_NAMES.get(status, "unknown") if status is not None else "unknown"
    return order


def rows_of(document: dict[str, Any]) -> list[dict[str, Any]]:
    """``data`` of a listing: a list, ``null``, or (some forks) an object keyed by index."""
    data = document.get("data")
    if data is None or data is False or data == "":
        return []
    if isinstance(data, dict):
        data = list(data.values())
    if not isinstance(data, list):
        return []
    return [row for row in data if isinstance(row, dict)]


def count_of(document: dict[str, Any]) -> int | None:
    return _code(document.get("count"))


def create_fields(document: dict[str, Any], *, v2: bool) -> dict[str, str]:
    """What a create answer says about paying: trade_no and exactly one pay field."""
    result = {"trade_no": php_string(document.get("trade_no"))}
    if v2:
        result["pay_type"] = php_string(document.get("pay_type"))
        result["pay_info"] = php_string(document.get("pay_info"))
        kind = {"qrcode": "qrcode", "urlscheme": "urlscheme", "html": "html"}.get(
            result["pay_type"], "payurl")
        result[kind] = result["pay_info"]
    else:
        for kind in ("payurl", "qrcode", "urlscheme", "html"):
            if document.get(kind):
                result[kind] = php_string(document[kind])
    return result


def pay_field(created: Mapping[str, str]) -> tuple[str, str]:
    """(kind, value) of the pay field: payurl, qrcode, urlscheme or html."""
    for kind in ("payurl", "qrcode", "urlscheme", "html"):
        if created.get(kind):
            return kind, created[kind]
    return "", ""
