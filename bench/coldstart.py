"""Cold start of `epay sign`: wall time of one whole process, next to a bare Python start.

Run by hand: python bench/coldstart.py [--runs N] [--epay PATH] [--inherit-bytecode-env] [--also]
                                        [--instructions]
Prints figures and PASS/MISS against the targets; exits 0 unless `epay sign` itself fails.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_MEDIAN_MS = 60.0
TARGET_RATIO = 6.0
TARGET_TYPER_RATIO = 1.15  # epay sign next to the typer import it cannot avoid
WARMUP_RUNS = 3

SIGN_ARGS = [
    "sign", "pid=1001", "type=alipay", "out_trade_no=20240101123456", "name=VIP", "money=1.00",
    "--key", "89unJUB8HZ54Hj7x4nUj56HN4nUzUJ8i",
]
EXPECTED_SIGN = "54c512132255861dd571ceba04eb0803"
# The other commands people start most often, timed beside it (--also): the same order verified,
# and the root's help.
ALSO_ARGS = {
    "verify": ["verify", "money=1.00&name=VIP&out_trade_no=20240101123456&pid=1001&type=alipay"
               f"&sign={EXPECTED_SIGN}&sign_type=MD5", "--key", SIGN_ARGS[-1]],
    "--help": ["--help"],
}
BARE_PYTHON_ARGS = ["-c", "import hashlib"]
TYPER_ARGS = ["-c", "import typer"]
TYPER_LABEL = "python -c 'import typer'"

# Imports `epay sign` has no business paying for: network, terminal styling, tunnels, RSA, QR
# codes, the stdlib HTTP server, and pydantic (pulled in by typer 0.29).
HEAVY_MODULES = ("httpx", "rich", "pyngrok", "cryptography", "segno", "http.server", "pydantic")

# Runs `epay sign` in-process through the CLI's own entry point, then reports sys.modules as
# the last stdout line: the authoritative list of what the command imported.
MODULES_PROBE = """
import contextlib, io, json, sys
from epaycli.cli.main import run
with contextlib.redirect_stdout(io.StringIO()):
    code = run(sys.argv[1:])
print(json.dumps({"exit": code, "modules": sorted(sys.modules)}))
"""


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40, help="timed runs of each command")
    parser.add_argument("--epay", help="the epay executable (default: next to this Python)")
    parser.add_argument("--also", action="store_true",
                        help="time `epay verify` and `epay --help` too, in the same rotation")
    parser.add_argument("--instructions", action="store_true",
                        help="also count each command's instructions under valgrind (callgrind): "
                             "a ratio to typer that a busy machine does not move")
    parser.add_argument(
        "--inherit-bytecode-env", action="store_true",
        help="run children with this environment as is (e.g. PYTHONDONTWRITEBYTECODE=1) "
             "instead of with a private, warmed-up bytecode cache",
    )
    args = parser.parse_args()
    if args.runs < 2:
        parser.error("--runs must be at least 2 (a p90 needs two samples)")
    return args


def find_epay(explicit: str | None) -> str:
    if explicit:
        return explicit
    beside_python = Path(sys.executable).parent / "epay"
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which("epay")
    if not found:
        sys.exit("coldstart: no epay executable next to this Python or on PATH; pass --epay PATH")
    return found


def child_environment(inherit: bool, cache_dir: str) -> dict[str, str]:
    """A user's install has .pyc files; without them every run recompiles epaycli from source.

    A private PYTHONPYCACHEPREFIX gives both commands a bytecode cache without writing
    __pycache__ into the source tree.
    """
    env = dict(os.environ)
    if not inherit:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = cache_dir
    return env


def run_once(command: list[str], env: dict[str, str]) -> tuple[float, subprocess.CompletedProcess]:
    return run_timed(command, env)[::2]


def run_timed(command: list[str],
              env: dict[str, str]) -> tuple[float, float, subprocess.CompletedProcess]:
    """(wall seconds, CPU seconds — user + system — of the child, result). On a busy machine
    the CPU time barely moves when the wall time does: it is what the process itself cost."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, result


def require_success(result: subprocess.CompletedProcess, what: str) -> None:
    if result.returncode != 0:
        sys.stderr.write(result.stderr)
        sys.exit(f"coldstart: {what} failed with exit code {result.returncode}")


