"""core/callback.py: check_callback, the verdict a notify handler acts on — the signature (MD5 and
RSA, the sign type guessed from the keys held) plus the checks a handler must make before
crediting, the V2 window rules, the report's shape and the words the merchant reads."""

from __future__ import annotations

from decimal import Decimal

import pytest
from conftest import load_vectors

from epaycli.core.callback import CallbackReport, Expectations, Problem, check_callback
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

V2 = load_vectors("v2-rsa")
KEY = "89unJUB8HZ54Hj7x4nUj56HN4nUzUJ8i"
NOTIFY = {"pid": "1001", "trade_no": "2024010112345678901", "out_trade_no": "A1", "type": "alipay",
          "name": "VIP", "money": "1", "trade_status": "TRADE_SUCCESS", "sign_type": "MD5"}
NOW = 1_732_600_200
MD5_KEYS = Keys(md5=Md5Key(KEY))


@pytest.fixture(scope="module")
def platform():
    return (load_private_key(V2["platform_private_key_pem"]),
            load_public_key(V2["platform_public_key_pem"]))


def md5_signed(**changes: str) -> dict[str, str]:
    params = {**NOTIFY, **changes}
    return {**params, "sign": md5_sign(params, KEY)}


def rsa_signed(private, **changes: str) -> dict[str, str]:
    params = {**NOTIFY, "sign_type": "RSA", "timestamp": str(NOW), **changes}
    return {**params, "sign": rsa_sign(params, private)}


def codes(report) -> list[str]:
    return [p.code for p in report.problems]


# ---- genuine, or tampered -----------------------------------------------------------------------


def test_genuine():
    report = check_callback(md5_signed(), Keys(md5=Md5Key(KEY)), Expectations(amount=Decimal("1.00")))
    assert report.genuine and report.signature_valid and not report.problems


def test_tampered_amount_is_not_genuine_even_with_a_valid_sign():
    report = check_callback(md5_signed(money="0.01"), Keys(md5=Md5Key(KEY)),
                            Expectations(amount=Decimal("9.90")))
    assert report.signature_valid
    assert not report.genuine
    assert codes(report) == ["amount_mismatch"]
    assert "tampered" in report.problems[0].message


def test_money_changed_after_signing_breaks_the_sign():
    params = {**md5_signed(), "money": "100"}
    report = check_callback(params, Keys(md5=Md5Key(KEY)))
    assert not report.signature_valid and codes(report) == ["signature_invalid"]


# ---- RSA callbacks ------------------------------------------------------------------------------


def test_an_rsa_callback_whose_signature_fails_is_diagnosed(platform):
    private, public = platform
    params = {**rsa_signed(private), "s": "/notify"}
    report = check_callback(params, Keys(rsa=RsaKeys(public=public)), Expectations(now=NOW))
    assert not report.signature_valid and report.verdict == "bad_signature"
    assert codes(report) == ["signature_invalid"]
    assert report.diagnosis.mistake == "field_added_after_signing"
    assert report.problems[0].message.startswith("the RSA sign does not match: a field that is")
    assert report.problems[0].fix == report.diagnosis.fix
    assert report.to_dict()["diagnosis"]["mistake"] == "field_added_after_signing"


def test_an_rsa_callback_under_the_wrong_public_key(platform):
    private, _ = platform
    other = load_public_key(V2["merchant_public_key_pem"])
    report = check_callback(rsa_signed(private), Keys(rsa=RsaKeys(public=other)),
                            Expectations(now=NOW))
    assert codes(report) == ["signature_invalid"]
    assert report.diagnosis.mistake == "wrong_public_key"


def test_a_forged_rsa_callback_with_a_malformed_sign_is_not_genuine(platform):
    _, public = platform
    forged = {**NOTIFY, "sign_type": "RSA", "timestamp": str(NOW), "sign": "Zm9yZ2Vk!" * 10}
    report = check_callback(forged, Keys(rsa=RsaKeys(public=public)), Expectations(now=NOW))
    assert not report.genuine and not report.signature_valid
    assert codes(report) == ["signature_invalid"]


