"""core/diagnose.py: why a sign is wrong. Each mistake the diagnoser knows, made here on purpose
(alone, in pairs, competing), the guesses it makes about fields, RSA, numeric names, and the
search's limits: the listener runs it on every invalid notify from the internet, so it is
bounded in work, not just in attempts (the time it takes is measured by bench/diagnose_time.py;
here the bound itself is checked, deterministically)."""

from __future__ import annotations

import hashlib
import json

import pytest
from conftest import load_vectors

from epaycli.core import diagnose
from epaycli.core.canonical import canonical_string
from epaycli.core.diagnose import (
    MAX_SEARCH_CHARS,
    MAX_WORK_CHARS,
    MISTAKES,
    Diagnosis,
    diagnose_md5,
    diagnose_rsa,
)
from epaycli.core.php import htmlspecialchars as php_htmlspecialchars
from epaycli.core.php import urlencode as php_urlencode
from epaycli.core.signing import load_private_key, load_public_key, md5_sign, rsa_sign

KEY = "89unJUB8HZ54Hj7x4nUj56HN4nUzUJ8i"
NOTIFY = {
    "pid": "1001", "trade_no": "2024010112345678901", "out_trade_no": "20240101123456",
    "type": "wxpay", "name": "VIP会员 月卡", "money": "1.00", "trade_status": "TRADE_SUCCESS",
    "param": "uid=5", "sign_type": "MD5",
}
SHORT_NOTIFY = {"pid": "1001", "trade_no": "2024010112345678901", "out_trade_no": "A1",
                "type": "wxpay", "name": "VIP", "money": "1.00", "trade_status": "TRADE_SUCCESS",
                "sign_type": "MD5"}
V2 = load_vectors("v2-rsa")


def md5(text: str, encoding: str = "utf-8") -> str:
    return hashlib.md5(text.encode(encoding)).hexdigest()


def signed_over(string: str, **received: str) -> dict[str, str]:
    return {**NOTIFY, **received, "sign": md5(string + KEY)}


def joined(pairs) -> str:
    return "&".join(f"{k}={v}" for k, v in pairs)


def signed_pairs(params, transform=lambda v: v, *, ordered=True):
    pairs = [(k, transform(v)) for k, v in params.items() if k not in ("sign", "sign_type") and v]
    return sorted(pairs) if ordered else pairs


@pytest.fixture(scope="module")
def platform():
    return load_private_key(V2["platform_private_key_pem"]), load_public_key(V2["platform_public_key_pem"])


def rsa_over(private, string: str) -> str:
    import base64

    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    return base64.b64encode(private.sign(string.encode(), padding.PKCS1v15(),
                                         hashes.SHA256())).decode()


