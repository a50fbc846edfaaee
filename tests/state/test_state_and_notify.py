"""epay's local order memory, and the notify the gateway builds from a paid order."""

from __future__ import annotations

from decimal import Decimal

import pytest
from conftest import load_vectors

from epaycli.core.callback import check_callback
from epaycli.core.notify import (
    PaidOrder,
    counts_as_delivered,
    notify_fields,
    signed_notify,
)
from epaycli.core.signing import (
    Keys,
    Md5Key,
    RsaKeys,
    load_private_key,
    load_public_key,
)
from epaycli.state import LocalState, RecordedOrder, state_dir

KEY = "89unJUB8HZ54Hj7x4nUj56HN4nUzUJ8i"
V2 = load_vectors("v2-rsa")
ORDER = PaidOrder(pid="1000", trade_no="2026120107000012345", out_trade_no="A-1", type="alipay",
                  name="月卡", money=Decimal("1.00"), param="0")


def test_state_remembers_orders_and_prefers_the_newest(tmp_path):
    state = LocalState(tmp_path / "s" / "state.sqlite3")
    first = RecordedOrder("http://g/", "1000", "A-1", "T1", Decimal("1.00"), "n", "alipay", 10)
    state.record_order(first)
    state.record_order(RecordedOrder("http://other/", "2000", "A-1", "T9", Decimal("9.99"), "n",
                                     "wxpay", 5))
    assert state.find_order("A-1") == first
    assert state.find_order("A-1", pid="2000").money == Decimal("9.99")
    assert state.find_order("nope") is None
    state.record_order(RecordedOrder("http://g/", "1000", "A-1", "T2", Decimal("2.00"), "n",
                                     "alipay", 20))
    assert state.find_order("A-1", pid="1000").trade_no == "T2"
    assert [o.trade_no for o in state.list_orders()] == ["T2", "T9"]
    assert LocalState(state.path).find_order("A-1").to_dict()["money"] == "2.00"


def test_state_dir_follows_xdg():
    assert str(state_dir({"XDG_STATE_HOME": "/x"})) == "/x/epay"
    assert str(state_dir({"HOME": "/h"})) == "/h/.local/state/epay"


def test_unusable_state_file_is_a_config_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    from epaycli.core.errors import ConfigError

    with pytest.raises(ConfigError, match="state file"):
        LocalState(blocker / "state.sqlite3")


def test_notify_fields_in_wire_order_with_float_cast_money_and_no_param_zero():
    fields = notify_fields(ORDER)
    assert list(fields) == ["pid", "trade_no", "out_trade_no", "type", "name", "money",
                            "trade_status"]
    assert fields["money"] == "1"
    assert notify_fields(ORDER, money_format="2dp")["money"] == "1.00"
    assert notify_fields(PaidOrder(**{**vars(ORDER), "param": "x", "money": Decimal("1.50")})
                         )["money"] == "1.5"


def test_v1_notify_verifies_and_ends_with_sign_then_sign_type():
    sent = signed_notify(notify_fields(ORDER), Md5Key(KEY))
    assert list(sent)[-2:] == ["sign", "sign_type"]
    assert check_callback(sent, Keys(md5=Md5Key(KEY))).genuine


def test_unsigned_type_is_sent_but_not_signed():
    fields = {**notify_fields(ORDER), "type": "0"}
    sent = signed_notify(fields, Md5Key(KEY), unsigned=("type",))
    report = check_callback(sent, Keys(md5=Md5Key(KEY)))
    assert not report.genuine and report.diagnosis.mistake == "type0_unsigned"


def test_v2_notify_is_platform_signed_with_a_timestamp():
    platform = RsaKeys(private=load_private_key(V2["platform_private_key_pem"]))
    sent = signed_notify(notify_fields(ORDER), platform, now=1_764_000_000)
    assert list(sent)[-3:] == ["timestamp", "sign_type", "sign"]
    checker = Keys(rsa=RsaKeys(public=load_public_key(V2["platform_public_key_pem"])))
    from epaycli.core.callback import Expectations

    assert check_callback(sent, checker, Expectations(now=1_764_000_100)).genuine
    with pytest.raises(ValueError):
        signed_notify(notify_fields(ORDER), platform)


@pytest.mark.parametrize(("body", "delivered"), [
    ("success", True), ("SUCCESS", True), ("ok Success!", True), ("sUccess", False),
    ("fail", False), ("", False),
])
def test_what_a_gateway_counts_as_delivered(body, delivered):
    assert counts_as_delivered(body) is delivered
