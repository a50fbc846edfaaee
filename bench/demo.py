"""How long `epay demo` takes end to end, as a whole process (run by hand, not by pytest).

Runs `python -m epaycli demo --json` (and `--v2 --json`) N times with a private HOME, XDG
folders and TMPDIR, and prints the wall time of the process (median, min, max), the time the
demo itself reports (start of the gateway to the last step), and the median of each step.
Exits 0 (a measurement is not a failure); exits 1 only when a run does not check out.

    python bench/demo.py [--runs N]
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


def one_run(args: list[str], root: Path) -> tuple[float, dict]:
    environ = {"HOME": str(root), "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
               "XDG_CONFIG_HOME": str(root / "config"), "XDG_STATE_HOME": str(root / "state"),
               "XDG_DATA_HOME": str(root / "data"), "TMPDIR": str(root)}
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "epaycli", "demo", *args, "--json"],
                          env=environ, capture_output=True, text=True, timeout=120)
    wall = (time.perf_counter() - started) * 1000
    if done.returncode != 0:
        sys.exit(f"epay demo {' '.join(args)} failed (exit {done.returncode}): "
                 f"{done.stderr.strip()[:300]}")
    return wall, json.loads(done.stdout)


def measure(label: str, args: list[str], runs: int) -> None:
    walls, inner, steps = [], [], {}
    with tempfile.TemporaryDirectory(prefix="epay-bench-demo-") as folder:
        one_run(args, Path(folder))  # warm-up: bytecode, page cache
        for _ in range(runs):
            wall, report = one_run(args, Path(folder))
            walls.append(wall)
            inner.append(report["ms"])
            for step in report["steps"]:
                steps.setdefault(step["name"], []).append(step["ms"])
    print(f"epay demo {label}: {runs} runs")
    print(f"  process wall   median {statistics.median(walls):6.0f} ms   "
          f"min {min(walls):6.0f}   max {max(walls):6.0f}")
    print(f"  demo (inside)  median {statistics.median(inner):6.0f} ms   "
          f"(gateway and receiver start + 7 steps + shutdown)")
    print("  steps (median ms): " + ", ".join(f"{name} {statistics.median(times):.1f}"
                                              for name, times in steps.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    options = parser.parse_args()
    measure("(V1, MD5)", [], max(1, options.runs))
    measure("--v2 (RSA)", ["--v2"], max(1, options.runs))


if __name__ == "__main__":
    main()