def test_a_genuine_rsa_callback_with_its_business_checks(platform):
    private, public = platform
    keys = Keys(rsa=RsaKeys(public=public))
    report = check_callback(rsa_signed(private), keys,
                            Expectations(amount=Decimal("1.00"), pid="1001", now=NOW))
    assert report.genuine and report.verdict == "genuine" and report.reason == ""
    assert report.notes == () and report.diagnosis is None and str(report.sign_type) == "RSA"
    rejected = check_callback(rsa_signed(private, money="0.01"), keys,
                              Expectations(amount=Decimal("1.00"), now=NOW))
    assert rejected.verdict == "rejected" and codes(rejected) == ["amount_mismatch"]


def test_with_only_a_public_key_an_unlabelled_callback_is_taken_as_rsa(platform):
    private, public = platform
    params = {k: v for k, v in rsa_signed(private).items() if k != "sign_type"}
    params = {**params, "sign": rsa_sign(params, private)}
    report = check_callback(params, Keys(rsa=RsaKeys(public=public)), Expectations(now=NOW))
    assert report.genuine and str(report.sign_type) == "RSA"


def test_with_both_keys_the_callbacks_own_sign_type_chooses(platform):
    private, public = platform
    keys = Keys(md5=Md5Key(KEY), rsa=RsaKeys(public=public))
    assert check_callback(md5_signed(), keys).genuine
    assert check_callback(rsa_signed(private), keys, Expectations(now=NOW)).genuine


def test_sign_type_is_inferred_from_the_sign_when_missing():
    params = {k: v for k, v in md5_signed().items() if k != "sign_type"}
    assert pick_sign_type(params) is SignType.MD5
    assert pick_sign_type({"sign": "QUJD" * 86 + "=="}) is SignType.RSA
    # No sign at all: the key the caller holds decides.
    assert pick_sign_type({}, preferred=SignType.RSA) is SignType.RSA
    assert pick_sign_type({"sign_type": "rsa"}) is SignType.RSA
    assert check_callback(params, Keys(md5=Md5Key(KEY))).genuine


def test_the_unchecked_window_note_is_for_rsa_reports_only(platform):
    private, public = platform
    unchecked = check_callback(rsa_signed(private), Keys(rsa=RsaKeys(public=public)))
    assert unchecked.genuine
    assert unchecked.notes == (
        "the V2 timestamp window was not checked: pass Expectations(now=<unix time>)",)
    assert unchecked.to_dict()["notes"] == list(unchecked.notes)
    assert check_callback(md5_signed(), MD5_KEYS).notes == ()
    assert check_callback(md5_signed(timestamp=str(NOW)), MD5_KEYS).notes == ()


# ---- what makes a callback not genuine ----------------------------------------------------------


def test_missing_sign():
    report = check_callback(NOTIFY, Keys(md5=Md5Key(KEY)))
    assert codes(report) == ["missing_sign"]


def test_unknown_sign_type():
    report = check_callback({**md5_signed(), "sign_type": "SHA256"}, Keys(md5=Md5Key(KEY)))
    assert codes(report) == ["unknown_sign_type"]


def test_an_rsa_sign_under_sign_type_md5_is_named():
    report = check_callback({**NOTIFY, "sign": "A" * 342 + "=="}, Keys(md5=Md5Key(KEY)))
    assert "sign_is_rsa" in codes(report)


def test_a_cut_sign_is_named():
    report = check_callback({**NOTIFY, "sign": md5_signed()["sign"][:20]}, Keys(md5=Md5Key(KEY)))
    assert "sign_malformed" in codes(report)


def test_keys_are_required():
    with pytest.raises(KeyFormatError, match="no merchant key"):
        check_callback(md5_signed(), Keys())
    with pytest.raises(KeyFormatError, match="public key"):
        check_callback({**md5_signed(), "sign_type": "RSA"}, Keys(md5=Md5Key(KEY)))


def test_an_unknown_sign_type_is_a_bad_signature_keeping_what_was_declared():
    report = check_callback({**md5_signed(), "sign_type": "HMAC"}, MD5_KEYS)
    assert report.signature_valid is False and report.verdict == "bad_signature"
    assert report.sign_type == "HMAC" and codes(report) == ["unknown_sign_type"]
    assert report.reason == "sign_type 'HMAC' is not MD5 or RSA"
    assert "sign_type" in report.problems[0].fix


