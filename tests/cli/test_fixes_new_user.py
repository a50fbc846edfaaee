"""What a new user hit (issue 5, "Fixes"), each reproduced as they did it and now answered:
pasted `&amp;`, outputs that cannot be written, keys typed in the wrong place, empty keys, money
the gateway refuses, settings that did nothing, pipes as files, control characters, and the
smaller rough edges. Output conditions run as real processes."""

from __future__ import annotations

import json
import os
import subprocess
import threading

import pytest
from conftest import epay_executable, load_vectors

CASE = load_vectors("v1-md5")["cases"][1]  # notify-float-money: pid 1001, money 1
KEY = CASE["key"]
NOTIFY = CASE["query"] + "&sign=" + CASE["sign"]
V2 = load_vectors("v2-rsa")


def one_error_line(result) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("epay: error: ") and " — " in lines[0], lines[0]
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    return lines[0]


@pytest.fixture
def process_env(isolated_env):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EPAY_", "PYTHONIOENCODING"))}
    return {**env, "HOME": str(isolated_env), "LC_ALL": "C.UTF-8"}


def run_epay(args, env, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([epay_executable(), *args], capture_output=True, env=env, timeout=60,
                          **kwargs)


# ---- `&amp;` separators --------------------------------------------------------------------


def test_amp_separated_callback_is_recognised_said_and_verified(cli):
    escaped = NOTIFY.replace("&", "&amp;")
    result = cli("verify", "--key", KEY, escaped)
    assert (result.code, result.stdout) == (0, "valid\n")
    assert "'&amp;'" in result.stderr and "HTML-escaped" in result.stderr


def test_amp_separated_callback_is_judged_on_what_it_decodes_to(cli):
    tampered = NOTIFY.replace("money=1", "money=2").replace("&", "&amp;")
    result = cli("verify", "--key", KEY, "--json", tampered)
    assert result.code == 3
    document = json.loads(result.stdout)
    assert document["params"]["money"] == "2" and "amp;money" not in document["params"]
    assert document["verdict"] == "bad_signature"


def test_a_mix_of_amp_and_ampersand_is_the_notify_url_quirk_not_unescaped(cli):
    quirk = "a=1&amp;b=2&" + NOTIFY
    result = cli("verify", "--key", KEY, "--json", quirk)
    document = json.loads(result.stdout)
    assert "amp;b" in document["params"]
    assert document["diagnosis"]["mistake"] == "notify_url_query"


def test_sign_from_a_file_with_amp_separators(cli, tmp_path):
    pasted = tmp_path / "request.txt"
    pasted.write_text("pid=1001&amp;money=1.00&amp;name=VIP")
    direct = cli("sign", "pid=1001", "money=1.00", "name=VIP", "--key", KEY)
    result = cli("sign", "--from", str(pasted), "--key", KEY)
    assert result.stdout == direct.stdout and "&amp;" in result.stderr


# ---- outputs that cannot be written (real processes) ---------------------------------------


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full here")
def test_a_full_disk_is_one_line_and_exit_1(process_env):
    with open("/dev/full", "wb") as full:
        done = subprocess.run([epay_executable(), "sign", "pid=1", "--key", KEY], stdout=full,
                              stderr=subprocess.PIPE, env=process_env, timeout=60)
    err = done.stderr.decode()
    assert done.returncode == 1, err
    assert err.count("\n") == 1 and "no space left" in err
    assert "internal error" not in err and "Traceback" not in err and "Exception" not in err


@pytest.mark.parametrize("args", [["sign", "pid=1", "--key", KEY, "--explain"], ["sign", "--help"]])
def test_a_closed_pipe_is_one_line_and_exit_1(process_env, args):
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before epay writes
    try:
        done = subprocess.run([epay_executable(), *args], stdout=write_end,
                              stderr=subprocess.PIPE, env=process_env, timeout=60)
    finally:
        os.close(write_end)
    err = done.stderr.decode()
    assert done.returncode == 1, err
    assert err.count("\n") == 1 and "closed" in err, err
    assert "internal error" not in err and "Traceback" not in err and "Exception" not in err


def test_an_ascii_terminal_gets_one_line_not_a_bug_report(process_env):
    done = run_epay(["sign", "pid=1001", "name=会员", "--key", KEY, "--explain"],
                    {**process_env, "PYTHONIOENCODING": "ascii"})
    err = done.stderr.decode("ascii")  # the error itself is ASCII
    assert done.returncode == 1, err
    assert err.count("\n") == 1 and "encoding" in err and "UTF-8" in err
    assert "internal error" not in err and "bug" not in err


@pytest.mark.parametrize("args", [["sign", "--help"], ["--help"], ["profile", "add", "--help"]])
def test_help_on_an_ascii_terminal_is_shown_not_a_bug_report(process_env, args):
    done = run_epay(args, {**process_env, "PYTHONIOENCODING": "ascii"})
    err = done.stderr.decode("utf-8", "replace")
    assert done.returncode == 0, err
    assert done.stdout.startswith(b"Usage: epay") and "internal error" not in err


def test_a_utf8_terminal_still_gets_chinese(process_env):
    done = run_epay(["sign", "pid=1001", "name=会员", "--key", KEY, "--explain"], process_env)
    assert done.returncode == 0 and "会员" in done.stdout.decode()


# ---- key-shaped arguments never echoed ----------------------------------------------------


@pytest.mark.parametrize("args", [
    ("sign", "pid=1", KEY),
    ("verify", NOTIFY, KEY),
    ("sign", "pid=1", "--now", KEY),
    ("sign", "pid=1", "--key", KEY, "--blanks", KEY),
    ("verify", "--amount", KEY, "--key", KEY, NOTIFY),
])
def test_a_key_typed_in_the_wrong_place_is_masked(cli, args):
    result = cli(*args)
    assert result.code == 2
    line = one_error_line(result)
    assert KEY not in result.stdout + result.stderr
    assert "89un…UJ8i" in line or "…" in line


def test_the_given_key_is_masked_inside_any_error(cli, tmp_path):
    odd = "short-but-secret-key"  # not key-shaped, but given as --key: still never echoed
    result = cli("sign", f"name={odd}", odd, "--key", odd)
    assert result.code == 2 and odd not in result.stderr


# ---- empty keys are errors -----------------------------------------------------------------


@pytest.mark.parametrize("args", [("--key", ""), ("--key", "   "), ("-k", "\t")])
def test_an_empty_key_flag_is_a_config_error_not_a_fallback(cli, args):
    result = cli("sign", "pid=1", *args)
    assert result.code == 6 and result.stdout == ""
    assert "is empty" in one_error_line(result)


def test_an_empty_private_key_flag_is_a_config_error(cli):
    result = cli("sign", "pid=1", "--private-key", "")
    assert result.code == 6 and "--private-key is empty" in one_error_line(result)


@pytest.mark.parametrize("variable", ["EPAY_KEY", "EPAY_PRIVATE_KEY", "EPAY_PUBLIC_KEY"])
def test_a_key_variable_set_but_empty_is_a_config_error(cli, monkeypatch, variable):
    monkeypatch.setenv(variable, "")
    result = cli("sign", "pid=1")
    assert result.code == 6 and f"{variable} is set but empty" in one_error_line(result)
    verify = cli("verify", NOTIFY)
    assert verify.code == 6


def test_key_and_private_key_together_say_which_signed(cli, tmp_path):
    pem = tmp_path / "merchant.pem"
    pem.write_text(V2["merchant_private_key_pem"])
    md5 = cli("sign", "pid=1", "--key", KEY, "--private-key", str(pem))
    assert md5.code == 0 and "signed MD5 with --key" in md5.stderr
    rsa = cli("sign", "pid=1", "sign_type=RSA", "--key", KEY, "--private-key", str(pem),
              "--now", "1700000000", "--json")
    assert rsa.code == 0 and json.loads(rsa.stdout)["sign_type"] == "RSA"
    assert "signed RSA with the private key" in rsa.stderr


# ---- money on sign, and verify's exact words -----------------------------------------------


@pytest.mark.parametrize(("money", "words"), [
    ("-1", "money '-1' is negative"),
    ("1e9", "money '1e9' is in exponent notation"),
    ("abc", "money 'abc' is not a number"),
    ("NaN", "money 'NaN' is not a number"),
    ("0", "is zero"),
    ("1.999", "stores it as 2.00"),
    ("0.001", "a zero-yuan order"),
    ("1,00", "uses a comma"),
])
def test_sign_warns_about_money_the_gateway_refuses_and_strict_refuses(cli, money, words):
    warned = cli("sign", "pid=1", f"money={money}", "--key", KEY)
    assert warned.code == 0 and len(warned.stdout.strip()) == 32
    assert words in warned.stderr and "--strict" in warned.stderr
    refused = cli("sign", "pid=1", f"money={money}", "--key", KEY, "--strict")
    assert refused.code == 2 and refused.stdout == ""
    assert words in one_error_line(refused)


@pytest.mark.parametrize("money", ["1.00", "1", "0.01", "1.", ".5", "01.00"])
def test_money_the_gateway_accepts_signs_without_a_word(cli, money):
    result = cli("sign", "pid=1", f"money={money}", "--key", KEY, "--strict")
    assert result.code == 0 and "money" not in result.stderr


@pytest.mark.parametrize(("money", "words"), [
    ("-1", "✗ money '-1' is negative"),
    ("1e9", "✗ money '1e9' is in exponent notation, not plain digits"),
    ("abc", "✗ money 'abc' is not a number"),
    ("NaN", "✗ money 'NaN' is not a number"),
])
def test_verify_words_bad_money_exactly(cli, money, words):
    from epaycli.core.params import format_query, parse_query
    from epaycli.core.signing import md5_sign

    params = {k: v for k, v in parse_query(CASE["query"]).items() if k not in ("sign", "sign_type")}
    params["money"] = money
    query = format_query({**params, "sign": md5_sign(params, KEY), "sign_type": "MD5"})
    result = cli("verify", "--key", KEY, "--amount", "1", query)
    assert result.code == 3
    assert words in result.stderr.splitlines()
    assert "rejected: the sign is genuine" in result.stderr


# ---- settings that did nothing ---------------------------------------------------------------


def test_epay_gateway_is_the_base_of_the_json_url(cli, monkeypatch):
    monkeypatch.setenv("EPAY_GATEWAY", "https://pay.example.com")
    document = json.loads(cli("sign", "pid=1", "--key", KEY, "--json").stdout)
    assert document["url"].startswith("https://pay.example.com/submit.php?pid=1&")
    given = json.loads(cli("sign", "pid=1", "--key", KEY, "--json", "--url",
                           "https://other.example/").stdout)
    assert given["url"].startswith("https://other.example/submit.php?")


def test_the_profile_gateway_and_request_defaults_are_used(cli):
    cli("profile", "add", "shop", "--gateway", "https://pay.example.com", "--pid", "1001",
        "--key", KEY, "--type", "wxpay", "--notify-url", "https://shop.example.com/notify",
        "--return-url", "https://shop.example.com/return")
    result = cli("sign", "pid=1001", "out_trade_no=A1", "money=1.00", "--json")
    document = json.loads(result.stdout)
    assert document["params"]["type"] == "wxpay"
    assert document["params"]["notify_url"] == "https://shop.example.com/notify"
    assert document["params"]["return_url"] == "https://shop.example.com/return"
    assert "type=wxpay" in document["canonical"]
    assert document["url"].startswith("https://pay.example.com/submit.php?")
    assert "added from profile 'shop': type, notify_url, return_url" in result.stderr
    explicit = json.loads(cli("sign", "pid=1001", "type=alipay", "--json").stdout)
    assert explicit["params"]["type"] == "alipay"  # what is given is never overridden


def test_the_sandbox_adds_no_request_defaults(cli):
    document = json.loads(cli("sign", "pid=1", "--key", KEY, "--json").stdout)
    assert "type" not in document["params"]


@pytest.mark.parametrize(("base", "expected"), [
    ("https://pay.example.com", "https://pay.example.com/submit.php?"),
    ("https://pay.example.com/", "https://pay.example.com/submit.php?"),
    ("https://pay.example.com/epay/", "https://pay.example.com/epay/submit.php?"),
    ("https://pay.example.com/mapi.php", "https://pay.example.com/mapi.php?"),
])
def test_url_without_a_slash_gets_the_submit_page(cli, base, expected):
    result = cli("sign", "pid=1", "--key", KEY, "--url", base)
    assert result.code == 0 and result.stdout.startswith(expected)


@pytest.mark.parametrize("base", ["not a url", "pay.example.com", "ftp://pay.example.com/",
                                  "https://"])
def test_a_url_that_is_not_one_is_refused(cli, base):
    result = cli("sign", "pid=1", "--key", KEY, "--url", base)
    assert result.code == 2 and result.stdout == ""
    assert "not an http(s) URL" in one_error_line(result)


# ---- pipes, FIFOs and files ---------------------------------------------------------------


def test_from_a_process_substitution_pipe(cli):
    read_end, write_end = os.pipe()
    os.write(write_end, b"pid=1001\nmoney=1.00\n")
    os.close(write_end)
    try:
        result = cli("sign", "--from", f"/dev/fd/{read_end}", "--key", KEY)
    finally:
        os.close(read_end)
    direct = cli("sign", "pid=1001", "money=1.00", "--key", KEY)
    assert result.code == 0 and result.stdout == direct.stdout


def test_from_dev_stdin(process_env):
    done = run_epay(["sign", "--from", "/dev/stdin", "--key", KEY], process_env,
                    input=b"pid=1001&money=1.00")
    direct = run_epay(["sign", "pid=1001", "money=1.00", "--key", KEY], process_env)
    assert done.returncode == 0, done.stderr
    assert done.stdout == direct.stdout


def test_from_a_fifo_with_a_writer(cli, tmp_path):
    fifo = tmp_path / "params.fifo"
    os.mkfifo(fifo)

    def write():
        with open(fifo, "wb") as stream:
            stream.write(b"pid=1001&money=1.00")

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    result = cli("sign", "--from", str(fifo), "--key", KEY)
    writer.join(timeout=10)
    assert result.code == 0, result.stderr
    assert result.stdout == cli("sign", "pid=1001", "money=1.00", "--key", KEY).stdout


def test_a_pipe_is_bounded_like_stdin(cli):
    read_end, write_end = os.pipe()

    def flood():
        try:
            while True:
                os.write(write_end, b"a" * 65536)
        except OSError:
            pass

    writer = threading.Thread(target=flood, daemon=True)
    writer.start()
    try:
        result = cli("sign", "--from", f"/dev/fd/{read_end}", "--key", KEY)
    finally:
        os.close(read_end)
        writer.join(timeout=10)
        os.close(write_end)
    assert result.code == 2 and "larger than 1024 KiB" in one_error_line(result)


def test_verify_reads_the_file_its_argument_names(cli, tmp_path):
    callback = tmp_path / "cb.txt"
    callback.write_text(NOTIFY + "\n")
    result = cli("verify", "--key", KEY, str(callback))
    assert (result.code, result.stdout) == (0, "valid\n")


@pytest.mark.parametrize("name", ["cb-that-does-not-exist.txt", "./missing", "/tmp/none/cb"])
def test_verify_of_a_missing_file_says_so(cli, name):
    result = cli("verify", "--key", KEY, name)
    assert result.code == 2 and f"file {name!r} does not exist" in one_error_line(result)


def test_verify_text_without_pairs_is_still_read_as_text(cli):
    result = cli("verify", "--key", KEY, "just some words")
    assert result.code == 2 and "no name=value pairs" in one_error_line(result)


# ---- control characters ----------------------------------------------------------------------


def test_control_characters_are_escaped_in_explain(cli):
    result = cli("sign", "name=a\x1b[31mred\x07b", "--key", KEY, "--explain")
    assert result.code == 0
    assert "\x1b" not in result.stdout and "\x07" not in result.stdout
    assert r"name=a\x1b[31mred\x07b" in result.stdout


def test_control_characters_are_escaped_in_errors_and_verdicts(cli):
    error = cli("sign", "\x1b]0;pwned\x07", "--key", KEY)
    assert error.code == 2 and "\x1b" not in error.stderr and r"\x1b" in error.stderr
    verdict = cli("verify", "--key", KEY, NOTIFY.replace("trade_status=TRADE_SUCCESS",
                                                         "trade_status=%1B%5B2J"))
    assert verdict.code == 3 and "\x1b" not in verdict.stderr
    document = cli("verify", "--key", KEY, "--json", NOTIFY + "&x=%C2%9B")
    assert "\x9b" not in document.stdout and json.loads(document.stdout)["params"]["x"] == "\x9b"


# ---- bad input found by the fuzz ---------------------------------------------------------------


def test_deeply_nested_json_on_stdin_is_bad_input(cli):
    result = cli("verify", "--key", KEY, "-", stdin="[" * 5000)
    assert result.code == 2 and "nested too deeply" in one_error_line(result)


def test_a_profiles_file_nested_800_deep_is_a_config_error(cli, config_file):
    config_file.parent.mkdir(parents=True)
    config_file.write_text("[profiles.a]\nkey = " + "[" * 800 + "]" * 800 + "\n")
    result = cli("profile", "list")
    assert result.code == 6 and "nested too deeply" in one_error_line(result)


@pytest.mark.parametrize("args", [
    ("sign", "pid=1", "--private-key", "~nosuchuser-epay/key.pem"),
    ("sign", "--from", "~nosuchuser-epay/params.txt", "--key", KEY),
])
def test_a_path_under_an_unknown_user_is_bad_input(cli, args):
    result = cli(*args)
    assert result.code in (2, 6) and "no user 'nosuchuser-epay'" in one_error_line(result)


def test_epay_config_under_an_unknown_user_is_a_config_error(cli, monkeypatch):
    monkeypatch.setenv("EPAY_CONFIG", "~nosuchuser-epay/profiles.toml")
    result = cli("profile", "list")
    assert result.code == 6 and "no user" in one_error_line(result)


def test_a_nul_in_a_profile_key_path_is_a_config_error(cli, config_file):
    config_file.parent.mkdir(parents=True)
    config_file.write_text('default = "v2"\n[profiles.v2]\ndialect = "v2"\npid = "1001"\n'
                           'private_key = "/tmp/merchant\\u0000.pem"\n')
    result = cli("sign", "pid=1001")
    assert result.code == 6 and "NUL" in one_error_line(result)


# ---- the smaller list ------------------------------------------------------------------------


def test_debug_is_accepted_after_the_subcommand(cli, monkeypatch):
    assert cli("sign", "pid=1", "--key", KEY, "--debug").code == 0
    import epaycli.cli.sign as sign_module

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(sign_module, "sign_request", broken)
    result = cli("sign", "pid=1", "--key", KEY, "--debug")
    assert result.code == 1 and "Traceback" in result.stderr and "boom" in result.stderr
    quiet = cli("sign", "pid=1", "--key", KEY)
    assert "Traceback" not in quiet.stderr


def test_a_value_after_double_dash_is_not_taken_for_debug(cli):
    result = cli("sign", "--key", KEY, "--", "pid=1", "--debug")
    assert result.code == 2 and "--debug" in result.stderr  # a parameter, not the option


def test_profile_add_usage_and_every_option_is_explained(cli):
    text = cli("profile", "add", "--help").stdout
    assert "{name}" not in text and "{NAME}" not in text and "NAME" in text
    for option in ("--gateway", "--pid", "--key", "--dialect", "--private-key", "--public-key",
                   "--notify-url", "--return-url", "--type", "--default", "--force"):
        line = next(line for line in text.splitlines() if f"{option} " in line)
        words = line.split("│")[1] if "│" in line else line
        assert len(words.split()) >= 3, f"{option} has no help: {line!r}"


# A 512-bit RSA key made for this test (cryptography refuses to generate one this short).
WEAK_PRIVATE_PEM = """\
-----BEGIN PRIVATE KEY-----
MIIBVgIBADANBgkqhkiG9w0BAQEFAASCAUAwggE8AgEAAkEAvWieemVSq6jv+hcS
Vhu0WhUTwOWbjQqf0ZaX03ei1GfuPFqYDMlhqYKYkrpBZ4Rk6NT3uzSMYPMENHEf
4o0HmwIDAQABAkEAqZdbDsxaUUlaVdsCmAcGXQIyRa1QseCpaMgl+TpNmVBIELkS
+t7nqBvquyNGzQEJDeZzr8uO4vz7Fxu0gK1JwQIhAPnGEZwMsCS8zO0PqCTC01d0
awZao48hrZmOWq/DYlcnAiEAwiFUqPz78eQ2jCzE1Q9Qu9xIJtGLchpCUZtX5ZR2
NG0CIQCzvEw/twGp7hKpJHMiwO/EJwo88ExyWxHJRh8MC9VgUQIhAJQv8zsoGn50
cXshNYNaNIuixGT1cdfA2b0HstnqMS0lAiAW445uVCotdiy2xvy8EtdXxfsQOhfh
iXM6/Lz5o5OZzw==
-----END PRIVATE KEY-----
"""


@pytest.fixture
def weak_key(tmp_path):
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_pem_private_key(WEAK_PRIVATE_PEM.encode(), password=None)
    private = tmp_path / "weak.pem"
    private.write_text(WEAK_PRIVATE_PEM)
    public = tmp_path / "weak.pub.pem"
    public.write_bytes(key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return private, public


def test_a_512_bit_rsa_key_is_warned_about(cli, weak_key):
    private, public = weak_key
    signed = cli("sign", "pid=1001", "--private-key", str(private), "--now", "1700000000",
                 "--query")
    assert signed.code == 0 and "only 512 bits" in signed.stderr
    checked = cli("verify", "--public-key", str(public), "--now", "1700000000", signed.stdout)
    assert checked.code == 0 and "only 512 bits" in checked.stderr
    added = cli("profile", "add", "weak", "--gateway", "https://p.example/", "--pid", "1001",
                "--dialect", "v2", "--private-key", str(private))
    assert added.code == 0 and "only 512 bits" in added.stderr


def test_a_2048_bit_key_gets_no_warning(cli, tmp_path):
    pem = tmp_path / "merchant.pem"
    pem.write_text(V2["merchant_private_key_pem"])
    result = cli("sign", "pid=1001", "--private-key", str(pem), "--now", "1700000000")
    assert result.code == 0 and "bits" not in result.stderr


def test_a_user_profile_named_sandbox_shadowing_the_builtin_is_said(cli):
    added = cli("profile", "add", "sandbox", "--gateway", "https://p.example/", "--pid", "1001",
                "--key", KEY)
    assert added.code == 0 and "replaces the built-in sandbox" in added.stderr
    used = cli("sign", "pid=1001", "--profile", "sandbox")
    assert used.code == 0 and "not the built-in sandbox" in used.stderr
    assert used.stdout.strip() == cli("sign", "pid=1001", "--key", KEY).stdout.strip()


def test_asking_for_the_sandbox_is_not_called_no_profile_configured(cli):
    asked = cli("sign", "pid=1", "--profile", "sandbox")
    assert asked.code == 0 and "--profile sandbox" in asked.stderr
    assert "no profile configured" not in asked.stderr
    fallback = cli("sign", "pid=1")
    assert "no profile configured" in fallback.stderr


def test_exit_3_summary_tells_a_bad_sign_from_a_rejected_callback(cli):
    bad_sign = cli("verify", "--key", KEY, NOTIFY.replace("money=1", "money=2"))
    assert bad_sign.code == 3
    assert bad_sign.stderr.splitlines()[0].startswith("bad signature:")
    rejected = cli("verify", "--key", KEY, "--amount", "9.90", NOTIFY)
    assert rejected.code == 3
    assert rejected.stderr.splitlines()[0].startswith("rejected: the sign is genuine")
    assert "amount_mismatch" in rejected.stderr.splitlines()[0]


def test_a_debug_traceback_masks_keys_too(cli):
    result = cli("sign", "pid=1", KEY, "--debug")
    assert result.code == 2 and "Traceback" in result.stderr
    assert KEY not in result.stderr and "89un…UJ8i" in result.stderr


def test_an_epay_gateway_that_is_not_a_url_says_where_it_came_from(cli, monkeypatch):
    monkeypatch.setenv("EPAY_GATEWAY", "not a url")
    result = cli("sign", "pid=1", "--key", KEY, "--json")
    assert result.code == 6 and "EPAY_GATEWAY" in one_error_line(result)
    assert cli("sign", "pid=1", "--key", KEY).code == 0  # only a JSON url needs it
