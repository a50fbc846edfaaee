"""The live dashboard of `epay monitor`, in a pseudo-terminal: the three figures against their
thresholds in colour, redrawn each interval with the history chart, ended by Ctrl+C (130)."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import signal
import socket
import subprocess
import time

import httpx
import pytest
from conftest import epay_executable
from mockkit import order_fields, signed

from epaycli.mock.server import start_gateway

GREEN, RED = "\x1b[1;32m", "\x1b[1;31m"


@pytest.fixture
def gateway():
    back = {"seconds": 1200}
    gw = start_gateway(clock=lambda: time.time() - back["seconds"])
    with httpx.Client(timeout=10) as client:
        for number, pay in (("D1", True), ("D2", False)):
            fields = order_fields("http://127.0.0.1:9/n", out_trade_no=number)
            assert client.post(gw.url + "mapi.php", data=signed(fields, gw.key)).json()["code"] == 1
            if pay:
                client.post(gw.url + "sandbox/pay", data={"pid": gw.pid, "key": gw.key,
                                                          "out_trade_no": number})
    yield gw
    gw.close()


def hold_port(url: str) -> socket.socket:
    """Bind the port of ``url`` without listening: connections to it are refused, and no
    server of another test or process on this machine can take it meanwhile."""
    holder = socket.socket()
    holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    holder.bind(("127.0.0.1", httpx.URL(url).port))
    return holder


def read_until(fd: int, wanted, deadline: float) -> str:
    """What the terminal shows until ``wanted(text)`` holds (or the deadline passes)."""
    seen = b""
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
            if wanted(seen.decode("utf-8", "replace")):
                break
    return seen.decode("utf-8", "replace")


def watch_in_terminal(gateway, wanted, **environ: str) -> tuple[str, int]:
    """What `epay monitor --interval 1s` draws in a pseudo-terminal until ``wanted(text)``
    holds, then Ctrl+C: (the text, the exit code)."""
    primary, secondary = pty.openpty()
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    env.update(TERM="xterm-256color", COLUMNS="120", LINES="40", **environ)
    process = subprocess.Popen(
        [epay_executable(), "monitor", "--interval", "1s", "--gateway", gateway.url,
         "--pid", gateway.pid, "--key", gateway.key],
        stdin=secondary, stdout=secondary, stderr=secondary, env=env, close_fds=True)
    os.close(secondary)
    try:
        shown = read_until(primary, wanted, time.monotonic() + 30)
        process.send_signal(signal.SIGINT)
        code = process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(primary)
    return shown, code


def test_the_dashboard_draws_the_figures_in_colour_and_redraws_each_interval(gateway, tmp_path):
    shown, code = watch_in_terminal(gateway, lambda text: "history  !!" in text)
    assert re.search(re.escape(RED) + r"success rate +50\.00 % +\(≥ 99\.50 %\)", shown)
    assert re.search(re.escape(GREEN) + r"response avg +[\d.]+ ms", shown)
    assert re.search(re.escape(GREEN) + r"abnormal +0\.00 % +\(< 0\.10 %\)", shown)
    assert "\x1b[1A\x1b[2K" in shown  # drawn over in place, not scrolled
    assert "history  !!" in shown  # redrawn a second interval: one bar each
    assert "BREACH: success rate 50.00 % is below 99.50 %" in shown
    assert code == 130


def test_in_a_pipe_one_json_line_an_interval_and_a_gateway_outage_does_not_stop_it(gateway,
                                                                                     tmp_path):
    errors = tmp_path / "stderr.txt"
    with errors.open("w") as stderr:
        process = subprocess.Popen(
            [epay_executable(), "monitor", "--interval", "1s", "--request-timeout", "30",
             "--gateway", gateway.url, "--pid", gateway.pid, "--key", gateway.key],
            stdout=subprocess.PIPE, stderr=stderr, text=True)
    held = None
    try:
        first = json.loads(process.stdout.readline())
        gateway.close()  # the gateway goes away between two intervals …
        held = hold_port(gateway.url)  # … and its port stays refused (no other server takes it)
        second = json.loads(process.stdout.readline())
        third = json.loads(process.stdout.readline())  # the second one's status line is out
        process.send_signal(signal.SIGINT)
        process.wait(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        if held is not None:
            held.close()
    assert (first["orders"], first["paid"], first["success_rate"]) == (2, 1, 0.5)
    outage = {"figure": "gateway", "value": "network_connect", "threshold": None}
    assert outage in second["breaches"] and outage in third["breaches"]
    assert second["orders"] == 2  # what it knew is kept
    said = errors.read_text()
    assert "interval failed: cannot connect" in said and "(the monitor goes on)" in said
    assert process.returncode == 130
