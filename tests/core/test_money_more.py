"""core/money.py: amounts as a merchant asks for them, as gateways send them back, and the other
renderings the diagnoser tries. Money is compared as numbers, never as text."""

from __future__ import annotations

from decimal import Decimal

import pytest

from epaycli.core.errors import InputError
from epaycli.core.money import (
    amounts_equal,
    format_wire,
    money_renderings,
    parse_amount,
    parse_received_money,
    php_float_text,
)


@pytest.mark.parametrize("text, amount", [
    ("0.01", Decimal("0.01")), ("1", Decimal("1")), ("9.9", Decimal("9.9")),
    ("999999999999.99", Decimal("999999999999.99")), ("007", Decimal("7")),
])
def test_an_amount_a_merchant_may_ask_for(text, amount):
    assert parse_amount(text) == amount


@pytest.mark.parametrize("text", ["1.001", "1000000000000", "-1", "+1", "1e2", " 1", "1 ", "1.",
                                  ".5", "", "1,00", "１", "0x10", "1.0.0"])
def test_an_amount_that_is_not_digits_with_two_decimals_is_refused(text):
    with pytest.raises(InputError) as raised:
        parse_amount(text)
    assert raised.value.message == f"amount {text!r} is not valid"
    assert raised.value.hint == "write yuan with digits and at most 2 decimals, e.g. 9.90"


@pytest.mark.parametrize("text", ["0", "0.00", "000.0"])
def test_a_zero_amount_is_refused(text):
    with pytest.raises(InputError) as raised:
        parse_amount(text)
    assert raised.value.message == f"amount {text!r} is not above zero"
    assert raised.value.hint == "use at least 0.01"


@pytest.mark.parametrize("text, value", [
    ("1", Decimal("1")), ("1.5", Decimal("1.5")), ("1.", Decimal("1")), (".5", Decimal("0.5")),
    ("1.12345678", Decimal("1.12345678")), ("0", Decimal("0")), ("999999999999", Decimal("999999999999")),
])
def test_money_as_gateways_send_it_is_read_leniently(text, value):
    assert parse_received_money(text) == value


@pytest.mark.parametrize("text", ["", ".", "abc", "1.123456789", ".123456789", "1000000000000",
                                  "-1", "1e3", "NaN", "Infinity", " 1", "1,5"])
def test_money_that_is_not_a_plain_number_is_none(text):
    assert parse_received_money(text) is None


@pytest.mark.parametrize("received, expected, equal", [
    ("1", "1.00", True), ("1.5", "1.50", True), ("1.50", "1.5", True), ("1.", "1", True),
    ("1.51", "1.50", False), ("1.001", "1.00", False), ("abc", "1", False), ("", "0", False),
])
def test_amounts_are_equal_as_numbers(received, expected, equal):
    assert amounts_equal(received, Decimal(expected)) is equal


@pytest.mark.parametrize("amount, wire", [
    (Decimal("1"), "1.00"), (Decimal("1.5"), "1.50"), (Decimal("0.01"), "0.01"),
    (Decimal("100000000"), "100000000.00"), (Decimal("1E+2"), "100.00"), (Decimal("2.675"), "2.68"),
])
def test_epay_always_sends_two_places(amount, wire):
    assert format_wire(amount) == wire


@pytest.mark.parametrize("text, php", [("1.00", "1"), ("1.50", "1.5"), ("0.10", "0.1"),
                                       ("10", "10"), ("1.", "1"), (".5", "0.5"), ("abc", None)])
def test_what_php_prints_for_a_float_cast(text, php):
    assert php_float_text(text) == php


@pytest.mark.parametrize("text, renderings", [
    ("1.50", ["1.5"]),
    ("1.5", ["1.50"]),
    ("1", ["1.00", "1.0"]),
    ("1.00", ["1", "1.0"]),
    ("1.0", ["1.00", "1"]),
    ("0.01", ["0.0"]),  # one decimal place rounds it away: still what a server could sign
    ("1.234", ["1.23", "1.2"]),
    ("abc", []),
    ("", []),
])
def test_other_renderings_leave_out_the_original_and_duplicates(text, renderings):
    assert money_renderings(text) == renderings
