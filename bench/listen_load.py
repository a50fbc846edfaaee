"""Load on `epay listen` (run by hand, not a test): start-to-first-answer, then valid signed
notifies from this process (async httpx, bounded concurrency) to a real `epay listen`
subprocess on 127.0.0.1 that verifies and journals each one durably before answering.

    .venv/bin/python bench/listen_load.py [--count 20000] [--concurrency 32]
                                          [--client auto|wrk|raw|httpx] [--seconds 8]
                                          [--inspect off|on|compare] [--page sse|browser]
                                          [--rounds 3]

``--inspect compare`` measures the listener without ``--inspect`` and with it and its page
open and live (``--page sse``: the live feed read by curl; ``browser``: the page in headless
chromium), interleaved, and prints both medians and how far apart they are (issue 20: within
10 %).

``--client auto`` (the default) is wrk when it is on PATH (Debian: apt install wrk), else the
minimal asyncio client. wrk runs for ``--seconds`` and cycles through the ``--count`` notifies.
``httpx`` costs about twice the listener's CPU a request: on 2 cores it measures the client.

Prints notifies/s, latency percentiles, journaled == answered == sent, the CPU the listener and
the client spent per notify, and PASS/MISS against the targets (bench/README.md).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

import httpx

from epaycli.core.models import SANDBOX_KEY
from epaycli.core.notify import PaidOrder, notify_fields, signed_notify
from epaycli.core.php import http_build_query
from epaycli.core.signing import Md5Key

ROOT = Path(__file__).resolve().parent.parent


def notifies(count: int) -> list[str]:
    """Signed V1 notify query strings, each for its own order (made before the clock runs)."""
    signer = Md5Key(SANDBOX_KEY)
    made = []
    for number in range(count):
        order = PaidOrder(pid="1000", trade_no=f"2026120100000{number:06d}",
                          out_trade_no=f"LOAD{number}", type="alipay", name="product",
                          money=Decimal("12.34"))
        made.append(http_build_query(signed_notify(notify_fields(order), signer)))
    return made


def start_listener(workdir: Path, extra: tuple[str, ...] = (), tree: Path = ROOT
                   ) -> tuple[subprocess.Popen, str, float, Path]:
    """`epay listen` in a subprocess, from ``tree``'s epaycli (another checkout or an unpacked
    `git archive` of a commit: `python -m` finds the package of its working directory first)."""
    journal = workdir / "journal.sqlite3"
    out = (workdir / "events.jsonl").open("w")
    env = {**os.environ, "HOME": str(workdir), "XDG_STATE_HOME": str(workdir / "state"),
           "XDG_CONFIG_HOME": str(workdir / "config")}
    port = _free_port()
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "epaycli", "listen", "--port", str(port), "--json",
         "--journal", str(journal), *extra], stdout=out, stderr=subprocess.DEVNULL, env=env,
        cwd=tree)
    url = f"http://127.0.0.1:{port}/notify"
    probe = notifies(1)[0]
    with httpx.Client() as client:
        while True:
            try:
                if client.get(f"{url}?{probe}").text == "success":
                    break
            except httpx.TransportError:
                time.sleep(0.002)
            if time.perf_counter() - started > 10:
                raise SystemExit("the listener did not answer within 10 s")
    return process, url, (time.perf_counter() - started) * 1000, journal


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def load(url: str, queries: list[str], concurrency: int) -> tuple[list[float], int, float]:
    """``concurrency`` workers, each with its own one-connection client: httpcore's shared
    pool scans every connection per request, which costs more than the listener does."""
    latencies: list[float] = []
    answered = 0
    pending = iter(queries)
    one = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    clients = [httpx.AsyncClient(limits=one, timeout=10) for _ in range(concurrency)]

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal answered
        for query in pending:
            started = time.perf_counter()
            response = await client.get(f"{url}?{query}")
            latencies.append((time.perf_counter() - started) * 1000)
            if response.text == "success":
                answered += 1

    began = time.perf_counter()
    await asyncio.gather(*(worker(client) for client in clients))
    elapsed = time.perf_counter() - began
    for client in clients:
        await client.aclose()
    return latencies, answered, elapsed


async def load_raw(url: str, queries: list[str], concurrency: int
                   ) -> tuple[list[float], int, float]:
    """The same load from a minimal asyncio HTTP/1.1 client (what wrk would be): shows what
    the listener can do when the client costs little."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    latencies: list[float] = []
    answered = 0
    pending = iter(queries)

    async def worker() -> None:
        nonlocal answered
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
        for query in pending:
            started = time.perf_counter()
            writer.write(f"GET {parts.path}?{query} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
                         "User-Agent: listen-load\r\n\r\n".encode())
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
            body = await reader.readexactly(length)
            latencies.append((time.perf_counter() - started) * 1000)
            if body == b"success":
                answered += 1
        writer.close()

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, answered, time.perf_counter() - began


