"""core/php.py: what PHP does to a string before it is signed, stored or sent. Each expected
value is what PHP 8 itself returns for the same input."""

from __future__ import annotations

from decimal import Decimal

import pytest

from epaycli.core.php import (
    TRIM_CHARS,
    addslashes,
    float_text,
    htmlspecialchars,
    http_build_query,
    is_blank,
    is_empty,
    rawurlencode,
    stored_form,
    trim,
    urlencode,
)


def test_trim_strips_what_php_trim_strips_and_nothing_else():
    assert set(TRIM_CHARS) == {" ", "\t", "\n", "\r", "\0", "\x0b"}
    assert trim(" \t\n\r\0\x0bVIP \x0b\0\r\n\t ") == "VIP"
    assert trim("\fVIP\f") == "\fVIP\f"  # PHP's trim() leaves form feed
    assert trim("\u3000VIP\xa0") == "\u3000VIP\xa0"  # and every non-ASCII space
    assert trim("a b") == "a b"


def test_blank_is_empty_once_trimmed():
    assert is_blank("") and is_blank(" ") and is_blank("\t\n\r\0\x0b")
    assert not is_blank("\f") and not is_blank(" 0 ") and not is_blank("\xa0")


def test_empty_is_php_empty_on_a_string():
    assert is_empty("") and is_empty("0")
    for value in ("00", " ", "0.0", "false", " 0"):
        assert not is_empty(value), value


@pytest.mark.parametrize("value, encoded", [
    ("a b", "a+b"), ("~", "%7E"), ("*", "%2A"), ("/", "%2F"), ("+", "%2B"), ("&=", "%26%3D"),
    ("会", "%E4%BC%9A"), ("-_.", "-_."), ("AZaz09", "AZaz09"),
])
def test_urlencode_is_php_urlencode(value, encoded):
    assert urlencode(value) == encoded


@pytest.mark.parametrize("value, encoded", [
    ("a b", "a%20b"), ("~", "~"), ("*", "%2A"), ("/", "%2F"), ("+", "%2B"), ("会", "%E4%BC%9A"),
])
def test_rawurlencode_is_php_rawurlencode(value, encoded):
    assert rawurlencode(value) == encoded


def test_http_build_query_keeps_order_and_encodes_names_and_values():
    assert http_build_query({"b": "1 2", "a b": "~", "c": ""}) == "b=1+2&a+b=%7E&c="
    assert http_build_query({}) == ""


def test_htmlspecialchars_escapes_the_five_characters_ampersand_first():
    assert htmlspecialchars("&") == "&amp;"
    assert htmlspecialchars('"') == "&quot;"
    assert htmlspecialchars("'") == "&#039;"
    assert htmlspecialchars("<") == "&lt;"
    assert htmlspecialchars(">") == "&gt;"
    assert htmlspecialchars("&lt;") == "&amp;lt;"  # already-escaped text is escaped again
    assert htmlspecialchars("<a href='x'>\"&\"</a>") == \
        "&lt;a href=&#039;x&#039;&gt;&quot;&amp;&quot;&lt;/a&gt;"


def test_addslashes_escapes_quotes_backslash_and_nul_backslash_first():
    assert addslashes("\\") == "\\\\"
    assert addslashes("'") == "\\'"
    assert addslashes('"') == '\\"'
    assert addslashes("\0") == "\\0"
    assert addslashes("a\\'b") == "a\\\\\\'b"
    assert addslashes("plain") == "plain"


def test_stored_form_is_how_real_servers_store_a_name():
    assert stored_form("O'Reilly & <b>") == "O\\&#039;Reilly &amp; &lt;b&gt;"
    assert stored_form('say "hi"') == "say \\&quot;hi\\&quot;"
    assert stored_form("https://s.example/n.php?a=1&b=2") == "https://s.example/n.php?a=1&amp;b=2"


@pytest.mark.parametrize("value, text", [
    ("1.00", "1"), ("1", "1"), ("1.50", "1.5"), ("0.10", "0.1"), ("100", "100"), ("1E+2", "100"),
    ("0.01", "0.01"), ("12.340", "12.34"), ("0", "0"), ("1000.10", "1000.1"),
])
def test_float_text_is_what_php_prints_for_float_money(value, text):
    assert float_text(Decimal(value)) == text
