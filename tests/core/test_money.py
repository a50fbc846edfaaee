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


@pytest.mark.parametrize("text", ["1", "1.0", "1.00", "0.01", "999.99", "10.5"])
def test_valid_amounts(text):
    assert parse_amount(text) == Decimal(text)


@pytest.mark.parametrize("text, amount", [
    ("0.01", Decimal("0.01")), ("1", Decimal("1")), ("9.9", Decimal("9.9")),
    ("999999999999.99", Decimal("999999999999.99")), ("007", Decimal("7")),
])
def test_an_amount_a_merchant_may_ask_for(text, amount):
    assert parse_amount(text) == amount


@pytest.mark.parametrize("text", ["", "0", "0.00", "-1", "1.999", "1e2", "1,00", " 1.00", "1.", ".5",
                                  "abc", "１"])
def test_invalid_amounts_are_refused_with_a_fix(text):
    with pytest.raises(InputError) as caught:
        parse_amount(text)
    assert caught.value.hint


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


@pytest.mark.parametrize(("received", "expected", "equal"), [
    ("1", "1.00", True), ("1.5", "1.50", True), ("1.", "1", True), (".5", "0.50", True),
    ("1.01", "1.00", False), ("0.01", "1.00", False), ("abc", "1.00", False), ("", "1", False),
])
def test_amounts_compare_as_numbers_not_strings(received, expected, equal):
    assert amounts_equal(received, Decimal(expected)) is equal


@pytest.mark.parametrize("received, expected, equal", [
    ("1", "1.00", True), ("1.5", "1.50", True), ("1.50", "1.5", True), ("1.", "1", True),
    ("1.51", "1.50", False), ("1.001", "1.00", False), ("abc", "1", False), ("", "0", False),
])
def test_amounts_are_equal_as_numbers(received, expected, equal):
    assert amounts_equal(received, Decimal(expected)) is equal


def test_wire_format_has_two_places():
    assert format_wire(Decimal("1")) == "1.00"
    assert format_wire(Decimal("10.5")) == "10.50"


@pytest.mark.parametrize("amount, wire", [
    (Decimal("1"), "1.00"), (Decimal("1.5"), "1.50"), (Decimal("0.01"), "0.01"),
    (Decimal("100000000"), "100000000.00"), (Decimal("1E+2"), "100.00"), (Decimal("2.675"), "2.68"),
])
def test_epay_always_sends_two_places(amount, wire):
    assert format_wire(amount) == wire


@pytest.mark.parametrize(("text", "php"), [("1.00", "1"), ("1.50", "1.5"), ("10", "10"),
                                           ("0.10", "0.1"), ("abc", None)])
def test_php_float_cast_as_newer_servers_send_money(text, php):
    assert php_float_text(text) == php


@pytest.mark.parametrize("text, php", [("1.00", "1"), ("1.50", "1.5"), ("0.10", "0.1"),
                                       ("10", "10"), ("1.", "1"), (".5", "0.5"), ("abc", None)])
def test_what_php_prints_for_a_float_cast(text, php):
    assert php_float_text(text) == php


def test_renderings_offer_the_other_common_forms():
    assert "1.00" in money_renderings("1")
    assert "1" in money_renderings("1.00")
    assert money_renderings("x") == []
    assert parse_received_money("1e5") is None


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
