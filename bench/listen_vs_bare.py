"""`epay listen` side by side with a bare stdlib server (run by hand, not a test).

    .venv/bin/python bench/listen_vs_bare.py [--rounds 2] [--count 20000] [--concurrency 32]
                                             [--client auto|wrk|raw|httpx] [--seconds 8]
                                             [--before TREE]

bench/bare_server.py (answers ``success``, verifies and journals nothing) and `epay listen`
are loaded in turn with the same client, interleaved ``--rounds`` times each (the machine's
noise hits both alike); it prints every round, the medians and the ratios listen / bare (goal:
notifies/s ≥ 0.5×, p99 ≤ 2×). The client and the listener's start are bench/listen_load.py's.

``--php`` adds bench/php/notify_url.php — a merchant SDK's notify page reduced to what it
does per notify (ksort, join, append the key, md5, compare) — on `php -S` with two workers
(PHP_CLI_SERVER_WORKERS=2), as issue 16 measured the listener against it; it needs php (the
tests never do). Its "server CPU" is the parent's only: the two workers are its children.

``--before TREE`` adds `epay listen` from another source tree (e.g. the commit before a change:
``git archive main epaycli | tar -x -C /tmp/before``) to the same rounds, so a change is
measured against what it replaces on the same machine at the same time.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from listen_load import (
    ROOT,
    client_options,
    cpu_seconds,
    load,
    load_raw,
    load_wrk,
    notifies,
    percentile,
    start_listener,
)


def start_bare(workdir: Path) -> tuple[subprocess.Popen, str]:
    """bench/bare_server.py in a subprocess: (process, the URL it answers on)."""
    process = subprocess.Popen([sys.executable, str(ROOT / "bench" / "bare_server.py")],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    port = int(process.stdout.readline())
    return process, f"http://127.0.0.1:{port}/notify"


def start_php() -> tuple[subprocess.Popen, str]:
    """bench/php/notify_url.php on `php -S` with two workers: (process, its notify URL)."""
    import shutil
    import socket

    if shutil.which("php") is None:
        raise SystemExit("php is not on PATH (Debian: apt install php-cli); leave out --php")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    page = ROOT / "bench" / "php"
    process = subprocess.Popen(["php", "-S", f"127.0.0.1:{port}", "-t", str(page)],
                               env={**os.environ, "PHP_CLI_SERVER_WORKERS": "2"},
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)  # a group of its own, stopped whole
    url = f"http://127.0.0.1:{port}/notify_url.php"
    probe = notifies(1)[0]
    started = time.monotonic()
    while time.monotonic() - started < 10:  # bounded: php -S answers within milliseconds
        try:
            if httpx.get(f"{url}?{probe}").text == "success":
                return process, url
        except httpx.TransportError:
            time.sleep(0.01)
    os.killpg(process.pid, signal.SIGKILL)
    raise SystemExit("php -S did not answer within 10 s")


def measure(url: str, queries: list[str], options, workdir: Path, pid: int) -> dict:
    """One load on ``url`` with the chosen client: what it counted, and the server's CPU."""
    cpu_before = cpu_seconds(pid)
    if options.client == "wrk":
        counted = load_wrk(url, queries, options.concurrency, min(options.seconds, 120),
                           workdir)
    else:
        run = load if options.client == "httpx" else load_raw
        latencies, answered, elapsed = asyncio.run(run(url, queries, options.concurrency))
        counted = {"answered": answered, "sent": len(queries), "elapsed": elapsed,
                   "p50": percentile(latencies, .50), "p99": percentile(latencies, .99),
                   "max": max(latencies)}
    counted["per_s"] = counted["sent"] / counted["elapsed"]
    counted["cpu_us"] = (cpu_seconds(pid) - cpu_before) / counted["sent"] * 1e6
    return counted


def compare(options, queries: list[str]) -> None:
    """Bare stdlib server and `epay listen`, interleaved ``options.rounds`` times each."""
    import statistics

    names = ("bare", "listen", *(("before",) if options.before else ()),
             *(("php",) if options.php else ()))
    figures: dict[str, list[dict]] = {name: [] for name in names}
    for number in range(options.rounds):
        for name in names[number % len(names):] + names[:number % len(names)]:
            with tempfile.TemporaryDirectory() as folder:
                workdir = Path(folder)
                if name == "bare":
                    process, url = start_bare(workdir)
                elif name == "php":
                    process, url = start_php()
                else:
                    tree = Path(options.before) if name == "before" else ROOT
                    process, url, _, _ = start_listener(workdir, tree=tree)
                try:
                    got = measure(url, queries, options, workdir, process.pid)
                finally:
                    if name == "php":  # its workers too: they are its children
                        os.killpg(process.pid, signal.SIGTERM)
                    else:
                        process.send_signal(signal.SIGTERM)
                    process.wait(30)
            figures[name].append(got)
            print(f"round {number + 1} {name:6} {got['per_s']:8.0f}/s  p50 {got['p50']:6.2f} ms"
                  f"  p99 {got['p99']:6.2f} ms  server CPU {got['cpu_us']:4.0f} µs a request"
                  f"  answered {got['answered']}/{got['sent']}", flush=True)
    median = {name: {key: statistics.median(f[key] for f in runs)
                     for key in ("per_s", "p50", "p99", "cpu_us")}
              for name, runs in figures.items()}
    report = {"client": options.client, "concurrency": options.concurrency,
              "rounds": options.rounds, "median": median,
              "throughput_ratio": round(median["listen"]["per_s"] / median["bare"]["per_s"], 2),
              "p99_ratio": round(median["listen"]["p99"] / median["bare"]["p99"], 2),
              "load_average": os.getloadavg()}
    if options.before:
        report["before_throughput_ratio"] = round(
            median["before"]["per_s"] / median["bare"]["per_s"], 2)
        report["before_p99_ratio"] = round(median["before"]["p99"] / median["bare"]["p99"], 2)
    if options.php:  # the gap to the PHP page: listen (and before) as a share of its rate
        for name in ("listen", *(("before",) if options.before else ())):
            report[f"{name}_to_php"] = round(median[name]["per_s"] / median["php"]["per_s"], 2)
    print(json.dumps(report, indent=2))
    for name, passed in (("notifies/s ≥ 0.5 × the bare server's", report["throughput_ratio"] >= .5),
                         ("p99 ≤ 2 × the bare server's", report["p99_ratio"] <= 2)):
        print(f"{'PASS' if passed else 'MISS'}  {name}")


def main() -> None:
    parser = client_options()
    parser.add_argument("--rounds", type=int, default=2,
                        help="rounds of each server, interleaved")
    parser.add_argument("--before", metavar="TREE",
                        help="also run `epay listen` from this source tree (its epaycli/)")
    parser.add_argument("--php", action="store_true",
                        help="also run bench/php/notify_url.php on php -S (2 workers)")
    options = parser.parse_args()
    if options.client == "auto":
        import shutil

        options.client = "wrk" if shutil.which("wrk") else "raw"
    count = min(options.count, 200_000)  # bounded: this is a benchmark, not a soak test
    queries = notifies(count)
    compare(options, queries)


if __name__ == "__main__":
    main()
