"""The commands end to end through the real error boundary: output contract, profiles and
precedence, and bad input on every entry point."""

from __future__ import annotations

import json
import os
import re
import stat

import pytest
from conftest import load_vectors

V1 = load_vectors("v1-md5")["cases"][0]  # submit-basic
KEY = V1["key"]
V2 = load_vectors("v2-rsa")
NOTIFY_CASE = load_vectors("v1-md5")["cases"][1]  # notify-float-money
NOTIFY_QUERY = NOTIFY_CASE["query"] + "&sign=" + NOTIFY_CASE["sign"]


def one_error_line(result) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("epay: error: ")
    assert " — " in lines[0], "every error says what to do"
    assert "Traceback" not in result.stderr
    return lines[0]


@pytest.fixture
def pem_files(tmp_path):
    files = {}
    for name in ("merchant_private_key_pem", "merchant_public_key_pem",
                 "platform_private_key_pem", "platform_public_key_pem"):
        path = tmp_path / f"{name}.pem"
        path.write_text(V2[name])
        files[name] = str(path)
    return files


# ---- sign -----------------------------------------------------------------------------------


def test_sign_prints_the_sign_alone(cli):
    pairs = [f"{k}={v}" for k, v in V1["params"].items()]
    result = cli("sign", *pairs, "--key", KEY)
    assert (result.code, result.stdout) == (0, V1["sign"] + "\n")


def test_sign_explain_masks_the_key(cli):
    result = cli("sign", "--from", "-", "--key", KEY, "--explain", stdin=V1["query"])
    assert result.code == 0
    assert V1["canonical"] in result.stdout
    assert "89un…UJ8i" in result.stdout
    assert KEY not in result.stdout + result.stderr


def test_sign_query_and_url(cli):
    result = cli("sign", "--from", "-", "--key", KEY, "--query", "--url",
                 "https://pay.example.com/", stdin=V1["query"])
    query, url = result.stdout.splitlines()
    assert query.endswith(f"&sign={V1['sign']}&sign_type=MD5")
    assert url == f"https://pay.example.com/submit.php?{query}"
    endpoint = cli("sign", "a=1", "--key", KEY, "--url", "https://pay.example.com/mapi.php")
    assert endpoint.stdout.startswith("https://pay.example.com/mapi.php?a=1&sign=")


def test_sign_from_a_file_plus_arguments(cli, tmp_path):
    source = tmp_path / "order.json"
    source.write_text(json.dumps({k: v for k, v in V1["params"].items() if k != "money"}))
    result = cli("sign", "--from", str(source), "money=1.00", "--key", KEY)
    assert result.stdout == V1["sign"] + "\n"


def test_sign_json_has_everything(cli):
    result = cli("sign", "--from", "-", "--key", KEY, "--json", "--url", "https://p.example/",
                 stdin=V1["query"])
    document = json.loads(result.stdout)
    assert document["sign"] == V1["sign"]
    assert document["sign_type"] == "MD5"
    assert document["params"]["sign"] == V1["sign"]
    assert document["url"].startswith("https://p.example/submit.php?")
    assert document["signed_string"].endswith("89un…UJ8i")


def test_sign_rsa_adds_a_timestamp(cli, pem_files):
    result = cli("sign", "pid=1001", "out_trade_no=A", "--private-key",
                 pem_files["merchant_private_key_pem"], "--now", "1732600000", "--json")
    document = json.loads(result.stdout)
    assert document["sign_type"] == "RSA"
    assert document["params"]["timestamp"] == "1732600000"
    assert set(document["added"]) == {"timestamp", "sign_type"}
    checked = cli("verify", "--public-key", pem_files["merchant_public_key_pem"], "--now",
                  "1732600000", document["query"])
    assert checked.code == 0, checked.stderr


def test_sign_replaces_an_old_sign(cli):
    result = cli("sign", "--from", "-", "--key", KEY, stdin=V1["query"] + "&sign=0000")
    assert result.stdout == V1["sign"] + "\n"


