"""Parameter names as PHP's request parser files them: the rules (checked against
php-names.json, made by PHP 8.2 with tests/vectors/make/php-names.php), the warning of
``epay sign`` and the verdict of ``epay verify`` on names that collide in PHP."""

from __future__ import annotations

import json
from urllib.parse import unquote_to_bytes

import pytest
from conftest import load_vectors

from epaycli.core.callback import check_callback
from epaycli.core.params import format_query
from epaycli.core.php import (
    PhpName,
    colliding_names,
    name_rewrite_notes,
    php_fields,
    php_name,
    renames_any,
    rewritten_names,
)
from epaycli.core.signing import Keys, Md5Key, md5_sign

NAMES = load_vectors("php-names")
KEY = "89unJUB8HZ54Hj7x4nUj56HN4nUzUJ8i"
NOTIFY = {"pid": "1001", "trade_no": "2024010112345678901", "out_trade_no": "A1",
          "type": "alipay", "name": "VIP", "money": "1.00", "trade_status": "TRADE_SUCCESS"}


def _php_decode(query: str) -> list[tuple[str, str]]:
    """Split and decode as PHP does before it files the names (no validation at all)."""
    pairs = []
    for piece in query.split("&"):
        if piece:
            name, _, value = piece.partition("=")
            pairs.append(tuple(unquote_to_bytes(part.replace("+", " ")).decode("utf-8")
                               for part in (name, value)))
    return pairs


def test_vectors_were_made_by_php_8_2():
    assert NAMES["php"].startswith("8.2")
    assert len(NAMES["cases"]) >= 40


@pytest.mark.parametrize("case", NAMES["cases"], ids=lambda c: c["query"])
def test_php_fields_match_php(case):
    fields = php_fields(_php_decode(case["query"]))
    got = [[name, "array", value] if isinstance(value, list) else [name, "string", value]
           for name, value in fields.items()]
    assert got == case["fields"]


@pytest.mark.parametrize("raw, seen", [
    ("money", PhpName("money", False)),
    ("a.b", PhpName("a_b", False)),
    ("a b", PhpName("a_b", False)),
    ("  a.b", PhpName("a_b", False)),
    ("\ta", PhpName("\ta", False)),  # only spaces are stripped in front
    ("a[]", PhpName("a", True)),
    ("a[x]", PhpName("a", True)),
    ("a[x", PhpName("a_x", False)),
    ("a[x.y z[", PhpName("a_x_y_z_", False)),
    ("a.b[c", PhpName("a_b_c", False)),
    ("a]", PhpName("a]", False)),
    ("[a]", PhpName("", False)),
    ("money\0", PhpName("money", False)),
    ("money\0[]", PhpName("money", False)),
    ("\0money", PhpName("", False)),
    ("   ", PhpName("", False)),
])
def test_php_name(raw, seen):
    assert php_name(raw) == seen


def test_rewritten_and_colliding_names():
    assert rewritten_names(NOTIFY) == []
    assert colliding_names(NOTIFY) == {}
    names = ["money", "a.b", "money[]", "x", "a_b", "c d"]
    assert [raw for raw, _ in rewritten_names(names)] == ["a.b", "money[]", "c d"]
    assert colliding_names(names) == {"money": ["money", "money[]"], "a_b": ["a.b", "a_b"]}
    assert colliding_names(["[x]", "[y]"]) == {}  # dropped names collide with nothing


def test_name_rewrite_notes():
    assert name_rewrite_notes(NOTIFY) == []
    notes = name_rewrite_notes(["a.b", "a_b", "tags[]", "\0x"])
    assert notes[0].startswith("'a.b' arrives in PHP as 'a_b': a PHP gateway signs what it sees")
    assert notes[1].startswith("'tags[]' arrives in PHP as an array 'tags'")
    assert notes[2].startswith("'\\x00x' is dropped by PHP")
    assert notes[3] == "'a.b', 'a_b' are all 'a_b' to PHP: it keeps only the last one"


# ---- epay sign ----------------------------------------------------------------------------------


def test_sign_warns_about_a_name_php_rewrites(cli):
    result = cli("sign", "pid=1001", "a.b=x", "money=1.00", "--key", KEY, "--query")
    assert result.code == 0
    assert "a.b=x" in result.stdout  # signed and sent as given …
    assert "'a.b' arrives in PHP as 'a_b'" in result.stderr  # … with the warning


