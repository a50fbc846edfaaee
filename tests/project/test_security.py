"""Keys stay secret and signatures are compared in constant time."""

from __future__ import annotations

import json

from conftest import load_vectors

from epaycli.core import signing
from epaycli.core.redact import mask

CASE = load_vectors("v1-md5")["cases"][1]
KEY = CASE["key"]
QUERY = CASE["query"] + "&sign=" + CASE["sign"]
V2 = load_vectors("v2-rsa")


def test_signatures_are_compared_with_compare_digest(monkeypatch):
    import _operator  # hmac.compare_digest's constant-time routine, without loading OpenSSL

    calls = []
    real = _operator._compare_digest

    def spy(a, b):
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(_operator, "_compare_digest", spy)
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


# ---- one masking pass over everything printed (issue 15.3) ---------------------------------

import pytest  # noqa: E402

from epaycli.core.redact import FRAGMENT, scrub_text  # noqa: E402


def runs_of(secret: str, text: str, size: int = FRAGMENT) -> list[str]:
    """Every run of ``size`` characters of ``secret`` that ``text`` holds."""
    return [secret[i:i + size] for i in range(len(secret) - size + 1)
            if secret[i:i + size] in text]


@pytest.fixture
def echoing_gateway(receiver):
    """A gateway on 127.0.0.1 that answers every call with an error quoting the merchant key,
    as a misconfigured or hostile one does."""
    receiver.body = json.dumps({"code": -1, "msg": f"bad {KEY}"})
    return receiver.url.removesuffix("notify")


@pytest.mark.parametrize("given", ["flag", "environment", "profile"])
def test_a_gateway_message_quoting_the_key_is_masked_in_its_hint_too(cli, echoing_gateway,
                                                                    monkeypatch, given):
    # (a): the message was masked, the hint after it quoted 24 of the key's 32 characters
    options = ["--gateway", echoing_gateway, "--pid", "1001"]
    if given == "flag":
        options += ["--key", KEY]
    elif given == "environment":
        monkeypatch.setenv("EPAY_KEY", KEY)
    else:
        assert cli("profile", "add", "shop", *options, "--key", KEY).code == 0
        options = []
    result = cli("order", "query", "A1", *options)
    assert result.code == 4, result.stderr
    assert "epay errors" in result.stderr  # the hint that quoted it is there
    assert runs_of(KEY, result.stdout + result.stderr) == []
    as_json = cli("order", "query", "A1", *options, "--json")
    assert runs_of(KEY, as_json.stdout + as_json.stderr) == []


@pytest.mark.parametrize("paste", [
    QUERY + "&Key=" + KEY,
    QUERY + "&merchant_key=" + KEY,
    QUERY + "&note=the%20key%20is%20" + KEY,
    QUERY.replace("money=1&", "money=2&") + "&MERCHANT_KEY=x" + KEY[:20],
    "&".join(f"{k}={v}" for k, v in sorted(CASE["params"].items())) + KEY,  # a string-to-sign
])
@pytest.mark.parametrize("given", ["flag", "environment", "profile"])
def test_verify_never_prints_the_configured_key_under_any_name(cli, monkeypatch, paste, given):
    # (b): verify masked only a field named exactly 'key'
    options = []
    if given == "flag":
        options = ["--key", KEY]
    elif given == "environment":
        monkeypatch.setenv("EPAY_KEY", KEY)
    else:
        assert cli("profile", "add", "shop", "--gateway", "https://p.example/", "--pid",
                   CASE["params"]["pid"], "--key", KEY).code == 0
    for extra in ([], ["--json"]):
        result = cli("verify", *options, *extra, paste)
        assert result.code in (0, 2, 3), result.stderr
        assert runs_of(KEY, result.stdout + result.stderr) == [], (extra, result.stderr)


def test_a_pasted_key_under_a_secret_name_is_masked_without_any_key_configured(cli):
    other = "Zq7" + KEY[3:]  # not the configured one: the paste's own
    result = cli("verify", "--json", QUERY + "&Merchant_Key=" + other)
    assert runs_of(other, result.stdout + result.stderr) == []


