"""What the listener makes of one request: its parameters (as an Epay server reads them), the
verdict (``core.callback.check_callback``, amount from epay's own order records), duplicates
by trade_no, and the masked form of everything that is stored or shown."""

from __future__ import annotations

import hashlib
import re
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote_plus, unquote_to_bytes

from ..core.callback import Expectations, check_callback
from ..core.errors import EpayError, InputError
from ..core.jsontext import json_text
from ..core.notify import RESEND_VOLATILE_FIELDS
from ..core.params import parse_json, parse_query
from ..core.redact import SECRET_NAMES, has_key_shaped, mask, mask_key_shaped, scrub
from ..core.signing import Keys
from ..core.words import Text

if TYPE_CHECKING:
    from ..state import LocalState, RecordedOrders

_Shown = TypeVar("_Shown")

# Fields of the protocol whose values are data the gateway or the merchant chose (order
# numbers may well be 32 letters and digits): kept as received. Any other key-shaped value
# is masked before it is stored or shown.
PROTOCOL_FIELDS = frozenset({
    "pid", "trade_no", "out_trade_no", "api_trade_no", "type", "name", "money", "trade_status",
    "param", "buyer", "timestamp", "sign", "sign_type",
})
_SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "x-api-key"})
# Secrets JSON writes as they are (no quote, backslash or control character to escape).
_JSON_PLAIN = re.compile(r'[^"\\\x00-\x1f]*')
_JSON_SECRET = re.compile(
    r'("(?:' + "|".join(sorted(SECRET_NAMES)) + r')"\s*:\s*")([^"]*)(")', re.IGNORECASE)


def read_params(method: str, query: bytes, body: bytes,
                content_type: str) -> tuple[dict[str, str], str]:
    """The parameters of a notify, the way an Epay server's notify handler reads them: the
    query string when it carries ``pid`` (or there is no body), else the body — a form, or a
    JSON object (tolerated). Returns them and where they came from (``query`` or ``body``).
    Raises ``InputError`` saying what is wrong."""
    from_query = _form(query, "the query string") if query else {}
    if "pid" in from_query or not body.strip():
        if not from_query:
            raise InputError("the {method} request carries no parameters",
                             "a notify carries pid, trade_no, … in its query or form body",
                             code="notify_no_params", fields={"method": method})
        return from_query, "query"
    text = _utf8(body, "the body")
    if text.lstrip().startswith("{") or "json" in content_type.lower():
        return parse_json(text), "body"
    return _form(body, "the body"), "body"