def test_sign_warns_about_alipay_names_and_names_epays(cli):
    # issue 14 "Also": tutorials quote Alipay's names; epay signed them silently
    args = ("sign", "--key", KEY, "service=create_direct_pay_by_user", "partner=1001",
            "total_fee=1.00", "subject=VIP", "out_trade_no=A1")
    result = cli(*args)
    assert result.code == 0 and re.fullmatch(r"[0-9a-f]{32}\n", result.stdout)
    assert "Alipay-style names" in result.stderr
    for said in ("partner (Epay: pid)", "total_fee (Epay: money)", "subject (Epay: name)",
                 "service (Epay has no such field)", "no pid"):
        assert said in result.stderr, said
    strict = cli(*args, "--strict")
    assert (strict.code, strict.stdout) == (2, "")
    assert "total_fee (Epay: money)" in one_error_line(strict)


def test_sign_strict_refuses_a_request_without_pid_and_takes_an_epay_one(cli):
    assert cli("sign", "--key", KEY, "--strict", "money=1.00", "name=VIP").code == 2
    fine = cli("sign", "--key", KEY, "--strict", "pid=1001", "money=1.00", "name=VIP",
               "body=a note")
    assert fine.code == 0 and "warning" not in fine.stderr


# ---- verify ---------------------------------------------------------------------------------


def test_verify_reads_stdin(cli):
    result = cli("verify", "--key", KEY, stdin=NOTIFY_QUERY)
    assert (result.code, result.stdout) == (0, "valid\n")
    dash = cli("verify", "-", "--key", KEY, stdin=NOTIFY_QUERY)
    assert dash.code == 0


def test_verify_says_why_on_stderr(cli):
    broken = NOTIFY_QUERY.replace("money=1&", "money=1.00&")
    result = cli("verify", "--key", KEY, broken)
    assert (result.code, result.stdout) == (3, "invalid\n")
    assert "money" in result.stderr and "fix:" in result.stderr


def test_verify_amount(cli):
    assert cli("verify", "--key", KEY, "--amount", "1.00", NOTIFY_QUERY).code == 0
    tampered = cli("verify", "--key", KEY, "--amount", "9.90", NOTIFY_QUERY)
    assert tampered.code == 3
    assert "tampered" in tampered.stderr


def test_verify_uses_the_profile_and_checks_its_pid(cli):
    assert cli("profile", "add", "shop", "--gateway", "https://pay.example.com", "--pid", "1001",
               "--key", KEY).code == 0
    assert cli("verify", NOTIFY_QUERY).code == 0
    other = cli("profile", "add", "other", "--gateway", "https://pay.example.com", "--pid", "2002",
                "--key", KEY)
    assert other.code == 0
    result = cli("verify", "--profile", "other", "--json", NOTIFY_QUERY)
    assert result.code == 3
    assert [p["code"] for p in json.loads(result.stdout)["problems"]] == ["pid_mismatch"]


def test_verify_reads_the_callback_url_inside_the_admin_pages_resend_answer(cli):
    # issue 14.9: the admin page's 重新通知 answer, as pasted; it said "no sign parameter"
    url = "http:\\/\\/shop.example\\/notify.php?" + NOTIFY_QUERY
    answer = '{"code":0,"url":"' + url + '"}'
    result = cli("verify", "--key", KEY, answer)
    assert (result.code, result.stdout) == (0, "valid\n"), result.stderr
    assert "carries a callback URL" in result.stderr
    tampered = cli("verify", "--key", KEY, answer.replace("money=1&", "money=2&"))
    assert (tampered.code, tampered.stdout) == (3, "invalid\n")
    document = json.loads(cli("verify", "--key", KEY, "--json", answer).stdout)
    assert document["params"]["out_trade_no"] == NOTIFY_CASE["params"]["out_trade_no"]


def test_verify_without_any_key_says_it_used_the_sandbox(cli):
    result = cli("verify", NOTIFY_QUERY)
    assert result.code == 3
    assert "sandbox" in result.stderr


def test_verify_rsa_needs_a_public_key(cli):
    notify = V2["platform_signed"][0]
    query = notify["query"] + "&sign=" + notify["rsa_sign"].replace("+", "%2B").replace("/", "%2F")
    result = cli("verify", query)
    assert result.code == 6
    one_error_line(result)


# ---- profiles and precedence ----------------------------------------------------------------