def test_a_missing_sign_is_a_bad_signature_and_the_business_checks_still_run():
    for params in ({**NOTIFY, "trade_status": "WAIT_BUYER_PAY"},
                   {**NOTIFY, "trade_status": "WAIT_BUYER_PAY", "sign": ""}):
        report = check_callback(params, MD5_KEYS, Expectations(pid="2002"))
        assert report.signature_valid is False and report.verdict == "bad_signature"
        assert codes(report) == ["missing_sign", "not_paid", "pid_mismatch"]
        assert report.reason.startswith("there is no sign parameter; trade_status is ")


def test_a_sign_that_cannot_be_md5_is_named_without_a_diagnosis():
    rsa_shaped = check_callback({**NOTIFY, "sign": "A" * 342 + "=="}, MD5_KEYS)
    assert codes(rsa_shaped) == ["sign_is_rsa"] and rsa_shaped.diagnosis is None
    assert "平台公钥" in rsa_shaped.problems[0].fix  # core names no CLI flag
    cut = check_callback({**NOTIFY, "sign": "0fb66fb1963d4d59e9cea48e15107de9-cut"}, MD5_KEYS)
    assert codes(cut) == ["sign_malformed"] and cut.diagnosis is None
    assert cut.problems[0].message == (
        "the sign '0fb66fb1963d4d59e9cea48e…' is not the 32 hex digits of an MD5 sign")
    short = check_callback({**NOTIFY, "sign": "0fb66fb1963d4d59e9cea48e"}, MD5_KEYS)
    assert short.problems[0].message.startswith("the sign '0fb66fb1963d4d59e9cea48e' is not")


def test_a_wrong_md5_sign_of_the_right_shape_is_diagnosed():
    params = md5_signed()
    report = check_callback({**params, "sign": params["sign"].upper()}, MD5_KEYS)
    assert codes(report) == ["signature_invalid"]
    assert report.diagnosis.mistake == "uppercase_hex"
    assert report.problems[0].message == "the MD5 sign does not match: the sign is uppercase hex"


# ---- the business checks ------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["WAIT_BUYER_PAY", "TRADE_CLOSED", ""])
def test_trade_status_other_than_success_is_reported(status):
    report = check_callback(md5_signed(trade_status=status), Keys(md5=Md5Key(KEY)))
    assert report.signature_valid and codes(report) == ["not_paid"]


def test_a_paid_status_is_required_only_when_one_is_sent():
    no_status = {k: v for k, v in NOTIFY.items() if k != "trade_status"}
    assert check_callback({**no_status, "sign": md5_sign(no_status, KEY)}, MD5_KEYS).genuine
    report = check_callback(md5_signed(trade_status="TRADE_CLOSED"), MD5_KEYS)
    assert report.problems[0].message == "trade_status is 'TRADE_CLOSED', not TRADE_SUCCESS"


def test_pid_is_checked_against_the_merchant():
    report = check_callback(md5_signed(), Keys(md5=Md5Key(KEY)), Expectations(pid="2002"))
    assert codes(report) == ["pid_mismatch"]


def test_the_merchant_id_must_match_when_it_is_known():
    assert check_callback(md5_signed(), MD5_KEYS, Expectations(pid="1001")).genuine
    report = check_callback(md5_signed(), MD5_KEYS, Expectations(pid="1002"))
    assert report.problems[0].message == "pid is '1001', but your merchant id is '1002'"
    no_pid = {k: v for k, v in NOTIFY.items() if k != "pid"}
    missing = check_callback({**no_pid, "sign": md5_sign(no_pid, KEY)}, MD5_KEYS,
                             Expectations(pid="1001"))
    assert codes(missing) == ["pid_mismatch"]