_WRK_SCRIPT = """
local paths = {%s}
local i = 0
local threads = {}
answered = 0
function setup(thread) table.insert(threads, thread) end
function request()
  i = i + 1
  if i > #paths then i = 1 end
  return wrk.format("GET", paths[i])
end
function response(status, headers, body)
  if body == "success" then answered = answered + 1 end
end
function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do total = total + thread:get("answered") end
  io.write(string.format("EPAY %%d %%d %%d %%.3f %%.3f %%.3f\\n", total, summary.requests,
    summary.duration, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000))
end
"""


def load_wrk(url: str, queries: list[str], concurrency: int, seconds: float,
             workdir: Path) -> dict:
    """wrk (one thread, ``concurrency`` keep-alive connections) for ``seconds``: what it
    counted. It stops with requests in flight, which the listener may journal uncounted."""
    import shutil
    from urllib.parse import urlsplit

    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not on PATH (Debian: apt install wrk); use --client raw")
    path = urlsplit(url).path
    script = workdir / "notifies.lua"
    script.write_text(_WRK_SCRIPT % ",".join(f'"{path}?{query}"' for query in queries))
    done = subprocess.run(["wrk", "-t1", f"-c{concurrency}", f"-d{seconds:g}s", "--latency",
                           "-s", str(script), url], capture_output=True, text=True,
                          timeout=seconds + 60)
    line = next((line for line in done.stdout.splitlines() if line.startswith("EPAY ")), None)
    if line is None:
        raise SystemExit(f"wrk failed: {done.stderr.strip() or done.stdout.strip()}")
    answered, sent, micros, p50, p99, top = line.split()[1:]
    return {"answered": int(answered), "sent": int(sent), "elapsed": int(micros) / 1e6,
            "p50": float(p50), "p99": float(p99), "max": float(top)}


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


def open_page(workdir: Path, page: str):
    """What keeps the inspector's page open and live during the load: ``sse`` (curl on the
    live feed, the page's only steady traffic) or ``browser`` (the page in headless chromium).
    Returns a function that closes it."""
    url = None
    deadline = time.perf_counter() + 10
    while url is None:  # the start probe may be answered before the ready line is written
        for line in (workdir / "events.jsonl").read_text().splitlines():
            event = json.loads(line)
            if event["event"] == "ready":
                url = event["inspector_url"]
        if time.perf_counter() > deadline:
            raise SystemExit("the listener never said it was ready")
    if page == "sse":
        feed = workdir / "live.txt"
        curl = subprocess.Popen(["curl", "-sN", url + "api/live", "-o", str(feed)])
        deadline = time.perf_counter() + 10
        while "hello" not in (feed.read_text() if feed.exists() else ""):
            if time.perf_counter() > deadline:
                raise SystemExit("the inspector's live feed did not answer")
            time.sleep(0.01)

        def close() -> str:
            curl.terminate()
            curl.wait(10)
            events = feed.read_text().count("event: rows")
            return f"{events} rows events"

        return close
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    driver.get(url)
    WebDriverWait(driver, 10).until(
        lambda d: "on" in d.find_element(By.ID, "live").get_attribute("class"))

    def close() -> str:
        shown = len(driver.find_elements(By.CSS_SELECTOR, "#rows tr[data-id]"))
        driver.quit()
        return f"{shown} rows shown"

    return close