def test_profile_file_is_private_and_keys_are_masked(cli, config_file):
    result = cli("profile", "add", "shop", "--gateway", "https://pay.example.com", "--pid", "1001",
                 "--key", KEY, "--notify-url", "https://shop.example.com/n")
    assert result.code == 0, result.stderr
    assert stat.S_IMODE(os.stat(config_file).st_mode) == 0o600
    text = config_file.read_text()
    assert 'gateway = "https://pay.example.com/"' in text  # base URL normalised to end in '/'
    for args in (("profile", "list"), ("profile", "list", "--json"), ("profile", "show"),
                 ("profile", "show", "shop", "--json")):
        shown = cli(*args)
        assert shown.code == 0
        assert KEY not in shown.stdout + shown.stderr
        assert "89un…UJ8i" in shown.stdout
    revealed = cli("profile", "show", "shop", "--reveal")
    assert KEY in revealed.stdout


def test_profile_lifecycle(cli, config_file):
    assert cli("profile", "path").stdout.strip() == str(config_file)
    assert cli("profile", "list").stdout == ""
    for name in ("a", "b"):
        assert cli("profile", "add", name, "--gateway", "http://127.0.0.1:9/", "--pid", "1",
                   "--key", KEY).code == 0
    listing = json.loads(cli("profile", "list", "--json").stdout)
    assert listing["default"] == "a"
    assert cli("profile", "use", "b").code == 0
    assert json.loads(cli("profile", "show", "--json").stdout)["name"] == "b"
    assert cli("profile", "add", "a", "--gateway", "http://x/", "--pid", "1", "--key", KEY).code == 2
    assert cli("profile", "add", "a", "--gateway", "http://x/", "--pid", "7", "--key", KEY,
               "--force").code == 0
    assert json.loads(cli("profile", "show", "a", "--json").stdout)["pid"] == "7"
    removed = cli("profile", "remove", "b")
    assert removed.code == 0 and "no default" in removed.stderr
    left = json.loads(cli("profile", "list", "--json").stdout)
    assert [p["name"] for p in left["profiles"]] == ["a"] and left["default"] is None
    assert cli("profile", "remove", "nope").code == 6


def test_v2_profile_keys_are_checked_when_added(cli, pem_files):
    result = cli("profile", "add", "v2", "--gateway", "https://p.example/", "--pid", "1001",
                 "--dialect", "v2", "--private-key", pem_files["merchant_private_key_pem"],
                 "--public-key", pem_files["platform_public_key_pem"])
    assert result.code == 0, result.stderr
    notify = V2["platform_signed"][0]
    signed = {**notify["params"], "sign": notify["rsa_sign"]}
    assert cli("verify", "--profile", "v2", "--now", signed["timestamp"],
               json.dumps(signed)).code == 0
    request = V2["requests"][1]
    assert cli("sign", "--profile", "v2", "--from", "-", stdin=request["query"]).stdout == \
        request["rsa_sign"] + "\n"
    bad = cli("profile", "add", "v2bad", "--gateway", "https://p.example/", "--pid", "1001",
              "--dialect", "v2", "--private-key", pem_files["platform_public_key_pem"])
    assert bad.code == 6
    one_error_line(bad)


def test_precedence_flag_over_env_over_profile_over_sandbox(cli, monkeypatch):
    wrong = "W" * 32
    # built-in sandbox key: not the merchant's, so invalid
    assert cli("verify", NOTIFY_QUERY).code == 3
    cli("profile", "add", "shop", "--gateway", "https://p.example/", "--pid", "1001", "--key", wrong)
    assert cli("verify", NOTIFY_QUERY).code == 3  # the profile's (wrong) key
    monkeypatch.setenv("EPAY_KEY", KEY)
    assert cli("verify", NOTIFY_QUERY).code == 0  # environment beats the profile
    assert cli("verify", "--key", wrong, NOTIFY_QUERY).code == 3  # the flag beats the environment
    monkeypatch.setenv("EPAY_PID", "2002")
    assert cli("verify", NOTIFY_QUERY).code == 3  # EPAY_PID is the merchant id to hold it to
    assert cli("verify", "--pid", "1001", NOTIFY_QUERY).code == 0


