"""core/endpoints.py: where each request goes, in both dialects, from a gateway's base URL."""

from __future__ import annotations

import pytest

from epaycli.core.endpoints import (
    API,
    API_ACTS,
    MAPI,
    POST_ACTS,
    SUBMIT,
    SUCCESS_CODE,
    V2_ROUTES,
    normalize_base,
    route_of,
    submit_url,
    v1_url,
    v2_url,
)
from epaycli.core.errors import InputError
from epaycli.core.signing import SignType


def test_the_protocol_table():
    assert (SUBMIT, MAPI, API) == ("submit.php", "mapi.php", "api.php")
    assert API_ACTS == ("query", "settle", "order", "orders", "refund")
    assert {"refund"} == POST_ACTS
    assert V2_ROUTES == ("pay/submit", "pay/create", "pay/query", "pay/refund", "pay/refundquery",
                         "pay/close", "merchant/info", "merchant/orders")
    assert SUCCESS_CODE == {"v1": 1, "v1_refund": 0, "v2": 0}


@pytest.mark.parametrize("given, base", [
    ("https://pay.example.com", "https://pay.example.com/"),
    ("https://pay.example.com/", "https://pay.example.com/"),
    ("  http://127.0.0.1:8787/epay \n", "http://127.0.0.1:8787/epay/"),
    ("HTTP://pay.example.com/", "HTTP://pay.example.com/"),
])
def test_a_base_url_ends_in_a_slash(given, base):
    assert normalize_base(given) == base


@pytest.mark.parametrize("given, says", [
    ("pay.example.com", "is not an http(s) URL"),
    ("ftp://pay.example.com/", "is not an http(s) URL"),
    ("https://", "is not an http(s) URL"),
    ("https:///path", "is not an http(s) URL"),
    ("", "is not an http(s) URL"),
    ("https://pay.example.com/?a=1", "has a query or fragment"),
    ("https://pay.example.com/#top", "has a query or fragment"),
    ("http://[::1/", "malformed"),
])
def test_a_base_that_is_not_a_site_root_is_refused(given, says):
    with pytest.raises(InputError) as raised:
        normalize_base(given)
    assert says in raised.value.message
    if "malformed" not in says:
        assert raised.value.code == "bad_gateway_url"
        root = "root only" if "query" in says else "root"
        assert raised.value.hint == f"give the site {root}, e.g. https://pay.example.com/"


def test_v1_pages_and_acts():
    assert v1_url("https://g.example", SUBMIT) == "https://g.example/submit.php"
    assert v1_url("https://g.example/", API, "order") == "https://g.example/api.php?act=order"
    assert v1_url("https://g.example/", MAPI, None) == "https://g.example/mapi.php"
    assert v1_url("https://g.example/", API, "") == "https://g.example/api.php"


def test_v2_routes_with_and_without_url_rewriting():
    assert v2_url("https://g.example", "pay/create") == "https://g.example/api/pay/create"
    assert v2_url("https://g.example/", "merchant/info", rewrite=False) == \
        "https://g.example/api.php?s=merchant/info"
    with pytest.raises(InputError) as raised:
        v2_url("https://g.example/", "pay/unknown")
    assert raised.value.message == "'pay/unknown' is not a V2 route"
    assert raised.value.hint == ("pay/submit, pay/create, pay/query, pay/refund, pay/refundquery, "
                                 "pay/close, merchant/info, merchant/orders")
    with pytest.raises(InputError):
        v2_url("not a url", "pay/create")


def test_the_browser_page_follows_the_dialect():
    assert submit_url("https://g.example", SignType.MD5) == "https://g.example/submit.php"
    assert submit_url("https://g.example", SignType.RSA) == "https://g.example/api/pay/submit"


@pytest.mark.parametrize("path, s, route", [
    ("/api/pay/create", None, "pay/create"),
    ("api/pay/create/", None, "pay/create"),
    ("//api/merchant/info", None, "merchant/info"),
    ("/api.php", "pay/query", "pay/query"),
    ("/api.php", "/pay/query/", "pay/query"),
    ("api.php", "merchant/orders", "merchant/orders"),
    ("/api.php", None, None),
    ("/api.php", "", None),
    ("/api.php", "pay/nothing", None),
    ("/api/pay/nothing", None, None),
    ("/api/", None, None),
    ("/submit.php", "pay/create", None),
    ("/X/api/pay/create", None, None),  # a route lives at the site root only
    ("/api/pay/createX/", None, None),
    ("/api.php", "X/pay/query", None),
    ("/apipay/create", None, None),
])
def test_the_route_a_request_path_names(path, s, route):
    assert route_of(path, s) == route
