"""Properties over arbitrary input: sign → verify round trips, tampering always fails, and
every pasted form parses back to what was formatted."""

from __future__ import annotations

import string

from conftest import load_vectors
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from epaycli.core.params import (
    format_json,
    format_lines,
    format_query,
    format_url,
    parse_json,
    parse_lines,
    parse_pairs,
    parse_pasted,
    parse_query,
)
from epaycli.core.signing import (
    load_private_key,
    load_public_key,
    md5_sign,
    md5_verify,
    rsa_sign,
    rsa_verify,
)

# Names as gateways use them; values: any Unicode text a JSON/UTF-8 channel can carry.
names = st.text(alphabet=string.ascii_letters + string.digits + "_", min_size=1, max_size=12)
values = st.text(st.characters(blacklist_categories=("Cs",)), max_size=30)
params = st.dictionaries(names.filter(lambda n: n not in ("sign", "sign_type")), values,
                         min_size=1, max_size=8)
keys = st.text(alphabet=string.ascii_letters + string.digits, min_size=32, max_size=32)

V2 = load_vectors("v2-rsa")
PRIVATE = load_private_key(V2["merchant_private_key_pem"])
PUBLIC = load_public_key(V2["merchant_public_key_pem"])


def has_signed_value(p: dict[str, str]) -> bool:
    return any(v for v in p.values())


@given(params, keys)
def test_md5_sign_then_verify(p, key):
    assert md5_verify({**p, "sign": md5_sign(p, key)}, key)
    assert md5_verify({**p, "sign": md5_sign(p, key, blanks="drop")}, key)


@given(params, keys, st.data())
def test_md5_tampering_any_field_fails(p, key, data):
    sign = md5_sign(p, key)
    name = data.draw(st.sampled_from(sorted(p)))
    changed = data.draw(values.filter(lambda v: v != p[name]))
    tampered = {**p, name: changed, "sign": sign}
    # Emptying a field, or swapping blank for blank, does not change what is signed.
    blank = lambda v: not v.strip(" \t\n\r\0\x0b")  # noqa: E731
    if not (blank(changed) and blank(p[name])):
        assert not md5_verify(tampered, key)


@given(params, keys, keys)
def test_md5_wrong_key_fails(p, key, other):
    if other != key:
        assert not md5_verify({**p, "sign": md5_sign(p, key)}, other)


@given(params, keys, st.integers(min_value=0, max_value=31), st.sampled_from("0123456789abcdef"))
def test_md5_tampered_sign_fails(p, key, position, digit):
    sign = md5_sign(p, key)
    if sign[position] != digit:
        tampered = sign[:position] + digit + sign[position + 1:]
        assert not md5_verify({**p, "sign": tampered}, key)


@settings(max_examples=30, suppress_health_check=[HealthCheck.too_slow])
@given(params, st.data())
def test_rsa_sign_then_verify_and_tamper(p, data):
    sign = rsa_sign(p, PRIVATE)
    assert rsa_verify({**p, "sign": sign}, PUBLIC)
    name = data.draw(st.sampled_from(sorted(p)))
    changed = data.draw(values.filter(lambda v: v.strip(" \t\n\r\0\x0b") and v != p[name]))
    assert not rsa_verify({**p, name: changed, "sign": sign}, PUBLIC)


@given(params)
def test_query_form_and_url_round_trip(p):
    assert parse_query(format_query(p)) == p
    assert parse_pasted(format_query(p)) == p
    assert parse_pasted(format_url("https://shop.example.com/notify.php", p)) == p


@given(params)
def test_json_round_trip(p):
    assert parse_json(format_json(p)) == p
    assert parse_pasted(format_json(p)) == p


line_values = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"),
                      max_size=30)


@given(st.dictionaries(names, line_values, min_size=2, max_size=8))
def test_lines_and_pairs_round_trip(p):
    assert parse_lines(format_lines(p)) == p
    assert parse_pairs([f"{k}={v}" for k, v in p.items()]) == p
