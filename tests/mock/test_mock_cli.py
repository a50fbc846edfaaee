"""``epay mock`` as a real process: it prints where it listens, serves, writes the sandbox
profiles, stops cleanly on SIGTERM (exit 0), and says in one line when the port is taken."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import tomllib
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest

from epaycli.core.models import SANDBOX_KEY
from epaycli.mock.server import start_gateway


def environment(home: Path) -> dict[str, str]:
    return {"HOME": str(home), "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "XDG_CONFIG_HOME": str(home / ".config"), "XDG_DATA_HOME": str(home / ".data"),
            "PYTHONUNBUFFERED": "1", "NO_COLOR": "1"}


class MockProcess:
    def __init__(self, home: Path, *args: str) -> None:
        self.errors = (home.parent / f"mock-{time.time_ns()}.err").open("w+", encoding="utf-8")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "epaycli", "mock", *args], env=environment(home),
            stdout=subprocess.PIPE, stderr=self.errors, text=True)

    def first_line(self, timeout: float = 20.0) -> str:
        """The first stdout line (the gateway's URL line), or fail when none comes in time."""
        import selectors

        selector = selectors.DefaultSelector()
        selector.register(self.process.stdout, selectors.EVENT_READ)
        if not selector.select(timeout):
            raise AssertionError("epay mock printed nothing in time")
        return self.process.stdout.readline()

    def stop(self) -> tuple[int, str, str]:
        """SIGTERM (unless it already ended); exit code, the rest of stdout, all of stderr."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=15)
        out = self.process.stdout.read()
        self.errors.seek(0)
        return code, out, self.errors.read()

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process.stdout.close()
        self.errors.close()


@pytest.fixture
def mock_process(tmp_path):
    started: list[MockProcess] = []

    def start(*args: str) -> MockProcess:
        process = MockProcess(tmp_path / "mockhome", *args)
        started.append(process)
        return process

    (tmp_path / "mockhome").mkdir()
    try:
        yield start
    finally:
        for process in started:
            process.kill()


def test_epay_mock_serves_until_sigterm_and_exits_0(mock_process, tmp_path):
    process = mock_process("--port", "0", "--data", str(tmp_path / "data"))
    line = process.first_line()
    label, url = line.split()
    assert label == "gateway" and url.startswith("http://127.0.0.1:") and url.endswith("/")
    answer = httpx.get(url + "api.php", params={"act": "query", "pid": "1000",
                                                "key": SANDBOX_KEY}, timeout=10).json()
    assert answer["code"] == 1
    code, out, err = process.stop()
    assert code == 0, err
    assert f"key                     {SANDBOX_KEY}" in out
    assert "v2 private key" in out and str(tmp_path / "data") in out
    assert "BEGIN" not in out + err  # no private key is ever printed
    assert "listening on" in err and "epay mock stopped" in err
    assert "Traceback" not in err


def test_it_writes_the_sandbox_profiles_without_changing_the_default(mock_process, tmp_path):
    config = tmp_path / "mockhome" / ".config" / "epay" / "profiles.toml"
    config.parent.mkdir(parents=True)
    config.write_text('default = "shop"\n[profiles.shop]\ngateway = "https://pay.example.com/"\n'
                      'pid = "1"\nkey = "89unJUB8HZ54Hj7x4nUj56HN4nUzUJ8i"\n', encoding="utf-8")
    process = mock_process("--port", "0", "--data", str(tmp_path / "data"))
    url = process.first_line().split()[1]
    code, _, err = process.stop()
    assert code == 0
    document = tomllib.loads(config.read_text(encoding="utf-8"))
    assert document["default"] == "shop"
    assert document["profiles"]["sandbox"]["gateway"] == url
    v2 = document["profiles"]["sandbox-v2"]
    assert v2["dialect"] == "v2" and v2["pid"] == "1001" and v2["gateway"] == url
    assert v2["private_key"] == str(tmp_path / "data" / "v2-merchant-private.pem")
    assert Path(v2["public_key"]).read_text().startswith("-----BEGIN PUBLIC KEY")
    assert "profile 'sandbox' now points at" in err and "profile 'sandbox-v2'" in err
    assert os.stat(config).st_mode & 0o777 == 0o600


def test_json_mode_prints_one_started_object_per_line(mock_process):
    process = mock_process("--port", "0", "--in-memory", "--json", "--no-profiles")
    started = json.loads(process.first_line())
    assert started["event"] == "started" and started["pid"] == "1000"
    assert started["v2"] == {"pid": "1001", "private_key": None, "public_key": None}
    assert started["process"] == process.process.pid
    code, _, _ = process.stop()
    assert code == 0


def test_a_taken_port_is_one_line_and_exit_6(mock_process):
    with start_gateway() as first:
        process = mock_process("--port", str(first.port), "--in-memory")
        process.process.wait(timeout=30)
        code, out, err = process.stop()
        assert code == 6
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("epay: error: port ")
        assert "already in use" in lines[0] and "--port N" in lines[0] and out == ""
        assert httpx.get(first.url + "api.php").json()["code"] == -5  # the first one is fine


@pytest.mark.parametrize(("args", "word"), [
    (["--quirks", "weird"], "quirks"), (["--time-scale", "0"], "time scale"),
    (["--fault", "explode"], "unknown fault"), (["--latency", "-5"], "latency"),
    (["--port", "99999"], "port"),
])
def test_bad_options_exit_2_with_one_line(mock_process, args, word):
    process = mock_process("--port", "0", "--in-memory", "--no-profiles", *args) \
        if "--port" not in args else mock_process("--in-memory", *args)
    process.process.wait(timeout=30)
    code, _, err = process.stop()
    assert code == 2, err
    assert err.startswith("epay: error: ") and word in err and len(err.strip().splitlines()) == 1


def test_notifies_are_reported_on_stderr(mock_process, tmp_path):
    process = mock_process("--port", "0", "--in-memory", "--no-profiles")
    url = process.first_line().split()[1]
    from mockkit import create, pay

    gw = SimpleNamespace(url=url, pid="1000", key=SANDBOX_KEY)  # what mockkit needs of a gateway
    with httpx.Client(timeout=10) as client:
        order = create(gw, client, "http://127.0.0.1:9/none")
        pay(gw, client, order["sent"]["out_trade_no"])
    time.sleep(0.2)
    code, _, err = process.stop()
    assert code == 0
    assert f"notify {order['sent']['out_trade_no']} attempt 1: ConnectError" in err


def test_mock_is_listed_in_help(cli):
    result = cli("mock", "--help")
    assert result.code == 0 and "--time-scale" in result.stdout and "--fault" in result.stdout


PROBE = """
import sys, json
from epaycli.cli.main import run
code = run(sys.argv[1:])
heavy = ["http.server", "sqlite3", "httpx", "cryptography", "epaycli.mock.server"]
print(json.dumps({"code": int(code), "loaded": [m for m in heavy if m in sys.modules]}),
      file=sys.stderr)
"""


@pytest.mark.parametrize("args", [["--help"], ["mock", "--help"], ["sign", "--help"]])
def test_the_gateway_engine_stays_off_other_commands_start_up(args, tmp_path):
    done = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True,
                          env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}, timeout=60)
    report = json.loads(done.stderr.strip().splitlines()[-1])
    assert report == {"code": 0, "loaded": []}


def test_orders_survive_the_gateway_being_killed(mock_process, tmp_path):
    from mockkit import create

    data = tmp_path / "data"
    process = mock_process("--port", "0", "--data", str(data), "--no-profiles")
    url = process.first_line().split()[1]

    gw = SimpleNamespace(url=url, pid="1000", key=SANDBOX_KEY)  # what mockkit needs of a gateway
    with httpx.Client(timeout=10) as client:
        numbers = [create(gw, client, out_trade_no=f"K{n}")["trade_no"] for n in range(30)]
    process.process.kill()  # SIGKILL: no clean shutdown, no last flush
    process.process.wait(timeout=10)
    with start_gateway(data_dir=data) as restarted:
        assert all(restarted.store.order_by_trade_no(n) is not None for n in numbers)


def test_on_the_default_port_the_built_in_sandbox_profile_needs_no_writing(tmp_path):
    from epaycli.cli.mock import write_profiles
    from epaycli.core.models import SANDBOX_GATEWAY
    from epaycli.profiles.store import config_path, load_store

    environ = {"EPAY_CONFIG": str(tmp_path / "profiles.toml")}
    v2 = SimpleNamespace(pid="1001", key="k" * 32, merchant_private_path=None,
                         platform_public_path=None)
    default = SimpleNamespace(url=SANDBOX_GATEWAY, pid="1000", key=SANDBOX_KEY, v2=v2)
    assert write_profiles(default, environ) == []
    assert not config_path(environ).exists()
    elsewhere = SimpleNamespace(url="http://127.0.0.1:9999/", pid="1000", key=SANDBOX_KEY, v2=v2)
    assert len(write_profiles(elsewhere, environ)) == 1
    assert load_store(config_path(environ)).profiles["sandbox"].gateway == elsewhere.url
    notes = write_profiles(default, environ)  # back on 8787: the stored one follows
    assert len(notes) == 1 and SANDBOX_GATEWAY in notes[0]
    store = load_store(config_path(environ))
    assert store.profiles["sandbox"].gateway == SANDBOX_GATEWAY and store.default is None
