"""core/params.py: reading pasted callbacks in every form (URL, query, request, lines, pairs, JSON),
the errors for what cannot be read, and the writers. A signature is checked over exactly these
values, so no field may be lost, changed or invented."""

from __future__ import annotations

import pytest

from epaycli.core.errors import InputError
from epaycli.core.params import (
    format_json,
    format_lines,
    format_query,
    format_url,
    parse_http_request,
    parse_json,
    parse_lines,
    parse_pairs,
    parse_pasted,
    parse_pasted_as,
    parse_query,
    parse_url,
    require_text,
    url_parts,
)

EXPECTED = {"pid": "1001", "name": "Q币 10 & 点卡", "money": "1.00", "param": ""}
QUERY = "pid=1001&name=Q%E5%B8%81+10+%26+%E7%82%B9%E5%8D%A1&money=1.00&param="


def refused(call, *args) -> InputError:
    with pytest.raises(InputError) as raised:
        call(*args)
    assert raised.value.hint, "every refusal says what to do"
    return raised.value


# ---- every pasted form --------------------------------------------------------------------------


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


def test_a_json_answer_carrying_a_signed_url_is_read_as_that_url():
    url = "http://shop.example/notify.php?pid=1001&money=1.00&sign=abc&sign_type=MD5"
    assert parse_pasted_as('{"code":0,"url":"' + url + '"}') == (
        "json_url", {"pid": "1001", "money": "1.00", "sign": "abc", "sign_type": "MD5"})
    # signed itself, or a URL without a sign: the JSON is what was pasted
    assert parse_pasted_as('{"sign":"x","url":"' + url + '"}')[0] == "json"
    assert parse_pasted_as('{"code":0,"url":"http://s/n?pid=1&signature=x"}')[0] == "json"


def test_json_is_recognised_by_its_first_character():
    assert parse_pasted_as('\ufeff {"a": "1"}\n') == ("json", {"a": "1"})


@pytest.mark.parametrize("text", ["", " ", "\r\n", "\ufeff", "\n\t\n"])
def test_empty_input_is_refused(text):
    assert refused(parse_pasted, text).message == "the input is empty"


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


# ---- query strings ------------------------------------------------------------------------------


def test_plus_is_a_space_and_percent_2B_a_plus():
    assert parse_query("a=1+2&b=1%2B2&c=100%25") == {"a": "1 2", "b": "1+2", "c": "100%"}


def test_a_piece_without_equals_is_an_empty_value_as_in_php():
    assert parse_query("a=1&flag&b=2") == {"a": "1", "flag": "", "b": "2"}


def test_html_escaped_ampersand_from_a_notify_url_query_stays_a_field_name():
    assert parse_query("a=1&amp;b=2&pid=1")["amp;b"] == "2"


@pytest.mark.parametrize("query", ["a=1&&b=2", "&a=1&b=2", "a=1&b=2&", "&&a=1&&&b=2&&"])
def test_an_empty_piece_loses_no_field_after_it(query):
    assert parse_query(query) == {"a": "1", "b": "2"}


def test_a_value_keeps_every_equals_sign_after_the_first():
    assert parse_query("param=uid%3D5&x=a=b==") == {"param": "uid=5", "x": "a=b=="}


def test_names_are_form_decoded_too():
    assert parse_query("na+me=1&%E5%90%8D=2&a%5Bb%5D=3") == {"na me": "1", "名": "2", "a[b]": "3"}


def test_text_that_cannot_be_utf8_is_refused_undecoded_or_decoded():
    assert refused(parse_query, "a=\ud800").message == "the value of 'a' is not valid UTF-8 text"
    assert refused(parse_query, "a=%41\ud800").message == "the value of 'a' is not valid UTF-8 text"
    assert refused(parse_query, "%41\udcff=1").message == "a parameter name is not valid UTF-8 text"


def test_a_query_without_any_equals_is_refused():
    error = refused(parse_query, "a&b&c")
    assert error.message == "no name=value pairs found in the input"


def test_bytes_that_are_not_utf8_are_named_with_where_they_are():
    error = refused(parse_query, "name=%B5%E3")
    assert error.message == "the value of 'name' is not UTF-8 (bytes %B5%E3)"
    assert error.hint == "Epay sends UTF-8; the sender probably used GBK — make it send UTF-8"
    error = refused(parse_query, "%FF=1")
    assert error.message.startswith("a parameter name is not UTF-8")
    long = refused(parse_query, "n=" + "%B5" * 9)
    assert "(bytes " + "%B5" * 8 + "…)" in long.message
    exact = refused(parse_query, "n=" + "%B5" * 8)
    assert "(bytes " + "%B5" * 8 + ")" in exact.message