def _utf8(raw: bytes, what: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError("{part} is not UTF-8", "Epay sends UTF-8; make the sender use it",
                         code="notify_not_utf8", fields={"part": what}) from None


def _form(raw: bytes, what: str) -> dict[str, str]:
    return parse_query(_utf8(raw, what))


@dataclass
class Masker:
    """Masks what must never be stored or shown: the configured key wherever it appears, any
    field named like a key, and key-shaped values outside the protocol's own fields."""

    secrets: tuple[str, ...] = ()

    def plain(self, params: Mapping[str, str]) -> bool:
        """Only protocol fields, none holding a known secret: nothing to mask (the common
        case, worked out once a notify)."""
        if not PROTOCOL_FIELDS.issuperset(params):
            return False
        # one search a secret (a secret spanning two joined values only errs safe: masked)
        values = "\n".join(params.values())
        return not any(secret in values for secret in self.secrets)

    def params(self, params: Mapping[str, str]) -> dict[str, str]:
        return {name: value if self._plain(name, value) else self._value(name, value)
                for name, value in params.items()}

    def _plain(self, name: str, value: str) -> bool:
        """A protocol field holding no known secret: kept as it is (the common case)."""
        return name in PROTOCOL_FIELDS and not any(s in value for s in self.secrets)

    def raw(self, raw: bytes, params: Mapping[str, str] | None, *,
            plain: bool | None = None) -> bytes:
        """The raw query or body: unchanged when its parameters were read and are all plain
        protocol fields (``plain``, when already known); else masked piece by piece."""
        if params is not None and (self.plain(params) if plain is None else plain) and \
                not any(s.encode() in raw for s in self.secrets):
            return raw
        return self.form_bytes(raw)

    def _value(self, name: str, value: str) -> str:
        if name.lower() in SECRET_NAMES:
            return mask(value) if value else value
        value = scrub(value, self.secrets)
        return value if name in PROTOCOL_FIELDS else mask_key_shaped(value)

    def form_bytes(self, raw: bytes) -> bytes:
        """A query string or form body, piece by piece: only pieces that must be masked are
        rewritten, every other byte stays as it arrived."""
        if not raw:
            return raw
        if raw.lstrip().startswith(b"{"):
            return self.text_bytes(raw)
        pieces = []
        for piece in raw.split(b"&"):
            name_raw, equals, value_raw = piece.partition(b"=")
            name = _decoded(name_raw)
            value = _decoded(value_raw)
            masked = self._value(name, value)
            if masked != value:
                piece = name_raw + equals + quote_plus(masked).encode("ascii")
            pieces.append(piece)
        return self.text_bytes(b"&".join(pieces))

    def text(self, text: str) -> str:
        """Free text from a request (a path, a refusal quoting a line of it): known secrets and
        key-shaped runs masked."""
        if not has_key_shaped(text) and not any(s in text for s in self.secrets):
            return text
        return mask_key_shaped(scrub(text, self.secrets))

    def text_bytes(self, raw: bytes) -> bytes:
        """Anything else (JSON, garbage): known secrets and key-named JSON fields masked."""
        text = raw.decode("utf-8", "surrogateescape")
        masked = scrub(text, self.secrets)
        masked = _JSON_SECRET.sub(lambda m: m.group(1) + mask(m.group(2)) + m.group(3), masked)
        return masked.encode("utf-8", "surrogateescape") if masked != text else raw

    def headers(self, headers: list[tuple[str, str]]) -> list[list[str]]:
        # names and values in one search (the usual case: nothing to mask)
        joined = "\n".join(f"{name}\n{value}" for name, value in headers)
        if not has_key_shaped(joined) and not any(s in joined for s in self.secrets) and \
                not any(name.lower() in _SECRET_HEADERS for name, _ in headers):
            return [[name, value] for name, value in headers]
        shown = []
        for name, value in headers:
            if name.lower() in _SECRET_HEADERS:
                value = mask(value) or "…"
            else:
                value = self.text(value)
            shown.append([self.text(name), value])
        return shown

    def anything(self, value: _Shown, params: Mapping[str, str] | None = None) -> _Shown:
        """Any structure (a verdict, a forward answer): known secrets, and the values of
        key-named fields of this request (a diagnosis quotes what was signed), masked."""
        secrets = (*self.secrets, *secret_values(params or {}))
        if value.__class__ is str:  # an answer's body: the one search, no encoding
            # (a str: the class test does not narrow for mypy; isinstance would, a call a notify)
            found = any(s in value for s in secrets)  # type: ignore[operator]
            return scrub(value, secrets) if found else value
        if all(_JSON_PLAIN.fullmatch(s) for s in secrets):
            # Found in the JSON text or not at all: one C-speed encoding and a substring search
            # spare walking the whole verdict (dict keys count too, so this only errs safe).
            text = json_text(value)
            if not any(s in text for s in secrets):
                return value
        scrubbed: _Shown = scrub(value, secrets)  # (the same shape, its text masked)
        return scrubbed


def secret_values(params: Mapping[str, str]) -> list[str]:
    return [v for k, v in params.items() if k.lower() in SECRET_NAMES and v]


def _decoded(raw: bytes) -> str:
    return unquote_to_bytes(raw.replace(b"+", b" ")).decode("utf-8", "replace")


def fingerprint(params: Mapping[str, str]) -> str:
    """What a notify says, independent of field order and of re-signing."""
    content = "\n".join(f"{k}={v}" for k, v in sorted(params.items())
                        if k not in RESEND_VOLATILE_FIELDS)
    return hashlib.sha256(content.encode("utf-8", "surrogatepass")).hexdigest()[:32]


# The first copy's fields are kept for this many trade_nos (the most recent): enough to name
# what a re-send changed during any gateway's retry window, bounded (~1 KB each).
KEEP_FIRST_COPIES = 10_000


@dataclass
class Seen:
    """What came before a notify with the same trade_no."""

    count: int  # times this trade_no came before
    changed: bool  # this copy says something else than the first one
    first: Mapping[str, str] | None  # the first copy's (masked) fields, None when not kept


class Duplicates:
    """How often each trade_no was seen, whether a later copy said something else, and (for
    the most recent ``keep`` trade_nos) the first copy's fields, to name what changed. Used
    from the loop's thread only."""

    def __init__(self, keep: int = KEEP_FIRST_COPIES) -> None:
        self._seen: dict[str, tuple[int, str]] = {}
        self._first: OrderedDict[str, Mapping[str, str]] = OrderedDict()
        self._keep = keep

    def load(self, journaled: Iterable[tuple[str, str]],
             first_copies: Iterable[tuple[str, Mapping[str, str]]] = ()) -> None:
        """(trade_no, fingerprint) of every journaled notify, oldest first; then the first
        copies' fields the journal still has (oldest trade_no first)."""
        for trade_no, print_ in journaled:
            self.note(trade_no, print_, None)
        for trade_no, params in first_copies:
            self._remember(trade_no, params)

    def note(self, trade_no: str, print_: str, params: Mapping[str, str] | None) -> Seen:
        if not trade_no:
            return Seen(0, False, None)
        count, first = self._seen.get(trade_no, (0, print_))
        self._seen[trade_no] = (count + 1, first)
        if count == 0:
            if params is not None:
                self._remember(trade_no, params)
            return Seen(0, False, None)
        return Seen(count, print_ != first, self._first.get(trade_no))

    def _remember(self, trade_no: str, params: Mapping[str, str]) -> None:
        self._first[trade_no] = params
        self._first.move_to_end(trade_no)
        if len(self._first) > self._keep:
            self._first.popitem(last=False)


@dataclass(frozen=True)
class Judgement:
    verdict: str  # genuine | bad_signature | rejected
    valid: bool
    reason: str
    report: dict[str, Any]  # CallbackReport.to_dict()'s shape
    order_amount: str | None


def judge(params: Mapping[str, str], keys: Keys, *, pid: str | None, now: int,
          state: LocalState | RecordedOrders | None = None) -> Judgement:
    """The verdict on one notify: ``check_callback`` with the merchant's pid and, when epay
    recorded the order (``epay order create``), its amount."""
    amount = None
    if state is not None and params.get("out_trade_no"):
        try:
            order = state.find_order(params["out_trade_no"], pid=params.get("pid") or pid)
        except EpayError:
            order = None  # the orders file is unreadable: judge without the amount
        amount = order.money if order is not None else None
    try:
        report = check_callback(params, keys, Expectations(amount=amount, pid=pid, now=now))
    except EpayError as error:  # the key this sign_type needs is not configured
        reason = Text("judge.cannot_verify", "cannot verify: {message}", message=error.said)
        unverified: dict[str, Any] = {"valid": False, "verdict": "bad_signature", "reason": reason,
                  "sign_type": params.get("sign_type", ""), "signature_valid": False,
                  "problems": [{"code": error.code, "message": error.message,
                                "fix": error.hint or ""}],
                  "diagnosis": None, "notes": []}  # the shape of CallbackReport.to_dict()
        return Judgement("bad_signature", False, reason, unverified, None)
    return Judgement(report.verdict, report.genuine, report.reason, report.to_dict(),
                     None if amount is None else f"{amount:f}")