def test_epay_profile_selects_a_profile(cli, monkeypatch):
    cli("profile", "add", "good", "--gateway", "https://p.example/", "--pid", "1001", "--key", KEY)
    cli("profile", "add", "bad", "--gateway", "https://p.example/", "--pid", "1001",
        "--key", "W" * 32, "--default")
    assert cli("verify", NOTIFY_QUERY).code == 3
    monkeypatch.setenv("EPAY_PROFILE", "good")
    assert cli("verify", NOTIFY_QUERY).code == 0
    monkeypatch.setenv("EPAY_PROFILE", "missing")
    result = cli("verify", NOTIFY_QUERY)
    assert result.code == 6
    assert "missing" in one_error_line(result)


def test_epay_config_moves_the_file(cli, tmp_path, monkeypatch):
    moved = tmp_path / "elsewhere" / "p.toml"
    monkeypatch.setenv("EPAY_CONFIG", str(moved))
    cli("profile", "add", "x", "--gateway", "https://p.example/", "--pid", "1", "--key", KEY)
    assert moved.exists()
    assert cli("profile", "path").stdout.strip() == str(moved)


# ---- bad input on every entry point ---------------------------------------------------------

BAD_INPUT = [
    # (arguments, stdin, exit code, words the one-line error must contain)
    (("verify", "--key", KEY, ""), None, 2, "empty"),
    (("verify", "--key", KEY), None, 2, "no input"),
    (("verify", "--key", KEY, "-"), "", 2, "empty"),
    (("verify", "--key", KEY, "garbage"), None, 2, "no name=value"),
    (("verify", "--key", KEY, "https://shop.example.com/notify.php"), None, 2, "no query string"),
    (("verify", "--key", KEY, "pid=1&pid=2"), None, 2, "more than once"),
    (("verify", "--key", KEY, "-"), b"pid=1&name=\xb5\xe3", 2, "not UTF-8"),
    (("verify", "--key", KEY, "-"), b"pid=%B5%E3", 2, "not UTF-8"),
    (("verify", "--key", KEY, '{"pid": "1"'), None, 2, "JSON"),
    (("verify", "--key", KEY, "--amount", "abc", NOTIFY_QUERY), None, 2, "amount"),
    (("verify", "--key", KEY, "--amount", "-1", NOTIFY_QUERY), None, 2, "amount"),
    (("verify", "--now", "yesterday", NOTIFY_QUERY), None, 2, "now"),
    (("verify", "--public-key", "/nonexistent.pem", "sign_type=RSA&sign=abc"), None, 6,
     "does not exist"),
    (("verify", "--bogus"), None, 2, "No such option"),
    (("sign",), None, 2, "nothing to sign"),
    (("sign", "money"), None, 2, "not name=value"),
    (("sign", "a=1", "a=2", "--key", KEY), None, 2, "more than once"),
    (("sign", "a=1"), None, None, None),  # the sandbox key signs: fine, exit 0
    (("sign", "--from", "/nonexistent.txt", "--key", KEY), None, 2, "does not exist"),
    (("sign", "--from", "/", "--key", KEY), None, 2, "is a folder"),
    (("sign", "--from", "/dev/zero", "--key", KEY), None, 2, "larger than"),
    (("sign", "--from", "-", "--key", KEY), "   ", 2, "empty"),
    (("sign", "--from", "-", "a=1", "--key", KEY), "a=2", 2, "both"),
    (("sign", "a=1", "sign_type=SHA1", "--key", KEY), None, 2, "sign_type"),
    (("sign", "a=1", "sign_type=RSA", "--key", KEY), None, 6, "private key"),
    (("sign", "a=1", "--key", ""), None, 6, "--key is empty"),  # never a silent fallback
    (("sign", "a=1", "--private-key", "/nonexistent.pem"), None, 6, "does not exist"),
    (("sign", "a=1", "--private-key", "not-a-key-at-all"), None, 6, "neither a readable file"),
    (("sign", "a=1", "--private-key", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----"),
     None, 6, "PEM"),
    (("sign", "a=1", "--private-key", "QUJD" * 40), None, 6, "could not be read"),
    (("profile", "add", "shop"), "", 2, "missing"),
    (("profile", "add", "bad name!", "--gateway", "https://p/", "--pid", "1", "--key", KEY),
     None, 2, "name"),
    (("profile", "add", "s", "--gateway", "ftp://p/", "--pid", "1", "--key", KEY), None, 2,
     "gateway"),
    (("profile", "add", "s", "--gateway", "https://p/", "--pid", "abc", "--key", KEY), None, 2,
     "pid"),
    (("profile", "add", "s", "--gateway", "https://p/", "--pid", "1", "--key", KEY,
      "--dialect", "v3"), None, 2, "dialect"),
    (("profile", "add", "s", "--gateway", "https://p/", "--pid", "1", "--key", KEY,
      "--notify-url", "shop.example.com/n"), None, 2, "notify_url"),
    (("profile", "show", "nope"), None, 6, "no profile"),
    (("profile", "use", "nope"), None, 6, "no profile"),
    (("profile", "remove", "sandbox"), None, 2, "built in"),
    (("profile", "frobnicate"), None, 2, "No such command"),
    # Crashes found in review, each now a one-line error:
    (("verify", "--key", KEY, "http://[::1"), None, 2, "malformed"),
    (("profile", "add", "c", "--gateway", "http://[::1/", "--pid", "1", "--key", KEY), None, 2,
     "malformed"),
    (("verify", "--key", KEY, "pid=1001&name=\udcff&sign=x"), None, 2, "not valid UTF-8"),
    (("sign", "name=\udcff", "--key", KEY), None, 2, "not valid UTF-8"),
    (("sign", "name=x", "--key", "\udcff"), None, 2, "--key is not valid UTF-8"),
    (("verify", "--key", KEY, '{"pid": "1", "sign": "abc", "name": "\\ud800"}'), None, 2,
     "not valid UTF-8"),
    (("verify", "--key", KEY, "--amount", "1" * 30, NOTIFY_QUERY), None, 2, "amount"),
    (("verify", "--key", KEY, "pid=1001&money=1&name=a\n&sign=x"), None, 2, "broken over"),
    (("frobnicate",), None, 2, "No such command"),
]


@pytest.mark.parametrize(("args", "stdin", "code", "words"), BAD_INPUT,
                         ids=[" ".join(a)[:60] for a, *_ in BAD_INPUT])
def test_bad_input_gets_one_line_and_its_exit_code(cli, args, stdin, code, words):
    result = cli(*args, stdin=stdin)
    if code is None:
        assert result.code == 0, result.stderr
        return
    assert result.code == code, result.stderr
    assert words in one_error_line(result)


CONFIG_DAMAGE = [
    ('default = "x', "not valid TOML"),
    (b"\xff\xfe", "not UTF-8"),
    ('colour = "red"\n', "unknown top-level"),
    ('profiles = "x"\n', "not a table"),
    ('[profiles.s]\ngateway = "https://p/"\nkye = "x"\n', "unknown fields"),
    ('[profiles.s]\npid = 1.5\n', "not text"),
    ("default = 7\n", "not a profile name"),
]


@pytest.mark.parametrize(("content", "words"), CONFIG_DAMAGE)
@pytest.mark.parametrize("command", [("verify", "--key", KEY, NOTIFY_QUERY), ("sign", "a=1"),
                                     ("profile", "list")])
def test_a_damaged_profiles_file_is_one_line_exit_6(cli, config_file, content, words, command):
    config_file.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, str):
        config_file.write_text(content)
    else:
        config_file.write_bytes(content)
    result = cli(*command)
    assert result.code == 6
    assert words in one_error_line(result)