def test_a_repeated_parameter_is_refused_not_overwritten():
    error = refused(parse_query, "pid=1&a=2&pid=3")
    assert error.message == "parameter 'pid' appears more than once"


def test_an_empty_name_is_refused():
    assert refused(parse_query, "a=1&=2").message == "a parameter has an empty name"


# ---- URLs ---------------------------------------------------------------------------------------


def test_a_url_gives_its_query_and_ignores_its_fragment():
    assert parse_url("https://x.example/n.php?a=1&b=%20#c=3") == {"a": "1", "b": " "}
    assert parse_url("/n.php?a=1") == {"a": "1"}


@pytest.mark.parametrize("url", ["https://x.example/n.php?a=1\n&b=2", "https://x/n?a=1\r&b=2"])
def test_a_url_broken_over_lines_is_refused(url):
    error = refused(parse_url, url)
    assert (error.message, error.hint) == ("the URL is broken over several lines",
                                           "join it into one line")


def test_a_url_without_query_is_refused():
    error = refused(parse_url, "https://x.example/n.php#a=1")
    assert error.message == "the URL has no query string"
    assert error.hint == "paste the whole URL, including everything after '?'"


def test_a_malformed_url_is_an_input_error():
    error = refused(url_parts, "http://[::1/n?a=1")
    assert error.message.startswith("the URL is malformed (")
    assert error.hint == "paste it whole, as copied"
    assert refused(parse_pasted, "http://[::1/n?a=1").message.startswith("the URL is malformed")


@pytest.mark.parametrize("text", ["shop.example.com/notify.php?pid=1&a=2", "notify.php?pid=1&a=2",
                                  "n?pid=1&a=2"])
def test_a_url_without_a_scheme_is_read_as_a_url(text):
    assert parse_pasted_as(text) == ("url", {"pid": "1", "a": "2"})


def test_a_url_without_a_scheme_may_carry_question_marks_in_its_values():
    assert parse_pasted_as("notify.php?pid=1&q=a?b") == ("url", {"pid": "1", "q": "a?b"})


@pytest.mark.parametrize("text", ["notify.php?pid=1\n&money=1", "shop.example/n.php?pid=1\nmoney=1"])
def test_a_url_without_a_scheme_broken_over_lines_is_refused(text):
    error = refused(parse_pasted, text)
    assert error.message == "the URL is broken over several lines"


@pytest.mark.parametrize("text, expected", [
    ("?pid=1&a=2", {"pid": "1", "a": "2"}),  # a '?' at the very start is a query's prefix
    ("a=x?y&pid=1", {"a": "x?y", "pid": "1"}),  # a '?' after the first '=' is data
    ("my shop/n?pid=1", {"my shop/n?pid": "1"}),  # a space before '?': not a URL
])
def test_what_is_not_a_url_without_a_scheme_is_a_query(text, expected):
    assert parse_pasted_as(text) == ("query", expected)


def test_a_path_without_a_query_is_a_url_missing_its_query():
    assert refused(parse_pasted, "/notify.php").message == "the URL has no query string"
    assert refused(parse_pasted, "/notify.php=x").message == "the URL has no query string"


def test_a_path_is_a_url_and_a_scheme_is_a_url():
    assert parse_pasted_as("/n?a=1")[0] == "url"
    assert parse_pasted_as("myapp+x.y-z://host/n?a=1") == ("url", {"a": "1"})
    assert parse_pasted_as("  https://x/n?a=1  ") == ("url", {"a": "1"})


# ---- raw HTTP requests --------------------------------------------------------------------------


def test_a_request_uses_its_query_when_the_query_carries_pid():
    text = "POST /n.php?pid=1&a=2 HTTP/1.1\nHost: x\n\npid=9&b=3"
    assert parse_pasted_as(text) == ("request", {"pid": "1", "a": "2"})


def test_a_request_uses_its_body_when_the_query_has_no_pid():
    text = "POST /n.php?s=/notify HTTP/1.1\r\nHost: x\r\n\r\npid=9&b=3"
    assert parse_pasted_as(text) == ("request", {"pid": "9", "b": "3"})
    assert parse_http_request("POST", "/n.php", "POST /n.php\n\n{\"pid\": \"9\"}") == {"pid": "9"}


