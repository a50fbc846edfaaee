"""The diagnoser beyond the shared vectors: each mistake it knows, made here on purpose."""

from __future__ import annotations

import hashlib
import json

import pytest
from conftest import load_vectors

from epaycli.core.canonical import canonical_string
from epaycli.core.diagnose import (
    MISTAKES,
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


def md5(text: str, encoding: str = "utf-8") -> str:
    return hashlib.md5(text.encode(encoding)).hexdigest()


def signed_over(string: str, **received: str) -> dict[str, str]:
    return {**NOTIFY, **received, "sign": md5(string + KEY)}


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


# ---- RSA ------------------------------------------------------------------------------------

V2 = load_vectors("v2-rsa")


@pytest.fixture(scope="module")
def platform():
    return load_private_key(V2["platform_private_key_pem"]), load_public_key(V2["platform_public_key_pem"])


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
