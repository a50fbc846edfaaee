"""What a real server does that the protocol does not say (``--quirks real``, the default), or
the textbook behaviour (``--quirks clean``). Every switch is one field, so a test can name the
quirk it relies on."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from ..core.money import CENT, parse_amount, parse_received_money
from ..core.php import is_empty, stored_form

MODES = ("real", "clean")
_ASTRAL = re.compile("[\U00010000-\U0010FFFF]")


@dataclass(frozen=True)
class Quirks:
    mode: str
    stored_forms: bool  # name/param/URLs stored as htmlspecialchars(addslashes(x))
    name_product: bool  # notifies carry name=product
    cut_names: bool  # names cut to 127 bytes, then 64 characters; emoji become '?'
    float_money: bool  # notifies send (float)money: 1.00 → 1
    type0_unsigned: bool  # an order paid without a type is notified type=0, type unsigned
    max_money: Decimal | None  # a fresh install caps payments at 1000 yuan
    loose_money: bool  # '1.', '.5', '01.00' pass; '1.999' → 2.00; '0.001' → 0.00
    refund_api_default: bool  # whether new merchants may refund through the API
    orders_empty_500: bool  # act=orders answers HTTP 500 on an empty page
    settle_null: bool  # act=settle answers data: null when there are no settlements
    mapi_post_only: bool  # newer servers: GET to mapi.php has "no parameters"
    cut_out_trade_no: bool  # 151+ characters are cut to 150 (and not refused)
    php_json: bool  # JSON as PHP writes it: \uXXXX for Chinese, \/ for slashes

    @classmethod
    def named(cls, mode: str) -> Quirks:
        if mode == "real":
            return cls("real", True, True, True, True, True, Decimal(1000), True, False, True,
                       True, True, True, True)
        if mode == "clean":
            return cls("clean", False, False, False, False, False, None, False, True, False,
                       False, False, False, False)
        raise ValueError(f"quirks must be one of {', '.join(MODES)}, not {mode!r}")

    def store_text(self, value: str) -> str:
        """name, param and the URLs as the database row holds them."""
        if not self.stored_forms:
            return value
        # utf8mb3 columns hold no 4-byte characters (emoji): MySQL writes '?'
        return stored_form(_ASTRAL.sub("?", value))

    def store_name(self, name: str) -> str:
        stored = self.store_text(name)
        if not self.cut_names:
            return stored
        # the column takes 127 bytes, then the page cuts to 64 characters
        return stored.encode("utf-8")[:127].decode("utf-8", "ignore")[:64]

    def parse_money(self, text: str) -> tuple[Decimal | None, str | None]:
        """The stored amount, or the gateway's own error message for ``text``."""
        if is_empty(text) if self.loose_money else text == "":
            return None, "金额(money)不能为空"
        if self.loose_money:
            value = parse_received_money(text)
            if value is None or value <= 0:
                return None, "金额不合法"
            return value.quantize(CENT, rounding=ROUND_HALF_UP), None
        try:
            return parse_amount(text), None
        except Exception:  # noqa: BLE001 - core's InputError: the gateway words its own
            return None, "金额不合法"
