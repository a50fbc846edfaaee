"""`epay monitor` and `epay reconcile` against a local gateway holding many orders.

    python bench/monitor.py [--orders 100000] [--intervals 3] [--unpaid 0.1] [--repeat 1]

The gateway (`epay mock`, a separate process, on-disk data) is seeded straight into its SQLite
store: --orders orders made over the last 55 minutes, a share --unpaid of them unpaid. Then:

- monitor: the first interval (pages back through the whole window), and --intervals later
  ones, each after 50 new orders and 20 payments of open orders (only the new page is listed
  and the open orders asked again). Targets: first <= 10 s, later <= 1 s.
- reconcile: a shop export of every order (a few hundred deliberately wrong) compared with
  the gateway by `epay reconcile --from FILE --json` in its own process. Target: <= 30 s.

Each figure is wall time with the CPU epay and the gateway used (on a shared machine the wall
time says as much about the other processes as about epay). --repeat N runs the monitor (a new
one each time) and reconcile N times and judges their medians. Prints the figures and
PASS/MISS against each target; exit 0.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from epaycli.core.models import SANDBOX_KEY, SANDBOX_PID  # noqa: E402
from epaycli.core.request import sign_request  # noqa: E402
from epaycli.core.signing import Md5Key  # noqa: E402
from epaycli.gateway.calls import Merchant  # noqa: E402
from epaycli.gateway.client import Settings  # noqa: E402
from epaycli.mock.store import DB_NAME, GatewayStore  # noqa: E402
from epaycli.monitor.figures import Thresholds, Window  # noqa: E402
from epaycli.monitor.tracker import Monitor  # noqa: E402

BEIJING = timezone(timedelta(hours=8))
EPAY = str(Path(sys.executable).with_name("epay"))
TARGET_FIRST, TARGET_LATER, TARGET_RECONCILE = 10.0, 1.0, 30.0


def beijing(moment: float) -> str:
    return datetime.fromtimestamp(moment, BEIJING).strftime("%Y-%m-%d %H:%M:%S")


def seed(folder: Path, count: int, unpaid: float) -> list[tuple[str, str, bool]]:
    """``count`` orders of the sandbox merchant over the last 55 minutes, straight into the
    gateway's store; (out_trade_no, money, paid) of each."""
    GatewayStore(folder).close()  # the schema
    now = time.time()
    rows, orders = [], []
    randomness = random.Random(19)
    for index in range(count):
        made = now - 3300 + index * 3300 / count
        paid = randomness.random() >= unpaid
        number, money = f"B{index:07d}", f"{1 + index % 50}.00"
        trade_no = datetime.fromtimestamp(made, BEIJING).strftime("%Y%m%d%H%M%S") + \
            f"{index % 100000:05d}"
        rows.append((trade_no, int(SANDBOX_PID), number, number, "alipay", "VIP", money,
                     "http://127.0.0.1:9/n", "", "", "192.0.2.1", "pc", "v1", int(paid), 0,
                     beijing(made), made, beijing(made + 3) if paid else None,
                     made + 3 if paid else None))
        orders.append((number, money, paid))
    with sqlite3.connect(folder / DB_NAME) as db:
        db.executemany("INSERT INTO orders (trade_no, pid, out_trade_no, sent_out_trade_no, "
                       "type, name, money, notify_url, return_url, param, clientip, device, "
                       "dialect, status, closed, addtime, created_at, endtime, paid_at) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    return orders


def start_mock(folder: Path) -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen([EPAY, "mock", "--port", "0", "--data", str(folder), "--json",
                                "--no-profiles"], stdout=subprocess.PIPE, text=True)
    started = json.loads(process.stdout.readline())
    # its later lines (an event each) must be read, or a full pipe stalls the gateway
    threading.Thread(target=process.stdout.read, daemon=True).start()
    return process, started["url"]


def new_traffic(url: str, client: httpx.Client, tag: str, open_numbers: list[str]) -> None:
    key = Md5Key(SANDBOX_KEY)
    for index in range(50):
        fields = {"pid": SANDBOX_PID, "type": "alipay", "out_trade_no": f"NEW{tag}-{index}",
                  "notify_url": "http://127.0.0.1:9/n", "name": "VIP", "money": "1.00",
                  "clientip": "192.0.2.1"}
        client.post(url + "mapi.php", data=sign_request(fields, key).params)
    for number in open_numbers[:20]:
        client.post(url + "sandbox/pay", data={"pid": SANDBOX_PID, "key": SANDBOX_KEY,
                                               "out_trade_no": number})
    del open_numbers[:20]


def cpu_of(pid: int) -> float:
    """CPU seconds a process has used (user + system), from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Costs:
    """Wall time, and the CPU this process and the gateway's used: on a busy machine the wall
    time says more about the other processes than about epay."""

    def __init__(self, gateway_pid: int) -> None:
        self.gateway_pid = gateway_pid

    def __enter__(self) -> Costs:
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        self.gateway = cpu_of(self.gateway_pid)
        return self

    def __exit__(self, *exc) -> None:
        self.wall = time.perf_counter() - self.wall
        self.cpu = time.process_time() - self.cpu
        self.gateway = cpu_of(self.gateway_pid) - self.gateway

    def __str__(self) -> str:
        return f"{self.wall:.2f} s (CPU: epay {self.cpu:.2f} s, gateway {self.gateway:.2f} s)"


def verdict(seconds: float, target: float) -> str:
    return "PASS" if seconds <= target else "MISS"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--intervals", type=int, default=3)
    parser.add_argument("--unpaid", type=float, default=0.1)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="epay-bench-monitor-") as temporary:
        folder = Path(temporary) / "gateway"
        began = time.perf_counter()
        orders = seed(folder, args.orders, args.unpaid)
        print(f"seeded {len(orders)} orders in {time.perf_counter() - began:.1f} s")
        process, url = start_mock(folder)
        try:
            print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
            open_numbers = [number for number, _, paid in reversed(orders) if not paid]
            firsts, laters, reconciles = [], [], []
            for repeat in range(args.repeat):
                first, later = run_monitor(url, args.intervals, open_numbers, process.pid,
                                           repeat)
                firsts.append(first)
                laters.append(later)
            for _ in range(args.repeat):
                reconciles.append(run_reconcile(url, orders, Path(temporary), process.pid))
            if args.repeat > 1:
                medians(firsts, laters, reconciles)
            print(f"load average after: {os.getloadavg()[0]:.1f}")
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=10)


def run_monitor(url: str, intervals: int, open_numbers: list[str], gateway_pid: int,
                repeat: int) -> tuple[float, float]:
    """The first interval's wall time, and the slowest later one's."""
    merchant = Merchant(url, SANDBOX_PID, "v1", Md5Key(SANDBOX_KEY), Md5Key(SANDBOX_KEY))
    monitor = Monitor(merchant, Window(pid=SANDBOX_PID), Thresholds(), settings=Settings(),
                      interval=30)
    later = 0.0
    try:
        with Costs(gateway_pid) as costs:
            report = monitor.step()
        first = costs.wall
        print(f"monitor, first interval: {costs} ({report.orders} orders, {report.paid} "
              f"paid, success_rate {report.success_rate}) "
              f"[{verdict(costs.wall, TARGET_FIRST)} <= {TARGET_FIRST:g} s]")
        with httpx.Client(timeout=10) as client:
            for round_ in range(1, intervals + 1):
                new_traffic(url, client, f"{repeat}.{round_}", open_numbers)
                with Costs(gateway_pid) as costs:
                    report = monitor.step()
                later = max(later, costs.wall)
                print(f"monitor, interval {round_ + 1}: {costs} ({report.orders} orders, "
                      f"{report.paid} paid, avg response {report.avg_response_ms} ms) "
                      f"[{verdict(costs.wall, TARGET_LATER)} <= {TARGET_LATER:g} s]")
    finally:
        monitor.close()
    return first, later


def medians(firsts: list[float], laters: list[float], reconciles: list[float | None]) -> None:
    done = [seconds for seconds in reconciles if seconds is not None]
    for what, values, target in (("monitor, first interval", firsts, TARGET_FIRST),
                                 ("monitor, slowest later interval", laters, TARGET_LATER),
                                 ("reconcile", done, TARGET_RECONCILE)):
        if values:
            middle = statistics.median(values)
            print(f"median of {len(values)}, {what}: {middle:.2f} s "
                  f"[{verdict(middle, target)} <= {target:g} s]")


def run_reconcile(url: str, orders, folder: Path, gateway_pid: int) -> float | None:
    export = folder / "shop.csv"
    with export.open("w") as handle:
        handle.write("out_trade_no,money,status\n")
        for index, (number, money, paid) in enumerate(orders):
            status = "paid" if paid else "unpaid"
            if index % 500 == 1:
                status = "unpaid" if paid else "paid"  # a lost notify, or a wrong credit
            if index % 997 == 2:
                money = "0.01"
            handle.write(f"{number},{money},{status}\n")
    environment = {**os.environ, "XDG_STATE_HOME": str(folder / "state")}
    gateway_cpu, began = cpu_of(gateway_pid), time.perf_counter()
    before = os.times()
    done = subprocess.run([EPAY, "reconcile", "--from", str(export), "--json", "--gateway", url,
                           "--pid", SANDBOX_PID, "--key", SANDBOX_KEY], capture_output=True,
                          text=True, env=environment)
    seconds = time.perf_counter() - began
    after = os.times()
    reconcile_cpu = (after.children_user - before.children_user
                     + after.children_system - before.children_system)
    gateway_cpu = cpu_of(gateway_pid) - gateway_cpu
    if done.returncode not in (0, 7):
        print(f"reconcile failed ({done.returncode}): {done.stderr.strip()}")
        return None
    result = json.loads(done.stdout)
    kinds: dict[str, int] = {}
    for mismatch in result["mismatches"]:
        kinds[mismatch["kind"]] = kinds.get(mismatch["kind"], 0) + 1
    print(f"reconcile of {result['checked']} shop orders: {seconds:.1f} s (CPU: epay "
          f"{reconcile_cpu:.1f} s, gateway {gateway_cpu:.1f} s), mismatches {kinds} "
          f"[{verdict(seconds, TARGET_RECONCILE)} <= {TARGET_RECONCILE:g} s]")
    return seconds


if __name__ == "__main__":
    main()