def test_money_missing_or_not_a_number():
    no_money = {k: v for k, v in NOTIFY.items() if k != "money"}
    report = check_callback({**no_money, "sign": md5_sign(no_money, KEY)}, Keys(md5=Md5Key(KEY)),
                            Expectations(amount=Decimal("1")))
    assert codes(report) == ["amount_missing"]
    report = check_callback(md5_signed(money="1e2"), Keys(md5=Md5Key(KEY)),
                            Expectations(amount=Decimal("100")))
    assert codes(report) == ["amount_invalid"]


def test_amount_wording():
    report = check_callback(md5_signed(money="0.01"), MD5_KEYS, Expectations(amount=Decimal("9.9")))
    assert report.problems[0].message == (
        "money is 0.01, not your order's 9.90: the amount was tampered with")
    assert report.reason == ("signature valid, but money is 0.01, not your order's 9.90: "
                             "the amount was tampered with")
    invalid = check_callback(md5_signed(money="1e2"), MD5_KEYS, Expectations(amount=Decimal("1")))
    assert invalid.problems[0].message == "money '1e2' is in exponent notation, not plain digits"
    many = check_callback(md5_signed(money="1.123456789"), MD5_KEYS, Expectations(amount=Decimal("1")))
    assert many.problems[0].message == "money '1.123456789' has too many decimals"
    assert check_callback(md5_signed(money="1.00"), MD5_KEYS, Expectations(amount=Decimal("1"))).genuine


# ---- the V2 timestamp window --------------------------------------------------------------------


@pytest.mark.parametrize(("stamp", "now", "code"), [
    ("1732600200", 1732600200 + 300, None),
    ("1732600200", 1732600200 - 300, None),
    ("1732600200", 1732600200 + 301, "timestamp_outside_window"),
    ("1732600200", 1732600200 - 301, "timestamp_outside_window"),
    ("soon", 1732600200, "timestamp_invalid"),
    ("9" * 13, 1732600200, "timestamp_invalid"),
])
def test_v2_timestamp_window(stamp, now, code):
    report = check_callback(md5_signed(timestamp=stamp), Keys(md5=Md5Key(KEY)), Expectations(now=now))
    assert codes(report) == ([code] if code else [])


@pytest.mark.parametrize("skew, wording", [(301, "ahead of"), (-301, "behind"), (1000, "ahead of")])
def test_a_timestamp_outside_the_window_says_how_far_and_which_way(platform, skew, wording):
    private, public = platform
    report = check_callback(rsa_signed(private, timestamp=str(NOW + skew)),
                            Keys(rsa=RsaKeys(public=public)), Expectations(now=NOW))
    assert codes(report) == ["timestamp_outside_window"]
    assert report.problems[0].message == (
        f"timestamp is {abs(skew)} s {wording} your clock (allowed ±300 s)")


@pytest.mark.parametrize("skew, outside", [(300, False), (-300, False), (301, True), (-301, True),
                                           (60, False), (61, True), (-61, True)])
def test_the_window_is_inclusive_and_follows_the_expectation(skew, outside):
    window = 300 if abs(skew) >= 300 else 60
    report = check_callback(md5_signed(timestamp=str(NOW + skew)), MD5_KEYS,
                            Expectations(now=NOW, window_seconds=window))
    assert codes(report) == (["timestamp_outside_window"] if outside else [])


def test_a_timestamp_has_at_most_twelve_ascii_digits():
    twelve = "9" * 12
    report = check_callback(md5_signed(timestamp=twelve), MD5_KEYS, Expectations(now=NOW))
    assert codes(report) == ["timestamp_outside_window"]  # a number, judged by the window
    for stamp in ("9" * 13, "１７３２６００２００", "1732600200.5", "-1", " 1732600200", "²"):
        report = check_callback(md5_signed(timestamp=stamp), MD5_KEYS, Expectations(now=NOW))
        assert codes(report) == ["timestamp_invalid"], stamp
        assert report.problems[0].message.startswith("a V2 callback needs a Unix timestamp, got '")


def test_an_md5_callback_without_timestamp_is_v1_with_no_window():
    assert check_callback(md5_signed(), Keys(md5=Md5Key(KEY)), Expectations(now=1)).genuine


