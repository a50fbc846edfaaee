"""`epay doctor request`: each lint rule, through the command line (offline: nothing resolved
or sent), with the outcome's code and the check it belongs to."""

from __future__ import annotations

import json

import pytest
import tomlkit

from epaycli.core.errors import ExitCode
from epaycli.core.request import sign_request
from epaycli.core.signing import Md5Key

KEY = "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6"
GOOD = {"pid": "1001", "out_trade_no": "20261206-0001", "notify_url": "https://shop.example.com/n",
        "return_url": "https://shop.example.com/r", "name": "VIP", "money": "9.90",
        "type": "alipay"}


def pairs(params: dict) -> list[str]:
    return [f"{k}={v}" for k, v in params.items()]


@pytest.fixture
def lint(cli):
    def run(params: dict, *args: str):
        result = cli("doctor", "request", *pairs(params), "--offline", "--json", *args)
        assert result.code in (ExitCode.OK, ExitCode.CHECK_FAILED), result.stderr
        found = json.loads(result.stdout)["checks"]
        return result, {c["code"]: (c["id"], c["status"]) for c in found}

    return run


def test_a_good_request_passes(lint):
    result, found = lint(GOOD)
    assert result.code == ExitCode.OK
    assert {status for _, status in found.values()} == {"ok"}
    assert set(found) == {"request_endpoint_default", "request_fields_ok", "money_ok",
                          "out_trade_no_ok", "name_ok", "url_ok", "sign_not_yet"}


@pytest.mark.parametrize(("extra", "args", "code", "endpoint"), [
    ({}, (), "request_endpoint_default", "submit.php"),
    ({"clientip": "1.2.3.4"}, (), "request_endpoint_clientip", "mapi.php"),
    ({"method": "web", "clientip": "1.2.3.4"}, (), "request_endpoint_v2", "api/pay/create"),
    ({"timestamp": "1765000000", "clientip": "1.2.3.4"}, (), "request_endpoint_v2",
     "api/pay/create"),
    ({}, ("--endpoint", "mapi"), "request_endpoint_asked", "mapi.php"),
])
def test_the_endpoint_is_chosen_from_the_fields(cli, extra, args, code, endpoint):
    result = cli("doctor", "request", *pairs({**GOOD, **extra}), "--offline", "--json", *args)
    first = json.loads(result.stdout)["checks"][0]
    assert (first["id"], first["code"]) == ("request.endpoint", code)
    assert endpoint in first["message"]


@pytest.mark.parametrize(("drop", "extra", "args", "missing"), [
    ("return_url", {}, (), "return_url"),
    ("name", {}, (), "name"),
    ("type", {"clientip": "1.2.3.4"}, (), "type"),
    (None, {}, ("--endpoint", "mapi"), "clientip"),
    (None, {"method": "web", "clientip": "1.2.3.4"}, (), "timestamp"),
])
def test_required_fields_of_the_endpoint_are_named(lint, drop, extra, args, missing):
    params = {k: v for k, v in {**GOOD, **extra}.items() if k != drop}
    result, found = lint(params, *args)
    assert result.code == ExitCode.CHECK_FAILED
    assert found["request_field_missing"] == ("request.fields", "fail")
    message = next(c for c in json.loads(result.stdout)["checks"]
                   if c["code"] == "request_field_missing")["message"]
    assert missing in message


def test_an_empty_required_field_counts_as_missing(lint):
    _, found = lint({**GOOD, "name": "  "})
    assert found["request_field_missing"] == ("request.fields", "fail")


def test_alipay_style_names_are_named_with_their_epay_equivalents(cli):
    epay_names = ("pid", "money", "name")
    params = {**{k: v for k, v in GOOD.items() if k not in epay_names}, "partner": "1001",
              "total_fee": "9.90", "subject": "VIP", "body": "x",
              "service": "create_direct_pay_by_user"}
    result = cli("doctor", "request", *pairs(params), "--offline", "--json")
    names = next(c for c in json.loads(result.stdout)["checks"] if c["id"] == "request.names")
    assert names["status"] == "fail" and names["code"] == "request_alipay_names"
    for pair in ("partner → pid", "total_fee → money", "subject → name",
                 "body → — (leave it out)", "service → — (leave it out)"):
        assert pair in names["fix"]


