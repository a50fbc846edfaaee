"""What to send: the notify a gateway builds for a paid order (``core.notify``), then what the
user or a conformance case changes in it — a field, the money text, the signature."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal, TypedDict, Unpack
from urllib.parse import urlsplit

from ..core.errors import InputError
from ..core.models import SUCCESS_STATUS
from ..core.notify import (
    MoneyFormat,
    PaidOrder,
    altered_sign,
    notify_fields,
    notify_get_url,
    signed_notify,
)
from ..core.php import http_build_query
from ..core.signing import Signer

# genuine: signed as the gateway signs; bad_sign: one character of the sign changed;
# missing_sign: no sign (sign_type kept); unsigned: neither sign nor sign_type.
Signing = Literal["genuine", "bad_sign", "missing_sign", "unsigned"]
Method = Literal["GET", "POST"]
# Set after signing, so a value given for them is sent as given instead of being recomputed.
AFTER_SIGNING = ("sign", "sign_type")


class PlanChanges(TypedDict, total=False):
    """Any of ``NotifyPlan``'s fields, changed (``plan.but(signing="bad_sign")``)."""

    order: PaidOrder
    signer: Signer
    money_format: MoneyFormat
    trade_status: str
    changes: tuple[tuple[str, str], ...]
    signing: Signing
    sign_with: Signer | None
    method: Method
    now: int | None


@dataclass(frozen=True)
class NotifyPlan:
    """Everything that decides one notify's fields and signature."""

    order: PaidOrder
    signer: Signer
    money_format: MoneyFormat = "gateway"
    trade_status: str = SUCCESS_STATUS
    changes: tuple[tuple[str, str], ...] = ()  # --set k=v, in order given
    signing: Signing = "genuine"
    sign_with: Signer | None = None  # sign with this instead of the shop's key (a forgery)
    method: Method = "GET"
    now: int | None = None  # V2 timestamp

    def but(self, **changes: Unpack[PlanChanges]) -> NotifyPlan:
        return replace(self, **changes)


@dataclass(frozen=True)
class OutgoingNotify:
    """One notify as it goes on the wire."""

    method: Method
    notify_url: str
    fields: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        """Where the request goes: for GET with the fields in the query string."""
        return notify_get_url(self.notify_url, self.fields) if self.method == "GET" \
            else self.notify_url

    @property
    def body(self) -> str | None:
        """The form body of a POST notify (``application/x-www-form-urlencoded``)."""
        return http_build_query(self.fields) if self.method == "POST" else None

    def to_dict(self) -> dict[str, object]:
        return {"method": self.method, "url": self.url, "body": self.body,
                "fields": dict(self.fields)}


def build_notify(notify_url: str, plan: NotifyPlan) -> OutgoingNotify:
    """The notify ``plan`` describes, addressed to ``notify_url``: fields in the gateway's wire
    order, changes applied, then signed (or not) as the plan says."""
    fields = notify_fields(plan.order, money_format=plan.money_format,
                           trade_status=plan.trade_status)
    late: dict[str, str] = {}
    for name, value in plan.changes:
        if name in AFTER_SIGNING:
            late[name] = value
        else:
            fields[name] = value
    sent = signed_notify(fields, plan.sign_with or plan.signer, now=plan.now)
    if plan.signing == "bad_sign":
        sent["sign"] = altered_sign(sent["sign"])
    elif plan.signing == "missing_sign":
        del sent["sign"]
    elif plan.signing == "unsigned":
        del sent["sign"], sent["sign_type"]
    sent.update(late)
    return OutgoingNotify(plan.method, notify_url, sent)


def check_notify_url(url: str) -> str:
    """A handler URL a gateway could call: absolute http(s) with a host, no fragment."""
    text = url.strip()
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        raise InputError("{url} is not a valid URL",
                         "give the handler's full URL, e.g. http://127.0.0.1:8000/notify",
                         code="bad_handler_url", fields={"url": _cut(text)}) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError("{url} is not an absolute http(s) URL",
                         "give the handler's full URL, e.g. http://127.0.0.1:8000/notify",
                         code="handler_url_not_http", fields={"url": _cut(text)})
    if parts.fragment:
        raise InputError("{url} has a #fragment", "a notify_url has no fragment",
                         code="handler_url_fragment", fields={"url": _cut(text)})
    return text


def parse_changes(pairs: list[str]) -> tuple[tuple[str, str], ...]:
    """``--set k=v`` values: the name trimmed and required, the value kept exactly."""
    changes = []
    for pair in pairs:
        name, equals, value = pair.partition("=")
        if not equals or not name.strip():
            raise InputError("--set {pair} is not name=value",
                             "write e.g. --set money=0.01 (an empty value: --set param=)",
                             code="bad_notify_change", fields={"pair": _cut(pair)})
        changes.append((name.strip(), value))
    return tuple(changes)



def _cut(text: str, limit: int = 60) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "…")