def test_a_request_without_body_uses_its_query_even_without_pid():
    assert parse_pasted_as("GET /n.php?a=1 HTTP/1.1\nHost: x\n\n  \n") == ("request", {"a": "1"})
    assert parse_pasted_as("GET /n.php?a=1") == ("request", {"a": "1"})
    assert parse_pasted_as("HEAD /n?a=1 HTTP/2") == ("request", {"a": "1"})
    assert parse_pasted_as("PUT /n?a=1 HTTP/1.0") == ("request", {"a": "1"})


def test_a_request_with_neither_query_nor_body_is_refused():
    error = refused(parse_http_request, "POST", "/n.php", "POST /n.php HTTP/1.1\nHost: x\n\n")
    assert error.message == "the POST request carries no parameters"


def test_a_pasted_request_without_parameters_is_named_by_its_method():
    error = refused(parse_pasted, "POST /n.php HTTP/1.1\nHost: x\n\n")
    assert error.message == "the POST request carries no parameters"
    assert refused(parse_pasted, "GET /n.php").message == "the GET request carries no parameters"


def test_a_request_line_needs_a_known_method_and_one_target():
    # Not a request line: read by the other rules instead.
    assert parse_pasted_as("GETS /n?a=1")[0] == "query"
    assert parse_pasted_as("GET /n?a=1 HTTP/1.1 extra")[0] == "query"


# ---- k=v lines ----------------------------------------------------------------------------------


def test_lines_keep_values_literally():
    assert parse_lines("name=100%+ & more \nx=%41") == {"name": "100%+ & more ", "x": "%41"}


def test_the_last_line_keeps_its_trailing_spaces_and_tabs_they_are_signed():
    assert parse_pasted_as("pid=1\nname=VIP \t") == ("lines", {"pid": "1", "name": "VIP \t"})
    assert parse_pasted("pid=1\nname=VIP  \n") == {"pid": "1", "name": "VIP  "}
    assert parse_pasted("pid=1\r\nname= x \r\n") == {"pid": "1", "name": " x "}


def test_lines_trim_names_skip_blank_lines_and_keep_values_literally():
    text = "\n  pid = 1\n\n   \nname=%41+b\r\nparam=a=b\n"
    assert parse_lines(text) == {"pid": " 1", "name": "%41+b", "param": "a=b"}


def test_a_bad_line_is_named_by_its_number():
    error = refused(parse_lines, "a=1\n\nno equals here\n")
    assert error.message == "line 3 is not name=value: 'no equals here'"
    assert error.hint == "write one name=value per line"


def test_a_long_bad_line_is_cut_in_the_message():
    error = refused(parse_lines, "a=1\n" + "x" * 50)
    assert "'" + "x" * 40 + "…'" in error.message and "x" * 41 not in error.message
    exact = refused(parse_lines, "a=1\n" + "y" * 40)
    assert "'" + "y" * 40 + "'" in exact.message


@pytest.mark.parametrize("text", [
    "pid=1&type=alipay&money=1\n&name=VIP&sign=x",
    "pid=1&type=alipay&\nmoney=1&sign=x",
    "pid=1&\nmoney=1",
    "pid=1&type=alipay&money=1&\nname=VIP",
])
def test_a_query_broken_across_lines_is_refused_rather_than_misread(text):
    error = refused(parse_pasted, text)
    assert error.message == "the query string is broken over several lines"
    assert error.hint == "join it into one line"


def test_lines_that_hold_ampersands_in_their_values_are_still_lines():
    assert parse_pasted_as("name=a&b\nmoney=1") == ("lines", {"name": "a&b", "money": "1"})


# ---- command-line pairs -------------------------------------------------------------------------


def test_pairs_split_at_the_first_equals_sign():
    assert parse_pairs(["param=uid=5", "name="]) == {"param": "uid=5", "name": ""}


def test_bad_argument_pair():
    with pytest.raises(InputError, match="not name=value"):
        parse_pairs(["money"])


def test_command_line_pairs():
    assert parse_pairs([" pid =1", "name= VIP "]) == {"pid": "1", "name": " VIP "}
    error = refused(parse_pairs, ["pid=1", "money"])
    assert error.message == "an argument is not name=value: 'money'"
    assert "money=1.00" in error.hint
    assert refused(parse_pairs, ["a=1", "a=2"]).message == "parameter 'a' appears more than once"