def test_an_unreadable_profiles_file(cli, config_file):
    if os.geteuid() == 0:
        config_file.parent.mkdir(parents=True)
        config_file.mkdir()  # root reads any file; a folder in its place cannot be read either
    else:
        config_file.parent.mkdir(parents=True)
        config_file.write_text("")
        config_file.chmod(0)
    result = cli("profile", "list")
    assert result.code == 6
    assert re.search("cannot read|is a folder", one_error_line(result))


def test_a_device_or_fifo_as_profiles_file_neither_hangs_nor_fills_memory(cli, tmp_path,
                                                                          monkeypatch):
    monkeypatch.setenv("EPAY_CONFIG", "/dev/zero")
    assert "larger than" in one_error_line(cli("profile", "list"))  # bounded, never endless
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    monkeypatch.setenv("EPAY_CONFIG", str(fifo))
    result = cli("profile", "list")  # no writer: an error after a short wait, never a hang
    assert result.code == 6 and "nothing was written" in one_error_line(result)


def test_a_default_that_names_no_profile_can_be_repaired(cli, config_file):
    config_file.parent.mkdir(parents=True)
    config_file.write_text('default = "gone"\n[profiles.shop]\npid = "1001"\nkey = "%s"\n' % KEY)
    result = cli("verify", NOTIFY_QUERY)
    assert result.code == 6
    assert "default profile 'gone' does not exist" in one_error_line(result)
    assert cli("profile", "list").code == 0
    assert cli("profile", "use", "shop").code == 0
    assert cli("verify", NOTIFY_QUERY).code == 0