def measure(options, queries: list[str], page: str) -> dict:
    """One run against a fresh listener; ``page``: off, sse or browser (see open_page)."""
    count = len(queries)
    with tempfile.TemporaryDirectory() as folder:
        workdir = Path(folder)
        extra = () if page == "off" else ("--inspect", "--inspect-port", "0")
        process, url, first_ms, journal = start_listener(workdir, extra)
        close_page, page_saw = None, None
        try:
            if page != "off":
                close_page = open_page(workdir, page)
            cpu_before, own_before = cpu_seconds(process.pid), cpu_seconds(os.getpid())
            if options.client == "wrk":
                counted = load_wrk(url, queries, options.concurrency,
                                   min(options.seconds, 120), workdir)
                answered, elapsed, count = counted["answered"], counted["elapsed"], counted["sent"]
                latencies = None
            else:
                run = load if options.client == "httpx" else load_raw
                latencies, answered, elapsed = asyncio.run(run(url, queries, options.concurrency))
            listener_cpu = cpu_seconds(process.pid) - cpu_before
            client_cpu = cpu_seconds(os.getpid()) - own_before
        finally:
            if close_page is not None:
                page_saw = close_page()
            process.send_signal(signal.SIGTERM)
            code = process.wait(30)
        with sqlite3.connect(journal) as db:
            journaled = db.execute("SELECT count(*) FROM requests WHERE valid = 1").fetchone()[0]
        lines = (workdir / "events.jsonl").read_text().splitlines()
        notify_lines = sum(1 for line in lines if json.loads(line)["event"] == "notify")
    journaled -= 1  # the start probe
    notify_lines -= 1
    if latencies is None:  # wrk: its own percentiles; it stops with requests in flight
        p50, p99, top = counted["p50"], counted["p99"], counted["max"]
        equal = count == answered and 0 <= journaled - count <= options.concurrency \
            and journaled == notify_lines
        client_cpu = None  # wrk is a child process: not measured
    else:
        p50, p99, top = percentile(latencies, .50), percentile(latencies, .99), max(latencies)
        equal = count == answered == journaled == notify_lines
    return {
        "sent": count, "answered_success": answered, "journaled": journaled,
        "json_lines": notify_lines, "equal": equal,
        "notifies_per_s": round(count / elapsed), "p50_ms": round(p50, 2),
        "p99_ms": round(p99, 2), "max_ms": round(top, 2), "concurrency": options.concurrency,
        "client": options.client, "inspector_page": page, "page_saw": page_saw,
        "listener_cpu_us_per_notify": round(listener_cpu / count * 1e6),
        "client_cpu_us_per_notify": None if client_cpu is None else
        round(client_cpu / count * 1e6),
        "start_to_first_answer_ms": round(first_ms, 1), "listener_exit": code,
        "load_average": os.getloadavg(),
    }


def compare(options, queries: list[str]) -> None:
    """``--inspect compare``: runs without the inspector and with its page open and live
    (``--page``), interleaved (off, on, off, on …: the machine's noise falls on both), then
    the median of each and how far apart they are."""
    import statistics

    figures: dict[str, list[int]] = {"off": [], options.page: []}
    for round_number in range(options.rounds):
        for page in ("off", options.page) if round_number % 2 == 0 else (options.page, "off"):
            report = measure(options, queries, page)
            figures[page].append(report["notifies_per_s"])
            print(f"round {round_number + 1} {page:8} {report['notifies_per_s']:6} notifies/s  "
                  f"p99 {report['p99_ms']} ms  listener {report['listener_cpu_us_per_notify']} "
                  f"µs/notify  equal={report['equal']}"
                  + (f"  page saw {report['page_saw']}" if report["page_saw"] else ""), flush=True)
    without, with_page = (statistics.median(figures[name]) for name in ("off", options.page))
    change = (with_page - without) / without * 100
    print(json.dumps({"without_inspector": figures["off"], "with_page_live": figures[options.page],
                      "median_without": without, "median_with": with_page,
                      "change_percent": round(change, 1)}, indent=2))
    print(f"{'PASS' if change >= -10 else 'MISS'}  with the page open and live: notifies/s "
          "within 10 % of the run without it")


def client_options() -> argparse.ArgumentParser:
    """The load's options, shared with bench/listen_vs_bare.py."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=20000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--client", choices=("auto", "wrk", "raw", "httpx"), default="auto",
                        help="wrk, a minimal asyncio HTTP/1.1 client, or async httpx "
                             "(auto: wrk when on PATH, else raw)")
    parser.add_argument("--seconds", type=float, default=8.0, help="how long wrk runs")
    return parser


def main() -> None:
    parser = client_options()
    parser.add_argument("--inspect", choices=("off", "on", "compare"), default="off",
                        help="run with `--inspect` and its page open (on), or both, "
                             "interleaved (compare)")
    parser.add_argument("--page", choices=("sse", "browser"), default="sse",
                        help="the open page: its live feed (curl) or headless chromium")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of each for compare")
    options = parser.parse_args()
    if options.client == "auto":
        import shutil

        options.client = "wrk" if shutil.which("wrk") else "raw"
    count = min(options.count, 200_000)  # bounded: this is a benchmark, not a soak test
    queries = notifies(count)
    if options.inspect == "compare":
        compare(options, queries)
        return
    report = measure(options, queries, options.page if options.inspect == "on" else "off")
    print(json.dumps(report, indent=2))
    for name, passed in (
            ("≥ 3000 notifies/s", report["notifies_per_s"] >= 3000),
            ("p99 answer ≤ 20 ms", report["p99_ms"] <= 20),
            ("journaled == answered == sent" + (" (wrk: + requests in flight at its stop)"
                                               if options.client == "wrk" else ""),
             report["equal"]),
            ("start to first answer ≤ 300 ms", report["start_to_first_answer_ms"] <= 300)):
        print(f"{'PASS' if passed else 'MISS'}  {name}")


if __name__ == "__main__":
    main()
