"""How long `epay check notify` takes for the whole suite against a local handler.

Run by hand: python bench/check_speed.py [--runs N] [--no-state]
Starts examples/handlers/correct_handler.py on a free 127.0.0.1 port (stopped by its PID at
the end), runs the whole suite N times as a separate `epay` process, each with a fresh order,
and prints wall time per run (median, min, max), the suite's own time (sending and grading,
without process start), and PASS/MISS against the target. Exits 0 unless the check itself
does not pass.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

from benchkit import HANDLER, KEY, free_port, wait_for

TARGET_SECONDS = 3.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-state", action="store_true", help="leave --state-url out")
    options = parser.parse_args()
    port = free_port()
    orders = [f"--order=BENCH{i}=1.00" for i in range(options.runs)]
    handler = subprocess.Popen([sys.executable, str(HANDLER), "--port", str(port), "--key", KEY,
                                "--pid", "1000", *orders], stdout=subprocess.DEVNULL)
    walls, suites = [], []
    try:
        wait_for(port, "handler")
        base = f"http://127.0.0.1:{port}/"
        for run in range(options.runs):
            command = [sys.executable, "-m", "epaycli", "check", "notify", base + "notify",
                       "--key", KEY, "--pid", "1000", "--order", f"BENCH{run}",
                       "--amount", "1.00", "--json"]
            if not options.no_state:
                command += ["--state-url", base + "state"]
            started = time.perf_counter()
            done = subprocess.run(command, capture_output=True, text=True, timeout=120,
                                  env={**os.environ, "HOME": os.environ.get("HOME", "/tmp")})
            walls.append(time.perf_counter() - started)
            if done.returncode != 0:
                print(done.stdout[-2000:], done.stderr, file=sys.stderr)
                raise SystemExit(f"epay check notify exited {done.returncode}")
            report = json.loads(done.stdout)
            suites.append(report["summary"]["seconds"])
            cases = len(report["cases"])
            sent = sum(len(c["answers"]) for c in report["cases"])
    finally:
        handler.terminate()
        handler.wait(timeout=10)
    median = statistics.median(walls)
    print(f"epay check notify, {cases} cases, {sent} notifies a run, {options.runs} runs, "
          f"state URL {'off' if options.no_state else 'on'}")
    print(f"  wall (whole process): median {median:.2f} s, min {min(walls):.2f} s, "
          f"max {max(walls):.2f} s")
    print(f"  suite (send + grade): median {statistics.median(suites):.2f} s")
    verdict = "PASS" if median <= TARGET_SECONDS else "MISS"
    print(f"  target ≤ {TARGET_SECONDS:.0f} s wall: {verdict}")
    print(f"  load: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f} "
          f"on {os.cpu_count()} CPUs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