def test_the_sandbox_can_be_the_default(cli):
    cli("profile", "add", "shop", "--gateway", "https://p.example/", "--pid", "1001", "--key", KEY)
    assert cli("profile", "use", "sandbox").code == 0
    assert cli("profile", "list").code == 0
    assert json.loads(cli("profile", "show", "--json").stdout)["name"] == "sandbox"
    assert cli("verify", NOTIFY_QUERY).code == 3  # the sandbox key is not this merchant's
    assert cli("profile", "use", "shop").code == 0
    assert cli("verify", NOTIFY_QUERY).code == 0


def test_oversized_input_is_refused(cli):
    result = cli("verify", "--key", KEY, "-", stdin=b"a=" + b"x" * (1024 * 1024 + 10))
    assert result.code == 2
    assert "larger" in one_error_line(result)


def test_whitespace_around_a_key_is_a_copy_mistake_and_ignored(cli, monkeypatch):
    monkeypatch.setenv("EPAY_KEY", f"  {KEY}\n")
    assert cli("verify", NOTIFY_QUERY).code == 0


def test_a_key_not_shaped_like_epays_is_pointed_out(cli):
    result = cli("verify", "--key", KEY[:-1], NOTIFY_QUERY)
    assert result.code == 3
    assert "31 characters" in result.stderr
    assert KEY[:-1] not in result.stderr


# ---- callbacks that read fine but are not genuine: a verdict (exit 3), with the reason ---------

VERDICTS = [
    ("pid=1001&money=1&trade_status=TRADE_SUCCESS", "no sign parameter"),
    ("https://shop.example.com/notify.php?pid=1001&trade_no=2024010112345678901&out_tr",
     "no sign parameter"),
    (NOTIFY_QUERY.replace("sign_type=MD5", "sign_type=SHA256"), "sign_type 'SHA256'"),
    (NOTIFY_QUERY[:-10], "not the 32 hex digits"),
]


@pytest.mark.parametrize(("callback", "reason"), VERDICTS)
def test_not_genuine_callbacks_say_why(cli, callback, reason):
    result = cli("verify", "--key", KEY, callback)
    assert result.code == 3
    assert result.stdout == "invalid\n"
    assert reason in result.stderr
    assert "fix:" in result.stderr and "Traceback" not in result.stderr


def test_bad_public_key_file(cli, tmp_path):
    bad = tmp_path / "platform.pem"
    bad.write_text("-----BEGIN PUBLIC KEY-----\nnot base64 at all\n-----END PUBLIC KEY-----\n")
    query = "pid=1&money=1&sign_type=RSA&sign=" + "QUJD" * 86
    result = cli("verify", "--public-key", str(bad), query)
    assert result.code == 6
    one_error_line(result)
    private_instead = cli("verify", "--public-key", V2["merchant_private_key_pem"], query)
    assert private_instead.code == 6
    assert "private key where a public key" in one_error_line(private_instead)