def test_sign_warns_about_arrays_and_collisions(cli):
    result = cli("sign", "pid=1001", "tags[]=x", "a.b=1", "a_b=2", "--key", KEY)
    assert result.code == 0
    assert "'tags[]' arrives in PHP as an array 'tags'" in result.stderr
    assert "'a.b', 'a_b' are all 'a_b' to PHP" in result.stderr


def test_sign_is_quiet_for_ordinary_names(cli):
    result = cli("sign", *(f"{k}={v}" for k, v in NOTIFY.items()), "--key", KEY)
    assert result.code == 0
    assert "PHP" not in result.stderr


def test_sign_warns_when_php_versions_order_names_differently(cli):
    result = cli("sign", "pid=1001", "10=a", "abc=b", "--key", KEY)
    assert result.code == 0
    assert "'10'" in result.stderr and "PHP 8.0/8.1 ksort order" in result.stderr
    # Before 8.2 an int key is 0 against a word: '10' alone moves too …
    assert "ksort" in cli("sign", "pid=1001", "10=a", "--key", KEY).stderr
    # … but a lone numeric string is compared as text by every version.
    quiet = cli("sign", "pid=1001", "1.5=a", "--key", KEY)
    assert quiet.code == 0 and "ksort" not in quiet.stderr


# ---- epay verify --------------------------------------------------------------------------------


def _genuine_query(params: dict[str, str]) -> str:
    """A query whose sign really covers ``params`` under their raw names."""
    return format_query({**params, "sign": md5_sign(params, KEY), "sign_type": "MD5"})


@pytest.mark.parametrize("shadow", ["money[]", "money\0", " money", "money\0x"])
def test_verify_rejects_a_name_that_collides_with_money_in_php(cli, shadow):
    params = {**NOTIFY, shadow: "0.01"}
    result = cli("verify", "--key", KEY, "--json", stdin=_genuine_query(params))
    assert result.code == 3
    verdict = json.loads(result.stdout)
    assert verdict["signature_valid"] is True  # genuinely signed over the raw names …
    assert verdict["valid"] is False and verdict["verdict"] == "rejected"  # … still not valid
    assert [p["code"] for p in verdict["problems"]] == ["php_names_collide"]
    assert "to a PHP handler" in verdict["reason"] and repr(shadow) in verdict["reason"]
    # The collision is the problem; no second "arrives in PHP as" note repeats it.
    assert not any("arrives in PHP" in note for note in verdict["notes"])


def test_verify_text_output_names_the_collision(cli):
    result = cli("verify", "--key", KEY, stdin=_genuine_query({**NOTIFY, "money[]": "5"}))
    assert (result.code, result.stdout) == (3, "invalid\n")
    assert "✗ 'money', 'money[]' are all 'money' to a PHP handler" in result.stderr


def test_verify_collision_with_a_forged_sign_is_bad_signature():
    params = {**NOTIFY, "money\0": "0.01", "sign": "0" * 32, "sign_type": "MD5"}
    report = check_callback(params, Keys(md5=Md5Key(KEY)))
    assert report.verdict == "bad_signature"
    assert [p.code for p in report.problems] == ["signature_invalid", "php_names_collide"]


def test_verify_true_duplicates_stay_an_input_error(cli):
    result = cli("verify", "--key", KEY, stdin="pid=1001&money=1.00&money=0.01&sign=" + "0" * 32)
    assert result.code == 2
    assert "appears more than once" in result.stderr


def test_verify_a_lone_rewritten_name_is_valid_with_a_note(cli):
    result = cli("verify", "--key", KEY, stdin=_genuine_query({**NOTIFY, "a.b": "x"}))
    assert (result.code, result.stdout) == (0, "valid\n")
    assert "'a.b' arrives in PHP as 'a_b'; a PHP handler would check the sign over that" \
        in result.stderr


def test_check_callback_has_no_php_notes_for_ordinary_callbacks():
    params = {**NOTIFY, "sign": md5_sign(NOTIFY, KEY), "sign_type": "MD5"}
    report = check_callback(params, Keys(md5=Md5Key(KEY)))
    assert report.genuine and report.notes == ()


@pytest.mark.parametrize("names, renamed", [
    (["pid", "trade_no", "money", "sign"], False),
    ([], False),
    (["pid", "a b"], True), (["pid", "a.b"], True), (["pid", "a[]"], True), (["a\0"], True),
])
def test_renames_any_looks_at_every_name_at_once(names, renamed):
    assert renames_any(names) is renamed
    assert bool(rewritten_names(names)) is renamed  # (here each would be filed elsewhere)
