"""What `epay sign` loads (issue 16.9): only its own command, and neither the dataclasses
machinery nor OpenSSL's hashlib — each costs start-up time and signing MD5 needs neither.
(How long it takes is measured by bench/coldstart.py, not asserted here.)"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

KEY = "89unJUB8HZ54Hj7x4nUj56HN4nUzUJ8i"
PROBE = """
import sys, json
from epaycli.cli.main import run
code = run(sys.argv[1:])
print(json.dumps({"code": int(code), "modules": sorted(sys.modules)}), file=sys.stderr)
"""
NOT_FOR_SIGN = ("dataclasses", "hashlib", "_hashlib", "hmac", "epaycli.cli.order",
                "epaycli.cli.listen", "epaycli.cli.verify", "epaycli.gateway", "epaycli.listener",
                "epaycli.mock", "epaycli.conformance", "epaycli.state", "sqlite3")


def loaded(args: list[str], home) -> list[str]:
    done = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True,
                          env={"HOME": str(home), "PATH": "/usr/bin:/bin"}, timeout=60)
    report = json.loads(done.stderr.strip().splitlines()[-1])
    assert report["code"] == 0, done.stderr
    return report["modules"]


@pytest.mark.parametrize("args", [
    ["sign", "pid=1001", "money=1.00", "--key", KEY],
    ["sign", "pid=1001", "money=1.00", "--key", KEY, "--json", "--url", "https://pay.example.com"],
])
def test_sign_loads_only_what_signing_md5_needs(args, tmp_path):
    modules = loaded(args, tmp_path)
    assert [m for m in NOT_FOR_SIGN if m in modules] == []
    assert "epaycli.cli.sign" in modules


def test_a_plain_sign_loads_no_module_only_other_runs_need(tmp_path):
    """(issue 16.9) Each module costs start-up time: the endpoints only for a gateway naming a
    page or a JSON url, the CLI's advice only for a failed run, the completions only for the
    shell."""
    modules = loaded(["sign", "pid=1001", "money=1.00", "--key", KEY], tmp_path)
    assert [m for m in ("epaycli.core.endpoints", "epaycli.cli.hints", "epaycli.cli.completion")
            if m in modules] == []


def test_verify_compares_signs_without_loading_openssl(tmp_path):
    """The sign is compared in constant time by hmac's own routine, without importing hmac,
    which loads OpenSSL's hashlib (~7 ms, a third of verify's start beyond typer)."""
    from epaycli.core.signing import constant_time_equal

    query = ("money=1.00&name=VIP&out_trade_no=20240101123456&pid=1001&type=alipay"
             "&sign=54c512132255861dd571ceba04eb0803&sign_type=MD5")
    modules = loaded(["verify", query, "--key", KEY], tmp_path)
    assert "epaycli.cli.verify" in modules
    assert [m for m in ("hmac", "hashlib", "_hashlib") if m in modules] == []
    assert constant_time_equal("名字", "名字") and not constant_time_equal("ab", "ac")
    assert not constant_time_equal("a", "ab") and constant_time_equal("\ud800", "\ud800")


def test_verify_loads_decimal_only_to_compare_an_amount(tmp_path):
    """(issue 16.9) A callback checked by its sign alone needs neither decimal (~2 ms) nor the
    dataclasses machinery; --amount compares money as a Decimal."""
    query = ("money=1.00&name=VIP&out_trade_no=20240101123456&pid=1001&type=alipay"
             "&sign=54c512132255861dd571ceba04eb0803&sign_type=MD5")
    modules = loaded(["verify", query, "--key", KEY], tmp_path)
    assert [m for m in ("decimal", "dataclasses", "epaycli.core.money") if m in modules] == []
    assert "decimal" in loaded(["verify", query, "--key", KEY, "--amount", "1"], tmp_path)


def test_md5_is_the_same_digest_as_hashlibs():
    import hashlib

    from epaycli.core.signing import md5_hex

    for text in ("", "a=1&b=2KEY", "名字=月卡", "x" * 10_000):
        assert md5_hex(text) == hashlib.md5(text.encode("utf-8")).hexdigest()


def test_a_lazy_pattern_matches_as_the_compiled_one_would():
    from epaycli.core.patterns import lazy

    pattern = lazy(r"(a+)(b?)")
    assert pattern.fullmatch("aab").groups() == ("aa", "b")
    assert pattern.fullmatch("aabx") is None
    assert pattern.match("aabx").group() == "aab"
    assert pattern.search("xxab").start() == 2
    assert pattern.sub("-", "ab ab") == "- -"
    assert pattern.sub(lambda found: found.group(1).upper(), "aab") == "AA"
    assert pattern.compiled is pattern.compiled  # compiled once


def test_the_root_help_lists_every_command_without_importing_one(tmp_path):
    """(issue 16.9) `epay --help` (and `epay` alone) names every command and what it does
    without importing the command modules (together they cost twice what typer does)."""
    for args in (["--help"], []):
        modules = loaded(args, tmp_path)
        assert [m for m in modules if m.startswith("epaycli.cli.") and m.rsplit(".", 1)[1]
                in ("sign", "verify", "order", "listen", "monitor", "doctor", "profile")] == []
        # nor what resolving a profile and signing need (reading the profile's lang does not)
        assert [m for m in ("epaycli.profiles.resolve", "epaycli.core.signing",
                            "epaycli.core.params") if m in modules] == []


def test_the_listed_summaries_are_each_commands_own_first_sentence():
    """The list `epay --help` shows from app.LISTED is the one the commands themselves give:
    the same names, in the same order, with the same words, in plain and in rich help."""
    import io

    from typer.main import get_command

    from epaycli.cli import app as cli_app
    from epaycli.env import Environment

    env = Environment(None, None, io.StringIO())
    whole = get_command(cli_app.build_app(["sign"], env, listing=True))
    every = get_command(cli_app.build_app([], env))
    assert every.commands["sign"].params  # (built whole unless asked for the listing)
    listed = {**cli_app.LISTED, **cli_app.LISTED_GROUPS}
    assert list(every.commands) == list(listed) and set(listed) == set(cli_app.COMMANDS)
    assert {name: command.short_help for name, command in every.commands.items()} == listed
    assert list(whole.commands) == ["sign"]  # a command named is the only one built


@pytest.mark.parametrize("terminal", [False, True])
def test_the_root_help_reads_the_same_listed_or_built_whole(terminal, monkeypatch, capsys):
    """Plain help in a pipe, rich help on a terminal: word for word the same either way."""
    import io

    from epaycli.cli import app as cli_app
    from epaycli.cli.main import run
    from epaycli.env import Environment

    class Screen(io.StringIO):
        def isatty(self) -> bool:
            return terminal

    monkeypatch.setenv("COLUMNS", "100")

    def shown() -> str:
        env = Environment(None, Screen(), io.StringIO(), {"TERM": "xterm"})
        assert run(["--help"], env) == 0
        return capsys.readouterr().out

    listed = shown()
    monkeypatch.setattr(cli_app, "_lists_only", lambda *args: False)
    assert shown() == listed and "reconcile" in listed and "doctor" in listed
    assert ("╭" in listed) is terminal  # (rich draws its panels only on a terminal)


GC_PROBE = """
import gc, json, sys
if sys.argv[1] == "off":
    gc.disable()
from epaycli.cli import console
sys.argv[1:] = sys.argv[2:]
try:
    console.main()
except SystemExit as done:
    code = done.code
import typer
scanned = gc.get_objects()
print(json.dumps({"code": code, "collecting": gc.isenabled(), "frozen": gc.get_freeze_count(),
                  "typer_scanned": any(found is typer.__dict__ for found in scanned)}),
      file=sys.stderr)
"""


@pytest.mark.parametrize("collector", ["on", "off"])
def test_what_start_up_loads_is_frozen_out_of_the_collector(collector, tmp_path):
    """(issue 16.9) The console script loads typer and epay with the cyclic collector off and
    then freezes what they made (it lives until exit): no pass over it while loading or at
    exit. The collector is on again for the command itself, unless it was off to begin with."""
    done = subprocess.run([sys.executable, "-c", GC_PROBE, collector, "sign", "pid=1001",
                           "money=1.00", "--key", KEY], capture_output=True, text=True,
                          env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}, timeout=60)
    report = json.loads(done.stderr.strip().splitlines()[-1])
    assert report["code"] == 0 and done.stdout.strip()
    assert report["collecting"] is (collector == "on")
    assert report["frozen"] > 0 and report["typer_scanned"] is False
