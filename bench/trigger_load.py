"""Notifies per second from `epay trigger notify --count N --concurrency C` to a local receiver.

Run by hand:
    python bench/trigger_load.py [--count 10000] [--concurrency 64] [--receiver auto|listen|example]
The receiver is `epay listen` when this epay has it (auto), else the correct example handler
(examples/handlers/correct_handler.py); the output says which. It runs on a free 127.0.0.1 port
and is stopped by its PID at the end. Prints the rate trigger measured, the wall time of the
whole `epay trigger` process, the CPU seconds of trigger and of the receiver, latencies, and
PASS/MISS against the target. Exits 0 unless trigger itself fails.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import resource
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HANDLER = ROOT / "examples" / "handlers" / "correct_handler.py"
KEY = "89unJUB8HZ54Hj7x4nUj56HN4nUzUJ8i"
TARGET_PER_SECOND = 2000


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(port: int, deadline: float = 15.0) -> None:
    stop = time.monotonic() + deadline
    while time.monotonic() < stop:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise SystemExit(f"the receiver did not start on port {port}")


def has_listener() -> bool:
    return importlib.util.find_spec("epaycli.listener") is not None


def start_receiver(kind: str, port: int, state_dir: Path):
    """(process, notify URL, description)."""
    if kind == "listen":
        command = [sys.executable, "-m", "epaycli", "listen", "--port", str(port), "--key", KEY]
        env = {**os.environ, "XDG_STATE_HOME": str(state_dir), "HOME": str(state_dir)}
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                   env=env)
        return process, f"http://127.0.0.1:{port}/notify", "epay listen"
    command = [sys.executable, str(HANDLER), "--port", str(port), "--key", KEY, "--pid", "1000",
               "--order", "LOAD1=1.00"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    return process, f"http://127.0.0.1:{port}/notify", "examples/handlers/correct_handler.py"


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a running process, from /proc (Linux); 0 where unavailable."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--receiver", choices=("auto", "listen", "example"), default="auto")
    options = parser.parse_args()
    kind = options.receiver
    if kind == "auto":
        kind = "listen" if has_listener() else "example"
    import tempfile

    with tempfile.TemporaryDirectory() as state_dir:
        port = free_port()
        receiver, url, described = start_receiver(kind, port, Path(state_dir))
        try:
            wait_for(port)
            receiver_cpu = cpu_seconds(receiver.pid)
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            started = time.perf_counter()
            done = subprocess.run(
                [sys.executable, "-m", "epaycli", "trigger", "notify", "--to", url, "--key", KEY,
                 "--pid", "1000", "--order", "LOAD1", "--amount", "1.00",
                 "--count", str(options.count), "--concurrency", str(options.concurrency),
                 "--json"], capture_output=True, text=True, timeout=600)
            wall = time.perf_counter() - started
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            receiver_cpu = cpu_seconds(receiver.pid) - receiver_cpu
        finally:
            receiver.terminate()
            try:
                receiver.wait(timeout=10)
            except subprocess.TimeoutExpired:
                receiver.kill()
                receiver.wait()
    if done.returncode != 0:
        print(done.stderr, file=sys.stderr)
        raise SystemExit(f"epay trigger exited {done.returncode}")
    summary = json.loads(done.stdout)["summary"]
    trigger_cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    rate = summary["per_second"]
    load = os.getloadavg()
    print(f"epay trigger notify --count {options.count} --concurrency {options.concurrency}"
          f" → {described}")
    print(f"  rate (trigger's own count): {rate:.0f} notifies/s over {summary['seconds']:.2f} s; "
          f"whole process {options.count / wall:.0f}/s over {wall:.2f} s")
    print(f"  delivered {summary['delivered']}/{summary['sent']}, no answer {summary['no_answer']},"
          f" statuses {summary['statuses']}")
    print(f"  latency p50 {summary['p50_ms']} ms, p95 {summary['p95_ms']} ms, "
          f"max {summary['max_ms']} ms")
    print(f"  CPU: trigger {trigger_cpu:.2f} s ({trigger_cpu / options.count * 1e6:.0f} µs a "
          f"notify), receiver {receiver_cpu:.2f} s")
    print(f"  target ≥ {TARGET_PER_SECOND}/s: {'PASS' if rate >= TARGET_PER_SECOND else 'MISS'}")
    print(f"  load: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} CPUs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
