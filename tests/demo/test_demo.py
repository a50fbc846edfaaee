"""``epay demo``: the whole round trip on a local gateway, as a real process — every step
present and checked, ``--json`` complete, failures named with their exit code, the user's
profiles, state and temporary folder left as they were."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from epaycli.core.models import SANDBOX_KEY
from epaycli.core.redact import mask
from epaycli.demo import roundtrip, timeline
from epaycli.demo.roundtrip import STEP_TITLES, STEPS, run_demo

BOUND_SECONDS = 90  # a hang guard, not a performance target (bench/ measures that)


class Sandbox:
    """A home, XDG folders and a TMPDIR of the test's own: after a run, none may hold a file."""

    def __init__(self, root: Path) -> None:
        self.home = root / "home"
        self.folders = {"XDG_CONFIG_HOME": root / "config", "XDG_STATE_HOME": root / "state",
                        "XDG_DATA_HOME": root / "data", "TMPDIR": root / "tmp"}
        for folder in (self.home, *self.folders.values()):
            folder.mkdir(parents=True)

    def environ(self) -> dict[str, str]:
        return {"HOME": str(self.home), "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                "PYTHONUNBUFFERED": "1", "NO_COLOR": "1",
                **{name: str(path) for name, path in self.folders.items()}}

    def files(self) -> list[Path]:
        return [path for folder in (self.home, *self.folders.values())
                for path in folder.rglob("*")]

    def demo(self, *args: str) -> tuple[subprocess.CompletedProcess, float]:
        started = time.monotonic()
        done = subprocess.run([sys.executable, "-m", "epaycli", "demo", *args],
                              env=self.environ(), capture_output=True, text=True,
                              timeout=BOUND_SECONDS)  # kills the process when it runs over
        return done, time.monotonic() - started


@pytest.fixture
def sandbox(tmp_path) -> Sandbox:
    return Sandbox(tmp_path / "sandbox")


def test_demo_runs_every_step_and_exits_0(sandbox):
    done, seconds = sandbox.demo()
    assert done.returncode == 0, done.stderr
    out = done.stdout
    for number, name in enumerate(STEPS, 1):
        assert f"{number}. {STEP_TITLES[name]}  ✓" in out, name
    assert "✗" not in out and "Traceback" not in done.stderr
    assert "✓ every step checked out: 7 steps" in out.splitlines()[-1]
    # what was signed (canonical string, key masked), sent and received, for the order
    assert "md5( clientip=127.0.0.1&money=1.00&" in out and f"+ key {mask(SANDBOX_KEY)} )" in out
    assert "POST http://127.0.0.1:" in out and "/mapi.php" in out
    assert "received  HTTP 200  {\"code\":1" in out
    assert "verdict: genuine" in out and "answered  HTTP 200  'success'" in out
    assert "key=Sand…0000" in out  # api.php's key, shown masked in the URL
    assert SANDBOX_KEY not in out + done.stderr
    assert seconds < BOUND_SECONDS
    assert sandbox.files() == []  # no profile, no state, no journal; the temp folder removed


