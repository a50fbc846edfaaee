"""Load on the local gateway: orders created per second over mapi.php and order queries per
second over api.php?act=order, from this process (async httpx, keep-alive, concurrency 16)
against ``epay mock`` running as a separate process on 127.0.0.1 with an on-disk data dir.

    python bench/mock_load.py [--creates 20000] [--queries 40000] [--seconds 20]
                              [--concurrency 16] [--latency MS] [--client httpx|raw]
                              [--durability commit|fsync]

Each phase stops at its count or after --seconds, whichever comes first. Requests are signed
before the clock starts (signing is the merchant's cost, not the gateway's). After the create
phase the gateway is stopped and its database opened again to count what it stored: every
order it answered must be there. Prints figures and PASS/MISS against the targets, exit 0.
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
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from epaycli.core.models import SANDBOX_KEY, SANDBOX_PID  # noqa: E402
from epaycli.core.request import sign_request  # noqa: E402
from epaycli.core.signing import Md5Key  # noqa: E402

TARGET_CREATES = 2000
TARGET_QUERIES = 5000


def start_mock(data: Path, latency: float, durability: str) -> tuple[subprocess.Popen, str]:
    command = [sys.executable, "-m", "epaycli", "mock", "--port", "0", "--data", str(data),
               "--no-profiles", "--json", "--latency", str(latency), "--durability", durability]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                               text=True, env=env, cwd=ROOT)
    line = process.stdout.readline()
    if not line:
        process.kill()
        raise SystemExit("epay mock did not start")
    return process, json.loads(line)["url"]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def stop_mock(process: subprocess.Popen) -> int:
    process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.wait()


async def run_phase(requests: list, concurrency: int, seconds: float, send,
                    server_pid: int) -> dict:
    """Send ``requests`` with ``concurrency`` workers until done or ``seconds`` pass."""
    queue = iter(requests)
    done: list = []
    failures = 0
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal failures
        for item in queue:
            if time.perf_counter() > deadline:
                return
            began = time.perf_counter()
            result = await send(item)
            latencies.append(time.perf_counter() - began)
            if result is None:
                failures += 1
            else:
                done.append(result)

    began = time.perf_counter()
    server_cpu, client_cpu = cpu_seconds(server_pid), time.process_time()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - began
    server_cpu = cpu_seconds(server_pid) - server_cpu
    client_cpu = time.process_time() - client_cpu
    latencies.sort()
    p99 = latencies[int(len(latencies) * 0.99) - 1] if latencies else 0.0
    return {"ok": len(done), "failed": failures, "seconds": elapsed,
            "per_second": len(done) / elapsed if elapsed else 0.0, "p99_ms": p99 * 1000,
            "server_cpu_us": server_cpu / max(len(done), 1) * 1e6,
            "client_cpu_us": client_cpu / max(len(done), 1) * 1e6, "results": done}


class RawConnection:
    """A minimal keep-alive HTTP/1.1 client on asyncio streams (``--client raw``): it costs a
    fraction of httpx's CPU, so it shows what the gateway itself can do on a busy machine."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader = self.writer = None

    async def request(self, method: str, target: str, body: bytes = b"") -> bytes:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        head = (f"{method} /{target} HTTP/1.1\r\nHost: {self.host}\r\n"
                f"Content-Type: application/x-www-form-urlencoded\r\n"
                f"Content-Length: {len(body)}\r\n\r\n").encode()
        self.writer.write(head + body)
        headers = await self.reader.readuntil(b"\r\n\r\n")
        length = int(headers.lower().split(b"content-length:", 1)[1].split(b"\r\n", 1)[0])
        return await self.reader.readexactly(length)


async def measure_raw(url: str, server_pid: int, args, creates: list[bytes]) -> tuple[dict, dict]:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    pool: asyncio.Queue = asyncio.Queue()
    for _ in range(args.concurrency):
        pool.put_nowait(RawConnection(parts.hostname, parts.port))

    async def call(method: str, target: str, body: bytes = b"") -> dict:
        connection = await pool.get()
        try:
            return json.loads(await connection.request(method, target, body))
        finally:
            pool.put_nowait(connection)

    async def create(params):
        answer = await call("POST", "mapi.php", params)
        return answer["trade_no"] if answer.get("code") == 1 else None

    created = await run_phase(creates, args.concurrency, args.seconds, create, server_pid)
    queries = query_targets(created["results"], args.queries)

    async def query(target):
        return 1 if (await call("GET", target)).get("code") == 1 else None

    return created, await run_phase(queries, args.concurrency, args.seconds, query, server_pid)


def query_targets(numbers: list[str], count: int) -> list[str]:
    numbers = numbers or ["0"]
    return [f"api.php?act=order&pid={SANDBOX_PID}&key={SANDBOX_KEY}"
            f"&trade_no={numbers[n % len(numbers)]}" for n in range(count)]


