"""``epay listen --tunnel`` through pyngrok and a fake ngrok agent (tests/fake_ngrok.py; no
machine here reaches ngrok): notifies through the public URL, loss detected and the tunnel
reopened, no agent process left behind, and every error path as one line."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path

import httpx
import pytest
from conftest import TESTS
from test_listen import notify
from test_listen_cli import env, epay, one_error_line, run_epay  # noqa: F401 - fixtures

FAKE = TESTS / "fake_ngrok.py"


@pytest.fixture
def agent(tmp_path) -> Path:
    """An executable ``ngrok`` (a sh wrapper around the fake agent), made for this test."""
    wrapper = tmp_path / "bin" / "ngrok"
    wrapper.parent.mkdir()
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{FAKE}" "$@"\n')
    wrapper.chmod(0o755)
    return wrapper


@pytest.fixture
def tunnel_env(env, agent, tmp_path) -> dict[str, str]:
    return {**env, "PYNGROK_NGROK_PATH": str(agent), "NGROK_AUTHTOKEN": "test-token",
            "FAKE_NGROK_LOG": str(tmp_path / "agents.jsonl")}


def agent_pids(tunnel_env) -> list[int]:
    log = Path(tunnel_env["FAKE_NGROK_LOG"])
    if not log.exists():
        return []
    return [json.loads(line)["pid"] for line in log.read_text().splitlines()]


def running(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return "\nState:\tZ" not in status  # a zombie has ended


def wait_gone(pids: list[int], timeout: float = 10) -> list[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(running(p) for p in pids):
        time.sleep(0.05)
    return [p for p in pids if running(p)]


@pytest.fixture(autouse=True)
def no_agent_left(request):
    """Whatever a test does, no fake agent it started survives it."""
    yield
    tunnel_env = request.node.funcargs.get("tunnel_env")
    if tunnel_env is None:
        return
    for pid in agent_pids(tunnel_env):
        if running(pid):
            os.kill(pid, signal.SIGKILL)


def test_a_notify_sent_to_the_public_url_arrives_and_the_agent_ends_on_sigterm(
        epay, tunnel_env, tmp_path):
    listener = epay("listen", "--port", "0", "--tunnel", "--region", "eu", "--json",
                    "--journal", str(tmp_path / "j.sqlite3"), extra_env=tunnel_env)
    ready = listener.event("ready", timeout=30)
    public = ready["public_url"]
    assert public.startswith("http://127.0.0.1:") and public != ready["local_url"]
    assert ready["agent_pid"] in agent_pids(tunnel_env) and running(ready["agent_pid"])
    assert listener.event("tunnel_ok")["public_url"] == public
    assert httpx.get(public, params=notify()).text == "success"
    event = listener.event("notify")
    assert event["valid"] and event["trade_no"] == "2026120112000000001"
    args = json.loads(Path(tunnel_env["FAKE_NGROK_LOG"]).read_text().splitlines()[0])["args"]
    assert args[:3] == ["--none", "--log", "stdout"]
    assert args[args.index("--region") + 1] == "eu"
    assert args[args.index("--authtoken") + 1] == "test-token"
    listener.proc.send_signal(signal.SIGTERM)
    code, stderr = listener.finish()
    assert code == 0, stderr
    assert wait_gone(agent_pids(tunnel_env)) == []


def reapers_of(agent_pid: int) -> list[int]:
    """Processes still watching for this agent (epay's reaper carries its pid in argv)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"getppid" in b" ".join(argv) and str(agent_pid).encode() in argv and \
                running(int(entry.name)):
            found.append(int(entry.name))
    return found


def started_reapers(agent_pid: int, timeout: float = 5) -> list[int]:
    """The reapers watching this agent, once one has started (it may lag "ready" a little)."""
    deadline = time.monotonic() + timeout
    while not (found := reapers_of(agent_pid)) and time.monotonic() < deadline:
        time.sleep(0.02)
    return found


def test_an_epay_killed_with_sigkill_leaves_no_agent_behind(epay, tunnel_env, tmp_path):
    listener = epay("listen", "--port", "0", "--tunnel", "--json", "--journal",
                    str(tmp_path / "j.sqlite3"), extra_env=tunnel_env)
    agent_pid = listener.event("ready", timeout=30)["agent_pid"]
    assert started_reapers(agent_pid)  # watching while epay runs
    listener.proc.kill()  # no clean stop: nothing in epay runs any more
    listener.proc.wait(10)
    assert wait_gone([agent_pid]) == []
    assert wait_gone(reapers_of(agent_pid), timeout=5) == []


def test_a_clean_stop_ends_the_agent_and_its_watcher(epay, tunnel_env, tmp_path):
    listener = epay("listen", "--port", "0", "--tunnel", "--json", "--journal",
                    str(tmp_path / "j.sqlite3"), extra_env=tunnel_env)
    agent_pid = listener.event("ready", timeout=30)["agent_pid"]
    watchers = started_reapers(agent_pid)
    listener.proc.send_signal(signal.SIGTERM)
    assert listener.finish()[0] == 0
    assert wait_gone([agent_pid, *watchers]) == []


def test_a_dead_agent_is_detected_loudly_and_the_tunnel_reopened(epay, tunnel_env, tmp_path):
    listener = epay("listen", "--port", "0", "--tunnel", "--json", "--health-interval", "0.5",
                    "--journal", str(tmp_path / "j.sqlite3"), extra_env=tunnel_env)
    ready = listener.event("ready", timeout=30)
    os.kill(ready["agent_pid"], signal.SIGKILL)
    lost = listener.event("tunnel_lost", timeout=20)
    assert lost["action"] == "reopening" and lost["public_url"] == ready["public_url"]
    reopened = listener.event("tunnel_reopened", timeout=30)
    assert reopened["agent_pid"] != ready["agent_pid"] and reopened["changed"] is True
    assert httpx.get(reopened["public_url"], params=notify(2)).text == "success"
    assert listener.event("notify")["valid"]
    listener.proc.send_signal(signal.SIGINT)
    assert listener.finish()[0] == 0
    assert wait_gone(agent_pids(tunnel_env)) == []


def test_a_tunnel_gone_at_the_edge_exits_5_with_exit_on_tunnel_loss(epay, tunnel_env, tmp_path):
    listener = epay("listen", "--port", "0", "--tunnel", "--json", "--health-interval", "0.5",
                    "--exit-on-tunnel-loss", "--journal", str(tmp_path / "j.sqlite3"),
                    extra_env=tunnel_env)
    listener.event("tunnel_ok", timeout=30)
    httpx.post(f"{_agent_api(tunnel_env)}/fake/break", json={})
    assert listener.event("tunnel_lost", timeout=20)["action"] == "exit"
    code, stderr = listener.finish()
    assert code == 5
    assert "no longer reaches" in stderr.strip().splitlines()[-1]
    assert wait_gone(agent_pids(tunnel_env)) == []


def _agent_api(tunnel_env) -> str:
    """The fake agent's local API, from the line it logged when it started."""
    return json.loads(Path(tunnel_env["FAKE_NGROK_LOG"]).read_text().splitlines()[-1])["api"]


def test_no_ngrok_binary_is_one_line_fast_and_downloads_nothing(tunnel_env, tmp_path):
    environment = {**tunnel_env, "PYNGROK_NGROK_PATH": str(tmp_path / "missing" / "ngrok")}
    started = time.monotonic()
    done = run_epay(environment, "listen", "--port", "0", "--tunnel", "--journal",
                    str(tmp_path / "j.sqlite3"))
    assert time.monotonic() - started < 5
    assert done.returncode == 6
    line = one_error_line(done.stderr)
    assert "no ngrok agent at" in line and "--public-url" in line
    assert "Downloading" not in done.stdout + done.stderr and done.stdout == ""


def test_an_agent_that_is_not_executable_is_one_line(tunnel_env, agent, tmp_path):
    agent.chmod(0o644)
    done = run_epay(tunnel_env, "listen", "--port", "0", "--tunnel", "--journal",
                    str(tmp_path / "j.sqlite3"))
    assert done.returncode == 6 and "chmod +x" in one_error_line(done.stderr)


def test_no_authtoken_is_one_line_before_any_agent_starts(tunnel_env, tmp_path):
    environment = {k: v for k, v in tunnel_env.items() if k != "NGROK_AUTHTOKEN"}
    done = run_epay(environment, "listen", "--port", "0", "--tunnel", "--journal",
                    str(tmp_path / "j.sqlite3"))
    assert done.returncode == 6
    assert "NGROK_AUTHTOKEN" in one_error_line(done.stderr)
    assert agent_pids(tunnel_env) == []


def test_an_authtoken_in_ngroks_own_config_is_used(tunnel_env, tmp_path, monkeypatch):
    from epaycli.listener.tunnel import open_tunnel

    monkeypatch.setenv("FAKE_NGROK_LOG", tunnel_env["FAKE_NGROK_LOG"])  # the agent's own env
    config = tmp_path / "ngrok.yml"
    config.write_text('version: "3"\nagent:\n  authtoken: from-config-file\n')
    environment = {k: v for k, v in tunnel_env.items() if k != "NGROK_AUTHTOKEN"}
    tunnel = open_tunnel(9, environ=environment, config_path=str(config), startup_timeout=10)
    try:
        assert tunnel.agent_alive()
        args = json.loads(Path(tunnel_env["FAKE_NGROK_LOG"]).read_text())["args"]
        assert args[args.index("--authtoken") + 1] == "from-config-file"
    finally:
        tunnel.close()
    assert wait_gone([tunnel.agent_pid]) == []


def test_the_profiles_ngrok_authtoken_is_used_and_shown_masked(epay, tunnel_env, tmp_path):
    environment = {k: v for k, v in tunnel_env.items() if k not in ("NGROK_AUTHTOKEN", "EPAY_KEY")}
    added = run_epay(environment, "profile", "add", "shop", "--gateway", "https://pay.example.com/",
                     "--pid", "1001", "--key", "89unJUB8HZ54Hj7x4nUj56HN4nUzUJ8i", "--default",
                     "--ngrok-authtoken", "2AbCdEfGhIjKlMnOpQrStUvWxYz_profiletoken")
    assert added.returncode == 0, added.stderr
    assert "profiletoken" not in added.stdout + added.stderr
    listener = epay("listen", "--port", "0", "--tunnel", "--json", "--journal",
                    str(tmp_path / "j.sqlite3"), extra_env=environment)
    listener.event("ready", timeout=30)
    args = json.loads(Path(tunnel_env["FAKE_NGROK_LOG"]).read_text().splitlines()[0])["args"]
    assert args[args.index("--authtoken") + 1] == "2AbCdEfGhIjKlMnOpQrStUvWxYz_profiletoken"
    listener.proc.send_signal(signal.SIGTERM)
    assert listener.finish()[0] == 0
    shown = run_epay(environment, "profile", "show", "shop", "--json")
    assert json.loads(shown.stdout)["ngrok_authtoken"] == "2AbC…oken"


def test_a_rejected_authtoken_is_one_line_and_no_agent_is_left(tunnel_env, tmp_path):
    environment = {**tunnel_env, "NGROK_AUTHTOKEN": "bad-token"}
    done = run_epay(environment, "listen", "--port", "0", "--tunnel", "--journal",
                    str(tmp_path / "j.sqlite3"))
    assert done.returncode == 6
    line = one_error_line(done.stderr)
    assert "rejected the authtoken" in line and "ERR_NGROK_105" in line
    assert "lvl=" not in done.stderr and "Traceback" not in done.stderr
    assert wait_gone(agent_pids(tunnel_env)) == []


@pytest.mark.parametrize("mode, words", [
    ("offline", "cannot reach"),  # ngrok's servers unreachable: it retries forever
    ("hang", "did not open a tunnel within"),  # started, never says it is ready
    ("crash", "ngrok"),  # dies at once, without a word
])
def test_an_agent_that_cannot_open_a_tunnel_is_one_line_and_bounded(mode, words, tunnel_env,
                                                                    tmp_path):
    environment = {**tunnel_env, "FAKE_NGROK_MODE": mode}
    started = time.monotonic()
    done = run_epay(environment, "listen", "--port", "0", "--tunnel", "--tunnel-timeout", "2",
                    "--journal", str(tmp_path / "j.sqlite3"))
    assert time.monotonic() - started < 20
    assert done.returncode == 5, done.stderr
    assert words in one_error_line(done.stderr)
    assert wait_gone(agent_pids(tunnel_env)) == []


def test_a_tunnel_without_a_public_url_is_one_error(tunnel_env, monkeypatch):
    # pyngrok refuses such an answer from the agent itself today; its type allows one, and a
    # later pyngrok may pass it on: then it is the agent's failure, not an AttributeError
    from types import SimpleNamespace

    from pyngrok import ngrok

    from epaycli.listener.tunnel import TunnelDown, open_tunnel

    monkeypatch.setattr(ngrok, "connect", lambda *args, **kwargs: SimpleNamespace(public_url=None))
    with pytest.raises(TunnelDown, match="without a public URL") as raised:
        open_tunnel(9, environ=tunnel_env, startup_timeout=5)
    assert raised.value.code == "ngrok_failed"
