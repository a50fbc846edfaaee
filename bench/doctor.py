"""How long `epay doctor` takes against `epay mock` with a healthy sandbox profile, as a whole
process (run by hand, not by pytest). Target: ≤ 2 s.

Starts `epay mock --port 0 --in-memory` with a private HOME and XDG folders (the mock points
the `sandbox` profile there at itself), then runs `python -m epaycli doctor --json` N times (and
`--offline` N times) and prints the wall time of each process: median, min, max. Exits 0 (a
measurement is not a failure); exits 1 only when a run does not pass.

    python bench/doctor.py [--runs N]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_MS = 2000


def environment(root: Path) -> dict[str, str]:
    return {"HOME": str(root), "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "XDG_CONFIG_HOME": str(root / "config"), "XDG_STATE_HOME": str(root / "state"),
            "XDG_DATA_HOME": str(root / "data"), "TMPDIR": str(root)}


def start_mock(environ: dict[str, str]) -> tuple[subprocess.Popen, str]:
    mock = subprocess.Popen([sys.executable, "-m", "epaycli", "mock", "--port", "0",
                             "--in-memory", "--json"], env=environ, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    line = mock.stdout.readline()  # {"event": "started", "url": …}: the gateway is up
    if not line:
        mock.kill()
        sys.exit("epay mock did not start")
    return mock, json.loads(line)["url"]


def one_run(environ: dict[str, str], extra: list[str]) -> float:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "epaycli", "doctor", "--json", *extra],
                          env=environ, capture_output=True, text=True, timeout=60)
    wall = (time.perf_counter() - started) * 1000
    if done.returncode != 0:
        sys.exit(f"epay doctor {' '.join(extra)} failed (exit {done.returncode}): "
                 f"{done.stdout[-600:]} {done.stderr.strip()[:300]}")
    return wall


def report(label: str, walls: list[float], target: int | None) -> None:
    median = statistics.median(walls)
    verdict = "" if target is None else ("  PASS" if median <= target else "  MISS")
    print(f"{label:<24} median {median:7.0f} ms   min {min(walls):6.0f}   max {max(walls):6.0f}"
          f"   ({len(walls)} runs){verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="epay-bench-doctor-") as folder:
        environ = environment(Path(folder))
        mock, url = start_mock(environ)
        try:
            print(f"epay mock at {url}; target: epay doctor ≤ {TARGET_MS} ms")
            report("epay doctor", [one_run(environ, []) for _ in range(options.runs)], TARGET_MS)
            report("epay doctor --offline",
                   [one_run(environ, ["--offline"]) for _ in range(options.runs)], None)
        finally:
            mock.terminate()
            mock.wait(timeout=10)


if __name__ == "__main__":
    main()
