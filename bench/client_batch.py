"""The gateway client against a distant gateway: 1,000 order queries one by one vs through the
async client with bounded concurrency, and `order list --all` paging — against the local
gateway on 127.0.0.1 with latency added to every answer.

Run by hand: python bench/client_batch.py [--orders N] [--latency MS] [--concurrency C ...]
Prints seconds, queries/s and the speed-up, and PASS/MISS (batch >= 10x one-by-one); exits 0
once every query came back right.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import time

from epaycli.core.errors import EpayError
from epaycli.core.signing import Md5Key
from epaycli.gateway import calls, operations
from epaycli.gateway.calls import Merchant
from epaycli.gateway.client import GatewayClient, Settings, send_all
from epaycli.mock.server import start_gateway

TARGET_SPEEDUP = 10.0
# The gateway runs in a child process, as a distant gateway would: in this process it would
# share the GIL (and its CPU) with the client being measured. It stops when stdin closes.
CHILD = """
import json, sys
from epaycli.mock.server import start_gateway
with start_gateway(port=0, latency_ms=float(sys.argv[1])) as gateway:
    print(json.dumps({"url": gateway.url, "pid": gateway.pid, "key": gateway.key}), flush=True)
    sys.stdin.read()
"""


@contextlib.contextmanager
def gateway_process(latency: float, in_process: bool):
    if in_process:
        with start_gateway(port=0, latency_ms=latency) as gateway:
            yield {"url": gateway.url, "pid": gateway.pid, "key": gateway.key}
        return
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(latency)], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
    try:
        line = child.stdout.readline()
        if not line:
            sys.exit("the local gateway did not start")
        yield json.loads(line)
    finally:
        child.stdin.close()
        try:
            child.wait(10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def create_orders(merchant: Merchant, count: int, settings: Settings) -> list[str]:
    """``count`` orders made through the async client (setup, not timed)."""
    numbers = [f"bench{os.getpid()}-{i:05d}" for i in range(count)]
    now = int(time.time())
    batch = [calls.create_order(merchant, calls.validate_order(
        money=f"{1 + i % 50}.{i % 100:02d}", name=f"bench {i}", out_trade_no=number,
        notify_url="http://127.0.0.1:9/notify", type="alipay", clientip="127.0.0.1", api=True),
        now) for i, number in enumerate(numbers)]
    failed = [r for r in send_all(batch, settings, concurrency=32) if isinstance(r, EpayError)]
    if failed:
        sys.exit(f"creating orders failed: {failed[0]}")
    return numbers


def one_by_one(merchant: Merchant, numbers: list[str], settings: Settings) -> float:
    """Sequential queries on one keep-alive connection (the best one-by-one can do)."""
    started = time.perf_counter()
    with GatewayClient(settings) as client:
        for number in numbers:
            call = calls.query_order(merchant, int(time.time()), out_trade_no=number)
            assert operations.query(client, call).order["out_trade_no"] == number
    return time.perf_counter() - started


def batched(merchant: Merchant, numbers: list[str], settings: Settings, concurrency: int) -> float:
    started = time.perf_counter()
    now = int(time.time())
    batch = [calls.query_order(merchant, now, out_trade_no=number) for number in numbers]
    results = operations.query_many(batch, numbers, settings=settings, concurrency=concurrency)
    elapsed = time.perf_counter() - started
    wrong = [r for r in results
             if r.queried is None or r.queried.order["out_trade_no"] != r.out_trade_no]
    if wrong:
        sys.exit(f"{len(wrong)} batch queries came back wrong, e.g. {wrong[0]}")
    return elapsed


def paging(merchant: Merchant, settings: Settings, expected: int) -> tuple[float, float, int]:
    """``order list --all``: page after page vs pages fetched concurrently once the count is
    known (what the command does)."""
    with GatewayClient(settings) as client:
        started = time.perf_counter()
        pages = operations.page_builder(merchant, int(time.time()))
        sequential = operations.list_all(client, pages, settings=None)
        sequential_time = time.perf_counter() - started
        started = time.perf_counter()
        concurrent = operations.list_all(client, pages, settings=settings)
        concurrent_time = time.perf_counter() - started
    for listing in (sequential, concurrent):
        if len(listing.orders) < expected:
            sys.exit(f"list --all returned {len(listing.orders)} orders, expected ≥ {expected}")
    return sequential_time, concurrent_time, concurrent.pages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=20.0, help="ms added to every answer")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[16, 32, 64])
    parser.add_argument("--in-process", action="store_true",
                        help="run the gateway in this process (shares the GIL with the client)")
    args = parser.parse_args()
    settings = Settings(timeout=30, retries=0)
    with gateway_process(args.latency, args.in_process) as gateway:
        merchant = Merchant(gateway["url"], gateway["pid"], "v1", Md5Key(gateway["key"]),
                            Md5Key(gateway["key"]))
        numbers = create_orders(merchant, args.orders, settings)
        where = "in this process" if args.in_process else "in a child process"
        print(f"local gateway {gateway['url']} ({where}), latency {args.latency:g} ms, "
              f"{len(numbers)} orders")
        sequential = one_by_one(merchant, numbers, settings)
        print(f"one by one      {sequential:7.2f} s  {len(numbers) / sequential:8.0f} queries/s")
        best = None
        for concurrency in args.concurrency:
            elapsed = batched(merchant, numbers, settings, concurrency)
            speedup = sequential / elapsed
            best = max(best or 0, speedup)
            print(f"batch c={concurrency:<3}     {elapsed:7.2f} s  {len(numbers) / elapsed:8.0f} "
                  f"queries/s  {speedup:5.1f}x")
        verdict = "PASS" if best >= TARGET_SPEEDUP else "MISS"
        print(f"best speed-up {best:.1f}x (target >= {TARGET_SPEEDUP:g}x): {verdict}")
        seq_pages, conc_pages, pages = paging(merchant, settings, len(numbers))
        print(f"order list --all ({pages} pages of {calls.LIST_PAGE_MAX}): page by page "
              f"{seq_pages:.2f} s, concurrent pages {conc_pages:.2f} s "
              f"({seq_pages / conc_pages:.1f}x)")
    if hasattr(os, "getloadavg"):
        print("load average (1, 5, 15 min): " + ", ".join(f"{x:.2f}" for x in os.getloadavg()))


if __name__ == "__main__":
    main()