@pytest.mark.parametrize("callback", [
    NOTIFY_QUERY.replace("money=1&", "money=" + "1" * 30 + "&"),
    NOTIFY_QUERY + "&timestamp=" + "9" * 5000,
])
def test_absurd_values_are_verdicts_not_crashes(cli, callback):
    result = cli("verify", "--key", KEY, "--amount", "1", "--now", "1700000000", callback)
    assert result.code == 3
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    reasons = [line for line in result.stderr.splitlines() if line.startswith("✗")]
    assert reasons and max(len(line) for line in reasons) < 400


def test_a_url_without_its_scheme_is_still_a_url(cli):
    result = cli("verify", "--key", KEY, "shop.example.com/notify.php?" + NOTIFY_QUERY)
    assert result.code == 0, result.stderr
    assert cli("verify", "--key", KEY, "notify.php?" + NOTIFY_QUERY).code == 0


def test_a_raw_request_without_headers(cli):
    result = cli("verify", "--key", KEY, "POST /notify HTTP/1.1\r\n\r\n" + NOTIFY_QUERY)
    assert result.code == 0, result.stderr
    query_without_pid = cli("verify", "--key", KEY,
                            "POST /notify?s=/epay HTTP/1.1\nHost: x\n\n" + NOTIFY_QUERY)
    assert query_without_pid.code == 0, query_without_pid.stderr



# ---- which key signs, and server variants ---------------------------------------------------


def test_the_most_explicit_key_decides_how_to_sign(cli, pem_files, monkeypatch):
    private = pem_files["merchant_private_key_pem"]
    sign_type = lambda *args: json.loads(  # noqa: E731
        cli("sign", "a=1", "--now", "1", "--json", *args).stdout)["sign_type"]
    monkeypatch.setenv("EPAY_KEY", KEY)
    assert sign_type() == "MD5"
    assert sign_type("--private-key", private) == "RSA"  # a flag beats the environment
    monkeypatch.delenv("EPAY_KEY")
    cli("profile", "add", "v2", "--gateway", "https://p.example/", "--pid", "1001",
        "--dialect", "v2", "--private-key", private, "--key", KEY)
    assert sign_type() == "RSA"  # both keys in a v2 profile: its dialect decides
    assert sign_type("--key", KEY) == "MD5"  # a flag beats the profile
    assert sign_type("sign_type=MD5") == "MD5"  # and what the parameters say beats all


def test_whitespace_only_values_follow_the_chosen_server_variant(cli):
    case = next(c for c in load_vectors("v1-md5")["cases"] if c["id"] == "whitespace-value")
    kept = cli("sign", "--from", "-", "--key", case["key"], stdin=case["query"])
    assert kept.stdout == case["sign"] + "\n"
    assert "param: whitespace only" in kept.stderr
    dropped = cli("sign", "--from", "-", "--key", case["key"], "--blanks", "drop",
                  stdin=case["query"])
    assert dropped.stdout == case["sign_trimmed"] + "\n"
    assert cli("sign", "a=1", "--blanks", "maybe").code == 2


@pytest.mark.parametrize(("url", "warning"), [
    ("https://shop.example.com/n?a=1&b=2", "own query string"),
    ("http://127.0.0.1:8000/notify", "cannot reach"),
    ("http://localhost/notify", "cannot reach"),
    ("http://192.168.1.5/notify", "cannot reach"),
    ("https://shop.example.com/" + "n" * 250, "255 characters"),
])
def test_profile_add_warns_about_notify_urls_that_will_fail(cli, url, warning):
    result = cli("profile", "add", "s", "--gateway", "https://p.example/", "--pid", "1",
                 "--key", KEY, "--notify-url", url)
    assert result.code == 0
    assert warning in result.stderr


def test_profile_path_json(cli, config_file):
    document = json.loads(cli("profile", "path", "--json").stdout)
    assert document == {"path": str(config_file), "exists": False}


def test_verify_json_never_echoes_a_key_parameter(cli):
    result = cli("verify", "--key", KEY, "--json", NOTIFY_QUERY + "&key=" + KEY)
    assert KEY not in result.stdout
    assert json.loads(result.stdout)["params"]["key"] == "89un…UJ8i"


def test_verify_text_never_echoes_a_key_parameter(cli):
    result = cli("verify", "--key", KEY, NOTIFY_QUERY + "&key=" + KEY)
    assert result.code == 3
    assert KEY not in result.stdout + result.stderr
