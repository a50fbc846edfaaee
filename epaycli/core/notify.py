"""The notify a gateway sends when an order is paid (fields, order, money format, signature),
and what a gateway counts as delivered. The local gateway sends these, ``epay trigger`` and
``epay check`` send them on purpose altered, and the listener judges them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from .models import SUCCESS_STATUS
from .money import format_wire
from .php import float_text, http_build_query, is_empty
from .signing import Md5Key, Signer, SignType, sign

# Newer servers send (float)$money (1.00 → 1); older ones the stored text with 2 places.
MoneyFormat = Literal["gateway", "2dp"]

DELIVERY_TIMEOUT_SECONDS = 5  # the gateway waits this long for the merchant's answer
RETRY_SCHEDULE_MINUTES = (0, 1, 3, 19, 55)  # 5 sends in all, when the operator's cron runs
SUCCESS_WORDS = ("success", "SUCCESS", "Success")


@dataclass(frozen=True)
class PaidOrder:
    """What a notify is made from: the order as the gateway stored it."""

    pid: str
    trade_no: str
    out_trade_no: str
    type: str
    name: str
    money: Decimal
    param: str = ""
    api_trade_no: str = ""  # V2: the upstream (Alipay/WeChat) number
    buyer: str = ""  # V2


def notify_fields(order: PaidOrder, *, money_format: MoneyFormat = "gateway",
                  trade_status: str = SUCCESS_STATUS) -> dict[str, str]:
    """The unsigned fields, in the order a real server writes them."""
    fields = {
        "pid": order.pid,
        "trade_no": order.trade_no,
        "out_trade_no": order.out_trade_no,
        "type": order.type,
        "name": order.name,
        "money": float_text(order.money) if money_format == "gateway" else format_wire(order.money),
        "trade_status": trade_status,
    }
    if order.api_trade_no:
        fields["api_trade_no"] = order.api_trade_no
    if order.buyer:
        fields["buyer"] = order.buyer
    if not is_empty(order.param):  # PHP's empty(): param=0 is never sent
        fields["param"] = order.param
    return fields


def signed_notify(fields: Mapping[str, str], signer: Signer, *, now: int | None = None,
                  unsigned: tuple[str, ...] = ()) -> dict[str, str]:
    """``fields`` with their sign, laid out as the gateway sends them: V1 ends ``sign,
    sign_type``; V2 adds ``timestamp`` and ends ``sign_type, sign``. Names in ``unsigned`` are
    sent but left out of the sign (the real ``type=0`` quirk)."""
    sent = dict(fields)
    if signer.sign_type is SignType.RSA and "timestamp" not in sent:  # one given is kept
        if now is None:
            raise ValueError("a V2 notify needs the time it is sent")
        sent["timestamp"] = str(now)
    covered = {k: v for k, v in sent.items() if k not in unsigned}
    signature = sign(covered, signer, blanks="keep")
    if isinstance(signer, Md5Key):
        sent["sign"] = signature
        sent["sign_type"] = str(SignType.MD5)
    else:
        sent["sign_type"] = str(SignType.RSA)
        sent["sign"] = signature
    return sent


def counts_as_delivered(body: str) -> bool:
    """A gateway marks a notify delivered when the answer's body contains one of these words
    (the HTTP status is ignored)."""
    return any(word in body for word in SUCCESS_WORDS)


_HEX = "0123456789abcdef"
_BASE64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def altered_sign(signature: str) -> str:
    """``signature`` with one character changed and its shape kept (hex stays hex, base64 stays
    base64): what a forger's near miss looks like. The middle character is changed, because
    the last base64 characters may carry unused bits and decode to the same signature."""
    if not signature:
        return "0"
    index = len(signature) // 2
    alphabet = _HEX if all(ch in _HEX for ch in signature.lower()) else _BASE64
    current = signature[index].lower() if alphabet is _HEX else signature[index]
    position = alphabet.find(current)
    replacement = alphabet[(position + 1) % len(alphabet)]
    if alphabet is _HEX and signature[index].isupper():
        replacement = replacement.upper()
    return signature[:index] + replacement + signature[index + 1:]


def notify_get_url(notify_url: str, sent: Mapping[str, str]) -> str:
    """Where a GET notify goes: the notify_url with the fields appended as PHP's
    ``http_build_query`` writes them (after ``&`` when the URL has a query of its own)."""
    joiner = "&" if "?" in notify_url else "?"
    return notify_url + joiner + http_build_query(sent)


# Fields that differ between genuine re-sends of one notify (V2 re-signs with a fresh
# timestamp): a copy that differs only in these says the same thing.
RESEND_VOLATILE_FIELDS = frozenset({"sign", "sign_type", "timestamp"})


@dataclass(frozen=True)
class FieldChange:
    """One field a later copy of a notify says differently (``None``: absent there)."""

    name: str
    before: str | None
    after: str | None

    def to_dict(self) -> dict[str, str | None]:
        return {"name": self.name, "before": self.before, "after": self.after}


def changed_fields(before: Mapping[str, str], after: Mapping[str, str]) -> list[FieldChange]:
    """What ``after`` (a re-send of the same trade_no) says differently from ``before``, in
    ``before``'s field order then the new fields; re-signing alone changes nothing."""
    names = [*before, *(name for name in after if name not in before)]
    return [FieldChange(name, before.get(name), after.get(name)) for name in names
            if name not in RESEND_VOLATILE_FIELDS and before.get(name) != after.get(name)]