def test_runs_of_a_key_are_masked_but_not_other_text():
    assert scrub_text(f"epay errors 'bad {KEY[:26]}…'", [KEY]) == f"epay errors 'bad {mask(KEY)}…'"
    assert scrub_text(f"x{KEY[5:5 + FRAGMENT]}y", [KEY]) == f"x{mask(KEY)}y"
    short = KEY[5:5 + FRAGMENT - 1]
    assert scrub_text(f"x{short}y", [KEY]) == f"x{short}y"
    path = "/tmp/test_timestamp0/merchant_private_key.pem"  # a --private-key FILE is no key
    assert scrub_text("timestamp", [path]) == "timestamp"


SWEEP = {  # every command that uses a merchant's key and prints what it was given
    "sign": ("sign", "pid=1001", "money=1.00", f"note={KEY}", "--json"),
    "sign --explain": ("sign", "pid=1001", f"name=x{KEY}", "--explain"),
    "verify": ("verify", QUERY + f"&remark={KEY}"),
    "trigger": ("trigger", "notify", "--to", "http://127.0.0.1:9/n", "--order", "A1",
                "--amount", "1.00", "--set", f"extra={KEY}", "--dry-run", "--json"),
    "check": ("check", "notify", "http://127.0.0.1:9/n", "--order", "A1", "--amount", "1.00",
              "--name", KEY, "--dry-run"),
    "order create": ("order", "create", "--amount", "1.00", "--name", KEY[:24], "--type",
                     "alipay", "--out-trade-no", "A1", "--dry-run", "--json"),
}


@pytest.mark.parametrize("args", SWEEP.values(), ids=SWEEP.keys())
def test_sweep_no_command_prints_the_profiles_key(cli, args):
    assert cli("profile", "add", "shop", "--gateway", "http://127.0.0.1:9/", "--pid", "1001",
               "--key", KEY).code == 0
    result = cli(*args)
    assert result.code in (0, 3), result.stderr
    assert runs_of(KEY, result.stdout + result.stderr) == []


def test_every_command_that_takes_a_key_names_its_profile_to_the_output():
    """The output learns a command's configured key from its --profile option
    (cli/runtime.runtime): a command that takes a key but no --profile would print it."""
    import typer.main

    from epaycli.cli.app import build_app
    from epaycli.env import Environment

    def commands(command, path):
        for name, sub in getattr(command, "commands", {}).items():
            yield from commands(sub, [*path, name])
        if not getattr(command, "commands", None):
            yield " ".join(path), {opt for param in command.params for opt in param.opts}

    root = typer.main.get_command(build_app([], Environment.from_process()))
    keyed = {path: opts for path, opts in commands(root, []) if "--key" in opts}
    assert {"sign", "verify", "listen", "order create", "trigger notify"} <= set(keyed)
    assert [p for p, opts in keyed.items() if "--profile" not in opts] == ["profile add"]


def test_a_key_file_path_is_not_masked_as_a_key(tmp_path):
    from epaycli.cli.main import _secrets_in

    path = tmp_path / "merchant_private_key.pem"
    path.write_text("-----BEGIN PRIVATE KEY-----\n")
    given = ["sign", "--private-key", str(path), "--sign-with", KEY, "--platform-key=" + KEY[::-1]]
    # a path would garble every message about its file; a key given inline is a secret
    assert _secrets_in(given, {"NGROK_AUTHTOKEN": "2tok" + KEY}) == ["2tok" + KEY, KEY, KEY[::-1]]


def test_unreadable_settings_are_read_once_not_again_to_learn_secrets(cli, monkeypatch):
    """A profiles file that cannot be read (a FIFO waits 2 s) is not read a second time by the
    masking pass: the error is printed without learning the profile's key."""
    from epaycli.core.errors import ConfigError
    from epaycli.profiles import resolve

    reads = []

    def unreadable(path):
        reads.append(path)
        raise ConfigError("nothing was written to the profiles file within 2 s")

    monkeypatch.setattr(resolve, "load_store", unreadable)
    result = cli("sign", "pid=1001", "money=1.00")
    assert result.code == 6 and len(reads) == 1
