"""What a request says that an Epay gateway will not read as meant: parameters named as Alipay's
(or WeChat Pay's) APIs name them, which integration tutorials quote as if they were Epay's.

Pure and cheap (``epay sign`` runs it on every call); ``epay sign`` warns with it and
``epay doctor request`` lints with it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple


class ForeignName(NamedTuple):
    """A parameter named as another payment API names it."""

    name: str  # as in the request: total_fee
    epay_name: str | None  # what Epay calls it (money), None when Epay has no such field
    origin: str  # whose name it is: "Alipay", "WeChat Pay"
    in_fen: bool = False  # that API counts this amount in fen (分); Epay's money is yuan

    def to_dict(self) -> dict[str, object]:
        return {"name": self.name, "epay_name": self.epay_name, "origin": self.origin,
                "in_fen": self.in_fen}


# name → (Epay's name, whose name, amount in fen). Alipay's old gateway (mapi, the one most
# tutorials copy), its open platform, and WeChat Pay's unified order.
_FOREIGN = {
    "service": (None, "Alipay", False),
    "partner": ("pid", "Alipay", False),
    "seller_id": ("pid", "Alipay", False),
    "seller_email": ("pid", "Alipay", False),
    "_input_charset": (None, "Alipay", False),
    "payment_type": ("type", "Alipay", False),
    "total_fee": ("money", "Alipay", False),
    "subject": ("name", "Alipay", False),
    "body": (None, "Alipay", False),
    "show_url": (None, "Alipay", False),
    "app_id": ("pid", "Alipay", False),
    "total_amount": ("money", "Alipay", False),
    "biz_content": (None, "Alipay", False),
    "mch_id": ("pid", "WeChat Pay", False),
    "appid": (None, "WeChat Pay", False),
    "spbill_create_ip": ("clientip", "WeChat Pay", False),
    "trade_type": ("type", "WeChat Pay", False),
}
# WeChat Pay's total_fee is fen, Alipay's yuan: a request with both WeChat names and total_fee
# most likely sends fen.
_WECHAT_SIGNS = frozenset({"mch_id", "appid", "spbill_create_ip", "trade_type", "nonce_str"})


def alipay_style_names(params: Mapping[str, str]) -> list[ForeignName]:
    """The parameters of ``params`` that another API's tutorials name, which an Epay gateway
    does not read: each one whose Epay name is missing from the request, and — in a request
    shaped like another API's (such a name, or no ``pid``) — the ones Epay has no field for."""
    found = []
    wechat = any(name in params for name in _WECHAT_SIGNS)
    for name in params:
        known = _FOREIGN.get(name)
        if known is None:
            continue
        epay_name, origin, _ = known
        if name == "total_fee" and wechat:
            origin, in_fen = "WeChat Pay", True
        else:
            in_fen = False
        found.append(ForeignName(name, epay_name, origin, in_fen))
    instead = [f for f in found if f.epay_name is not None and f.epay_name not in params]
    if not instead and "pid" in params:
        return []
    return [f for f in found if f.epay_name is None or f.epay_name not in params]


def lacks_pid(params: Mapping[str, str]) -> bool:
    """Whether a request misses ``pid``, the merchant id every Epay request carries."""
    return not params.get("pid", "").strip()