def test_an_md5_callback_is_window_checked_only_when_it_carries_a_timestamp():
    assert check_callback(md5_signed(), MD5_KEYS, Expectations(now=NOW)).genuine
    old = check_callback(md5_signed(timestamp=str(NOW - 3600)), MD5_KEYS, Expectations(now=NOW))
    assert codes(old) == ["timestamp_outside_window"]
    assert check_callback(md5_signed(timestamp="1"), MD5_KEYS).genuine  # no clock: not checked


def test_an_rsa_callback_without_timestamp(platform):
    private, public = platform
    params = {k: v for k, v in NOTIFY.items() if k != "sign_type"} | {"sign_type": "RSA"}
    report = check_callback({**params, "sign": rsa_sign(params, private)},
                            Keys(rsa=RsaKeys(public=public)), Expectations(now=1732600200))
    assert report.signature_valid and codes(report) == ["timestamp_missing"]


def test_an_rsa_callback_without_a_timestamp_is_named_missing(platform):
    private, public = platform
    params = dict(NOTIFY) | {"sign_type": "RSA"}
    report = check_callback({**params, "sign": rsa_sign(params, private)},
                            Keys(rsa=RsaKeys(public=public)), Expectations(now=NOW))
    assert codes(report) == ["timestamp_missing"]
    assert report.problems[0].message == "a V2 callback needs a Unix timestamp"
    assert "replayed" in report.problems[0].fix


def test_without_a_clock_the_rsa_window_is_said_to_be_unchecked(platform):
    private, public = platform
    params = {**NOTIFY, "sign_type": "RSA", "timestamp": "1"}
    report = check_callback({**params, "sign": rsa_sign(params, private)},
                            Keys(rsa=RsaKeys(public=public)))
    assert report.genuine and "not checked" in report.notes[0]


# ---- the report's shape -------------------------------------------------------------------------


def test_the_one_shape_of_a_verdict():
    report = check_callback(md5_signed(money="2"), MD5_KEYS, Expectations(amount=Decimal("1")))
    assert report.to_dict() == {
        "valid": False,
        "verdict": "rejected",
        "reason": "signature valid, but money is 2, not your order's 1.00: the amount was "
                  "tampered with",
        "sign_type": "MD5",
        "signature_valid": True,
        "problems": [{"code": "amount_mismatch",
                      "message": "money is 2, not your order's 1.00: the amount was tampered with",
                      "fix": "do not credit; compare money with your own order amount, "
                             "numerically"}],
        "diagnosis": None,
        "notes": [],
    }


def test_a_report_without_a_valid_sign_is_never_genuine_even_without_problems():
    report = CallbackReport("MD5", False)
    assert not report.genuine and report.verdict == "bad_signature"
    assert report.reason == "the sign does not match"
    two = CallbackReport("MD5", False, (Problem("a", "one", "f"), Problem("b", "two", "f")))
    assert two.reason == "one; two"
    rejected = CallbackReport("MD5", True, (Problem("a", "one", "f"), Problem("b", "two", "f")))
    assert rejected.verdict == "rejected" and rejected.reason == "signature valid, but one; two"
    assert CallbackReport("MD5", True).verdict == "genuine"


# ---- what the merchant is told ------------------------------------------------------------------
# The message and the fix of each problem are the product's words: `epay verify` prints them and
# the listener journals them. Pinned here whole, so a reworded message is a deliberate change.


WORDING = {
    "unknown_sign_type": ("sign_type 'HMAC' is not MD5 or RSA",
                          "Epay signs with MD5 (V1) or RSA (V2); check what the sender put in "
                          "sign_type"),
    "missing_sign": ("there is no sign parameter",
                     "paste the whole callback; a genuine Epay callback always carries sign"),
    "sign_is_rsa": ("sign_type says MD5 but the sign looks like an RSA (V2) sign",
                    "verify it as RSA, with the platform public key (平台公钥)"),
    "sign_malformed": ("the sign 'abc' is not the 32 hex digits of an MD5 sign",
                       "paste the whole callback; the sign may have been cut"),
    "not_paid": ("trade_status is 'WAIT_BUYER_PAY', not TRADE_SUCCESS",
                 "credit goods only for TRADE_SUCCESS"),
    "pid_mismatch": ("pid is '', but your merchant id is '1001'",
                     "this callback is for another merchant (or the wrong profile is selected)"),
    "amount_missing": ("there is no money field", "paste the whole callback"),
    "amount_invalid": ("money 'ten' is not a number", "do not credit"),
    "amount_mismatch": ("money is 2, not your order's 1.00: the amount was tampered with",
                        "do not credit; compare money with your own order amount, numerically"),
    "timestamp_missing": ("a V2 callback needs a Unix timestamp",
                          "V2 signs a timestamp; without one the callback can be replayed"),
    "timestamp_invalid": ("a V2 callback needs a Unix timestamp, got 'soon'",
                          "V2 signs a timestamp; without one the callback can be replayed"),
    "timestamp_outside_window": ("timestamp is 1 s ahead of your clock (allowed ±0 s)",
                                 "check both clocks (NTP); a stale callback may be a replay"),
}