def test_alipay_names_beside_the_epay_ones_are_not_flagged(cli):
    """The rule `epay sign` warns with: a name is borrowed when it stands instead of Epay's."""
    params = {**GOOD, "total_fee": "9.90", "subject": "VIP"}
    result = cli("doctor", "request", *pairs(params), "--offline", "--json")
    assert "request.names" not in [c["id"] for c in json.loads(result.stdout)["checks"]]


def test_wechat_fen_is_named_as_fen(cli):
    params = {**{k: v for k, v in GOOD.items() if k != "money"}, "total_fee": "990",
              "mch_id": "1", "trade_type": "NATIVE"}
    result = cli("doctor", "request", *pairs(params), "--offline", "--json")
    names = next(c for c in json.loads(result.stdout)["checks"] if c["id"] == "request.names")
    assert "total_fee → money (in yuan, not fen)" in names["fix"]


@pytest.mark.parametrize(("money", "args", "code", "status"), [
    ("990", ("--amount-hint", "9.90"), "money_fen", "fail"),
    ("990", (), "money_maybe_fen", "warn"),
    ("99", (), "money_ok", "ok"),
    ("990.00", (), "money_ok", "ok"),
    ("1.999", (), "money_decimals", "fail"),
    ("0", (), "money_zero", "fail"),
    ("0.00", (), "money_zero", "fail"),
    ("-1.00", (), "money_negative", "fail"),
    ("1500.00", (), "money_above_cap", "warn"),
    ("1e2", (), "money_invalid", "fail"),
    ("1,00", (), "money_invalid", "fail"),
    (" 1.00", (), "money_invalid", "fail"),
])
def test_amount_rules(lint, money, args, code, status):
    _, found = lint({**GOOD, "money": money}, *args)
    assert found[code] == ("request.money", status)


def test_the_fen_finding_says_the_yuan_to_send(cli):
    result = cli("doctor", "request", *pairs({**GOOD, "money": "990"}), "--amount-hint", "9.90",
                 "--offline", "--json")
    money = next(c for c in json.loads(result.stdout)["checks"] if c["id"] == "request.money")
    assert "9.90" in money["fix"]


@pytest.mark.parametrize(("number", "code"), [
    ("A#1", "out_trade_no_chars"),
    ("订单1", "out_trade_no_chars"),
    ("A 1", "out_trade_no_chars"),
    ("A" * 151, "out_trade_no_long"),
    ("A-1_2.3|4", "out_trade_no_ok"),
])
def test_out_trade_no_rules(lint, number, code):
    _, found = lint({**GOOD, "out_trade_no": number})
    assert found[code][0] == "request.out_trade_no"


@pytest.mark.parametrize(("name", "code"), [
    ("月" * 65, "name_cut"),
    ("VIP 🎉", "name_four_byte"),
    ("月卡" * 32, "name_ok"),
])
def test_name_rules(lint, name, code):
    _, found = lint({**GOOD, "name": name})
    assert found[code][0] == "request.name"
    assert found[code][1] == ("ok" if code == "name_ok" else "warn")


@pytest.mark.parametrize(("url", "code"), [
    ("https://shop.example.com/n?a=1&b=2", "url_query"),
    ("shop.example.com/n", "url_scheme"),
    ("http://10.0.0.8/n", "url_local"),
])
def test_notify_url_rules_apply_to_the_request(config_file, lint, url, code):
    config_file.parent.mkdir(parents=True)
    config_file.write_text(tomlkit.dumps({"default": "live", "profiles": {"live": {
        "gateway": "https://pay.example.com/", "pid": "1001", "key": KEY}}}))
    _, found = lint({**GOOD, "notify_url": url})
    assert found[code] == ("request.notify_url", "fail")


def signed(params: dict, key: str = KEY) -> dict:
    return sign_request(params, Md5Key(key)).params


def test_a_genuine_sign_passes(lint):
    _, found = lint(signed(GOOD), "--key", KEY)
    assert found["sign_ok"] == ("request.sign", "ok")


