"""The installed ``epay`` console script as a real process: version, a pipe, a terminal
(the interactive profile prompts, key hidden) and Ctrl-C."""

from __future__ import annotations

import os
import pty
import select
import signal
import subprocess
import sys
import time

import pytest
from conftest import epay_executable, load_vectors

CASE = load_vectors("v1-md5")["cases"][1]
KEY = CASE["key"]


@pytest.fixture
def env(isolated_env):
    return {**os.environ, "HOME": str(isolated_env)}


def test_console_script_signs_and_verifies(env):
    epay = epay_executable()
    version = subprocess.run([epay, "--version"], capture_output=True, text=True, env=env, timeout=60)
    assert version.returncode == 0 and version.stdout.startswith("epay ")
    signed = subprocess.run([epay, "sign", "--from", "-", "--key", KEY], input=CASE["query"],
                            capture_output=True, text=True, env=env, timeout=60)
    assert (signed.returncode, signed.stdout) == (0, CASE["sign"] + "\n")
    verified = subprocess.run([epay, "verify", "--key", "Z" * 32],
                              input=CASE["query"] + "&sign=" + CASE["sign"],
                              capture_output=True, text=True, env=env, timeout=60)
    assert verified.returncode == 3 and verified.stdout == "invalid\n"
    assert "Traceback" not in verified.stderr


@pytest.mark.parametrize(("redirect", "says"), [("<&-", "standard input is closed"),
                                                ("a=1 >&-", "standard output is closed")])
def test_closed_standard_streams(env, redirect, says):
    command = "verify" if redirect.startswith("<") else "sign"
    done = subprocess.run(["sh", "-c", f'"$0" {command} --key {KEY} {redirect}', epay_executable()],
                          capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode in (1, 2) and says in done.stderr
    assert "Traceback" not in done.stderr


def test_python_dash_m(env):
    done = subprocess.run([sys.executable, "-m", "epaycli", "--version"], capture_output=True,
                          text=True, env=env, timeout=60)
    assert done.returncode == 0 and done.stdout.startswith("epay ")


def blocked_reading_stdin(pid: int) -> bool:
    """The process sits in read(0, …) (Linux: /proc/PID/syscall; 0 is read on x86-64 and
    63 on arm64)."""
    try:
        with open(f"/proc/{pid}/syscall") as status:
            number, first, *_ = status.read().split() + ["", ""]
    except OSError:
        return False
    return number in ("0", "63") and first == "0x0"


@pytest.mark.skipif(not os.path.exists("/proc/self/syscall"), reason="needs Linux /proc")
def test_ctrl_c_exits_130_without_a_traceback(env):
    process = subprocess.Popen([epay_executable(), "verify", "-"], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        deadline = time.monotonic() + 30
        while not blocked_reading_stdin(process.pid):  # started, and waiting for its input
            assert process.poll() is None and time.monotonic() < deadline
            time.sleep(0.02)
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 130
    assert err.decode().splitlines() == ["epay: error: interrupted"]


INTERRUPTED_WHILE_LOADING = """
import os, signal, sys
class InterruptTheImport:
    def find_spec(self, name, path=None, target=None):
        if name == "epaycli.cli.main":  # Ctrl-C lands while the boundary is being loaded
            os.kill(os.getpid(), signal.SIGINT)
        return None
sys.meta_path.insert(0, InterruptTheImport())
from epaycli.cli.console import main
sys.argv = ["epay", "--version"]
main()
"""


def test_ctrl_c_while_epay_is_still_loading_ends_it_without_a_traceback(env):
    done = subprocess.run([sys.executable, "-c", INTERRUPTED_WHILE_LOADING], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == -signal.SIGINT, done.stderr  # the shell shows 130
    assert done.stderr == ""


def read_until(fd: int, marker: bytes, timeout: float = 20.0) -> bytes:
    seen = b""
    deadline = time.monotonic() + timeout
    while marker not in seen:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"no {marker!r} in {seen!r}")
        ready, _, _ = select.select([fd], [], [], remaining)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
    return seen


def exit_code_of(child: int) -> int:
    _, status = os.waitpid(child, 0)
    return os.waitstatus_to_exitcode(status)


def end_terminal(child: int, leader: int) -> None:
    """The pty child killed if still running (a failed test), its terminal closed."""
    try:
        os.kill(child, signal.SIGKILL)
    except ProcessLookupError:
        pass
    os.close(leader)


def test_profile_add_prompts_on_a_terminal_with_the_key_hidden(env, isolated_env):
    # pty.fork gives the child a controlling terminal, so getpass can really turn echo off.
    child, leader = pty.fork()
    if child == 0:  # pragma: no cover - the child process
        os.execve(epay_executable(), ["epay", "profile", "add", "shop"], {**env, "NO_COLOR": "1"})
    try:
        transcript = read_until(leader, b"Gateway")
        os.write(leader, b"https://pay.example.com\n")
        transcript += read_until(leader, b"Merchant id")
        os.write(leader, b"1001\n")
        # click prints the question, then getpass turns echo off and prints " ": wait for that
        # space, or the typed key races the terminal flush.
        transcript += read_until(leader, "商户密钥): ".encode())
        os.write(leader, KEY.encode() + b"\n")
        transcript += read_until(leader, b"saved profile")
        assert exit_code_of(child) == 0
    finally:
        end_terminal(child, leader)
    assert KEY.encode() not in transcript  # typed, but never echoed
    saved = (isolated_env / ".config" / "epay" / "profiles.toml").read_text()
    assert KEY in saved and 'pid = "1001"' in saved
