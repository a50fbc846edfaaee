"""core/notify.py: the notify a gateway builds from a paid order, field by field, as the
merchant's handler receives it."""

from __future__ import annotations

from decimal import Decimal

import pytest
from conftest import load_vectors

from epaycli.core.callback import Expectations, check_callback
from epaycli.core.canonical import canonical_string
from epaycli.core.notify import (
    DELIVERY_TIMEOUT_SECONDS,
    RETRY_SCHEDULE_MINUTES,
    FieldChange,
    PaidOrder,
    altered_sign,
    changed_fields,
    counts_as_delivered,
    notify_fields,
    notify_get_url,
    signed_notify,
)
from epaycli.core.params import parse_pasted
from epaycli.core.signing import (
    Keys,
    Md5Key,
    RsaKeys,
    load_private_key,
    load_public_key,
    md5_sign,
    verify,
)

V2 = load_vectors("v2-rsa")
KEY = "89unJUB8HZ54Hj7x4nUj56HN4nUzUJ8i"
ORDER = PaidOrder(pid="1001", trade_no="2024010112345678901", out_trade_no="A1", type="alipay",
                  name="VIP", money=Decimal("1.00"))
ORDER_WITH_PARAM_ZERO = PaidOrder(pid="1000", trade_no="2026120107000012345", out_trade_no="A-1",
                                  type="alipay", name="月卡", money=Decimal("1.00"), param="0")
ANOTHER_ORDER = PaidOrder(pid="1000", trade_no="2026120107000012345", out_trade_no="A-1",
                          type="alipay", name="product", money=Decimal("1.00"))


@pytest.fixture(scope="module")
def platform():
    return (load_private_key(V2["platform_private_key_pem"]),
            load_public_key(V2["platform_public_key_pem"]))


def test_the_fields_of_a_plain_paid_order():
    assert notify_fields(ORDER) == {
        "pid": "1001", "trade_no": "2024010112345678901", "out_trade_no": "A1", "type": "alipay",
        "name": "VIP", "money": "1", "trade_status": "TRADE_SUCCESS"}


def test_notify_fields_in_wire_order_with_float_cast_money_and_no_param_zero():
    fields = notify_fields(ORDER_WITH_PARAM_ZERO)
    assert list(fields) == ["pid", "trade_no", "out_trade_no", "type", "name", "money",
                            "trade_status"]
    assert fields["money"] == "1"
    assert notify_fields(ORDER_WITH_PARAM_ZERO, money_format="2dp")["money"] == "1.00"
    assert notify_fields(PaidOrder(**{**vars(ORDER_WITH_PARAM_ZERO), "param": "x",
                                      "money": Decimal("1.50")}))["money"] == "1.5"


@pytest.mark.parametrize("money, gateway, two_places", [
    ("1.00", "1", "1.00"), ("1.50", "1.5", "1.50"), ("0.01", "0.01", "0.01"), ("12", "12", "12.00"),
])
def test_money_as_newer_and_older_servers_send_it(money, gateway, two_places):
    order = PaidOrder(**{**vars(ORDER), "money": Decimal(money)})
    assert notify_fields(order)["money"] == gateway
    assert notify_fields(order, money_format="gateway")["money"] == gateway
    assert notify_fields(order, money_format="2dp")["money"] == two_places


def test_v2_fields_and_param_come_after_trade_status_in_that_order():
    order = PaidOrder(**{**vars(ORDER), "param": "uid=5", "api_trade_no": "2088", "buyer": "b@x"})
    fields = notify_fields(order, trade_status="TRADE_CLOSED")
    assert list(fields)[-4:] == ["trade_status", "api_trade_no", "buyer", "param"]
    assert (fields["trade_status"], fields["api_trade_no"], fields["buyer"], fields["param"]) == (
        "TRADE_CLOSED", "2088", "b@x", "uid=5")


@pytest.mark.parametrize("param, sent", [("", False), ("0", False), ("00", True), (" ", True),
                                         ("x", True)])
def test_param_is_sent_unless_php_calls_it_empty(param, sent):
    fields = notify_fields(PaidOrder(**{**vars(ORDER), "param": param}))
    assert ("param" in fields) is sent
    if sent:
        assert fields["param"] == param


def test_a_v1_notify_is_md5_signed_over_every_field_and_ends_sign_then_sign_type():
    fields = notify_fields(ORDER)
    sent = signed_notify(fields, Md5Key(KEY))
    assert list(sent) == [*fields, "sign", "sign_type"]
    assert sent["sign_type"] == "MD5"
    assert sent["sign"] == md5_sign(fields, KEY)
    assert fields == notify_fields(ORDER)  # the caller's fields are left as they were