def time_interleaved(commands: dict[str, list[str]], runs,
                     env) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Alternate the commands (rotating which goes first) so machine noise hits all alike.
    Returns the wall times and the CPU times, by label."""
    times: dict[str, list[float]] = {label: [] for label in commands}
    cpu_times: dict[str, list[float]] = {label: [] for label in commands}
    labels = list(commands)
    for i in range(runs):
        shift = i % len(labels)
        for label in labels[shift:] + labels[:shift]:
            elapsed, cpu, result = run_timed(commands[label], env)
            require_success(result, " ".join(commands[label]))
            times[label].append(elapsed)
            cpu_times[label].append(cpu)
    return times, cpu_times


def summary_ms(times: list[float]) -> dict[str, float]:
    ms = [t * 1000 for t in times]
    return {
        "median": statistics.median(ms),
        "p90": statistics.quantiles(ms, n=10, method="inclusive")[-1],
        "min": min(ms),
    }


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def slowest_imports(env: dict[str, str], count: int = 10) -> list[tuple[int, int, str]]:
    """(cumulative µs, self µs, indented module name) from one `-X importtime` run."""
    command = [sys.executable, "-X", "importtime", "-m", "epaycli", *SIGN_ARGS]
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    require_success(result, "python -X importtime -m epaycli sign")
    rows = []
    for line in result.stderr.splitlines():
        if not line.startswith("import time:") or "[us]" in line:
            continue
        self_us, cumulative_us, name = line[len("import time:"):].split("|")
        rows.append((int(cumulative_us), int(self_us), name.rstrip()))
    return sorted(rows, reverse=True)[:count]


def heavy_modules_imported(env: dict[str, str]) -> dict[str, bool]:
    result = subprocess.run([sys.executable, "-c", MODULES_PROBE, *SIGN_ARGS],
                            env=env, capture_output=True, text=True)
    require_success(result, "the sys.modules probe")
    report = json.loads(result.stdout.strip().splitlines()[-1])
    if report["exit"] != 0:
        sys.exit(f"coldstart: epay sign (in-process) returned exit code {report['exit']}")
    modules = report["modules"]
    return {heavy: any(m == heavy or m.startswith(heavy + ".") for m in modules)
            for heavy in HEAVY_MODULES}


def print_sign_output(sign: str) -> None:
    # A wrong sign would mean we are timing a different code path, so say so loudly.
    note = "" if sign == EXPECTED_SIGN else f"  (UNEXPECTED: the vector's sign is {EXPECTED_SIGN})"
    print(f"epay sign printed {sign}{note}\n")


def print_timings(epay: dict[str, float], bare: dict[str, float], typer: dict[str, float],
                  runs: int) -> None:
    print(f"{'':28}{'median':>9}{'p90':>9}{'min':>9}   (ms, {runs} runs each, interleaved)")
    for label, figures in (("epay sign", epay), ("python -c 'import hashlib'", bare),
                           (TYPER_LABEL, typer)):
        print(f"{label:28}" + "".join(f"{figures[k]:9.1f}" for k in ("median", "p90", "min")))
    ratio = epay["median"] / bare["median"]
    typer_ratio = epay["median"] / typer["median"]
    print()
    print(f"epay sign median  {epay['median']:.1f} ms  target <= {TARGET_MEDIAN_MS:.0f} ms  "
          f"{verdict(epay['median'] <= TARGET_MEDIAN_MS)}")
    print(f"ratio to bare     {ratio:.2f}x     target <= {TARGET_RATIO:.0f}x     "
          f"{verdict(ratio <= TARGET_RATIO)}")
    print(f"ratio to typer    {typer_ratio:.2f}x     target <= {TARGET_TYPER_RATIO:.2f}x  "
          f"{verdict(typer_ratio <= TARGET_TYPER_RATIO)}")


def print_cpu(epay: dict[str, float], typer: dict[str, float]) -> None:
    print(f"\nCPU time (user + system) of the same runs, ms:{'median':>9}{'min':>9}")
    for label, figures in (("epay sign", epay), (TYPER_LABEL, typer)):
        print(f"  {label:44}{figures['median']:9.1f}{figures['min']:9.1f}")
    ratio = epay["median"] / typer["median"]
    print(f"ratio to typer (CPU, medians) {ratio:.2f}x  target <= {TARGET_TYPER_RATIO:.2f}x  "
          f"{verdict(ratio <= TARGET_TYPER_RATIO)}")


def print_also(label: str, wall: dict[str, float], cpu: dict[str, float],
               typer_wall: dict[str, float], typer_cpu: dict[str, float]) -> None:
    wall_ratio, cpu_ratio = wall["median"] / typer_wall["median"], cpu["median"] / typer_cpu["median"]
    print(f"{label:16} median {wall['median']:6.1f} ms ({wall_ratio:.2f}x typer), CPU "
          f"{cpu['median']:6.1f} ms ({cpu_ratio:.2f}x typer)  target <= "
          f"{TARGET_TYPER_RATIO:.2f}x  {verdict(cpu_ratio <= TARGET_TYPER_RATIO)}")


def count_instructions(command: list[str], env: dict[str, str]) -> int:
    """Instructions the whole process executes (callgrind's "I refs"), string hashing fixed so
    that a run repeats; valgrind runs it ~50x slower."""
    result = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *command],
        env={**env, "PYTHONHASHSEED": "0"}, capture_output=True, text=True)
    require_success(result, "valgrind " + " ".join(command))
    found = re.search(r"I\s+refs:\s+([\d,]+)", result.stderr)
    if not found:
        sys.exit("coldstart: valgrind printed no instruction count")
    return int(found.group(1).replace(",", ""))


def print_instructions(commands: dict[str, list[str]], env: dict[str, str]) -> None:
    print("\nInstructions (valgrind --tool=callgrind, PYTHONHASHSEED=0), millions:")
    if shutil.which("valgrind") is None:
        print("  skipped: valgrind is not installed")
        return
    typer = count_instructions(commands["typer"], env)
    print(f"  {TYPER_LABEL:26}{typer / 1e6:8.1f}")
    for label, command in commands.items():
        if label != "typer":
            count = count_instructions(command, env)
            print(f"  {label:26}{count / 1e6:8.1f}  {count / typer:.2f}x typer  target <= "
                  f"{TARGET_TYPER_RATIO:.2f}x  {verdict(count / typer <= TARGET_TYPER_RATIO)}")


def print_imports(rows: list[tuple[int, int, str]]) -> None:
    print("\n10 slowest cumulative imports (one `python -X importtime -m epaycli sign …` run):")
    print(f"{'cumul ms':>9} {'self ms':>8}  module (indent = nesting)")
    for cumulative_us, self_us, name in rows:
        print(f"{cumulative_us / 1000:9.1f} {self_us / 1000:8.1f}  {name}")


def print_heavy(imported: dict[str, bool]) -> None:
    print("\nHeavy modules imported by `epay sign` (sys.modules after an in-process run):")
    for module, present in imported.items():
        print(f"  {module:14} {'IMPORTED' if present else 'not imported'}")


def warm_up(commands: list[list[str]], env: dict[str, str]) -> None:
    """Fill the bytecode cache and the OS file cache; these times are discarded."""
    for _ in range(WARMUP_RUNS):
        for command in commands:
            require_success(run_once(command, env)[1], " ".join(command))


def describe_bytecode(inherit: bool) -> str:
    if inherit:
        return ("inherited environment (PYTHONDONTWRITEBYTECODE="
                f"{os.environ.get('PYTHONDONTWRITEBYTECODE', 'unset')})")
    return "private PYTHONPYCACHEPREFIX, warmed up"


def main() -> int:
    args = parse_args()
    epay = find_epay(args.epay)
    epay_cmd = [epay, *SIGN_ARGS]
    bare_cmd = [sys.executable, *BARE_PYTHON_ARGS]
    typer_cmd = [sys.executable, *TYPER_ARGS]
    print(f"python  {sys.executable} ({sys.version.split()[0]})")
    print(f"epay    {epay}")
    print(f"bytecode cache: {describe_bytecode(args.inherit_bytecode_env)}")
    with tempfile.TemporaryDirectory(prefix="epay-bench-pyc-") as cache_dir:
        env = child_environment(args.inherit_bytecode_env, cache_dir)
        warm_up([epay_cmd, bare_cmd, typer_cmd], env)
        print_sign_output(run_once(epay_cmd, env)[1].stdout.strip())
        also = {f"epay {name}": [epay, *words] for name, words in ALSO_ARGS.items()} \
            if args.also else {}
        times, cpu_times = time_interleaved(
            {"epay": epay_cmd, "bare": bare_cmd, "typer": typer_cmd, **also}, args.runs, env)
        print_timings(summary_ms(times["epay"]), summary_ms(times["bare"]),
                      summary_ms(times["typer"]), args.runs)
        print_cpu(summary_ms(cpu_times["epay"]), summary_ms(cpu_times["typer"]))
        for label in also:
            print_also(label, summary_ms(times[label]), summary_ms(cpu_times[label]),
                       summary_ms(times["typer"]), summary_ms(cpu_times["typer"]))
        if args.instructions:
            print_instructions({"typer": typer_cmd, "epay sign": epay_cmd, **also}, env)
        print_imports(slowest_imports(env))
        print_heavy(heavy_modules_imported(env))
    return 0


if __name__ == "__main__":
    sys.exit(main())
