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


@pytest.mark.parametrize("text", ["", "0", "0.00", "-1", "1.999", "1e2", "1,00", " 1.00", "1.", ".5",
                                  "abc", "１"])
def test_invalid_amounts_are_refused_with_a_fix(text):
    with pytest.raises(InputError) as caught:
        parse_amount(text)
    assert caught.value.hint


@pytest.mark.parametrize(("received", "expected", "equal"), [
    ("1", "1.00", True), ("1.5", "1.50", True), ("1.", "1", True), (".5", "0.50", True),
    ("1.01", "1.00", False), ("0.01", "1.00", False), ("abc", "1.00", False), ("", "1", False),
])
def test_amounts_compare_as_numbers_not_strings(received, expected, equal):
    assert amounts_equal(received, Decimal(expected)) is equal


def test_wire_format_has_two_places():
    assert format_wire(Decimal("1")) == "1.00"
    assert format_wire(Decimal("10.5")) == "10.50"


@pytest.mark.parametrize(("text", "php"), [("1.00", "1"), ("1.50", "1.5"), ("10", "10"),
                                           ("0.10", "0.1"), ("abc", None)])
def test_php_float_cast_as_newer_servers_send_money(text, php):
    assert php_float_text(text) == php


def test_renderings_offer_the_other_common_forms():
    assert "1.00" in money_renderings("1")
    assert "1" in money_renderings("1.00")
    assert money_renderings("x") == []
    assert parse_received_money("1e5") is None
