"""check_callback: the signature plus the checks a notify handler must make before crediting."""

from __future__ import annotations

from decimal import Decimal

import pytest
from conftest import load_vectors

from epaycli.core.callback import Expectations, check_callback
from epaycli.core.errors import KeyFormatError
from epaycli.core.signing import (
    Keys,
    Md5Key,
    RsaKeys,
    SignType,
    load_private_key,
    load_public_key,
    md5_sign,
    pick_sign_type,
    rsa_sign,
)


@pytest.fixture(scope="module")
def rsa():
    v2 = load_vectors("v2-rsa")
    return (load_private_key(v2["platform_private_key_pem"]),
            load_public_key(v2["platform_public_key_pem"]))

KEY = "89unJUB8HZ54Hj7x4nUj56HN4nUzUJ8i"
NOTIFY = {"pid": "1001", "trade_no": "2024010112345678901", "out_trade_no": "A1", "type": "alipay",
          "name": "VIP", "money": "1", "trade_status": "TRADE_SUCCESS", "sign_type": "MD5"}


def signed(**changes: str) -> dict[str, str]:
    params = {**NOTIFY, **changes}
    return {**params, "sign": md5_sign(params, KEY)}


def codes(report) -> list[str]:
    return [p.code for p in report.problems]


def test_genuine():
    report = check_callback(signed(), Keys(md5=Md5Key(KEY)), Expectations(amount=Decimal("1.00")))
    assert report.genuine and report.signature_valid and not report.problems


def test_tampered_amount_is_not_genuine_even_with_a_valid_sign():
    report = check_callback(signed(money="0.01"), Keys(md5=Md5Key(KEY)),
                            Expectations(amount=Decimal("9.90")))
    assert report.signature_valid
    assert not report.genuine
    assert codes(report) == ["amount_mismatch"]
    assert "tampered" in report.problems[0].message


def test_money_changed_after_signing_breaks_the_sign():
    params = {**signed(), "money": "100"}
    report = check_callback(params, Keys(md5=Md5Key(KEY)))
    assert not report.signature_valid and codes(report) == ["signature_invalid"]


@pytest.mark.parametrize("status", ["WAIT_BUYER_PAY", "TRADE_CLOSED", ""])
def test_trade_status_other_than_success_is_reported(status):
    report = check_callback(signed(trade_status=status), Keys(md5=Md5Key(KEY)))
    assert report.signature_valid and codes(report) == ["not_paid"]


def test_pid_is_checked_against_the_merchant():
    report = check_callback(signed(), Keys(md5=Md5Key(KEY)), Expectations(pid="2002"))
    assert codes(report) == ["pid_mismatch"]


def test_money_missing_or_not_a_number():
    no_money = {k: v for k, v in NOTIFY.items() if k != "money"}
    report = check_callback({**no_money, "sign": md5_sign(no_money, KEY)}, Keys(md5=Md5Key(KEY)),
                            Expectations(amount=Decimal("1")))
    assert codes(report) == ["amount_missing"]
    report = check_callback(signed(money="1e2"), Keys(md5=Md5Key(KEY)),
                            Expectations(amount=Decimal("100")))
    assert codes(report) == ["amount_invalid"]


@pytest.mark.parametrize(("stamp", "now", "code"), [
    ("1732600200", 1732600200 + 300, None),
    ("1732600200", 1732600200 - 300, None),
    ("1732600200", 1732600200 + 301, "timestamp_outside_window"),
    ("1732600200", 1732600200 - 301, "timestamp_outside_window"),
    ("soon", 1732600200, "timestamp_invalid"),
    ("9" * 13, 1732600200, "timestamp_invalid"),
])
def test_v2_timestamp_window(stamp, now, code):
    report = check_callback(signed(timestamp=stamp), Keys(md5=Md5Key(KEY)), Expectations(now=now))
    assert codes(report) == ([code] if code else [])


def test_an_md5_callback_without_timestamp_is_v1_with_no_window():
    assert check_callback(signed(), Keys(md5=Md5Key(KEY)), Expectations(now=1)).genuine


def test_an_rsa_callback_without_timestamp(rsa):
    private, public = rsa
    params = {k: v for k, v in NOTIFY.items() if k != "sign_type"} | {"sign_type": "RSA"}
    report = check_callback({**params, "sign": rsa_sign(params, private)},
                            Keys(rsa=RsaKeys(public=public)), Expectations(now=1732600200))
    assert report.signature_valid and codes(report) == ["timestamp_missing"]


def test_without_a_clock_the_rsa_window_is_said_to_be_unchecked(rsa):
    private, public = rsa
    params = {**NOTIFY, "sign_type": "RSA", "timestamp": "1"}
    report = check_callback({**params, "sign": rsa_sign(params, private)},
                            Keys(rsa=RsaKeys(public=public)))
    assert report.genuine and "not checked" in report.notes[0]


def test_missing_sign():
    report = check_callback(NOTIFY, Keys(md5=Md5Key(KEY)))
    assert codes(report) == ["missing_sign"]


def test_unknown_sign_type():
    report = check_callback({**signed(), "sign_type": "SHA256"}, Keys(md5=Md5Key(KEY)))
    assert codes(report) == ["unknown_sign_type"]


def test_an_rsa_sign_under_sign_type_md5_is_named():
    report = check_callback({**NOTIFY, "sign": "A" * 342 + "=="}, Keys(md5=Md5Key(KEY)))
    assert "sign_is_rsa" in codes(report)


def test_a_cut_sign_is_named():
    report = check_callback({**NOTIFY, "sign": signed()["sign"][:20]}, Keys(md5=Md5Key(KEY)))
    assert "sign_malformed" in codes(report)


def test_keys_are_required():
    with pytest.raises(KeyFormatError, match="no merchant key"):
        check_callback(signed(), Keys())
    with pytest.raises(KeyFormatError, match="public key"):
        check_callback({**signed(), "sign_type": "RSA"}, Keys(md5=Md5Key(KEY)))


def test_sign_type_is_inferred_from_the_sign_when_missing():
    params = {k: v for k, v in signed().items() if k != "sign_type"}
    assert pick_sign_type(params) is SignType.MD5
    assert pick_sign_type({"sign": "QUJD" * 86 + "=="}) is SignType.RSA
    # No sign at all: the key the caller holds decides.
    assert pick_sign_type({}, preferred=SignType.RSA) is SignType.RSA
    assert pick_sign_type({"sign_type": "rsa"}) is SignType.RSA
    assert check_callback(params, Keys(md5=Md5Key(KEY))).genuine