def callback(size: int, fields: int = 12) -> dict[str, str]:
    per = max(1, size // fields)
    params = {f"f{i:02d}": ("值 a&b+c%" * per)[:per] for i in range(fields)}
    params.update(pid="1001", money="1.00", trade_no="2024010112345678901", sign="0" * 32)
    return params


def counting(monkeypatch) -> list[int]:
    """Record the length of every string the search hashes."""
    seen: list[int] = []
    real = diagnose.md5_hex

    def md5_hex(text: str) -> str:
        seen.append(len(text))
        return real(text)

    monkeypatch.setattr(diagnose, "md5_hex", md5_hex)
    return seen


# ---- each mistake the diagnoser knows -----------------------------------------------------------


def test_a_correct_sign_is_genuine():
    assert diagnose_md5({**NOTIFY, "sign": md5_sign(NOTIFY, KEY)}, KEY).mistake == "none"


def test_key_prepended():
    received = {**NOTIFY, "sign": md5(KEY + canonical_string(NOTIFY))}
    assert diagnose_md5(received, KEY).mistake == "key_prepended"


def test_raw_url_encoding_with_percent_20():
    from urllib.parse import quote

    string = "&".join(f"{k}={quote(v, safe='')}" for k, v in sorted(NOTIFY.items())
                      if k != "sign_type" and v)
    assert diagnose_md5(signed_over(string), KEY).mistake == "url_encoded_values"


def test_values_trimmed_by_a_framework_before_signing():
    received = {**NOTIFY, "param": " uid=5 "}
    string = canonical_string({**received, "param": "uid=5"})
    assert diagnose_md5({**received, "sign": md5(string + KEY)}, KEY).mistake == "trimmed_values"


def test_values_arriving_html_escaped_but_signed_plain():
    plain = {**NOTIFY, "name": "Tom's \"A&B\""}
    received = {**plain, "name": php_htmlspecialchars(plain["name"]),
                "sign": md5_sign(plain, KEY)}
    assert diagnose_md5(received, KEY).mistake == "html_unescaped"


def test_two_mistakes_at_once_are_both_named():
    string = "&".join(f"{k}={php_urlencode(v)}" for k, v in sorted(NOTIFY.items())
                      if k != "sign_type" and v)
    received = {**NOTIFY, "sign": md5(f"{string}&key={KEY}")}
    diagnosis = diagnose_md5(received, KEY)
    assert set(diagnosis.mistakes) == {"url_encoded_values", "key_as_param"}
    assert "; and " in diagnosis.title


def test_uppercase_and_unsorted_together():
    string = "&".join(f"{k}={v}" for k, v in NOTIFY.items() if k != "sign_type" and v)
    received = {**NOTIFY, "sign": md5(string + KEY).upper()}
    assert set(diagnose_md5(received, KEY).mistakes) == {"unsorted", "uppercase_hex"}


def test_a_field_missing_from_what_was_checked():
    without_status = {k: v for k, v in NOTIFY.items() if k != "trade_status"}
    received = {**without_status, "sign": md5_sign(NOTIFY, KEY)}
    diagnosis = diagnose_md5(received, KEY)
    assert diagnosis.mistake == "field_missing"
    assert "trade_status" in diagnosis.detail


def test_two_extra_fields_are_found_and_named():
    received = {**NOTIFY, "s": "/notify", "lang": "zh", "sign": md5_sign(NOTIFY, KEY)}
    diagnosis = diagnose_md5(received, KEY)
    assert diagnosis.mistake == "two_fields_added_after_signing"
    assert "'lang'" in diagnosis.detail and "'s'" in diagnosis.detail


def test_whitespace_only_values_signed_by_a_trimming_server_are_genuine():
    received = {**NOTIFY, "param": " "}
    trimmed = md5_sign(received, KEY, blanks="drop")
    assert diagnose_md5({**received, "sign": trimmed}, KEY).genuine


def test_wrong_key_when_nothing_explains_it():
    received = {**NOTIFY, "sign": md5_sign(NOTIFY, "x" * 32)}
    diagnosis = diagnose_md5(received, KEY)
    assert diagnosis.mistake == "wrong_key"
    assert not diagnosis.explained


def test_every_mistake_has_a_title_and_a_fix():
    for mistake in MISTAKES.values():
        assert mistake.title and mistake.fix


def test_rsa_sign_with_sign_type_included(platform):
    private, public = platform
    import base64

    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    notify = V2["platform_signed"][0]["params"]
    string = canonical_string({**notify, "sign_type_": notify["sign_type"]}, blanks="drop")
    string = string.replace("sign_type_=", "sign_type=")
    sign = base64.b64encode(private.sign(string.encode(), padding.PKCS1v15(), hashes.SHA256()))
    diagnosis = diagnose_rsa({**notify, "sign": sign.decode()}, public)
    assert diagnosis.mistake == "sign_type_included"


def test_rsa_extra_field_and_wrong_public_key(platform):
    private, public = platform
    notify = V2["platform_signed"][0]["params"]
    received = {**notify, "s": "/notify", "sign": rsa_sign(notify, private)}
    assert diagnose_rsa(received, public).mistake == "field_added_after_signing"
    other = load_public_key(V2["merchant_public_key_pem"])
    assert diagnose_rsa(received, other).mistake == "wrong_public_key"


def test_diagnosis_serialises_for_json():
    diagnosis = diagnose_md5({**NOTIFY, "sign": md5(canonical_string(NOTIFY) + KEY, "gbk")}, KEY)
    assert diagnosis.mistake == "gbk_bytes"
    json.dumps({"title": diagnosis.title, "fix": diagnosis.fix})


def test_url_encoding_combines_with_another_mistake():
    string = "&".join(f"{k}={php_urlencode(v)}" for k, v in sorted(NOTIFY.items()) if v)
    diagnosis = diagnose_md5(signed_over(string), KEY)
    assert set(diagnosis.mistakes) == {"sign_type_included", "url_encoded_values"}


def test_a_huge_callback_is_not_searched_forever():
    import time

    from epaycli.core.diagnose import MAX_FIELDS

    many = {f"f{i:04d}": f"v{i}" for i in range(MAX_FIELDS + 1)}
    started = time.perf_counter()
    diagnosis = diagnose_md5({**many, "sign": "0" * 32}, KEY)
    assert diagnosis.mistake == "wrong_key" and "too many" in diagnosis.detail
    assert time.perf_counter() - started < 1
    # Just under the limit the search is bounded by its budget instead.
    some = {f"f{i:02d}": f"v{i}" for i in range(MAX_FIELDS - 1)}
    assert diagnose_md5({**some, "sign": "0" * 32}, KEY).mistake == "wrong_key"


def test_the_diagnoser_compares_in_constant_time(monkeypatch):
    from epaycli.core import diagnose

    calls = []
    monkeypatch.setattr(diagnose, "constant_time_equal", lambda a, b: calls.append(1) or a == b)
    diagnose_md5({**NOTIFY, "sign": md5_sign(NOTIFY, "x" * 32)}, KEY)
    assert len(calls) > 10


def test_rsa_sign_whose_plus_signs_became_spaces(platform):
    private, public = platform
    notify = V2["platform_signed"][0]["params"]
    sign = rsa_sign(notify, private)
    assert "+" in sign
    diagnosis = diagnose_rsa({**notify, "sign": sign.replace("+", " ")}, public)
    assert diagnosis.mistake == "sign_plus_as_space"


def test_the_diagnosis_carries_the_string_the_protocol_signs():
    received = {**NOTIFY, "s": "/x", "sign": md5_sign(NOTIFY, KEY)}
    diagnosis = diagnose_md5(received, KEY)
    assert diagnosis.expected_string == canonical_string(received)
    assert diagnosis.signed_string == canonical_string(NOTIFY)


# ---- what a diagnosis says ----------------------------------------------------------------------


def test_a_genuine_sign_is_named_genuine_with_both_strings():
    received = {**SHORT_NOTIFY, "sign": md5_sign(SHORT_NOTIFY, KEY)}
    diagnosis = diagnose_md5(received, KEY)
    assert diagnosis.genuine and not diagnosis.explained and diagnosis.mistakes == ("none",)
    assert diagnosis.signed_string == diagnosis.expected_string == canonical_string(SHORT_NOTIFY)
    assert diagnosis.title == "the sign is genuine"


def test_a_diagnosis_joins_every_mistake_it_names():
    diagnosis = Diagnosis(("unsorted", "gbk_bytes"), "d", "s", "e")
    assert diagnosis.mistake == "unsorted+gbk_bytes"
    assert diagnosis.title == MISTAKES["unsorted"].title + "; and " + MISTAKES["gbk_bytes"].title
    assert diagnosis.fix == MISTAKES["unsorted"].fix + "; and " + MISTAKES["gbk_bytes"].fix
    assert diagnosis.explained and not diagnosis.genuine
    assert diagnosis.to_dict() == {
        "mistake": "unsorted+gbk_bytes", "mistakes": ["unsorted", "gbk_bytes"],
        "title": diagnosis.title, "fix": diagnosis.fix, "detail": "d", "signed_string": "s",
        "expected_string": "e"}
    assert not Diagnosis(("wrong_key",)).explained
    assert not Diagnosis(("wrong_public_key",)).explained
    assert Diagnosis(("wrong_key",)).to_dict()["detail"] == ""


def test_a_wrong_key_says_nothing_explains_it_and_shows_what_should_be_signed():
    received = {**SHORT_NOTIFY, "sign": md5_sign(SHORT_NOTIFY, "Z" * 32)}
    diagnosis = diagnose_md5(received, KEY)
    assert diagnosis.mistakes == ("wrong_key",) and diagnosis.signed_string == ""
    assert diagnosis.expected_string == canonical_string(SHORT_NOTIFY) and diagnosis.detail == ""
    assert "商户密钥" in diagnosis.fix


# ---- two value mistakes at once -----------------------------------------------------------------


def test_values_trimmed_by_a_framework_then_url_encoded_by_the_signer():
    received = {**SHORT_NOTIFY, "name": " VIP 会员 "}
    string = joined(signed_pairs(received, lambda v: php_urlencode(v.strip())))
    diagnosis = diagnose_md5({**received, "sign": md5(string + KEY)}, KEY)
    assert set(diagnosis.mistakes) == {"url_encoded_values", "trimmed_values"}
    assert diagnosis.signed_string == string


def test_values_html_unescaped_then_url_encoded():
    plain = {**SHORT_NOTIFY, "name": "A&B <x>"}
    received = {**plain, "name": php_htmlspecialchars(plain["name"])}
    string = joined(signed_pairs(plain, php_urlencode))
    diagnosis = diagnose_md5({**received, "sign": md5(string + KEY)}, KEY)
    assert set(diagnosis.mistakes) == {"url_encoded_values", "html_unescaped"}


def test_sign_type_and_empty_values_both_included():
    received = {**SHORT_NOTIFY, "param": ""}
    string = joined(sorted((k, v) for k, v in received.items()))
    diagnosis = diagnose_md5({**received, "sign": md5(string + KEY)}, KEY)
    assert set(diagnosis.mistakes) == {"sign_type_included", "empty_included"}
    assert diagnosis.detail == "" and diagnosis.signed_string == string


def test_empty_values_included_with_url_encoding():
    received = {**SHORT_NOTIFY, "param": "", "name": "a b"}
    string = joined(sorted((k, php_urlencode(v)) for k, v in received.items() if k != "sign_type"))
    diagnosis = diagnose_md5({**received, "sign": md5(string + KEY)}, KEY)
    assert set(diagnosis.mistakes) == {"empty_included", "url_encoded_values"}


def test_html_escaping_covers_angle_brackets():
    received = {**SHORT_NOTIFY, "name": "<b>VIP</b>"}
    string = joined(signed_pairs(received, php_htmlspecialchars))
    diagnosis = diagnose_md5({**received, "sign": md5(string + KEY)}, KEY)
    assert diagnosis.mistake == "html_escaped" and diagnosis.detail == ""
    assert "name=&lt;b&gt;VIP&lt;/b&gt;" in diagnosis.signed_string


# ---- two-mistake explanations -------------------------------------------------------------------


def test_with_two_equally_simple_explanations_the_first_found_is_kept():
    # One unsigned field in front of pid: "the notify_url's own query" and "one field added"
    # drop the same field; with the key appended as &key= both need two mistakes. The
    # notify_url explanation is the more specific one, and it is tried first.
    received = {"from": "shop", **SHORT_NOTIFY}
    string = joined(signed_pairs(SHORT_NOTIFY))
    diagnosis = diagnose_md5({**received, "sign": md5(f"{string}&key={KEY}")}, KEY)
    assert diagnosis.mistakes == ("notify_url_query", "key_as_param")
    assert diagnosis.detail == "unsigned fields in front: from"


def test_a_one_mistake_explanation_is_preferred_when_there_is_one():
    received = {"from": "shop", **SHORT_NOTIFY}
    diagnosis = diagnose_md5({**received, "sign": md5_sign(SHORT_NOTIFY, KEY)}, KEY)
    assert diagnosis.mistakes == ("notify_url_query",)


def test_an_unsorted_string_hashed_as_gbk():
    received = {**SHORT_NOTIFY, "name": "会员"}
    string = joined(signed_pairs(received, ordered=False))
    diagnosis = diagnose_md5({**received, "sign": hashlib.md5((string + KEY).encode("gbk")).hexdigest()},
                             KEY)
    assert set(diagnosis.mistakes) == {"unsorted", "gbk_bytes"}
    assert diagnosis.signed_string == string


def test_a_key_prepended_to_a_string_with_an_extra_field():
    received = {**SHORT_NOTIFY, "s": "/notify"}
    diagnosis = diagnose_md5({**received, "sign": md5(KEY + canonical_string(SHORT_NOTIFY))}, KEY)
    assert set(diagnosis.mistakes) == {"field_added_after_signing", "key_prepended"}
    assert diagnosis.detail == "'s' is not covered by the sign"


def test_text_gbk_cannot_hold_is_not_taken_for_a_gbk_mistake():
    received = {**SHORT_NOTIFY, "name": "😀"}
    diagnosis = diagnose_md5({**received, "sign": md5_sign(received, "Z" * 32)}, KEY)
    assert diagnosis.mistakes == ("wrong_key",)


def test_a_sign_no_text_encoding_can_hold_does_not_crash_the_diagnoser():
    # A lone surrogate cannot come through epay's parsers, but a library caller can pass one.
    assert diagnose_md5({**SHORT_NOTIFY, "sign": "\ud800" * 32}, KEY).mistakes == ("wrong_key",)


def test_three_mistakes_are_not_claimed():
    received = {**SHORT_NOTIFY, "name": "a b"}
    string = joined(signed_pairs(received, php_urlencode, ordered=False))
    assert diagnose_md5({**received, "sign": md5(string + KEY)}, KEY).mistakes == (
        "url_encoded_values", "unsorted")  # two: found
    three = {**received, "sign": md5(f"{string}&key={KEY}")}
    assert diagnose_md5(three, KEY).mistakes == ("wrong_key",)


# ---- RSA, and its edges -------------------------------------------------------------------------


def test_an_rsa_sign_with_two_mistakes(platform):
    private, public = platform
    notify = V2["platform_signed"][0]["params"]
    pairs = [(k, v) for k, v in notify.items() if k != "sign" and v.strip()]  # sign_type included
    diagnosis = diagnose_rsa({**notify, "sign": rsa_over(private, joined(pairs))}, public)
    assert set(diagnosis.mistakes) == {"sign_type_included", "unsorted"}
    assert diagnosis.signed_string == joined(pairs)


def test_an_rsa_genuine_sign_and_its_strings(platform):
    private, public = platform
    notify = V2["platform_signed"][0]["params"]
    diagnosis = diagnose_rsa({**notify, "sign": rsa_sign(notify, private)}, public)
    assert diagnosis.genuine
    assert diagnosis.expected_string == canonical_string(notify, blanks="drop")


def test_an_rsa_sign_with_spaces_that_is_still_wrong_is_not_called_plus_as_space(platform):
    private, public = platform
    notify = V2["platform_signed"][0]["params"]
    sign = rsa_sign({**notify, "money": "2"}, private).replace("+", " ")
    assert " " in sign
    assert diagnose_rsa({**notify, "sign": sign}, public).mistakes == ("wrong_public_key",)


def test_an_rsa_plus_as_space_diagnosis_carries_the_protocol_string(platform):
    private, public = platform
    notify = V2["platform_signed"][0]["params"]
    sign = rsa_sign(notify, private)
    diagnosis = diagnose_rsa({**notify, "sign": sign.replace("+", " ")}, public)
    assert diagnosis.mistakes == ("sign_plus_as_space",)
    assert diagnosis.signed_string == diagnosis.expected_string == canonical_string(notify, blanks="drop")


def test_rsa_drops_blank_values_in_what_it_expects(platform):
    private, public = platform
    notify = {**V2["platform_signed"][0]["params"], "param": "  "}
    diagnosis = diagnose_rsa({**notify, "s": "/n", "sign": rsa_sign(notify, private)}, public)
    assert diagnosis.mistakes == ("field_added_after_signing",)
    assert "param=" not in diagnosis.signed_string
    assert "param=" not in diagnosis.expected_string


def test_an_rsa_sign_whose_plus_became_spaces_over_blank_values(platform):
    private, public = platform
    notify = {**V2["platform_signed"][0]["params"], "param": " "}
    sign = rsa_sign(notify, private)
    diagnosis = diagnose_rsa({**notify, "sign": sign.replace("+", " ")}, public)
    assert diagnosis.mistakes == ("sign_plus_as_space",) and diagnosis.detail == ""
    assert "param" not in diagnosis.expected_string


def test_an_rsa_callback_without_a_sign_is_not_explained(platform):
    _, public = platform
    assert diagnose_rsa(V2["platform_signed"][0]["params"], public).mistakes == ("wrong_public_key",)


# ---- guesses about fields -----------------------------------------------------------------------


@pytest.mark.parametrize("paid_type", ["alipay", "wxpay", "qqpay", "bank", "jdpay", "paypal", "tenpay"])
def test_a_missing_type_is_guessed_among_the_common_ones(paid_type):
    signed = {**SHORT_NOTIFY, "type": paid_type}
    received = {k: v for k, v in signed.items() if k != "type"}
    diagnosis = diagnose_md5({**received, "sign": md5_sign(signed, KEY)}, KEY)
    assert diagnosis.mistakes == ("field_missing",)
    assert diagnosis.detail == f"the sign covers type={paid_type}, which is missing here"


def test_missing_fields_are_guessed_only_for_a_notify():
    # Without trade_no it is not a notify, so no notify field is guessed.
    signed = {k: v for k, v in SHORT_NOTIFY.items() if k != "trade_no"}
    received = {k: v for k, v in signed.items() if k != "trade_status"}
    assert diagnose_md5({**received, "sign": md5_sign(signed, KEY)}, KEY).mistakes == ("wrong_key",)
    received = {k: v for k, v in signed.items() if k != "type"}
    assert diagnose_md5({**received, "sign": md5_sign(signed, KEY)}, KEY).mistakes == ("wrong_key",)


def test_a_missing_trade_status_is_guessed():
    received = {k: v for k, v in SHORT_NOTIFY.items() if k != "trade_status"}
    diagnosis = diagnose_md5({**received, "sign": md5_sign(SHORT_NOTIFY, KEY)}, KEY)
    assert diagnosis.detail == "the sign covers trade_status=TRADE_SUCCESS, which is missing here"


def test_one_unsigned_field_before_pid_is_a_notify_url_query():
    received = {"order": "7", **SHORT_NOTIFY}
    diagnosis = diagnose_md5({**received, "sign": md5_sign(SHORT_NOTIFY, KEY)}, KEY)
    assert diagnosis.mistakes == ("notify_url_query",)
    assert diagnosis.detail == "unsigned fields in front: order"


def test_a_notify_url_query_also_drops_its_amp_prefixed_fields():
    # notify.php?a=1&b=2 stored HTML-escaped arrives as a=1 and amp;b=2, both in front of pid;
    # an amp; field can also turn up after pid when the query was appended differently.
    received = {"a": "1", "amp;b": "2", **SHORT_NOTIFY, "amp;c": "3"}
    diagnosis = diagnose_md5({**received, "sign": md5_sign(SHORT_NOTIFY, KEY)}, KEY)
    assert diagnosis.mistakes == ("notify_url_query",)
    assert diagnosis.detail == "unsigned fields in front: a, amp;b, amp;c"


@pytest.mark.parametrize("extra", ["x", "amp;x"])
def test_fields_in_front_of_pid_are_not_suspected_when_pid_comes_first(extra):
    received = {**SHORT_NOTIFY, extra: "1"}
    diagnosis = diagnose_md5({**received, "sign": md5_sign(SHORT_NOTIFY, KEY)}, KEY)
    assert diagnosis.mistakes == ("field_added_after_signing",)
    assert diagnosis.detail == f"'{extra}' is not covered by the sign"


def test_type_zero_is_named_but_another_field_of_zero_is_just_an_extra_field():
    signed = {k: v for k, v in SHORT_NOTIFY.items() if k != "type"}
    diagnosis = diagnose_md5({**signed, "type": "0", "sign": md5_sign(signed, KEY)}, KEY)
    assert diagnosis.mistakes == ("type0_unsigned",)
    assert diagnosis.detail == "type=0 arrived but is not signed"
    diagnosis = diagnose_md5({**SHORT_NOTIFY, "param": "0", "sign": md5_sign(SHORT_NOTIFY, KEY)}, KEY)
    assert diagnosis.mistakes == ("field_added_after_signing",)
    diagnosis = diagnose_md5({**SHORT_NOTIFY, "sign": md5_sign({k: v for k, v in SHORT_NOTIFY.items()
                                                         if k != "type"}, KEY)}, KEY)
    assert diagnosis.mistakes == ("field_added_after_signing",)  # type=wxpay is not the quirk


def test_money_reformatted_names_both_renderings():
    received = {**SHORT_NOTIFY, "money": "1"}
    diagnosis = diagnose_md5({**received, "sign": md5_sign({**SHORT_NOTIFY, "money": "1.00"}, KEY)}, KEY)
    assert diagnosis.mistakes == ("money_reformatted",)
    assert diagnosis.detail == "the sign covers money=1.00, but money=1 arrived"


def test_the_base_keeps_blank_values_and_a_trimming_server_is_still_genuine():
    received = {**SHORT_NOTIFY, "param": " "}
    kept = diagnose_md5({**received, "sign": md5_sign(received, KEY)}, KEY)
    assert kept.genuine and kept.detail == "" and "param= " in kept.signed_string
    dropped = diagnose_md5({**received, "sign": md5_sign(received, KEY, blanks="drop")}, KEY)
    assert dropped.genuine
    assert dropped.detail == "whitespace-only values left out, as newer servers do"
    assert "param" not in dropped.signed_string and "param= " in dropped.expected_string


def test_an_empty_value_included_is_named_only_when_there_is_one():
    received = {**SHORT_NOTIFY, "param": ""}
    string = joined(sorted((k, v) for k, v in received.items() if k != "sign_type"))
    diagnosis = diagnose_md5({**received, "sign": md5(string + KEY)}, KEY)
    assert diagnosis.mistakes == ("empty_included",) and diagnosis.detail == ""


def test_a_callback_of_nothing_but_empty_values_signed_with_them():
    received = {"param": "", "attach": ""}
    diagnosis = diagnose_md5({**received, "sign": md5("attach=&param=" + KEY)}, KEY)
    assert diagnosis.mistakes == ("empty_included",)


def test_sign_type_included_has_no_detail():
    string = joined(sorted((k, v) for k, v in SHORT_NOTIFY.items()))
    diagnosis = diagnose_md5({**SHORT_NOTIFY, "sign": md5(string + KEY)}, KEY)
    assert diagnosis.mistakes == ("sign_type_included",) and diagnosis.detail == ""


def test_without_a_sign_nothing_crashes():
    assert diagnose_md5(SHORT_NOTIFY, KEY).mistakes == ("wrong_key",)


# ---- the search's limits ------------------------------------------------------------------------


def test_the_search_stops_at_its_budget_and_says_so(monkeypatch):
    monkeypatch.setattr(diagnose, "MAX_MD5_ATTEMPTS", 1)
    wrong = diagnose_md5({**SHORT_NOTIFY, "sign": md5_sign(SHORT_NOTIFY, "Z" * 32)}, KEY)
    assert wrong.mistakes == ("wrong_key",)
    assert wrong.detail == "search stopped after 1 candidates"
    assert wrong.expected_string == canonical_string(SHORT_NOTIFY) and wrong.signed_string == ""
    # The first candidate is the genuine sign itself: a budget of one still finds it.
    assert diagnose_md5({**SHORT_NOTIFY, "sign": md5_sign(SHORT_NOTIFY, KEY)}, KEY).genuine


def test_at_its_budget_the_search_keeps_the_best_explanation_found_so_far(monkeypatch):
    # A two-mistake explanation does not end the search (a simpler one may follow); when the
    # budget runs out after it was found, it is still the answer.
    string = joined(signed_pairs(SHORT_NOTIFY, ordered=False))
    received = {**SHORT_NOTIFY, "sign": md5(string + KEY).upper()}
    assert set(diagnose_md5(received, KEY).mistakes) == {"unsorted", "uppercase_hex"}
    for budget in range(1, 30):
        monkeypatch.setattr(diagnose, "MAX_MD5_ATTEMPTS", budget)
        diagnosis = diagnose_md5(received, KEY)
        if diagnosis.mistakes != ("wrong_key",):
            break
        assert diagnosis.detail == f"search stopped after {budget} candidates"
    assert set(diagnosis.mistakes) == {"unsorted", "uppercase_hex"}
    assert budget < 29  # found early: the budget ran out after it, not before


def test_the_rsa_search_has_its_own_budget(platform, monkeypatch):
    private, public = platform
    notify = V2["platform_signed"][0]["params"]
    received = {**notify, "sign": rsa_sign({**notify, "money": "9"}, private)}
    monkeypatch.setattr(diagnose, "MAX_RSA_ATTEMPTS", 2)
    diagnosis = diagnose_rsa(received, public)
    assert diagnosis.mistakes == ("wrong_public_key",)
    assert diagnosis.detail == "search stopped after 2 candidates"


def test_too_many_fields_are_not_searched():
    many = {f"f{i:03d}": "v" for i in range(diagnose.MAX_FIELDS)}
    received = {**many, "sign": md5_sign(many, KEY)}  # MAX_FIELDS + 1 parameters with the sign
    diagnosis = diagnose_md5(received, KEY)
    assert diagnosis.mistakes == ("wrong_key",)
    assert diagnosis.detail == f"{diagnose.MAX_FIELDS + 1} fields: too many to search"
    assert diagnosis.signed_string == ""
    assert diagnosis.expected_string == canonical_string(many)
    fewer = {f"f{i:03d}": "v" for i in range(diagnose.MAX_FIELDS - 1)}
    assert diagnose_md5({**fewer, "sign": md5_sign(fewer, KEY)}, KEY).genuine


def test_two_added_fields_are_searched_only_in_a_callback_of_ordinary_size():
    limit = diagnose.MAX_FIELDS_FOR_PAIRS
    fields = {f"f{i:02d}": "v" for i in range(limit - 2)}
    received = {**fields, "x": "1", "y": "2"}  # limit fields in all: still searched
    assert diagnose_md5({**received, "sign": md5_sign(fields, KEY)}, KEY).mistakes == (
        "two_fields_added_after_signing",)
    received = {**fields, "w": "0", "x": "1", "y": "2"}  # one more: not
    signed = {**fields, "w": "0"}
    assert diagnose_md5({**received, "sign": md5_sign(signed, KEY)}, KEY).mistakes == ("wrong_key",)


@pytest.mark.parametrize("size", [16 * 1024, 60 * 1024])
def test_a_large_callback_stops_within_the_work_bound(monkeypatch, size):
    seen = counting(monkeypatch)
    found = diagnose_md5(callback(size), KEY)
    assert found.mistake == "wrong_key"
    assert found.detail.startswith("search stopped after")
    # what was hashed stays within the bound (plus the one candidate that crossed it)
    assert sum(seen) <= MAX_WORK_CHARS + max(seen) + 2 * len(KEY) * len(seen)


def test_past_64_kib_nothing_is_searched(monkeypatch):
    seen = counting(monkeypatch)
    found = diagnose_md5(callback(MAX_SEARCH_CHARS + 1024), KEY)
    assert found.mistake == "wrong_key" and "too large to search" in found.detail
    assert seen == []


def test_an_ordinary_callback_is_searched_in_full(monkeypatch):
    """The bound is far above a real callback: two mistakes at once are still found."""
    params = {"pid": "1001", "trade_no": "2024010112345678901", "out_trade_no": "A1",
              "type": "alipay", "name": "VIP", "money": "1.00", "trade_status": "TRADE_SUCCESS",
              "sign_type": "MD5"}
    signed = "&".join(f"{k}={v}" for k, v in sorted(params.items())) + f"&key={KEY}"
    params["sign"] = hashlib.md5(signed.encode()).hexdigest()
    found = diagnose_md5(params, KEY)
    assert set(found.mistakes) == {"sign_type_included", "key_as_param"}


# ---- names that look like numbers ---------------------------------------------------------------


def test_a_sign_in_an_older_php_order_is_genuine_and_shows_that_order():
    from epaycli.core.canonical import SortOrder
    from epaycli.core.ksort import PhpVersion

    received = {"pid": "1001", "10": "a", "money": "1.00", "name": "VIP"}
    older = canonical_string(received, order=SortOrder(version=PhpVersion.PHP80))
    assert older == "money=1.00&name=VIP&pid=1001&10=a" != canonical_string(received)
    diagnosis = diagnose_md5({**received, "sign": md5(older + KEY)}, KEY)
    assert diagnosis.genuine and diagnosis.signed_string == older
    current = diagnose_md5({**received, "sign": md5(canonical_string(received) + KEY)}, KEY)
    assert current.genuine and current.signed_string == canonical_string(received)
    # ... and with a mistake on top, still found in that order.
    prepended = diagnose_md5({**received, "sign": md5(KEY + older)}, KEY)
    assert prepended.mistakes == ("key_prepended",) and prepended.signed_string == older


def test_numeric_names_sorted_as_bytes_are_named(platform):
    received = {"pid": "1001", "9": "a", "10": "b", "money": "1"}
    byte_order = joined(sorted((k, v) for k, v in received.items()))
    assert byte_order.startswith("10=b&9=a")
    diagnosis = diagnose_md5({**received, "sign": md5(byte_order + KEY)}, KEY)
    assert diagnosis.mistakes == ("byte_order_numeric",)
    private, public = platform
    rsa = diagnose_rsa({**received, "sign": rsa_over(private, byte_order)}, public)
    assert rsa.mistakes == ("byte_order_numeric",)
    assert diagnose_rsa({**received, "sign": rsa_over(private, canonical_string(received))},
                        public).genuine


def test_an_rsa_sign_in_an_older_php_order_is_genuine(platform):
    from epaycli.core.canonical import SortOrder
    from epaycli.core.ksort import PhpVersion

    private, public = platform
    received = {"pid": "1001", "10": "a", "money": "1.00", "name": "VIP"}
    older = canonical_string(received, order=SortOrder(version=PhpVersion.PHP80))
    diagnosis = diagnose_rsa({**received, "sign": rsa_over(private, older)}, public)
    assert diagnosis.genuine and diagnosis.signed_string == older


def test_the_work_bound_counts_the_characters_joined_exactly(monkeypatch):
    string = canonical_string(SHORT_NOTIFY)
    received = {**SHORT_NOTIFY, "sign": md5(string + KEY)}
    monkeypatch.setattr(diagnose, "MAX_WORK_CHARS", len(string))
    assert diagnose_md5(received, KEY).genuine  # the first candidate fits the bound exactly
    monkeypatch.setattr(diagnose, "MAX_WORK_CHARS", len(string) - 1)
    stopped = diagnose_md5(received, KEY)
    assert stopped.mistakes == ("wrong_key",)
    assert stopped.detail == "search stopped after 0 candidates" and stopped.signed_string == ""


def test_a_callback_just_within_the_size_bound_is_searched_and_one_past_it_is_not(monkeypatch):
    base = {k: v for k, v in SHORT_NOTIFY.items() if k != "sign_type"}
    size = sum(len(k) + len(v) for k, v in base.items())
    received = {**base, "sign": md5_sign(base, KEY)}
    sign_size = len("sign") + 32
    monkeypatch.setattr(diagnose, "MAX_SEARCH_CHARS", size + sign_size)
    assert diagnose_md5(received, KEY).genuine
    monkeypatch.setattr(diagnose, "MAX_SEARCH_CHARS", size + sign_size - 1)
    refused = diagnose_md5(received, KEY)
    assert refused.mistakes == ("wrong_key",)
    assert refused.detail == f"{size + sign_size} characters: too large to search"
    assert refused.signed_string == "" and refused.expected_string == canonical_string(base)
