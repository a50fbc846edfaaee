"""Every case of the shared signature vectors, through the library and through the CLI."""

from __future__ import annotations

import json

import pytest
from conftest import SHARED_VECTORS, VECTORS, load_vectors

from epaycli.core.callback import check_callback
from epaycli.core.canonical import canonical_string
from epaycli.core.diagnose import diagnose_md5
from epaycli.core.params import format_query, parse_query, parse_url
from epaycli.core.signing import (
    Keys,
    Md5Key,
    load_private_key,
    load_public_key,
    md5_sign,
    md5_verify,
    rsa_sign,
    rsa_verify,
)

V1 = load_vectors("v1-md5")
V2 = load_vectors("v2-rsa")
DIAGNOSE = load_vectors("diagnose")
REAL = load_vectors("real-notifies")


def ids(cases):
    return [case["id"] for case in cases]


def test_copied_vectors_match_the_shared_ones():
    if not SHARED_VECTORS.is_dir():
        pytest.skip("../shared is not beside this clone; the copies in tests/vectors are used")
    for shared in sorted(SHARED_VECTORS.glob("*.json")):
        assert (VECTORS / shared.name).read_bytes() == shared.read_bytes(), shared.name


# ---- V1 MD5 ---------------------------------------------------------------------------------


@pytest.mark.parametrize("case", V1["cases"], ids=ids(V1["cases"]))
def test_v1_library(case):
    params, key = case["params"], case["key"]
    assert canonical_string(params) == case["canonical"]
    assert md5_sign(params, key) == case["sign"]
    assert md5_verify({**params, "sign": case["sign"]}, key)
    assert format_query(params) == case["query"]
    assert parse_query(case["query"]) == params
    if "sign_trimmed" in case:
        assert canonical_string(params, blanks="drop") == case["canonical_trimmed"]
        assert md5_sign(params, key, blanks="drop") == case["sign_trimmed"]
        assert md5_verify({**params, "sign": case["sign_trimmed"]}, key)


@pytest.mark.parametrize("case", V1["cases"], ids=ids(V1["cases"]))
def test_v1_cli_sign_and_verify(case, cli):
    signed = cli("sign", "--from", "-", "--key", case["key"], stdin=case["query"])
    assert signed.code == 0, signed.stderr
    assert signed.stdout == case["sign"] + "\n"

    explained = cli("sign", "--from", "-", "--key", case["key"], "--json", stdin=case["query"])
    document = json.loads(explained.stdout)
    assert document["canonical"] == case["canonical"]
    assert case["key"] not in explained.stdout

    clock = ["--now", case["params"]["timestamp"]] if "timestamp" in case["params"] else []
    verified = cli("verify", "--key", case["key"], *clock, case["query"] + "&sign=" + case["sign"])
    assert verified.code == 0, verified.stderr
    assert verified.stdout == "valid\n"


# ---- V2 RSA ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def rsa_keys():
    return {
        "merchant_private": load_private_key(V2["merchant_private_key_pem"]),
        "merchant_public": load_public_key(V2["merchant_public_key_pem"]),
        "platform_public": load_public_key(V2["platform_public_key_pem"]),
    }


@pytest.mark.parametrize("case", V2["requests"], ids=ids(V2["requests"]))
def test_v2_requests_library(case, rsa_keys):
    params = case["params"]
    assert canonical_string(params, blanks="drop") == case["canonical_rsa"]
    # PKCS#1 v1.5 is deterministic: byte-identical to PHP's openssl_sign.
    assert rsa_sign(params, rsa_keys["merchant_private"]) == case["rsa_sign"]
    assert rsa_verify({**params, "sign": case["rsa_sign"]}, rsa_keys["merchant_public"])
    assert format_query(params) == case["query"]
    assert parse_query(case["query"]) == params


@pytest.mark.parametrize("case", V2["platform_signed"], ids=ids(V2["platform_signed"]))
def test_v2_platform_signed_library(case, rsa_keys):
    params = {**case["params"], "sign": case["rsa_sign"]}
    assert canonical_string(params, blanks="drop") == case["canonical_rsa"]
    assert rsa_verify(params, rsa_keys["platform_public"])
    assert not rsa_verify(params, rsa_keys["merchant_public"])


@pytest.mark.parametrize("case", V2["requests"], ids=ids(V2["requests"]))
def test_v2_requests_cli_sign(case, cli, tmp_path):
    key_file = tmp_path / "merchant.pem"
    key_file.write_text(V2["merchant_private_key_pem"])
    result = cli("sign", "--from", "-", "--private-key", str(key_file), stdin=case["query"])
    assert result.code == 0, result.stderr
    assert result.stdout == case["rsa_sign"] + "\n"


@pytest.mark.parametrize("case", V2["platform_signed"], ids=ids(V2["platform_signed"]))
def test_v2_platform_signed_cli_verify(case, cli, tmp_path):
    key_file = tmp_path / "platform.pem"
    key_file.write_text(V2["platform_public_key_pem"])
    signed = dict(case["params"], sign=case["rsa_sign"])
    stamp = signed["timestamp"]
    result = cli("verify", "--public-key", str(key_file), "--now", stamp, json.dumps(signed))
    assert result.code == 0, result.stderr
    # The same callback, five minutes and one second later, is outside the ±300 s window.
    late = cli("verify", "--public-key", str(key_file), "--now", str(int(stamp) + 301),
               json.dumps(signed))
    assert late.code == 3
    assert "timestamp" in late.stderr


# ---- Diagnoser ------------------------------------------------------------------------------


@pytest.mark.parametrize("case", DIAGNOSE["cases"], ids=ids(DIAGNOSE["cases"]))
def test_diagnose_library(case):
    received = parse_query(case["query"])
    assert received == case["received"]
    diagnosis = diagnose_md5(received, case["key"])
    assert diagnosis.mistake == case["mistake"]
    report = check_callback(received, Keys(md5=Md5Key(case["key"])))
    assert report.genuine is (case["mistake"] == "none")


@pytest.mark.parametrize("case", DIAGNOSE["cases"], ids=ids(DIAGNOSE["cases"]))
def test_diagnose_cli(case, cli):
    result = cli("verify", "--key", case["key"], "--json", case["query"])
    document = json.loads(result.stdout)
    if case["mistake"] == "none":
        assert result.code == 0
        assert document["valid"] is True
        assert document["diagnosis"] is None
    else:
        assert result.code == 3
        assert document["valid"] is False
        assert document["diagnosis"]["mistake"] == case["mistake"]
        assert document["diagnosis"]["fix"]
    assert case["key"] not in result.stdout + result.stderr


# ---- Notifies captured from a real server -----------------------------------------------------


@pytest.mark.parametrize("case", REAL["cases"], ids=[f"{c['id']}-{i}" for i, c in
                                                    enumerate(REAL["cases"])])
def test_real_notifies(case, cli):
    received = parse_url(case["path"])
    report = check_callback(received, Keys(md5=Md5Key(case["key"])))
    result = cli("verify", "--key", case["key"], "--json", case["path"])
    document = json.loads(result.stdout)
    if case["expect"] == "genuine":
        assert report.genuine
        assert result.code == 0, result.stderr
    else:
        # Not genuine as a whole (the official SDK rejects it too), but the diagnoser names it.
        assert not report.genuine
        assert report.diagnosis.mistake == case["expect"]
        assert result.code == 3
        assert document["diagnosis"]["mistake"] == case["expect"]
