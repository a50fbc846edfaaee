"""Keys stay secret and signatures are compared in constant time."""

from __future__ import annotations

import hmac
import json

from conftest import load_vectors

from epaycli.core import signing
from epaycli.core.redact import mask

CASE = load_vectors("v1-md5")["cases"][1]
KEY = CASE["key"]
QUERY = CASE["query"] + "&sign=" + CASE["sign"]
V2 = load_vectors("v2-rsa")


def test_signatures_are_compared_with_compare_digest(monkeypatch):
    calls = []
    real = hmac.compare_digest  # signing imports hmac when it first compares (start-up time)

    def spy(a, b):
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    assert signing.md5_verify({**CASE["params"], "sign": CASE["sign"]}, KEY)
    assert calls


def test_mask_shows_only_the_ends():
    assert mask(KEY) == "89un…UJ8i"
    assert mask("short") == "…"
    assert mask("") == ""


def test_no_output_holds_the_key(cli):
    outputs = [
        cli("sign", "--from", "-", "--key", KEY, "--explain", "--json", stdin=CASE["query"]),
        cli("sign", "--from", "-", "--key", KEY, "--explain", stdin=CASE["query"]),
        cli("verify", "--key", KEY, "--json", QUERY.replace("money=1&", "money=2&")),
        cli("verify", "--key", KEY, QUERY.replace("money=1&", "money=2&")),
        cli("profile", "add", "s", "--gateway", "https://p.example/", "--pid", "1001", "--key", KEY),
        cli("profile", "list"),
        cli("profile", "show", "s", "--json"),
    ]
    for result in outputs:
        assert KEY not in result.stdout + result.stderr


def test_key_material_never_appears_in_errors(cli, tmp_path):
    broken = V2["merchant_private_key_pem"].replace("MII", "XXX")
    path = tmp_path / "broken.pem"
    path.write_text(broken)
    result = cli("sign", "a=1", "--private-key", str(path))
    assert result.code == 6
    body = broken.splitlines()[2]
    assert body not in result.stderr
    inline = cli("sign", "a=1", "--private-key", broken)
    assert inline.code == 6 and body not in inline.stderr


def test_inline_private_keys_are_hidden_in_profiles(cli):
    pem = V2["merchant_private_key_pem"]
    result = cli("profile", "add", "v2", "--gateway", "https://p.example/", "--pid", "1",
                 "--dialect", "v2", "--private-key", pem)
    assert result.code == 0, result.stderr
    shown = json.loads(cli("profile", "show", "v2", "--json").stdout)
    assert shown["private_key"] == "(inline key, hidden)"


def test_keys_in_unexpected_forms_are_never_echoed(cli, config_file):
    # A base64 key as PHP's json_encode writes it (with "\/"): not PEM, not plain base64.
    body = "".join(V2["merchant_private_key_pem"].splitlines()[1:-1])
    escaped = body.replace("/", "\\/")
    result = cli("sign", "a=1", "--private-key", escaped)
    assert result.code == 6
    assert escaped[:40] not in result.stderr and "characters" in result.stderr
    config_file.parent.mkdir(parents=True)
    config_file.write_text(f'[profiles.leak]\npid = "1"\nprivate_key = "{escaped}"\n'
                           .replace("\\", "\\\\"))
    for args in (("profile", "show", "leak"), ("profile", "list", "--json")):
        shown = cli(*args)
        assert shown.code == 0 and escaped[:40] not in shown.stdout