def test_v1_notify_verifies_and_ends_with_sign_then_sign_type():
    sent = signed_notify(notify_fields(ORDER_WITH_PARAM_ZERO), Md5Key(KEY))
    assert list(sent)[-2:] == ["sign", "sign_type"]
    assert check_callback(sent, Keys(md5=Md5Key(KEY))).genuine


def test_a_v1_notify_keeps_whitespace_only_values_in_its_sign():
    fields = {**notify_fields(ORDER), "param": " "}
    sent = signed_notify(fields, Md5Key(KEY))
    assert sent["sign"] == md5_sign(fields, KEY, blanks="keep")
    assert sent["sign"] != md5_sign(fields, KEY, blanks="drop")


def test_unsigned_names_are_sent_but_left_out_of_the_sign():
    fields = {**notify_fields(ORDER), "type": "0"}
    sent = signed_notify(fields, Md5Key(KEY), unsigned=("type",))
    assert sent["type"] == "0"
    covered = {k: v for k, v in fields.items() if k != "type"}
    assert sent["sign"] == md5_sign(covered, KEY)
    assert signed_notify(fields, Md5Key(KEY))["sign"] == md5_sign(fields, KEY)


def test_unsigned_type_is_sent_but_not_signed():
    fields = {**notify_fields(ORDER_WITH_PARAM_ZERO), "type": "0"}
    sent = signed_notify(fields, Md5Key(KEY), unsigned=("type",))
    report = check_callback(sent, Keys(md5=Md5Key(KEY)))
    assert not report.genuine and report.diagnosis.mistake == "type0_unsigned"


def test_a_v2_notify_adds_the_timestamp_signs_it_and_ends_sign_type_then_sign(platform):
    private, public = platform
    fields = notify_fields(ORDER)
    sent = signed_notify(fields, RsaKeys(private=private), now=1_764_000_000)
    assert list(sent) == [*fields, "timestamp", "sign_type", "sign"]
    assert sent["timestamp"] == "1764000000" and sent["sign_type"] == "RSA"
    assert verify(sent, RsaKeys(public=public))
    assert "timestamp=1764000000" in canonical_string(sent)
    # The timestamp is covered: changing it breaks the sign.
    assert not verify({**sent, "timestamp": "1764000001"}, RsaKeys(public=public))


def test_v2_notify_is_platform_signed_with_a_timestamp():
    platform = RsaKeys(private=load_private_key(V2["platform_private_key_pem"]))
    sent = signed_notify(notify_fields(ORDER_WITH_PARAM_ZERO), platform, now=1_764_000_000)
    assert list(sent)[-3:] == ["timestamp", "sign_type", "sign"]
    checker = Keys(rsa=RsaKeys(public=load_public_key(V2["platform_public_key_pem"])))
    assert check_callback(sent, checker, Expectations(now=1_764_000_100)).genuine
    with pytest.raises(ValueError):
        signed_notify(notify_fields(ORDER_WITH_PARAM_ZERO), platform)


def test_a_v2_notify_needs_the_time_it_is_sent(platform):
    private, _ = platform
    with pytest.raises(ValueError) as raised:
        signed_notify(notify_fields(ORDER), RsaKeys(private=private))
    assert str(raised.value) == "a V2 notify needs the time it is sent"
    sent = signed_notify(notify_fields(ORDER), RsaKeys(private=private), now=0)
    assert sent["timestamp"] == "0"


def test_an_md5_notify_gets_no_timestamp_even_with_a_clock():
    assert "timestamp" not in signed_notify(notify_fields(ORDER), Md5Key(KEY), now=1_764_000_000)


@pytest.mark.parametrize("body, delivered", [
    ("success", True), ("SUCCESS", True), ("Success", True), ("<p>success</p>", True),
    ("unsuccessful", True),  # the gateway only looks for the word, as real ones do
    ("sUCCESS", False), ("succes", False), ("ok", False), ("", False), ("成功", False),
    ("ok Success!", True), ("sUccess", False), ("fail", False),
])
def test_what_a_gateway_counts_as_delivered(body, delivered):
    assert counts_as_delivered(body) is delivered


def test_the_delivery_schedule_of_a_real_gateway():
    assert DELIVERY_TIMEOUT_SECONDS == 5
    assert RETRY_SCHEDULE_MINUTES == (0, 1, 3, 19, 55)


def test_a_v2_notify_keeps_a_timestamp_it_was_given(platform):
    private, public = platform
    fields = {**notify_fields(ORDER), "timestamp": "1700000000"}
    sent = signed_notify(fields, RsaKeys(private=private), now=1_764_000_000)
    assert sent["timestamp"] == "1700000000" and list(sent)[-2:] == ["sign_type", "sign"]
    assert verify(sent, RsaKeys(public=public))


