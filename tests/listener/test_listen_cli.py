"""``epay listen`` as a real process: the --json interface scripts rely on, clean stops, the
journal surviving SIGKILL mid-load, public-URL checks, and one-line start-up errors."""

from __future__ import annotations

import dataclasses
import json
import os
import queue
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from conftest import ROOT
from test_listen import KEY, notify


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _interruptible() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


class Process:
    """A running ``epay …`` whose stdout lines are collected as they come."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        # Ctrl+C as a terminal sends it, also when pytest itself was started in the background
        # (a shell's `cmd &` ignores SIGINT, and a child inherits that: it would never stop).
        self.proc = subprocess.Popen([sys.executable, "-m", "epaycli", *args], cwd=ROOT, env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     preexec_fn=_interruptible)
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[dict] = []
        self.stderr = ""
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        for line in self.proc.stdout:
            self.lines.put(line)

    def event(self, name: str, timeout: float = 15) -> dict:
        """The next event called ``name`` (earlier ones of other names are kept in seen)."""
        deadline = time.monotonic() + timeout
        for seen in self.seen:
            if seen["event"] == name and not seen.get("_taken"):
                seen["_taken"] = True
                return seen
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                break
            found = json.loads(line)
            self.seen.append(found)
            if found["event"] == name:
                found["_taken"] = True
                return found
        raise AssertionError(f"no {name} event; seen {self.seen}; stderr {self.finish(1)[1]}")

    def finish(self, timeout: float = 15) -> tuple[int, str]:
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        self.stderr += self.proc.stderr.read()
        return self.proc.returncode, self.stderr

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)


@pytest.fixture
def env(tmp_path, isolated_env) -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(isolated_env),
            "XDG_CONFIG_HOME": str(isolated_env / ".config"),
            "XDG_STATE_HOME": str(tmp_path / "state"), "EPAY_KEY": KEY, "EPAY_PID": "1001",
            "PYTHONPATH": str(ROOT)}


@pytest.fixture
def epay(env):
    started: list[Process] = []

    def start(*args: str, extra_env: dict[str, str] | None = None) -> Process:
        started.append(Process(list(args), {**env, **(extra_env or {})}))
        return started[-1]

    yield start
    for process in started:
        process.stop()


def run_epay(env: dict[str, str], *args: str, timeout: float = 30) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "epaycli", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


def test_json_interface_ready_then_one_object_per_notify_and_sigterm_exits_0(epay, tmp_path):
    journal = tmp_path / "j.sqlite3"
    listener = epay("listen", "--port", "0", "--json", "--journal", str(journal))
    ready = listener.event("ready")
    assert ready["public_url"] is None and ready["local_url"].endswith("/notify")
    assert ready["journal"] == str(journal)
    assert httpx.get(ready["local_url"], params=notify()).text == "success"
    forged = notify(key="q" * 32)
    assert httpx.get(ready["local_url"], params=forged).text == "fail"
    good, bad = listener.event("notify"), listener.event("notify")
    for event in (good, bad):
        for field in ("trade_no", "out_trade_no", "money", "valid", "reason", "duplicate_count",
                      "answer"):
            assert field in event
    assert good["valid"] is True and good["answer"] == "success" and good["money"] == "1"
    assert bad["valid"] is False and "does not match" in bad["reason"]
    assert bad["duplicate_count"] == 1
    listener.proc.send_signal(signal.SIGTERM)
    code, stderr = listener.finish()
    assert code == 0, stderr
    assert listener.event("stopped")["answered"] == 2
    assert "Traceback" not in stderr


def first_notify_answered(url: str) -> None:
    """Send notify 1 until the listener (a process starting) answers it ``success``."""
    deadline = time.monotonic() + 15
    while True:
        try:
            assert httpx.get(url, params=notify()).text == "success"
            break
        except httpx.TransportError:
            assert time.monotonic() < deadline
            time.sleep(0.05)


def test_human_lines_go_to_stderr_and_ctrl_c_exits_0(epay, tmp_path):
    port = free_port()
    listener = epay("listen", "--port", str(port), "--journal", str(tmp_path / "j.sqlite3"))
    url = f"http://127.0.0.1:{port}/notify"
    first_notify_answered(url)
    # The line is out (it is said before the answer); the pause lets the main thread reach
    # its serving loop (a Ctrl+C still in the start-up exits 130, interrupted).
    time.sleep(0.2)
    listener.proc.send_signal(signal.SIGINT)
    code, stderr = listener.finish()
    assert code == 0, stderr
    assert f"listening on {url}" in stderr
    line = next(line for line in stderr.splitlines() if "2026120112000000001" in line)
    assert "ORD1" in line and "✓ genuine" in line and "→ 200 'success'" in line
    assert listener.proc.stdout.read() == ""  # nothing on stdout without --json


def test_the_journal_survives_sigkill_mid_load_with_every_answered_notify(epay, tmp_path):
    journal = tmp_path / "j.sqlite3"
    listener = epay("listen", "--port", "0", "--json", "--journal", str(journal))
    url = listener.event("ready")["local_url"]
    answered: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def send(offset: int) -> None:
        with httpx.Client(timeout=5) as client:
            for number in range(offset, offset + 5000):
                if stop.is_set():
                    return
                sent = notify(number)
                try:
                    if client.get(url, params=sent).text == "success":
                        with lock:
                            answered.append(sent["trade_no"])
                except httpx.HTTPError:
                    return  # the listener is gone

    threads = [threading.Thread(target=send, args=(i * 10_000,)) for i in range(8)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 30
    while len(answered) < 150 and time.monotonic() < deadline:
        time.sleep(0.01)
    os.kill(listener.proc.pid, signal.SIGKILL)  # mid-load: requests are in flight
    stop.set()
    for thread in threads:
        thread.join(30)
    listener.finish()
    assert len(answered) >= 150
    with sqlite3.connect(journal) as db:
        journaled = {row[0] for row in db.execute("SELECT trade_no FROM requests WHERE valid")}
    missing = set(answered) - journaled
    assert not missing, f"{len(missing)} answered notifies are not in the journal"


def test_public_url_is_shown_checked_and_stored_with_set_profile(epay, env, tmp_path):
    port = free_port()
    public = f"http://127.0.0.1:{port}"  # the listener itself stands in for another tunnel
    listener = epay("listen", "--port", str(port), "--json", "--public-url", public,
                    "--set-profile", "--journal", str(tmp_path / "j.sqlite3"))
    ready = listener.event("ready")
    assert ready["public_url"] == public + "/notify"
    assert listener.event("tunnel_ok")["public_url"] == public + "/notify"
    stored = listener.event("profile_updated")
    assert stored["notify_url"] == public + "/notify" and stored["profile"] == "sandbox"
    listener.proc.send_signal(signal.SIGTERM)
    assert listener.finish()[0] == 0
    shown = run_epay(env, "profile", "show", "sandbox", "--json")
    assert json.loads(shown.stdout)["notify_url"] == public + "/notify"
    assert KEY not in Path(env["XDG_CONFIG_HOME"], "epay", "profiles.toml").read_text()


def test_a_lost_public_url_exits_5_with_exit_on_tunnel_loss(epay, tmp_path):
    dead = f"http://127.0.0.1:{free_port()}"
    listener = epay("listen", "--port", "0", "--json", "--public-url", dead,
                    "--exit-on-tunnel-loss", "--journal", str(tmp_path / "j.sqlite3"))
    lost = listener.event("tunnel_lost")
    assert lost["action"] == "exit" and "Connect" in lost["reason"]
    code, stderr = listener.finish()
    assert code == 5
    assert stderr.strip().splitlines()[-1].startswith("epay: error: the public URL")


def test_a_lost_public_url_is_reported_and_watched_without_the_flag(epay, tmp_path):
    dead = f"http://127.0.0.1:{free_port()}"
    listener = epay("listen", "--port", "0", "--json", "--public-url", dead,
                    "--health-interval", "0.3", "--journal", str(tmp_path / "j.sqlite3"))
    assert listener.event("tunnel_lost")["action"] == "watching"
    assert listener.event("tunnel_lost")["action"] == "watching"  # checked again, still loud
    assert listener.proc.poll() is None
    listener.proc.send_signal(signal.SIGTERM)
    assert listener.finish()[0] == 0


def one_error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if not line.startswith("note:")]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("epay: error: ") and " — " in lines[0], stderr
    return lines[0]


def test_start_up_errors_are_one_line_with_a_documented_exit_code(env, tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        done = run_epay(env, "listen", "--port", port, "--journal", str(tmp_path / "a"))
    assert done.returncode == 6 and "already in use" in one_error_line(done.stderr)
    assert "--port" in done.stderr
    done = run_epay(env, "listen", "--host", "no-such-host.invalid", "--journal",
                    str(tmp_path / "b"))
    assert done.returncode == 2 and "--host" in one_error_line(done.stderr)
    blocker = tmp_path / "plain-file"
    blocker.write_text("x")
    done = run_epay(env, "listen", "--port", "0", "--journal", str(blocker / "j.sqlite3"))
    assert done.returncode == 6 and "--journal" in one_error_line(done.stderr)
    done = run_epay(env, "listen", "--port", "0", "--reply", "sometimes", "--journal",
                    str(tmp_path / "c"))
    assert done.returncode == 2 and "status:NNN" in one_error_line(done.stderr)
    done = run_epay(env, "listen", "--tunnel", "--public-url", "http://x", "--journal",
                    str(tmp_path / "d"))
    assert done.returncode == 2
    done = run_epay(env, "listen", "--path", "no-slash", "--journal", str(tmp_path / "e"))
    assert done.returncode == 2
    done = run_epay(env, "listen", "--forward-to", "localhost:8000", "--journal",
                    str(tmp_path / "f"))
    assert done.returncode == 2 and "forward" in one_error_line(done.stderr)
    assert "Traceback" not in done.stderr


def test_listen_stays_off_the_cold_start_of_other_commands(env):
    probe = ("import sys; from epaycli.cli.main import run; run(['sign', 'pid=1', '--key', "
             f"'{KEY}']); print(sorted(m for m in ('http.server', 'sqlite3', 'httpx', 'pyngrok', "
             "'epaycli.listener') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=30)
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_a_locked_journal_is_said_once_and_sigterm_stops_promptly(epay, tmp_path):
    """(issue 15.4) Two notifies meet a journal another program holds locked: two 503s,
    one line on the terminal saying why, and SIGTERM ends the process at once."""
    journal = tmp_path / "j.sqlite3"
    port = free_port()
    listener = epay("listen", "--port", str(port), "--journal", str(journal))
    url = f"http://127.0.0.1:{port}/notify"
    first_notify_answered(url)
    holder = sqlite3.connect(journal, isolation_level=None)
    try:
        holder.execute("BEGIN EXCLUSIVE")
        got: list[httpx.Response] = []
        senders = [threading.Thread(target=lambda n=n: got.append(
            httpx.get(url, params=notify(n), timeout=10))) for n in (2, 3)]
        for sender in senders:  # side by side: each waits the journal's 3 s budget
            sender.start()
        for sender in senders:
            sender.join(10)
        assert [(answer.status_code, answer.text) for answer in got] == [(503, "fail")] * 2
        waiting = threading.Thread(target=lambda: _ignore_errors(httpx.get, url,
                                                                 params=notify(5), timeout=10))
        waiting.start()
        time.sleep(0.2)  # a request waits for the lock while the signal comes (best effort)
        started = time.monotonic()
        listener.proc.send_signal(signal.SIGTERM)
        code, stderr = listener.finish()
        assert code == 0 and time.monotonic() - started < 3, stderr
        waiting.join(10)
    finally:
        holder.close()
    assert stderr.count("locked by another program") == 1, stderr


def _ignore_errors(function, *args, **options) -> None:
    try:
        function(*args, **options)
    except httpx.HTTPError:
        pass


# ---- the events' contract (docs/events.md) --------------------------------------------------

LISTEN_EVENTS = {
    "notify": ["id", "time", "kind", "method", "path", "client", "trade_no", "out_trade_no",
               "money", "type", "pid", "trade_status", "valid", "verdict", "reason",
               "duplicate_count", "content_changed", "changed_fields", "order_amount", "answer",
               "answer_status", "delivered", "answered_by", "forward", "sign_type", "check",
               "params", "timings", "ms"],
    "journal_error": ["code", "message", "hint", "time"],
    "internal_error": ["time", "message"],
    "ready": ["time", "local_url", "public_url", "journal", "path", "forward_to", "reply", "pid",
              "agent_pid", "inspector_url"],
    "warning": ["time", "message"],
    "stopped": ["time", "reason", "answered"],
    "profile_updated": ["time", "profile", "notify_url"],
    "tunnel_ok": ["time", "public_url", "ms"],
    "tunnel_lost": ["time", "public_url", "reason", "action"],
    "tunnel_error": ["time", "message", "hint"],
    "tunnel_reopened": ["time", "public_url", "agent_pid", "changed"],
}
LISTEN_EVENTS["bad_request"] = LISTEN_EVENTS["notify"]


def every_listen_event():
    """One event of each kind, as the listener and its session make them."""
    from epaycli.listener import events

    values = {"time": "2026-12-01T03:33:20.250Z", "message": "m", "hint": "h", "code": "c",
              "public_url": "https://p/notify", "ms": 1.5, "agent_pid": 7, "id": 1,
              "kind": "notify", "method": "GET", "path": "/notify", "trade_no": "T1",
              "out_trade_no": "O1", "money": "1.00", "type": "alipay", "pid": "1001",
              "valid": True, "verdict": "genuine", "reason": "", "duplicate_count": 1,
              "content_changed": True, "answer": "success", "answer_status": 200,
              "delivered": True, "answered_by": "verdict", "sign_type": "MD5",
              "changed_fields": [{"name": "name", "before": "product", "after": "无类型"}],
              "timings": {"journal_ms": 0.5}, "local_url": "http://127.0.0.1:1/notify",
              "journal": "/j", "reply": "auto", "answered": 3,
              "profile": "sandbox", "notify_url": "https://p/notify", "action": "exit",
              "changed": True, "client": "127.0.0.1", "trade_status": "TRADE_SUCCESS"}
    made = []
    for kind in vars(events).values():
        if isinstance(kind, type) and issubclass(kind, events.ListenEvent) and \
                not kind.__name__.startswith("_") and kind is not events.ListenEvent:
            names = [field.name for field in dataclasses.fields(kind)]
            made.append(kind(**{name: values.get(name) for name in names}))
    return made


def test_every_listen_event_has_the_documented_json_fields_in_order():
    docs = (ROOT / "docs" / "events.md").read_text(encoding="utf-8")
    section = docs[docs.index("## epay listen"):]
    made = every_listen_event()
    assert sorted(event.name for event in made) == sorted(LISTEN_EVENTS)
    for event in made:
        shown = event.to_dict()
        assert list(shown) == ["event", *LISTEN_EVENTS[event.name]], event.name
        assert json.loads(json.dumps(shown)) == shown
        assert f"`{event.name}`" in section
        for field in LISTEN_EVENTS[event.name]:
            assert f"`{field}`" in section, (event.name, field)


def test_every_listen_event_has_a_human_line(capsys):
    """The renderer dispatches on the type: each kind says something (a renderer that raised
    would be silent: the listener swallows an observer's errors)."""
    from epaycli.cli.listen import _human_renderer
    from epaycli.env import Environment
    from epaycli.render import Output

    for event in every_listen_event():
        show = _human_renderer(Output(Environment(None, None, sys.stderr, {})))
        show(event)
        assert capsys.readouterr().err.strip(), event.name
