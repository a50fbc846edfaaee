"""core/request.py: a signed outgoing request, as it is sent and as ``--json`` describes it."""

from __future__ import annotations

import pytest
from conftest import load_vectors

from epaycli.core.errors import InputError
from epaycli.core.request import sign_request
from epaycli.core.signing import (
    Md5Key,
    RsaKeys,
    SignType,
    load_private_key,
    load_public_key,
    md5_sign,
    rsa_sign,
    verify,
)

V2 = load_vectors("v2-rsa")
KEY = "89unJUB8HZ54Hj7x4nUj56HN4nUzUJ8i"
ORDER = {"pid": "1001", "type": "alipay", "out_trade_no": "A1", "name": "VIP 会员", "money": "1.00"}
CANONICAL = "money=1.00&name=VIP 会员&out_trade_no=A1&pid=1001&type=alipay"


@pytest.fixture(scope="module")
def merchant():
    return (load_private_key(V2["merchant_private_key_pem"]),
            load_public_key(V2["merchant_public_key_pem"]))


def test_an_md5_request_keeps_the_input_order_then_sign_then_sign_type():
    signed = sign_request(ORDER, Md5Key(KEY))
    assert list(signed.params) == [*ORDER, "sign", "sign_type"]
    assert signed.sign == signed.params["sign"] == md5_sign(ORDER, KEY)
    assert signed.params["sign_type"] == "MD5" and signed.sign_type is SignType.MD5
    assert signed.added == ("sign_type",)
    assert signed.canonical == CANONICAL
    assert signed.signed_string == CANONICAL + "89un…UJ8i"  # the key never shows whole
    assert verify(signed.params, Md5Key(KEY))


def test_an_existing_sign_is_replaced_and_an_existing_sign_type_kept_after_sign():
    given = {"sign": "stale", "sign_type": "md5", **ORDER}
    signed = sign_request(given, Md5Key(KEY))
    assert list(signed.params) == [*ORDER, "sign", "sign_type"]
    assert signed.params["sign_type"] == "md5"  # as the merchant wrote it
    assert signed.sign == md5_sign(ORDER, KEY)
    assert signed.added == ()


@pytest.mark.parametrize("declared", ["RSA", "rsa"])
def test_a_sign_type_that_contradicts_the_key_is_refused(declared):
    with pytest.raises(InputError) as raised:
        sign_request({**ORDER, "sign_type": declared}, Md5Key(KEY))
    assert raised.value.code == "sign_type_conflict"
    assert raised.value.message == f"sign_type says {declared} but the key given signs MD5"
    assert raised.value.hint == "leave sign_type out and epay adds the right one"


def test_an_empty_sign_type_is_filled_in():
    signed = sign_request({**ORDER, "sign_type": ""}, Md5Key(KEY))
    assert signed.params["sign_type"] == "" and signed.sign == md5_sign(ORDER, KEY)


def test_blank_values_follow_the_server_variant_asked_for():
    params = {**ORDER, "param": " "}
    kept = sign_request(params, Md5Key(KEY))
    dropped = sign_request(params, Md5Key(KEY), blanks="drop")
    assert kept.sign == md5_sign(params, KEY) and "param= " in kept.canonical
    assert dropped.sign == md5_sign(params, KEY, blanks="drop") and dropped.canonical == CANONICAL


def test_an_rsa_request_gets_a_timestamp_when_a_clock_is_given(merchant):
    private, public = merchant
    signed = sign_request(ORDER, RsaKeys(private=private), now=1_764_000_000)
    assert list(signed.params) == [*ORDER, "timestamp", "sign", "sign_type"]
    assert signed.params["timestamp"] == "1764000000"
    assert signed.added == ("timestamp", "sign_type")
    assert signed.sign_type is SignType.RSA and signed.params["sign_type"] == "RSA"
    assert signed.signed_string == signed.canonical == CANONICAL.replace(
        "pid=1001", "pid=1001&timestamp=1764000000")
    assert verify(signed.params, RsaKeys(public=public))


def test_an_rsa_request_keeps_its_own_timestamp_and_gets_none_without_a_clock(merchant):
    private, _ = merchant
    own = sign_request({**ORDER, "timestamp": "1"}, RsaKeys(private=private), now=2)
    assert own.params["timestamp"] == "1" and own.added == ("sign_type",)
    without = sign_request(ORDER, RsaKeys(private=private))
    assert "timestamp" not in without.params
    assert without.sign == rsa_sign(ORDER, private)


def test_an_rsa_request_leaves_blank_values_out_whatever_is_asked(merchant):
    private, public = merchant
    signed = sign_request({**ORDER, "param": " "}, RsaKeys(private=private), blanks="keep")
    assert signed.canonical == CANONICAL and signed.signed_string == CANONICAL
    assert verify(signed.params, RsaKeys(public=public))


def test_an_md5_request_gets_no_timestamp():
    assert "timestamp" not in sign_request(ORDER, Md5Key(KEY), now=1_764_000_000).params


def test_how_a_signed_request_is_sent():
    signed = sign_request({"pid": "1", "name": "a b"}, Md5Key(KEY))
    query = f"pid=1&name=a+b&sign={signed.sign}&sign_type=MD5"
    assert signed.query() == query
    assert signed.url("https://g.example/") == f"https://g.example/submit.php?{query}"
    assert signed.url("https://g.example/mapi.php") == f"https://g.example/mapi.php?{query}"


def test_an_rsa_request_goes_to_the_v2_submit_page(merchant):
    private, _ = merchant
    signed = sign_request({"pid": "1"}, RsaKeys(private=private))
    assert signed.url("https://g.example/").startswith("https://g.example/api/pay/submit?pid=1&")


def test_the_json_shape_of_a_signed_request():
    signed = sign_request({"pid": "1"}, Md5Key(KEY))
    document = signed.to_dict()
    assert document == {
        "sign": signed.sign, "sign_type": "MD5", "canonical": "pid=1",
        "signed_string": "pid=189un…UJ8i", "added": ["sign_type"],
        "params": {"pid": "1", "sign": signed.sign, "sign_type": "MD5"},
        "query": f"pid=1&sign={signed.sign}&sign_type=MD5",
    }
    with_url = signed.to_dict("https://g.example/")
    assert with_url["url"] == f"https://g.example/submit.php?{document['query']}"
    assert "url" not in signed.to_dict("")
