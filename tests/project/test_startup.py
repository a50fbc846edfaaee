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
