"""Reading pasted callbacks in every form, and the errors for what cannot be read."""

from __future__ import annotations

import pytest

from epaycli.core.errors import InputError
from epaycli.core.params import (
    format_json,
    format_lines,
    format_query,
    format_url,
    parse_json,
    parse_lines,
    parse_pairs,
    parse_pasted,
    parse_pasted_as,
    parse_query,
)

EXPECTED = {"pid": "1001", "name": "Q币 10 & 点卡", "money": "1.00", "param": ""}
QUERY = "pid=1001&name=Q%E5%B8%81+10+%26+%E7%82%B9%E5%8D%A1&money=1.00&param="


@pytest.mark.parametrize(
    ("text", "form"),
    [
        (f"https://shop.example.com/notify.php?{QUERY}", "url"),
        (f"https://shop.example.com/notify.php?{QUERY}#fragment", "url"),
        (f"/notify.php?{QUERY}", "url"),
        (QUERY, "query"),
        (f"?{QUERY}", "query"),
        (f"  {QUERY}\n", "query"),
        ('{"pid": "1001", "name": "Q币 10 & 点卡", "money": "1.00", "param": ""}', "json"),
        ('{"pid": 1001, "name": "Q\\u5e01 10 & \\u70b9\\u5361", "money": 1.00, "param": null}', "json"),
        ("pid=1001\nname=Q币 10 & 点卡\nmoney=1.00\nparam=\n", "lines"),
        ("pid=1001\r\nname=Q币 10 & 点卡\r\nmoney=1.00\r\nparam=\r\n", "lines"),
        (f"GET /notify.php?{QUERY} HTTP/1.1\nHost: shop.example.com\n\n", "request"),
        (f"POST /notify.php HTTP/1.1\nHost: x\nContent-Type: application/x-www-form-urlencoded\n\n{QUERY}",
         "request"),
    ],
)
def test_every_pasted_form_gives_the_same_parameters(text, form):
    assert parse_pasted_as(text) == (form, EXPECTED)


def test_json_numbers_keep_their_exact_text():
    assert parse_json('{"money": 1.00, "pid": 1001, "x": 1e2}') == {
        "money": "1.00", "pid": "1001", "x": "1e2"}


def test_plus_is_a_space_and_percent_2B_a_plus():
    assert parse_query("a=1+2&b=1%2B2&c=100%25") == {"a": "1 2", "b": "1+2", "c": "100%"}


def test_a_piece_without_equals_is_an_empty_value_as_in_php():
    assert parse_query("a=1&flag&b=2") == {"a": "1", "flag": "", "b": "2"}


def test_html_escaped_ampersand_from_a_notify_url_query_stays_a_field_name():
    assert parse_query("a=1&amp;b=2&pid=1")["amp;b"] == "2"


def test_lines_keep_values_literally():
    assert parse_lines("name=100%+ & more \nx=%41") == {"name": "100%+ & more ", "x": "%41"}


def test_pairs_split_at_the_first_equals_sign():
    assert parse_pairs(["param=uid=5", "name="]) == {"param": "uid=5", "name": ""}


def test_inputs_are_never_mutated():
    original = {"b": "2", "a": "1"}
    format_query(original)
    assert list(original) == ["b", "a"]


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "empty"),
        ("   \n  ", "empty"),
        ("hello world", "no name=value"),
        ("pid=1&pid=2", "more than once"),
        ("name=%B5%E3%BF%A8", "not UTF-8"),
        ("https://shop.example.com/notify.php", "no query string"),
        ("https://shop.example.com/notify.php?", "no query string"),
        ('{"pid": "1", "pid": "2"}', "more than once"),
        ('{"pid": "1",', "JSON is not valid"),
        ('["pid"]', "not an object"),
        ('{"pid": {"a": 1}}', "nested"),
        ('{"pid": [1]}', "nested"),
        ('{"money": NaN}', "NaN"),
        ("=1&a=2", "empty name"),
        ("pid=1\nthis line has no equals\n", "line 2"),
        ("GET /notify HTTP/1.1\nHost: x\n\n", "no parameters"),
    ],
)
def test_unreadable_input_says_what_is_wrong(text, says):
    with pytest.raises(InputError) as caught:
        parse_pasted(text)
    assert says in str(caught.value)
    assert caught.value.hint


def test_bad_argument_pair():
    with pytest.raises(InputError, match="not name=value"):
        parse_pairs(["money"])


def test_writers_round_trip():
    assert parse_query(format_query(EXPECTED)) == EXPECTED
    assert parse_json(format_json(EXPECTED)) == EXPECTED
    assert parse_lines(format_lines(EXPECTED)) == EXPECTED
    assert parse_pasted(format_url("https://s.example/n", EXPECTED)) == EXPECTED
    assert format_url("https://s.example/n?x=1", {"a": "b"}) == "https://s.example/n?x=1&a=b"


def test_php_urlencode_encodes_tilde_and_star():
    assert format_query({"a": "~*"}) == "a=%7E%2A"


def test_a_json_answer_carrying_a_signed_url_is_read_as_that_url():
    url = "http://shop.example/notify.php?pid=1001&money=1.00&sign=abc&sign_type=MD5"
    assert parse_pasted_as('{"code":0,"url":"' + url + '"}') == (
        "json_url", {"pid": "1001", "money": "1.00", "sign": "abc", "sign_type": "MD5"})
    # signed itself, or a URL without a sign: the JSON is what was pasted
    assert parse_pasted_as('{"sign":"x","url":"' + url + '"}')[0] == "json"
    assert parse_pasted_as('{"code":0,"url":"http://s/n?pid=1&signature=x"}')[0] == "json"
