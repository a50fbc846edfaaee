"""core/redact.py: a key never shows whole, wherever text that could hold one is shown or kept."""

from __future__ import annotations

import pytest

from epaycli.core.redact import (
    FRAGMENT,
    SECRET_NAMES,
    has_key_shaped,
    mask,
    mask_key_shaped,
    redact_params,
    scrub,
    scrub_text,
)

KEY = "89unJUB8HZ54Hj7x4nUj56HN4nUzUJ8i"
RSA_BLOB = "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA" + "x+/Y" * 20 + "=="


@pytest.mark.parametrize("secret, shown", [
    ("", ""), ("a", "…"), ("x" * 15, "…"), ("abcdefghijklmnop", "abcd…mnop"), (KEY, "89un…UJ8i"),
])
def test_mask_shows_at_most_the_first_and_last_four(secret, shown):
    assert mask(secret) == shown


def test_key_shaped_text_is_masked_in_place():
    text = f"key={KEY} failed"
    assert mask_key_shaped(text) == "key=89un…UJ8i failed"
    assert mask_key_shaped(f"pem {RSA_BLOB} end") == f"pem {mask(RSA_BLOB)} end"
    assert mask_key_shaped(f"[{KEY}]") == "[89un…UJ8i]"


def test_a_md5_sign_and_what_is_kept_stay_readable():
    sign = "0fb66fb1963d4d59e9cea48e15107de9"
    assert mask_key_shaped(f"sign={sign}") == f"sign={sign}"
    assert mask_key_shaped(f"sign={sign.upper()}") == f"sign={sign.upper()}"
    assert mask_key_shaped(f"pid {KEY}", keep=[KEY]) == f"pid {KEY}"
    assert mask_key_shaped(f"{KEY} {KEY[::-1]}", keep=(KEY,)) == f"{KEY} {mask(KEY[::-1])}"


@pytest.mark.parametrize("text", [
    "x" * 31,  # too short for a key
    "y" * 33,  # part of a longer word: not a key on its own
    "a" + KEY,  # the same, the key glued to a letter in front
    KEY + "9",  # and behind
    "Ab+/" * 24,  # 96 characters of base64: shorter than any RSA key
])
def test_what_is_not_key_shaped_is_left_alone(text):
    assert mask_key_shaped(text) == text


def test_scrub_masks_known_secrets_anywhere_in_nested_data():
    data = {"msg": f"bad {KEY}!", "list": [KEY, 1, None], "tuple": (f"x{KEY}",),
            "deep": {"k": KEY}, "n": 5}
    assert scrub(data, [KEY]) == {"msg": "bad 89un…UJ8i!", "list": ["89un…UJ8i", 1, None],
                                  "tuple": ["x89un…UJ8i"], "deep": {"k": "89un…UJ8i"}, "n": 5}
    assert scrub(f"{KEY}{KEY}", [KEY]) == "89un…UJ8i89un…UJ8i"
    assert scrub("ab12345678", ["", "12345678", None]) == "ab…"


def test_scrub_ignores_secrets_too_short_to_be_keys():
    # Masking a 7-character "secret" would garble ordinary text and hide nothing worth hiding.
    value = {"msg": "the word abcdefg"}
    assert scrub(value, ["abcdefg"]) is value
    assert scrub(value, []) is value
    assert scrub("abcdefgh!", ["abcdefgh"]) == "…!"


def test_redact_params_masks_fields_named_like_keys_whatever_their_case():
    params = {"pid": "1001", "Key": KEY, "merchant_key": KEY, "PRIVATE_KEY": "short",
              "secret": "", "apikey": KEY, "api_key": KEY, "money": "1"}
    assert redact_params(params) == {"pid": "1001", "Key": "89un…UJ8i", "merchant_key": "89un…UJ8i",
                                     "PRIVATE_KEY": "…", "secret": "", "apikey": "89un…UJ8i",
                                     "api_key": "89un…UJ8i", "money": "1"}
    assert {"key", "merchant_key", "private_key", "secret", "apikey", "api_key"} == SECRET_NAMES


@pytest.mark.parametrize("text, shaped", [
    ("Mozilla/5.0 (X11; Linux x86_64)", False),
    ("x" * 31, False),
    (KEY, True),  # a key alone: 32 characters, the shortest text that can hold one
    (KEY[:31], False),
    ("token " + "Z9" * 16, True),
    ("sign " + "A1" * 16, True),  # 32 hex digits: looked at, kept (an MD5 sign)
    ("A1" * 17, False),  # 34 letters and digits: no key's length
    ("QUJD" * 25, True),  # base64 of 100 characters: an RSA key's body
    ("QUJD" * 24 + "QUI", False),
])
def test_has_key_shaped_says_whether_mask_key_shaped_would_look(text, shaped):
    assert has_key_shaped(text) is shaped
    assert (mask_key_shaped(text) != text) is (shaped and "sign" not in text)


@pytest.mark.parametrize("secret", [KEY, KEY[:16], KEY[:23], "k_" + KEY + KEY[:30]])
def test_every_run_of_eight_characters_of_a_key_is_masked_wherever_it_starts(secret):
    for start in range(len(secret) - FRAGMENT + 1):
        run = secret[start:start + FRAGMENT]
        assert scrub_text(f"<{run}>", [secret]) == f"<{mask(secret)}>", start
        shorter = run[:-1]  # seven say nothing usable about the key
        assert scrub_text(f"<{shorter}>", [secret]) == f"<{shorter}>", start


def test_a_run_is_masked_whole_however_long_and_a_second_one_too():
    text = f"a {KEY[3:29]} b {KEY[10:18]} c"
    assert scrub_text(text, [KEY]) == f"a {mask(KEY)} b {mask(KEY)} c"
    assert scrub_text("0" * 40, ["SandboxKey0nlyForLocalTests00000"]) == "0" * 40


@pytest.mark.parametrize("run", [KEY[:12], KEY[20:], KEY[9:21]])
def test_a_run_that_starts_or_ends_the_text_is_masked_to_its_edge(run):
    # (a message cut to its first characters, or a hint that ends with the key)
    assert scrub_text(run, [KEY]) == mask(KEY)
    assert scrub_text(f"{run} failed", [KEY]) == f"{mask(KEY)} failed"
    assert scrub_text(f"bad: {run}", [KEY]) == f"bad: {mask(KEY)}"


def test_a_secret_that_is_no_token_is_masked_whole_and_only_whole():
    # A PEM body or a file path given where a key may be: its runs are ordinary text.
    path = "/home/merchant/.config/epay/private.pem"
    assert scrub_text(f"open {path}: denied", [path]) == f"open {mask(path)}: denied"
    assert scrub_text("see /home/merchant/.config", [path]) == "see /home/merchant/.config"
    assert scrub(f"pem {RSA_BLOB} end", [RSA_BLOB]) == f"pem {mask(RSA_BLOB)} end"
    assert scrub(RSA_BLOB[:60], [RSA_BLOB]) == RSA_BLOB[:60]
