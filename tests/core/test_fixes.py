"""The core pieces behind the new-user fixes, exactly: money as the gateway sees it, `&amp;`
separators, control characters, where a signed request goes."""

from __future__ import annotations

import pytest

from epaycli.core.endpoints import request_target
from epaycli.core.errors import InputError
from epaycli.core.money import gateway_money_problem, money_text_problem
from epaycli.core.params import unescape_separators
from epaycli.core.redact import escape_controls
from epaycli.core.signing import SignType


@pytest.mark.parametrize(("text", "expected"), [
    ("-1", "money '-1' is negative"),
    ("-0.5", "money '-0.5' is negative"),
    ("-0", "money '-0' has a sign"),
    ("+1", "money '+1' has a sign"),
    ("1e9", "money '1e9' is in exponent notation, not plain digits"),
    ("1E-2", "money '1E-2' is in exponent notation, not plain digits"),
    ("abc", "money 'abc' is not a number"),
    ("NaN", "money 'NaN' is not a number"),
    ("inf", "money 'inf' is not a number"),
    ("1,00", "money '1,00' uses a comma, not a point"),
    (" 1.00", "money ' 1.00' has spaces around it"),
    ("", "money '' is empty"),
    ("1" * 13, f"money '{'1' * 13}' has more than 12 digits before the point"),
    ("1" * 12, None),
    ("1.00", None), ("1.", None), (".5", None), ("01.00", None), ("0", None), ("1.999", None),
])
def test_money_text_problem(text, expected):
    assert money_text_problem(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("1.00", None), ("1", None), ("1.", None), (".5", None), ("01.00", None), ("0.01", None),
    ("0", "money '0' is zero: the gateway refuses it (金额(money)不能为空)"),
    ("0.00", "money '0.00' is zero: the gateway refuses it (金额(money)不能为空)"),
    ("", "money '' is empty: the gateway refuses it (金额(money)不能为空)"),
    ("-1", "money '-1' is negative: the gateway refuses it (金额不合法)"),
    ("1.999", "money '1.999' has more than 2 decimals: the gateway stores it as 2.00, and the "
              "notify then carries that amount"),
    ("1.994", "money '1.994' has more than 2 decimals: the gateway stores it as 1.99, and the "
              "notify then carries that amount"),
    ("0.001", "money '0.001' has more than 2 decimals: the gateway stores it as 0.00, a "
              "zero-yuan order"),
    ("1.990", None),  # the same amount, written with a trailing zero
])
def test_gateway_money_problem(text, expected):
    assert gateway_money_problem(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("pid=1&amp;money=1", ("pid=1&money=1", True)),
    ("https://a/n?pid=1&amp;b=2", ("https://a/n?pid=1&b=2", True)),
    ("  pid=1&amp;b=2\n", ("pid=1&b=2", True)),
    ("a=1&amp;b=2&pid=3", ("a=1&amp;b=2&pid=3", False)),  # the notify_url quirk: a mix
    ("name=A&amp;B", ("name=A&amp;B", False)),  # an escaped value, not a separator
    ("pid=1&amp;name=A&amp;B&amp;c=1", ("pid=1&amp;name=A&amp;B&amp;c=1", False)),
    ("pid=1\nname=a&amp;b=c", ("pid=1\nname=a&amp;b=c", False)),  # k=v lines: literal
    ('{"a": "1&amp;b=2"}', ('{"a": "1&amp;b=2"}', False)),
    ("pid=1&money=1", ("pid=1&money=1", False)),
])
def test_unescape_separators(text, expected):
    assert unescape_separators(text) == expected


def test_escape_controls_escapes_what_a_terminal_acts_on_and_keeps_the_rest():
    assert escape_controls("a\x1b[2Jb\x07c\x00d\x7fe\x9bf\rg") == \
        r"a\x1b[2Jb\x07c\x00d\x7fe\x9bf\x0dg"
    assert escape_controls("tab\there\nnew line 会员 ½") == "tab\there\nnew line 会员 ½"


@pytest.mark.parametrize(("url", "sign_type", "expected"), [
    ("https://pay.example.com", SignType.MD5, "https://pay.example.com/submit.php"),
    ("https://pay.example.com", SignType.RSA, "https://pay.example.com/api/pay/submit"),
    (" https://pay.example.com/ ", SignType.MD5, "https://pay.example.com/submit.php"),
    ("http://127.0.0.1:8787/epay/", SignType.MD5, "http://127.0.0.1:8787/epay/submit.php"),
    ("https://pay.example.com/submit.php", SignType.RSA, "https://pay.example.com/submit.php"),
    ("https://pay.example.com/?x=1", SignType.MD5, "https://pay.example.com/?x=1"),
])
def test_request_target(url, sign_type, expected):
    assert request_target(url, sign_type) == expected


@pytest.mark.parametrize("url", ["not a url", "pay.example.com/", "ftp://x/", "https://",
                                 "https://pay.example.com/a b", "mailto:a@b"])
def test_request_target_refuses_what_is_not_an_http_url(url):
    with pytest.raises(InputError) as raised:
        request_target(url, SignType.MD5)
    assert raised.value.code == "bad_request_url"


@pytest.mark.parametrize("text", ["plain ascii", "", "会员 ½ 无类型", "tab\tand\nnewline", "a b"])
def test_text_without_controls_is_returned_as_it_is(text):
    assert escape_controls(text) is text


@pytest.mark.parametrize("control", [*map(chr, range(0x09)), *map(chr, range(0x0b, 0x20)),
                                     "\x7f", "\x80", "\x9f"])
def test_every_control_is_escaped_in_ascii_and_in_other_text(control):
    shown = f"\\x{ord(control):02x}"
    assert escape_controls(f"a{control}b") == f"a{shown}b"
    assert escape_controls(f"会{control}员") == f"会{shown}员"