def signed_creates(count: int) -> list[bytes]:
    """Signed and form-encoded before the clock starts: that is the merchant's work."""
    key = Md5Key(SANDBOX_KEY)
    run_id = str(time.time_ns())[-9:]
    return [sign_request({"pid": SANDBOX_PID, "type": "alipay",
                          "out_trade_no": f"B{run_id}-{n}",
                          "notify_url": "http://127.0.0.1:9/notify", "name": "bench",
                          "money": "1.00", "clientip": "127.0.0.1"}, key).query().encode()
            for n in range(count)]


async def measure(url: str, server_pid: int, args) -> tuple[dict, dict]:
    creates = signed_creates(args.creates)
    if args.client == "raw":
        return await measure_raw(url, server_pid, args, creates)
    import httpx

    form = {"Content-Type": "application/x-www-form-urlencoded"}
    # One client (one keep-alive connection) per request in flight: httpcore's pool scans every
    # connection for every request (is_idle/has_expired, a socket poll each), which at 16
    # connections in one pool costs the client more CPU than the gateway spends answering.
    clients = [httpx.AsyncClient(base_url=url, timeout=30,
                                 limits=httpx.Limits(max_connections=1))
               for _ in range(args.concurrency)]
    idle: asyncio.Queue = asyncio.Queue()
    for client in clients:
        await client.get("api.php")  # open its connection before the clock starts
        idle.put_nowait(client)

    async def call(method: str, target: str, body: bytes | None = None) -> dict:
        client = await idle.get()
        try:
            reply = await (client.post(target, content=body, headers=form) if method == "POST"
                           else client.get(target))  # target: an httpx.URL made beforehand
            return reply.json()
        finally:
            idle.put_nowait(client)

    async def create(params):
        answer = await call("POST", "mapi.php", params)
        return answer["trade_no"] if answer.get("code") == 1 else None

    async def query(target):
        return 1 if (await call("GET", target)).get("code") == 1 else None

    try:
        created = await run_phase(creates, args.concurrency, args.seconds, create, server_pid)
        queries = [httpx.URL(url + target)  # parsed before the clock starts, like the bodies
                   for target in query_targets(created["results"], args.queries)]
        queried = await run_phase(queries, args.concurrency, args.seconds, query, server_pid)
    finally:
        for client in clients:
            await client.aclose()
    return created, queried


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--creates", type=int, default=20000)
    parser.add_argument("--queries", type=int, default=40000)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--durability", choices=("commit", "fsync"), default="commit",
                        help="the gateway's --durability (commit: each order committed "
                             "before the answer; fsync: synced to disk before it)")
    parser.add_argument("--client", choices=("httpx", "raw"), default="httpx",
                        help="httpx: async httpx (the figure to report); raw: a minimal "
                             "asyncio client, to see the gateway's own capacity")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="epay-mock-bench-") as folder:
        data = Path(folder) / "data"
        process, url = start_mock(data, args.latency, args.durability)
        try:
            created, queried = asyncio.run(measure(url, process.pid, args))
        finally:
            code = stop_mock(process)
        with sqlite3.connect(data / "gateway.db") as db:
            stored = db.execute("SELECT COUNT(*) FROM orders").fetchone()[0]
            mode = db.execute("PRAGMA journal_mode").fetchone()[0]
    load = os.getloadavg()  # the machine may be shared: say how busy it was
    print(f"gateway {url} (epay mock, separate process, data dir on disk, journal {mode}, "
          f"durability {args.durability}); "
          f"client: {'async httpx' if args.client == 'httpx' else 'raw asyncio'}, keep-alive, "
          f"concurrency {args.concurrency}")
    for label, phase, target in (("creates (mapi.php)", created, TARGET_CREATES),
                                 ("queries (api.php act=order)", queried, TARGET_QUERIES)):
        verdict = "PASS" if phase["per_second"] >= target else "MISS"
        print(f"{label:28} {phase['per_second']:8.0f}/s  ({phase['ok']} ok, {phase['failed']} "
              f"failed, {phase['seconds']:.1f} s, p99 {phase['p99_ms']:.1f} ms)  "
              f"target ≥ {target}/s  {verdict}")
        print(f"{'':28} CPU per request: gateway {phase['server_cpu_us']:.0f} µs "
              f"(≈ {1e6 / max(phase['server_cpu_us'], 1):.0f}/s per core), client "
              f"{phase['client_cpu_us']:.0f} µs")
    durable = "PASS" if stored >= created["ok"] else "MISS"
    print(f"orders stored after the gateway stopped: {stored} of {created['ok']} answered  "
          f"{durable}")
    print(f"gateway exit code {code}; load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


if __name__ == "__main__":
    main()