# ---- JSON ---------------------------------------------------------------------------------------


def test_json_numbers_keep_their_exact_text():
    assert parse_json('{"money": 1.00, "pid": 1001, "x": 1e2}') == {
        "money": "1.00", "pid": "1001", "x": "1e2"}


def test_json_booleans_and_null_become_what_php_would_sign():
    assert parse_json('{"a": true, "b": false, "c": null, "d": "x"}') == {
        "a": "1", "b": "", "c": "", "d": "x"}


def test_json_numbers_are_never_reformatted():
    assert parse_json('{"m": 1.50, "n": -0, "o": 10}') == {"m": "1.50", "n": "-0", "o": "10"}


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_json_constants_are_refused(constant):
    error = refused(parse_json, '{"m": %s}' % constant)
    assert error.message == f"the JSON contains {constant}"
    assert error.hint == "use quoted strings for values"


def test_invalid_json_says_where():
    error = refused(parse_json, '{\n "a": 1,\n}')
    assert error.message.startswith("the JSON is not valid (line 3, column 1: ")
    assert error.hint == "check for a missing quote, comma or brace"


def test_json_that_is_not_a_flat_object_is_refused():
    not_object = refused(parse_json, '"x"')
    assert not_object.message == "the JSON is not an object"
    assert not_object.hint == 'expected {"pid": "1001", ...}'
    nested = refused(parse_json, '{"a": ["b"]}')
    assert nested.hint == "callbacks are flat: paste the object that holds pid, sign, ..."
    assert refused(parse_json, "[1]").message == "the JSON is not an object"
    assert refused(parse_json, '{"a": {"b": "1"}}').message == \
        "the JSON value of 'a' is a nested object or list"
    assert refused(parse_pasted, ' [{"a": "1"}] ').message == "the JSON is not an object"


def test_a_lone_surrogate_is_refused_not_passed_on():
    error = refused(parse_json, '{"a": "\\ud800"}')
    assert error.message == "the value of 'a' is not valid UTF-8 text"
    assert refused(parse_json, '{"\\udfff": "1"}').message == "a parameter name is not valid UTF-8 text"
    assert refused(require_text, "x\udcff", "the input").message == "the input is not valid UTF-8 text"
    assert require_text("会员", "x") == "会员"
    assert refused(parse_pasted, "a=\udcff").message == "the input is not valid UTF-8 text"


# ---- writing parameters back --------------------------------------------------------------------


def test_inputs_are_never_mutated():
    original = {"b": "2", "a": "1"}
    format_query(original)
    assert list(original) == ["b", "a"]


def test_writers_round_trip():
    assert parse_query(format_query(EXPECTED)) == EXPECTED
    assert parse_json(format_json(EXPECTED)) == EXPECTED
    assert parse_lines(format_lines(EXPECTED)) == EXPECTED
    assert parse_pasted(format_url("https://s.example/n", EXPECTED)) == EXPECTED
    assert format_url("https://s.example/n?x=1", {"a": "b"}) == "https://s.example/n?x=1&a=b"


def test_php_urlencode_encodes_tilde_and_star():
    assert format_query({"a": "~*"}) == "a=%7E%2A"


def test_writers_produce_what_php_and_readers_expect():
    params = {"name": "a b&c", "x": "~"}
    assert format_query(params) == "name=a+b%26c&x=%7E"
    assert format_url("https://g/submit.php", params) == "https://g/submit.php?name=a+b%26c&x=%7E"
    assert format_url("https://g/p?s=1", {"a": "1"}) == "https://g/p?s=1&a=1"
    assert format_lines({"a": "1", "b": ""}) == "a=1\nb=\n"
    assert format_lines({}) == ""
    assert format_json({"name": "会员"}) == '{"name": "会员"}'


def test_parameters_from_a_file_and_from_arguments_are_merged_once_each():
    from epaycli.core.errors import InputError
    from epaycli.core.params import merged_params

    assert merged_params({"pid": "1"}, {"money": "1.00"}) == {"pid": "1", "money": "1.00"}
    assert merged_params({}, {}) == {}
    with pytest.raises(InputError) as raised:
        merged_params({"pid": "1", "sign": "x", "a": "1"}, {"sign": "y", "pid": "1"})
    assert raised.value.code == "params_given_twice"
    assert raised.value.message == "pid, sign given both in --from and as an argument"
