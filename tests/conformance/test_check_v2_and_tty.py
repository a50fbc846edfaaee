"""``epay check notify`` for V2 (RSA notifies signed with the platform key) against a handler
that judges with epay's own check_callback, and the report as a terminal shows it."""

from __future__ import annotations

import io
import json

from conftest import load_vectors
from test_check_support import KEY, PID, example_shop, v2_shop

from epaycli.cli.main import run
from epaycli.core.errors import ExitCode
from epaycli.env import Environment

V2 = load_vectors("v2-rsa")


def test_v2_suite_against_a_v2_handler(cli, tmp_path):
    platform = tmp_path / "platform.pem"
    platform.write_text(V2["platform_private_key_pem"])
    with v2_shop(V2["platform_public_key_pem"], {"V1": "3.00"}) as (base, credits):
        result = cli("check", "notify", base + "notify", "--platform-key", str(platform),
                     "--pid", PID, "--order", "V1", "--amount", "3", "--state-url",
                     base + "state", "--json")
        assert credits["V1"] == 1
    document = json.loads(result.stdout)
    cases = {c["id"]: c for c in document["cases"]}
    assert document["order"]["sign_type"] == "RSA"
    genuine = cases["genuine"]["notifies"][0]["fields"]
    assert genuine["sign_type"] == "RSA" and "timestamp" in genuine
    grades = {k: c["grade"] for k, c in cases.items()}
    # This handler never reads POST bodies: the check finds exactly that — a WARN, as Rainbow
    # servers only send GET (issue 14.12); a FAIL when the gateway POSTs.
    assert {k: g for k, g in grades.items() if g != "PASS"} == {"post_delivery": "WARN"}, grades
    assert "form body" in cases["post_delivery"]["fix"]
    assert "--gateway-posts" in cases["post_delivery"]["reason"]
    assert result.code == ExitCode.OK
    with v2_shop(V2["platform_public_key_pem"], {"V1": "3.00"}) as (base, credits):
        posts = cli("check", "notify", base + "notify", "--platform-key", str(platform),
                    "--pid", PID, "--order", "V1", "--amount", "3", "--only", "post_delivery",
                    "--gateway-posts", "--json")
    assert posts.code == ExitCode.CHECK_FAILED
    assert json.loads(posts.stdout)["cases"][0]["grade"] == "FAIL"


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_terminal_gets_a_table():
    stdout, stderr = _Terminal(), io.StringIO()
    env = Environment(None, stdout, stderr, {"TERM": "xterm"})
    with example_shop("broken_handler") as shop:
        code = run(["check", "notify", shop.url, "--key", KEY, "--pid", PID, "--order", "A1",
                    "--amount", "1.00", "--only", "genuine,bad_signature"], env)
    text = stdout.getvalue()
    assert code == ExitCode.CHECK_FAILED
    assert "CASE" in text and "GRADE" in text and "FIX" in text
    assert "bad_signature" in text and "\x1b[" in text  # styled for a terminal
    assert "FAILED: 1 pass, 1 fail" in text