def test_demo_json_is_one_object_with_every_step_ok(sandbox):
    done, _ = sandbox.demo("--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["ok"] is True and report["exit_code"] == 0 and report["failed_step"] is None
    assert [step["name"] for step in report["steps"]] == list(STEPS)
    assert all(step["ok"] and step["run"] and step["checks"] for step in report["steps"])
    assert all(check["ok"] for step in report["steps"] for check in step["checks"])
    steps = {step["name"]: step for step in report["steps"]}
    create = steps["create"]
    assert create["signed"]["sign_type"] == "MD5" and create["signed"]["key"] == mask(SANDBOX_KEY)
    assert create["sent"]["form"]["sign"] == create["signed"]["sign"]
    assert create["received"]["data"]["code"] == 1
    notify = steps["notify"]
    assert notify["received"]["verdict"] == "genuine"
    assert notify["received"]["check"]["signature_valid"] is True
    assert notify["answered"] == {"by": "the receiver", "status": 200, "body": "success"}
    assert notify["sent"]["method"] == "GET" and notify["sent"]["url"].startswith(report["receiver"])
    assert steps["query"]["received"]["data"]["status"] in (1, "1")
    assert steps["refunded"]["received"]["data"]["status"] in (2, "2")
    assert report["key"] == mask(SANDBOX_KEY) and SANDBOX_KEY not in done.stdout
    assert sandbox.files() == []


def test_demo_v2_signs_and_verifies_with_rsa(sandbox):
    done, _ = sandbox.demo("--v2", "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["ok"] and report["dialect"] == "v2" and report["sign_type"] == "RSA"
    steps = {step["name"]: step for step in report["steps"]}
    for name in ("create", "query", "refund", "refunded"):
        assert steps[name]["signed"]["sign_type"] == "RSA", name
        assert steps[name]["received"]["verified"] is True, name
        assert "/api/pay/" in steps[name]["sent"]["url"], name
    assert steps["notify"]["signed"]["sign_type"] == "RSA"
    assert steps["notify"]["received"]["verdict"] == "genuine"


@pytest.mark.parametrize("fault, said", [
    ("tampered-money", "check_callback said rejected"),
    ("bad-signature", "check_callback said bad_signature"),
])
def test_a_spoiled_notify_is_answered_fail_and_the_demo_names_the_step(sandbox, fault, said):
    done, _ = sandbox.demo("--fault", fault)
    assert done.returncode == 7, done.stderr  # the payment did not go through
    # but the fault was asked for, and caught where it must be: not an error (issue 15.8)
    assert "epay: error" not in done.stderr
    assert done.stderr.strip().splitlines() == [
        f"✓ the '{fault}' fault was caught where it should be: step 4 (notify) refused it, as "
        "your shop must (exit 7: the payment did not go through)"]
    out = done.stdout
    assert "4. receive the notify, verify it, answer success  ✗" in out
    assert "answered  HTTP 200  'fail'" in out  # the receiver refused it, as a shop must
    assert "got: the receiver answered HTTP 200 'fail'" in out
    for number, name in enumerate(STEPS[4:], 5):
        assert f"{number}. {STEP_TITLES[name]}  — not run" in out
    assert f"✗ step 4 (notify) failed: {said}" in out
    assert sandbox.files() == []


def test_a_notify_that_never_comes_fails_within_the_timeout(sandbox):
    done, seconds = sandbox.demo("--fault", "dropped", "--timeout", "1", "--json")
    assert done.returncode == 7
    report = json.loads(done.stdout)
    assert report["ok"] is False and report["failed_step"] == "notify"
    assert report["failure"] == "no notify reached the receiver in 1 s"
    assert [step["run"] for step in report["steps"]] == [True] * 4 + [False] * 3
    assert report["fault_caught"] is True and "epay: error" not in done.stderr
    assert seconds < 30  # bounded by --timeout, not by the gateway's retry schedule


def test_a_gateway_refusal_exits_4_naming_the_create_step(monkeypatch, tmp_path):
    # 2000 yuan is over the real install's 1000-yuan cap: the gateway itself refuses it.
    monkeypatch.setattr(roundtrip, "DEMO_AMOUNT", "2000.00")
    seen = []
    result = run_demo(workdir=tmp_path / "demo", on_step=seen.append, timeout=5)
    assert [step.name for step in seen] == list(STEPS)
    create = result.steps[0]
    assert not create.ok and create.error["kind"] == "GatewayError"
    assert create.sent["url"].endswith("/mapi.php") and create.signed["sign_type"] == "MD5"
    assert result.exit_code == 4 and result.failed_step is create
    assert not any(step.run for step in result.steps[1:])
    failure = roundtrip.DemoFailed.of(result)
    assert failure.exit_code == 4 and failure.message.startswith("demo step 1 (create) failed: ")
    lines = [text for text, _ in timeline.timeline(result)]
    assert any(line.startswith("1. create the order  ✗") for line in lines)
    assert lines[-1].startswith("✗ step 1 (create) failed: gateway answered")


@pytest.mark.parametrize("args, said", [
    (["--fault", "nonsense"], "unknown fault"),
    (["--timeout", "0"], "timeout 0 s is not above 0"),
    (["--timeout", "soon"], "'soon' is not a valid float"),
])
def test_bad_input_is_one_line_and_exit_2(cli, args, said):
    result = cli("demo", *args)
    assert result.code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("epay: error: ") and said in lines[0]
    assert result.stdout == ""


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_on_a_terminal_the_timeline_is_styled(tmp_path, monkeypatch):
    from epaycli.cli.main import run

    monkeypatch.setenv("TERM", "xterm-256color")  # rich reads the process's own TERM
    from epaycli.env import Environment

    stdout, stderr = _Terminal(), io.StringIO()
    environ = {"HOME": str(tmp_path), "TERM": "xterm-256color",
               "XDG_CONFIG_HOME": str(tmp_path / "config"), "XDG_STATE_HOME": str(tmp_path / "state")}
    code = run(["demo"], Environment(None, stdout, stderr, environ))
    assert code == 0, stderr.getvalue()
    text = stdout.getvalue()
    assert "\x1b[" in text and "every step checked out" in text
    assert not (tmp_path / "config").exists() and not (tmp_path / "state").exists()


def test_demo_is_listed_in_help(cli):
    result = cli("--help")
    assert result.code == 0 and "demo" in result.stdout
    result = cli("demo", "--help")
    assert result.code == 0 and "--fault" in result.stdout and "--json" in result.stdout
