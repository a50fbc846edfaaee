"""How fast the inspector opens a large journal (run by hand, not a test; issue 20: a journal of
100,000 rows opens in ≤ 2 s and pages smoothly).

    .venv/bin/python bench/inspector_open.py [--rows 100000] [--browser]

Builds a journal: a real listener journals a genuine notify, a forged one, a re-send with the
money changed and a bad request; those rows are then copied (each copy its own trade_no) up to
``--rows``. Then `epay events serve` on it, and the time of what opening the page fetches (the
page, its script and style, /api/info, the first page of rows), of paging deep, of each filter
and of one request whole. ``--browser``: also the time from opening the page in headless
chromium to its first row shown (needs .ci/browser and selenium).
"""

from __future__ import annotations

import argparse
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
from benchkit import KEY, ROOT

from epaycli.core.notify import PaidOrder, notify_fields, signed_notify
from epaycli.core.signing import Keys, Md5Key
from epaycli.listener.server import start_listener


def seed(path: Path) -> None:
    def notify(number: int, money: str = "1.00", key: str = KEY) -> dict:
        order = PaidOrder(pid="1001", trade_no=f"2026{number:015d}", out_trade_no=f"ORD{number}",
                          type="alipay", name="product", money=Decimal(money))
        return signed_notify(notify_fields(order), Md5Key(key))

    with start_listener(keys=Keys(md5=Md5Key(KEY)), journal=path) as listener, httpx.Client() as c:
        c.get(listener.url, params=notify(1))
        c.get(listener.url, params=notify(2, key="w" * 32))
        c.get(listener.url, params=notify(1, money="2.00"))
        c.get(listener.url)


def grow(path: Path, rows: int) -> None:
    """The seed rows copied in turn until there are ``rows``, each copy its own numbers."""
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA wal_checkpoint(FULL)")
        columns = [r[1] for r in db.execute("PRAGMA table_info(requests)") if r[1] != "id"]
        seeds = db.execute("SELECT count(*) FROM requests").fetchone()[0]
        renamed = {"trade_no": "printf('2026%015d', n.value / {seeds})",
                   "out_trade_no": "'ORD' || (n.value / {seeds})",
                   "received_at": "received_at + n.value * 0.01"}
        picked = ", ".join(renamed.get(name, name).format(seeds=seeds) for name in columns)
        db.execute(f"""
            WITH RECURSIVE n(value) AS (SELECT {seeds} UNION ALL SELECT value + 1 FROM n
                                        WHERE value < {rows - 1})
            INSERT INTO requests ({', '.join(columns)})
            SELECT {picked} FROM n JOIN requests AS s ON s.id = n.value % {seeds} + 1""")


def timed(client: httpx.Client, path: str, **params) -> tuple[float, httpx.Response]:
    started = time.perf_counter()
    response = client.get(path, params=params)
    response.raise_for_status()
    return (time.perf_counter() - started) * 1000, response


def browser_first_row(url: str) -> float:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    try:
        driver.get("about:blank")
        started = time.perf_counter()
        driver.get(url)
        WebDriverWait(driver, 30, poll_frequency=0.01).until(
            lambda d: d.find_elements(By.CSS_SELECTOR, "#rows tr[data-id]"))
        return (time.perf_counter() - started) * 1000
    finally:
        driver.quit()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--browser", action="store_true")
    options = parser.parse_args()
    rows = min(max(options.rows, 10), 1_000_000)
    with tempfile.TemporaryDirectory() as folder:
        journal = Path(folder) / "journal.sqlite3"
        seed(journal)
        started = time.perf_counter()
        grow(journal, rows)
        built = time.perf_counter() - started
        env = {**os.environ, "HOME": folder, "XDG_STATE_HOME": folder, "XDG_CONFIG_HOME": folder}
        server = subprocess.Popen([sys.executable, "-m", "epaycli", "events", "serve", "--journal",
                                   str(journal), "--port", "0", "--json"], cwd=ROOT, env=env,
                                  stdout=subprocess.PIPE, text=True)
        try:
            url = json.loads(server.stdout.readline())["inspector_url"]
            figures = {}
            with httpx.Client(base_url=url.rstrip("/"), timeout=30) as client:
                opening = 0.0
                for path in ("/", "/static/app.js", "/static/app.css", "/api/info",
                             "/api/requests"):
                    ms, response = timed(client, path)
                    opening += ms
                total = response.json()["total"]
                figures["open_page_ms"] = round(opening, 1)
                figures["page_deep_ms"] = round(timed(client, "/api/requests", before=50)[0], 1)
                figures["page_middle_ms"] = round(
                    timed(client, "/api/requests", before=rows // 2)[0], 1)
                figures["filter_verdict_ms"] = round(
                    timed(client, "/api/requests", verdict="bad_signature")[0], 1)
                figures["search_number_ms"] = round(
                    timed(client, "/api/requests", q=f"{rows // 3:010d}")[0], 1)
                figures["time_range_ms"] = round(
                    timed(client, "/api/requests", since="0", until="1e10")[0], 1)
                figures["one_request_ms"] = round(
                    timed(client, f"/api/requests/{rows // 2}")[0], 1)
            if options.browser:
                figures["browser_first_row_ms"] = round(browser_first_row(url), 1)
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(30)
    print(json.dumps({"rows": total, "journal_built_s": round(built, 1), **figures,
                      "load_average": os.getloadavg()}, indent=2))
    slowest = max(figures.values())
    print(f"{'PASS' if slowest <= 2000 else 'MISS'}  a journal of {total:,} rows opens, pages and "
          f"filters in ≤ 2 s (slowest: {slowest:.0f} ms)")


if __name__ == "__main__":
    main()
