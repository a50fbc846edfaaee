"""conformance/notifies.py and delivery.py, the pure parts trigger and check stand on: the
notify builder (changes, signing modes, the notify URL) and the gateway's idea of delivered
(core.notify's altered sign, GET URL and V2 timestamp are in tests/core/test_notify.py)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from epaycli.conformance.delivery import Answer, summarize
from epaycli.conformance.notifies import NotifyPlan, build_notify, check_notify_url, parse_changes
from epaycli.core.callback import check_callback
from epaycli.core.errors import InputError
from epaycli.core.notify import PaidOrder
from epaycli.core.params import parse_pasted
from epaycli.core.signing import Keys, Md5Key, verify

KEY = "89unJUB8HZ54Hj7x4nUj56HN4nUzUJ8i"
ORDER = PaidOrder(pid="1000", trade_no="2026120107000012345", out_trade_no="A-1", type="alipay",
                  name="product", money=Decimal("1.00"))


def plan(**changes) -> NotifyPlan:
    return NotifyPlan(ORDER, Md5Key(KEY), **changes)


def test_build_notify_genuine_verifies_and_is_addressed():
    notify = build_notify("http://s/notify", plan())
    assert notify.method == "GET" and notify.body is None
    assert notify.url.startswith("http://s/notify?pid=1000&trade_no=")
    assert check_callback(notify.fields, Keys(md5=Md5Key(KEY))).genuine
    assert notify.fields["money"] == "1"
    assert build_notify("http://s/", plan(money_format="2dp")).fields["money"] == "1.00"


def test_build_notify_changes_are_signed_but_sign_changes_are_not():
    notify = build_notify("http://s/", plan(changes=(("money", "0.01"), ("extra", "1"))))
    assert notify.fields["money"] == "0.01" and list(notify.fields)[-3] == "extra"
    assert check_callback(notify.fields, Keys(md5=Md5Key(KEY))).genuine
    forced = build_notify("http://s/", plan(changes=(("sign", "abc"),)))
    assert forced.fields["sign"] == "abc"


def test_build_notify_signing_modes():
    genuine = build_notify("http://s/", plan()).fields
    bad = build_notify("http://s/", plan(signing="bad_sign")).fields
    assert bad["sign"] != genuine["sign"] and len(bad["sign"]) == 32
    missing = build_notify("http://s/", plan(signing="missing_sign")).fields
    assert "sign" not in missing and missing["sign_type"] == "MD5"
    unsigned = build_notify("http://s/", plan(signing="unsigned")).fields
    assert "sign" not in unsigned and "sign_type" not in unsigned
    other = build_notify("http://s/", plan(sign_with=Md5Key("x" * 32))).fields
    assert other["sign"] != genuine["sign"]
    assert verify(other, Md5Key("x" * 32)) and not verify(other, Md5Key(KEY))


def test_build_notify_post_has_the_fields_as_a_form():
    notify = build_notify("http://s/n", plan(method="POST"))
    assert notify.url == "http://s/n" and parse_pasted(notify.body) == notify.fields
    assert notify.to_dict()["body"] == notify.body


def test_trade_status_and_order_changes():
    notify = build_notify("http://s/", plan(trade_status="WAIT_BUYER_PAY"))
    assert notify.fields["trade_status"] == "WAIT_BUYER_PAY"
    assert check_callback(notify.fields, Keys(md5=Md5Key(KEY))).verdict == "rejected"


@pytest.mark.parametrize("pairs, expected", [
    (["a=1"], (("a", "1"),)), ([" a =x=y"], (("a", "x=y"),)), (["p="], (("p", ""),)),
])
def test_parse_changes(pairs, expected):
    assert parse_changes(pairs) == expected


@pytest.mark.parametrize("bad", ["a", "=1", " =1", ""])
def test_parse_changes_refuses(bad):
    with pytest.raises(InputError):
        parse_changes([bad])


@pytest.mark.parametrize("url", ["http://127.0.0.1:8000/notify", "https://shop.example/n?x=1"])
def test_check_notify_url_accepts(url):
    assert check_notify_url(f" {url} ") == url


@pytest.mark.parametrize("url", ["", "shop.example/notify", "mailto:x@y", "http:///x",
                                 "http://h:70000/", "http://h/#f"])
def test_check_notify_url_refuses(url):
    with pytest.raises(InputError):
        check_notify_url(url)


def test_answer_delivered_as_a_gateway_counts_it():
    assert Answer(200, "success", 0.01).delivered
    assert Answer(500, "<b>SUCCESS</b>", 0.01).delivered
    assert Answer(200, "ok, Success!", 4.99).delivered
    assert not Answer(200, "success", 5.01).delivered  # too late for the gateway
    assert not Answer(200, "fail", 0.01).delivered
    assert not Answer(200, "succes", 0.01).delivered
    assert not Answer(None, "", 5.0, error="no answer", timed_out=True).delivered
    redirect = Answer(302, "", 0.01, location="https://x/")
    assert redirect.redirected and not redirect.delivered
    assert "not followed" in redirect.describe()
    assert Answer(None, "", 0.0, error="refused", connected=False).unreachable
    assert not Answer(None, "", 0.0, error="the handler broke the connection").unreachable
    assert not Answer(None, "", 5.0, error="t", timed_out=True).unreachable


def test_summary_counts_and_percentiles():
    answers = [Answer(200, "success", i / 1000) for i in range(1, 101)] + \
              [Answer(None, "", 0.2, error="x"), Answer(500, "no", 0.001)]
    summary = summarize(answers, 2.0)
    assert summary.sent == 102 and summary.delivered == 100 and summary.no_answer == 1
    assert summary.statuses == {"200": 100, "no answer": 1, "500": 1}
    assert summary.p50_ms == 51.0 and summary.max_ms == 200.0
    assert summary.rate == 51.0
    assert summarize([], 0).to_dict()["per_second"] == 0.0