def _scenario(code: str):
    without = lambda *names: {k: v for k, v in NOTIFY.items() if k not in names}  # noqa: E731
    resign = lambda params: {**params, "sign": md5_sign(params, KEY)}  # noqa: E731
    return {
        "unknown_sign_type": ({**md5_signed(), "sign_type": "HMAC"}, Expectations()),
        "missing_sign": (NOTIFY, Expectations()),
        "sign_is_rsa": ({**NOTIFY, "sign": "A" * 342 + "=="}, Expectations()),
        "sign_malformed": ({**NOTIFY, "sign": "abc"}, Expectations()),
        "not_paid": (md5_signed(trade_status="WAIT_BUYER_PAY"), Expectations()),
        "pid_mismatch": (resign(without("pid")), Expectations(pid="1001")),
        "amount_missing": (resign(without("money")), Expectations(amount=Decimal("1"))),
        "amount_invalid": (md5_signed(money="ten"), Expectations(amount=Decimal("1"))),
        "amount_mismatch": (md5_signed(money="2"), Expectations(amount=Decimal("1"))),
        "timestamp_missing": (None, None),
        "timestamp_invalid": (md5_signed(timestamp="soon"), Expectations(now=NOW)),
        "timestamp_outside_window": (md5_signed(timestamp=str(NOW + 1)),
                                     Expectations(now=NOW, window_seconds=0)),
    }[code]


@pytest.mark.parametrize("code", sorted(WORDING))
def test_each_problem_in_the_words_the_merchant_reads(code, platform):
    params, expect = _scenario(code)
    keys = MD5_KEYS
    if params is None:  # an RSA callback signed without a timestamp
        private, public = platform
        params = {**NOTIFY, "sign_type": "RSA"}
        params = {**params, "sign": rsa_sign(params, private)}
        keys, expect = Keys(rsa=RsaKeys(public=public)), Expectations(now=NOW)
    report = check_callback(params, keys, expect)
    problem = next(p for p in report.problems if p.code == code)
    assert (problem.message, problem.fix) == WORDING[code]


def test_a_missing_pid_is_quoted_as_empty():
    no_pid = {k: v for k, v in NOTIFY.items() if k != "pid"}
    report = check_callback({**no_pid, "sign": md5_sign(no_pid, KEY)}, MD5_KEYS,
                            Expectations(pid="1001"))
    assert report.problems[0].message == "pid is '', but your merchant id is '1001'"


def test_with_only_a_public_key_an_unlabelled_callback_is_judged_as_rsa_whatever_its_sign(platform):
    _, public = platform
    keys = Keys(rsa=RsaKeys(public=public))
    unlabelled = {k: v for k, v in NOTIFY.items() if k != "sign_type"}
    cut = check_callback({**unlabelled, "sign": "short"}, keys)
    assert cut.sign_type == "RSA" and codes(cut) == ["signature_invalid"]
    assert cut.notes and cut.to_dict()["sign_type"] == "RSA"
    unsigned = check_callback(unlabelled, keys)
    assert unsigned.sign_type == "RSA" and codes(unsigned) == ["missing_sign"]
    assert unsigned.to_dict()["sign_type"] == "RSA"
    md5_unsigned = check_callback(unlabelled, MD5_KEYS)
    assert md5_unsigned.sign_type == "MD5"