def test_a_sign_made_with_a_known_mistake_is_explained_by_the_diagnoser(lint):
    from epaycli.core.canonical import canonical_string
    from epaycli.core.signing import md5_hex

    mistaken = {**GOOD, "sign": md5_hex(canonical_string(GOOD) + "&key=" + KEY),
                "sign_type": "MD5"}
    result, found = lint(mistaken, "--key", KEY)
    assert found["sign_mismatch"] == ("request.sign", "fail")
    sign = next(c for c in json.loads(result.stdout)["checks"] if c["id"] == "request.sign")
    assert "&key=" in sign["message"] and KEY not in result.stdout


def test_a_sign_made_with_another_key_is_named(lint):
    _, found = lint(signed(GOOD, "Z" * 32), "--key", KEY)
    assert found["sign_wrong_key"] == ("request.sign", "fail")


def test_an_rsa_sign_is_checked_with_the_profile_private_key(config_file, lint, tmp_path):
    from test_doctor import private_key_file

    from epaycli.core.signing import RsaKeys

    path = tmp_path / "merchant.pem"
    private = private_key_file(path)
    config_file.parent.mkdir(parents=True)
    config_file.write_text(tomlkit.dumps({"default": "v2", "profiles": {"v2": {
        "gateway": "https://pay.example.com/", "dialect": "v2", "pid": "1001",
        "private_key": str(path)}}}))
    request = {**GOOD, "timestamp": "1765000000", "clientip": "1.2.3.4"}
    genuine = sign_request(request, RsaKeys(private=private)).params
    _, found = lint(genuine)
    assert found["sign_ok"] == ("request.sign", "ok")
    _, found = lint({**genuine, "money": "0.01"})
    assert found["sign_wrong_key"][1] == "fail" or found.get("sign_mismatch", ("", ""))[1] == "fail"


def test_a_sign_without_a_key_to_check_it_is_a_warning(config_file, lint):
    config_file.parent.mkdir(parents=True)
    config_file.write_text(tomlkit.dumps({"default": "bare", "profiles": {"bare": {
        "gateway": "https://pay.example.com/", "pid": "1001"}}}))
    _, found = lint(signed(GOOD))
    assert found["sign_no_key"] == ("request.sign", "warn")
    _, found = lint(signed({**GOOD, "timestamp": "1765000000"}, KEY) | {"sign": "A" * 300,
                                                                      "sign_type": "RSA"})
    assert found["sign_no_rsa_key"] == ("request.sign", "warn")


def test_an_unknown_sign_type_is_named(lint):
    _, found = lint({**GOOD, "sign": "abc", "sign_type": "SHA1"}, "--key", KEY)
    assert found["sign_type_unknown"] == ("request.sign", "fail")


def test_parameters_are_read_from_a_file_or_stdin(cli, tmp_path):
    path = tmp_path / "request.json"
    path.write_text(json.dumps(GOOD))
    from_file = cli("doctor", "request", "--from", str(path), "--offline")
    from_stdin = cli("doctor", "request", "--from", "-", "--offline",
                     stdin="&".join(pairs(GOOD)))
    assert from_file.code == from_stdin.code == ExitCode.OK
    assert from_file.stdout == from_stdin.stdout


@pytest.mark.parametrize("args", [
    (),
    ("--endpoint", "wap", "money=1"),
    ("--from", "missing-request.json"),
    ("money",),
    ("money=1", "--from", "-"),
])
def test_bad_input_is_one_line(cli, args):
    result = cli("doctor", "request", *args, stdin="money=2" if "-" in args else None)
    assert result.code == ExitCode.USAGE, result.stdout + result.stderr
    assert result.stderr.startswith("epay: error: ") and result.stderr.count("\n") == 1


def test_every_text_doctor_shows_is_in_its_one_table_and_every_entry_is_used():
    """A Chinese catalogue is keyed by these ids: each finding's code is an entry of the one
    table, and no entry is left without a use."""
    import ast

    from conftest import ROOT

    from epaycli.doctor.messages import MESSAGES

    package = ROOT / "epaycli"
    constants, codes = set(), set()
    for path in [*(package / "doctor").glob("*.py"), package / "cli" / "doctor.py"]:
        if path.name == "messages.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                constants.add(node.value)
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "finding" \
                    and isinstance(node.args[1], ast.Constant):
                codes.add(node.args[1].value)
    assert codes and codes - set(MESSAGES) == set()
    assert set(MESSAGES) - constants == set()
