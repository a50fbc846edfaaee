"""Amounts in yuan, as Decimal: never floats, never compared as strings (``1`` == ``1.00``)."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from .errors import InputError
from .php import float_text
from .words import Text, Texts

# What the protocol allows in a request: digits, one optional point, at most 2 decimals.
_STRICT = re.compile(r"[0-9]{1,12}(\.[0-9]{1,2})?")
# What gateways have been seen to send back ("1", "1.5", "1.00", "1.", ".5"). Both patterns
# cap the digits: a trillion yuan is not an order, and Decimal's 28 digits stay far away.
_LENIENT = re.compile(r"[0-9]{1,12}(\.[0-9]{0,8})?|\.[0-9]{1,8}")

CENT = Decimal("0.01")


def parse_amount(text: str) -> Decimal:
    """An amount a merchant asks for: ``> 0``, digits and ``.``, at most 2 decimals."""
    if not _STRICT.fullmatch(text):
        raise InputError("amount {amount!r} is not valid",
                         "write yuan with digits and at most 2 decimals, e.g. 9.90",
                         code="amount_not_valid", fields={"amount": text})
    amount = Decimal(text)
    if amount <= 0:
        raise InputError("amount {amount!r} is not above zero", "use at least 0.01",
                         code="amount_not_positive", fields={"amount": text})
    return amount


def parse_received_money(text: str) -> Decimal | None:
    """A ``money`` value as received; ``None`` when it is not a number at all."""
    if not _LENIENT.fullmatch(text):
        return None
    try:
        return Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern admits only decimals
        return None


def amounts_equal(received: str, expected: Decimal) -> bool:
    """Numeric comparison to the cent: ``1`` == ``1.00``, ``1.5`` == ``1.50``."""
    value = parse_received_money(received)
    return value is not None and value == expected


def format_wire(amount: Decimal) -> str:
    """How epay writes an amount when it sends one: always 2 places."""
    return f"{amount.quantize(CENT):f}"


def php_float_text(text: str) -> str | None:
    """What PHP prints for ``(float)$text``: how newer servers send ``money`` (1.00 → 1)."""
    value = parse_received_money(text)
    return None if value is None else float_text(value)


def money_renderings(text: str) -> list[str]:
    """Other ways the same amount is commonly written, for the diagnoser (``1`` → ``1.00`` …)."""
    value = parse_received_money(text)
    if value is None:
        return []
    candidates = [
        format_wire(value),
        php_float_text(text),
        f"{value.quantize(Decimal('0.1')):f}",
        f"{value:f}",
    ]
    seen = {text}
    found = []
    for candidate in candidates:
        if candidate and candidate not in seen:
            seen.add(candidate)
            found.append(candidate)
    return found


_SIGNED_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)")
_EXPONENT = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)[eE][+-]?[0-9]+")


# What is wrong with a money value, by id (``money.<id>``; ``{money}`` is the value, quoted).
MONEY_TEXTS = {
    "empty": "money {money} is empty",
    "spaces": "money {money} has spaces around it",
    "not_a_number": "money {money} is not a number",
    "exponent": "money {money} is in exponent notation, not plain digits",
    "negative": "money {money} is negative",
    "signed": "money {money} has a sign",
    "too_long": "money {money} has more than 12 digits before the point",
    "comma": "money {money} uses a comma, not a point",
    "too_many_decimals": "money {money} has too many decimals",
    # what an Epay gateway does with such a value in a payment request
    "refused_empty": "money {money} is empty: the gateway refuses it (金额(money)不能为空)",
    "refused": "{problem}: the gateway refuses it (金额不合法)",
    "refused_zero": "money {money} is zero: the gateway refuses it (金额(money)不能为空)",
    "rounded_to_zero": "money {money} has more than 2 decimals: the gateway stores it as 0.00, "
                       "a zero-yuan order",
    "rounded": "money {money} has more than 2 decimals: the gateway stores it as {rounded}, and "
               "the notify then carries that amount",
}


money_text = Texts("money", MONEY_TEXTS)


def money_text_problem(text: str) -> Text | None:
    """Why ``text`` is not an amount at all, worded exactly (``None`` when it is a plain
    non-negative decimal): negative, exponent notation, not a number, blank."""
    shown = _shown(text)
    if not text.strip():
        return money_text("empty", money=shown)
    if text != text.strip():
        return money_text("spaces", money=shown)
    if text.lower() in ("nan", "inf", "-inf", "+inf", "infinity"):
        return money_text("not_a_number", money=shown)
    if _EXPONENT.fullmatch(text):
        return money_text("exponent", money=shown)
    if _SIGNED_NUMBER.fullmatch(text):
        if text.startswith("-") and Decimal(text) != 0:
            return money_text("negative", money=shown)
        if text.startswith(("+", "-")):
            return money_text("signed", money=shown)
        if len(text.partition(".")[0]) > 12:
            return money_text("too_long", money=shown)
        return None
    if "," in text and _SIGNED_NUMBER.fullmatch(text.replace(",", ".", 1)):
        return money_text("comma", money=shown)
    return money_text("not_a_number", money=shown)


def gateway_money_problem(text: str) -> Text | None:
    """What an Epay gateway does with ``money`` in a payment request, when it is not simply
    accepted: refused (``金额不合法``, ``金额(money)不能为空``) or silently rounded."""
    problem = money_text_problem(text)
    if not text.strip():
        return money_text("refused_empty", money=_shown(text))
    if problem is not None:
        return money_text("refused", problem=problem)
    value = Decimal(text if text not in (".", "") else "0")
    rounded = value.quantize(CENT)
    if value == 0:
        return money_text("refused_zero", money=_shown(text))
    if rounded != value:
        if rounded == 0:
            return money_text("rounded_to_zero", money=_shown(text))
        return money_text("rounded", money=_shown(text), rounded=format_wire(rounded))
    return None


def _shown(text: str, limit: int = 24) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "…")
