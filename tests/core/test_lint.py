"""core/lint: the names other payment APIs use, which tutorials quote as if they were Epay's."""

from __future__ import annotations

from epaycli.core.lint import ForeignName, alipay_style_names, lacks_pid

TUTORIAL = {"service": "create_direct_pay_by_user", "partner": "1001", "total_fee": "1.00",
            "subject": "VIP", "body": "VIP for a month", "seller_id": "1001",
            "out_trade_no": "A1"}


def test_alipay_names_are_named_with_their_epay_equivalent():
    found = {f.name: f for f in alipay_style_names(TUTORIAL)}
    assert set(found) == {"service", "partner", "total_fee", "subject", "body", "seller_id"}
    assert found["partner"].epay_name == "pid" and found["seller_id"].epay_name == "pid"
    assert found["total_fee"] == ForeignName("total_fee", "money", "Alipay", False)
    assert found["subject"].epay_name == "name"
    assert found["service"].epay_name is None and found["body"].epay_name is None
    assert lacks_pid(TUTORIAL)


def test_an_epay_request_with_an_extra_alipay_name_is_fine():
    request = {"pid": "1001", "type": "alipay", "out_trade_no": "A1", "name": "VIP",
               "money": "1.00", "body": "a note", "notify_url": "https://s/n"}
    assert alipay_style_names(request) == []
    assert not lacks_pid(request)
    # …but an Alipay name standing in for Epay's is named, and so is what Epay lacks
    without_name = {k: v for k, v in request.items() if k != "name"}
    renamed = alipay_style_names({**without_name, "subject": "VIP"})
    assert [(f.name, f.epay_name) for f in renamed] == [("body", None), ("subject", "name")]


def test_wechat_total_fee_is_in_fen():
    found = alipay_style_names({"mch_id": "1", "total_fee": "100", "body": "x"})
    fee = next(f for f in found if f.name == "total_fee")
    assert fee.in_fen and fee.origin == "WeChat Pay" and fee.epay_name == "money"
    assert fee.to_dict() == {"name": "total_fee", "epay_name": "money", "origin": "WeChat Pay",
                             "in_fen": True}


def test_a_blank_pid_is_a_missing_pid():
    assert lacks_pid({"pid": "  "}) and lacks_pid({})