def test_v2_timestamp_given_is_kept_and_signed():
    platform = RsaKeys(private=load_private_key(V2["platform_private_key_pem"]),
                       public=load_public_key(V2["platform_public_key_pem"]))
    sent = signed_notify({**notify_fields(ANOTHER_ORDER), "timestamp": "123"}, platform)
    assert sent["timestamp"] == "123" and verify(sent, platform)
    fresh = signed_notify(notify_fields(ANOTHER_ORDER), platform, now=456)
    assert fresh["timestamp"] == "456"


@pytest.mark.parametrize("signature, altered", [
    ("0fb66fb1963d4d59e9cea48e15107de9", "0fb66fb1963d4d59f9cea48e15107de9"),
    ("0FB66FB1963D4D59E9CEA48E15107DE9", "0FB66FB1963D4D59F9CEA48E15107DE9"),  # case kept
    ("abfc", "ab0c"),  # f wraps round to 0, still hex
    ("AB+/CD==", "AB+/DD=="),  # base64 stays base64
    ("AB//", "ABA/"),  # '/' wraps round to 'A'
    ("x", "y"),
    ("", "0"),
])
def test_an_altered_sign_is_a_near_miss_of_the_same_shape(signature, altered):
    assert altered_sign(signature) == altered


def test_an_altered_sign_never_verifies(platform):
    private, public = platform
    md5_sent = signed_notify(notify_fields(ORDER), Md5Key(KEY))
    assert not verify({**md5_sent, "sign": altered_sign(md5_sent["sign"])}, Md5Key(KEY))
    rsa_sent = signed_notify(notify_fields(ORDER), RsaKeys(private=private), now=1)
    forged = altered_sign(rsa_sent["sign"])
    assert forged != rsa_sent["sign"] and len(forged) == len(rsa_sent["sign"])
    assert not verify({**rsa_sent, "sign": forged}, RsaKeys(public=public))


def test_a_get_notify_appends_the_fields_as_php_writes_them():
    sent = {"pid": "1001", "name": "VIP 会员", "param": "a&b"}
    query = "pid=1001&name=VIP+%E4%BC%9A%E5%91%98&param=a%26b"
    assert notify_get_url("https://shop.example/notify.php", sent) == \
        f"https://shop.example/notify.php?{query}"
    assert notify_get_url("https://shop.example/n.php?order=7", sent) == \
        f"https://shop.example/n.php?order=7&{query}"


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
    sent = signed_notify(notify_fields(ANOTHER_ORDER), platform, now=1_764_000_000)
    altered = altered_sign(sent["sign"])
    assert len(altered) == len(sent["sign"]) and altered != sent["sign"]
    assert sum(a != b for a, b in zip(altered, sent["sign"])) == 1
    assert altered.rstrip("=") != altered or "=" not in sent["sign"]
    assert verify(sent, platform) and not verify({**sent, "sign": altered}, platform)


def test_altered_sign_of_nothing_is_something():
    assert altered_sign("") == "0"


def test_altered_md5_sign_no_longer_verifies():
    sent = signed_notify(notify_fields(ANOTHER_ORDER), Md5Key(KEY))
    assert verify(sent, Md5Key(KEY))
    assert not verify({**sent, "sign": altered_sign(sent["sign"])}, Md5Key(KEY))


def test_notify_get_url_appends_like_http_build_query():
    fields = {"pid": "1000", "name": "月卡 A&B", "param": "x=1+2"}
    url = notify_get_url("http://shop.example/notify", fields)
    assert url == ("http://shop.example/notify?pid=1000&name=%E6%9C%88%E5%8D%A1+A%26B"
                   "&param=x%3D1%2B2")
    assert parse_pasted(url) == fields
    assert notify_get_url("http://s/n?a=1", {"pid": "1"}) == "http://s/n?a=1&pid=1"


# ---- what a re-send changed ---------------------------------------------------------------


def test_changed_fields_names_each_field_a_resend_says_differently_in_order():
    first = {"pid": "1001", "trade_no": "T1", "name": "product", "money": "1.00", "sign": "a"}
    later = {"pid": "1001", "trade_no": "T1", "name": "无类型", "money": "1", "sign": "b",
             "param": "x"}
    assert [change.to_dict() for change in changed_fields(first, later)] == [
        {"name": "name", "before": "product", "after": "无类型"},
        {"name": "money", "before": "1.00", "after": "1"},
        {"name": "param", "before": None, "after": "x"},
    ]


def test_changed_fields_ignores_re_signing_and_sees_a_field_dropped():
    first = {"trade_no": "T1", "name": "n", "sign": "a", "sign_type": "MD5", "timestamp": "1"}
    later = {"trade_no": "T1", "sign": "b", "sign_type": "RSA", "timestamp": "2"}
    assert changed_fields(first, later) == [FieldChange("name", "n", None)]
    assert changed_fields(first, dict(first)) == []
