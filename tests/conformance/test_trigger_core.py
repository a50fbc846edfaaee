"""The pure parts trigger and check stand on: core.notify's altered sign and GET URL, the
notify builder (changes, signing modes, V2 timestamp), and the gateway's idea of delivered."""

from __future__ import annotations

from decimal import Decimal

import pytest
from conftest import load_vectors

from epaycli.conformance.delivery import Answer, summarize
from epaycli.conformance.notifies import NotifyPlan, build_notify, check_notify_url, parse_changes
from epaycli.core.callback import check_callback
from epaycli.core.errors import InputError
from epaycli.core.notify import (
    PaidOrder,
    altered_sign,
    notify_fields,
    notify_get_url,
    signed_notify,
)
from epaycli.core.params import parse_pasted
from epaycli.core.signing import Keys, Md5Key, RsaKeys, load_private_key, load_public_key, verify

KEY = "89unJUB8HZ54Hj7x4nUj56HN4nUzUJ8i"
V2 = load_vectors("v2-rsa")
ORDER = PaidOrder(pid="1000", trade_no="2026120107000012345", out_trade_no="A-1", type="alipay",
                  name="product", money=Decimal("1.00"))


@pytest.mark.parametrize("sign", ["680ee946154b218c2f3d51a2ee783add",
                                  "680EE946154B218C2F3D51A2EE783ADD",
                                  "fffffffffffffffffffffffffffffff" + "f", "a", "ab"])
def test_altered_sign_changes_exactly_one_character_and_keeps_hex(sign):
    altered = altered_sign(sign)
    assert len(altered) == len(sign)
    assert sum(a != b for a, b in zip(altered, sign)) == 1
    assert all(ch in "0123456789abcdefABCDEF" for ch in altered)
    assert altered.islower() == sign.islower() or not any(c.isalpha() for c in altered)


def test_altered_sign_of_base64_stays_base64_and_no_longer_verifies():
    platform = RsaKeys(private=load_private_key(V2["platform_private_key_pem"]),
                       public=load_public_key(V2["platform_public_key_pem"]))
    sent = signed_notify(notify_fields(ORDER), platform, now=1_764_000_000)
    altered = altered_sign(sent["sign"])
    assert len(altered) == len(sent["sign"]) and altered != sent["sign"]
    assert sum(a != b for a, b in zip(altered, sent["sign"])) == 1
    assert altered.rstrip("=") != altered or "=" not in sent["sign"]
    assert verify(sent, platform) and not verify({**sent, "sign": altered}, platform)


def test_altered_sign_of_nothing_is_something():
    assert altered_sign("") == "0"


def test_altered_md5_sign_no_longer_verifies():
    sent = signed_notify(notify_fields(ORDER), Md5Key(KEY))
    assert verify(sent, Md5Key(KEY))
    assert not verify({**sent, "sign": altered_sign(sent["sign"])}, Md5Key(KEY))


def test_notify_get_url_appends_like_http_build_query():
    fields = {"pid": "1000", "name": "月卡 A&B", "param": "x=1+2"}
    url = notify_get_url("http://shop.example/notify", fields)
    assert url == ("http://shop.example/notify?pid=1000&name=%E6%9C%88%E5%8D%A1+A%26B"
                   "&param=x%3D1%2B2")
    assert parse_pasted(url) == fields
    assert notify_get_url("http://s/n?a=1", {"pid": "1"}) == "http://s/n?a=1&pid=1"


def test_v2_timestamp_given_is_kept_and_signed():
    platform = RsaKeys(private=load_private_key(V2["platform_private_key_pem"]),
                       public=load_public_key(V2["platform_public_key_pem"]))
    sent = signed_notify({**notify_fields(ORDER), "timestamp": "123"}, platform)
    assert sent["timestamp"] == "123" and verify(sent, platform)
    fresh = signed_notify(notify_fields(ORDER), platform, now=456)
    assert fresh["timestamp"] == "456"


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
