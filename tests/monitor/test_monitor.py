"""`epay monitor`: exact figures from scripted traffic on epay's own gateway (orders paid,
unpaid, paid with the notify dropped, tampered, badly signed, duplicated with changed content,
for another pid) received by a real listener; the incremental intervals; bad input."""

from __future__ import annotations

import json
import time
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from mockkit import order_fields, signed

from epaycli.core.request import sign_request
from epaycli.core.signing import Keys, Md5Key
from epaycli.gateway.calls import Merchant
from epaycli.gateway.client import Settings
from epaycli.listener.journal import Journal
from epaycli.listener.server import start_listener
from epaycli.mock.server import start_gateway
from epaycli.monitor.figures import (
    GatewayOrder,
    SeenNotify,
    Thresholds,
    Window,
    compute,
    parse_duration,
    parse_tz,
)
from epaycli.monitor.tracker import Monitor


class Shifted:
    """The gateway's clock, set back to script orders made in the past."""

    def __init__(self) -> None:
        self.back = 0.0

    def __call__(self) -> float:
        return time.time() - self.back


@pytest.fixture
def stack(tmp_path):
    clock = Shifted()
    gateway = start_gateway(clock=clock)
    listener = start_listener(keys=Keys(md5=Md5Key(gateway.key)), pid=gateway.pid,
                              journal=tmp_path / "journal.sqlite3")
    try:
        yield gateway, listener, clock
    finally:
        listener.close()
        gateway.close()


def make(gateway, client, number: str, notify_url: str, *, pay: str | None = None,
         money: str = "1.00") -> dict:
    """An order made through mapi.php; paid through the sandbox cashier when ``pay`` is
    given ('' for a clean payment, or a fault)."""
    fields = order_fields(notify_url, out_trade_no=number, money=money)
    created = client.post(gateway.url + "mapi.php", data=signed(fields, gateway.key)).json()
    assert created["code"] == 1, created
    if pay is not None:
        paid = client.post(gateway.url + "sandbox/pay", data={
            "pid": gateway.pid, "key": gateway.key, "out_trade_no": number, "fault": pay}).json()
        assert paid["code"] == 1, paid
    return created


def journaled(listener, trade_no: str) -> dict:
    with Journal(listener.journal.path, readonly=True) as journal:
        return next(r for r in journal.records() if r["trade_no"] == trade_no)


def send_notify(client, listener, params: dict, key: str) -> None:
    unsigned = {k: v for k, v in params.items() if k not in ("sign", "sign_type")}
    client.get(listener.url, params=sign_request(unsigned, Md5Key(key)).params)


def scripted(gateway, listener, clock) -> dict[str, str]:
    """The traffic every figure below is worked out from; returns trade_no by out_trade_no."""
    trade = {}
    with httpx.Client(timeout=15) as client:
        clock.back = 7200  # two hours ago: outside the window
        trade["OLD1"] = make(gateway, client, "OLD1", listener.url, pay="")["trade_no"]
        clock.back = 1200  # twenty minutes ago: due, past the grace
        for number in ("A1", "A6", "A7", "A8", "A9", "A10"):
            trade[number] = make(gateway, client, number, listener.url, pay="")["trade_no"]
        trade["A2"] = make(gateway, client, "A2", listener.url)["trade_no"]  # never paid
        trade["A3"] = make(gateway, client, "A3", listener.url, pay="dropped")["trade_no"]
        trade["A4"] = make(gateway, client, "A4", listener.url, pay="tampered_money")["trade_no"]
        trade["A5"] = make(gateway, client, "A5", listener.url, pay="bad_signature")["trade_no"]
        clock.back = 0
        trade["C1"] = make(gateway, client, "C1", listener.url)["trade_no"]  # young, unpaid
        trade["C2"] = make(gateway, client, "C2", listener.url, pay="")["trade_no"]
        # A1 notified again, saying something else (param), genuinely signed
        again = dict(journaled(listener, trade["A1"])["params"], param="changed")
        send_notify(client, listener, again, gateway.key)
        # a genuine notify for another merchant's order
        other = {"pid": "9999", "trade_no": "2026120100000099999", "out_trade_no": "X1",
                 "type": "alipay", "name": "product", "money": "1", "trade_status":
                 "TRADE_SUCCESS"}
        send_notify(client, listener, other, gateway.key)
    return trade


def v1(gateway) -> list[str]:
    return ["--gateway", gateway.url, "--pid", gateway.pid, "--key", gateway.key]


def test_the_figures_of_scripted_traffic_are_exact(stack, cli):
    gateway, listener, clock = stack
    trade = scripted(gateway, listener, clock)
    result = cli("monitor", "--once", "--json", "--journal", str(listener.journal.path),
                 *v1(gateway))
    report = json.loads(result.stdout)
    assert set(report) == {"window", "orders", "paid", "success_rate", "avg_response_ms",
                           "p95_response_ms", "abnormal_rate", "abnormal", "notify_latency_ms",
                           "breaches"}
    assert report["window"] == 3600
    assert report["orders"] == 12  # A1-A10, C1, C2 (OLD1 is outside the window)
    assert report["paid"] == 10
    assert report["success_rate"] == round(10 / 11, 6)  # C1 is not due yet
    found = {(a["out_trade_no"], a["kind"]) for a in report["abnormal"]}
    assert found == {("A3", "notify_missing"), ("A4", "amount_mismatch"),
                     ("A5", "bad_signature"), ("A5", "notify_missing"),
                     ("X1", "pid_mismatch"), ("A1", "duplicate_changed")}
    assert {a["trade_no"] for a in report["abnormal"] if a["out_trade_no"] != "X1"} == \
        {trade[n] for n in ("A1", "A3", "A4", "A5")}
    assert report["abnormal_rate"] == 0.5  # 5 distinct orders of 10 paid
    assert 0 < report["avg_response_ms"] <= report["p95_response_ms"]
    # A1, A4, A6-A10 were notified 1200 s after they were paid (endtime is to the second),
    # C2 at once: 7 × 1200 s / 8
    assert abs(report["notify_latency_ms"] - 1_050_000) < 3_000
    assert {b["figure"] for b in report["breaches"]} == {"success_rate", "abnormal_rate"}
    assert result.code == 7


def test_without_a_journal_nothing_is_said_about_notifies(stack, cli):
    gateway, listener, clock = stack
    scripted(gateway, listener, clock)
    result = cli("monitor", "--once", "--json", *v1(gateway), "--max-abnormal-rate", "1")
    report = json.loads(result.stdout)
    assert report["abnormal"] == [] and report["notify_latency_ms"] is None
    assert report["abnormal_rate"] is None or report["abnormal_rate"] == 0


def test_later_intervals_list_only_new_orders_and_recheck_open_ones(stack):
    gateway, listener, clock = stack
    merchant = Merchant(gateway.url, gateway.pid, "v1", Md5Key(gateway.key), Md5Key(gateway.key))
    monitor = Monitor(merchant, Window(pay_timeout=900, pid=gateway.pid), Thresholds(),
                      settings=Settings(), interval=1)
    sent = []
    original = monitor.tracker.client.send_all

    async def counting(calls):
        sent.extend(calls)
        return await original(calls)

    monitor.tracker.client.send_all = counting
    try:
        with httpx.Client(timeout=15) as client:
            for index in range(120):  # three pages, a second apart, minutes ago
                clock.back = 200 - index
                make(gateway, client, f"N{index:03d}", listener.url,
                     pay="" if index % 2 else None)
            first = monitor.step()
            assert (first.orders, first.paid, first.success_rate) == (120, 60, 1.0)
            assert sum(c.action == "orders" for c in sent) >= 3
            first_open = [o for o in monitor.tracker.orders.values() if o.status == 0]
            sent.clear()
            clock.back = 0
            make(gateway, client, "LATE1", listener.url, pay="")
            client.post(gateway.url + "sandbox/pay", data={"pid": gateway.pid,
                                                           "key": gateway.key,
                                                           "out_trade_no": "N000"})
            second = monitor.step()
        assert (second.orders, second.paid) == (121, 62)
        listed = [c for c in sent if c.action == "orders"]
        # one page of new orders (it reaches the known ones), then each of the 60 orders
        # that were open asked for again (at most 64 are asked one by one)
        assert len(listed) == 1
        assert sorted(c.query["trade_no"] for c in sent if c.action == "order") == \
            sorted(o.trade_no for o in first_open)
    finally:
        monitor.close()


def test_orders_that_leave_the_window_are_forgotten(stack):
    gateway, listener, clock = stack
    merchant = Merchant(gateway.url, gateway.pid, "v1", Md5Key(gateway.key), Md5Key(gateway.key))
    ahead = [0.0]
    monitor = Monitor(merchant, Window(seconds=60, pid=gateway.pid), Thresholds(),
                      settings=Settings(), interval=1, clock=lambda: time.time() + ahead[0])
    try:
        with httpx.Client(timeout=15) as client:
            clock.back = 30
            make(gateway, client, "OLDER", listener.url, pay="")
            clock.back = 0
            make(gateway, client, "NEWER", listener.url, pay="")
        assert monitor.step().orders == 2 and len(monitor.tracker.orders) == 2
        ahead[0] = 45  # the window now starts 15 s ago: OLDER has left it
        assert monitor.step().orders == 1
        assert [o.out_trade_no for o in monitor.tracker.orders.values()] == ["NEWER"]
    finally:
        monitor.close()


# ---- the pure figures --------------------------------------------------------------------

NOW = 1_800_000_000.0


def order(number: str, status: int, added_ago: float, paid_ago: float | None = None,
          money: str = "1.00") -> GatewayOrder:
    return GatewayOrder("T" + number, number, money, status, "1000", NOW - added_ago,
                        None if paid_ago is None else NOW - paid_ago)


def notify(number: str, received_ago: float, **changes) -> SeenNotify:
    fields = dict(id=1, received_at=NOW - received_ago, trade_no="T" + number,
                  out_trade_no=number, pid="1000", money="1.00", verdict="genuine", reason="",
                  content_changed=False, duplicate_count=0)
    fields.update(changes)
    return SeenNotify(**fields)


def test_success_rate_counts_young_unpaid_orders_as_not_due_and_is_null_when_nothing_is():
    window = Window(pid="1000")
    orders = [order("P", 1, 1000, 990), order("OLD", 0, 1000), order("YOUNG", 0, 899),
              order("GONE", 1, 4000, 3990)]
    report = compute(orders, None, [], now=NOW, window=window, thresholds=Thresholds())
    assert (report.orders, report.paid, report.success_rate) == (3, 1, 0.5)
    nothing = compute([order("YOUNG", 0, 10)], None, [], now=NOW, window=window,
                      thresholds=Thresholds())
    assert nothing.success_rate is None and nothing.breaches == ()


def test_response_figures_and_their_threshold():
    report = compute([], None, [float(v) for v in range(1, 101)], now=NOW, window=Window(),
                     thresholds=Thresholds(max_response_ms=50))
    assert (report.avg_response_ms, report.p95_response_ms) == (50.5, 95.0)
    assert [b.figure for b in report.breaches] == ["avg_response_ms"]


def test_notify_rules_and_latency():
    window = Window(pid="1000", notify_grace=300)
    orders = [order("OK", 1, 1000, 600), order("LATE", 1, 1000, 200),
              order("MISS", 1, 1000, 301), order("REF", 2, 1000, 900)]
    notifies = [notify("OK", 599.5), notify("OK", 500, id=2, content_changed=True,
                                             duplicate_count=1)]
    report = compute(orders, notifies, [], now=NOW, window=window, thresholds=Thresholds())
    kinds = [(a.out_trade_no, a.kind) for a in report.abnormal]
    # LATE is within the grace; REF (refunded) was paid but is not owed a notify any more
    assert kinds == [("MISS", "notify_missing"), ("OK", "duplicate_changed")]
    assert report.notify_latency_ms == 500.0
    assert report.abnormal_rate == round(2 / 4, 6)


def test_a_notify_outside_the_window_is_not_counted():
    report = compute([order("OK", 1, 10, 5)], [notify("OK", 3700, verdict="bad_signature")],
                     [], now=NOW, window=Window(pid="1000"), thresholds=Thresholds())
    assert report.abnormal == ()


@pytest.mark.parametrize("text, seconds", [("30s", 30), ("15m", 900), ("1h", 3600), ("45", 45),
                                           ("2d", 172800), ("1.5m", 90)])
def test_durations(text, seconds):
    assert parse_duration(text, "--interval") == seconds


@pytest.mark.parametrize("text, offset", [("UTC+8", 28800), ("utc", 0), ("+05:30", 19800),
                                          ("UTC-5", -18000), ("GMT+0800", 28800)])
def test_gateway_time_zones(text, offset):
    assert parse_tz(text) == offset


# ---- bad input ---------------------------------------------------------------------------

@pytest.mark.parametrize("args, words", [
    (["--interval", "5x"], "--interval '5x' is not a duration"),
    (["--interval", "0s"], "--interval '0s' is outside"),
    (["--window", "-1h"], "--window '-1h' is not a duration"),
    (["--gateway-tz", "Mars"], "gateway time zone 'Mars'"),
    (["--alert-format", "wecom"], "--alert-format wecom was given without --alert-webhook"),
    (["--alert-webhook", "ftp://x/y"], "is not an http(s) URL"),
    (["--alert-webhook", "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abc",
      "--alert-secret", "SEC1"], "signs DingTalk and Feishu webhooks only"),
    (["--alert-email", "nobody"], "is not an e-mail address"),
])
def test_bad_options_are_one_line_usage_errors(cli, args, words):
    result = cli("monitor", "--once", "--gateway", "http://127.0.0.1:9/", *args)
    assert result.code == 2, result.stderr
    assert words in result.stderr
    assert result.stderr.startswith("epay: error: ") and result.stderr.count("\n") == 1


def test_an_unreachable_gateway_is_exit_5_after_its_report(cli):
    # Refused at once: a long deadline, so that a starved machine cannot turn it into a timeout.
    result = cli("monitor", "--once", "--json", "--gateway", "http://127.0.0.1:9/",
                 "--request-timeout", "30")
    assert result.code == 5
    report = json.loads(result.stdout)
    assert report["breaches"] == [{"figure": "gateway", "value": "network_connect",
                                   "threshold": None}]
    assert result.stderr.splitlines()[-1].startswith("epay: error: cannot connect")


def test_a_missing_journal_is_a_config_error(cli, tmp_path):
    result = cli("monitor", "--once", "--journal", str(tmp_path / "none.sqlite3"),
                 "--gateway", "http://127.0.0.1:9/")
    assert result.code == 6
    assert "there is no journal" in result.stderr and result.stderr.count("\n") == 1


@pytest.mark.parametrize("row, expected", [
    ({"trade_no": "T1", "out_trade_no": "N1", "money": "1.00", "status": 1, "pid": 1000,
      "addtime": "2026-12-06 17:30:00", "endtime": None},  # PHP 8 types, as api.php writes
     ("T1", "N1", "1.00", 1, "1000", 1796549400.0, None)),
    ({"trade_no": "T2", "out_trade_no": "N2", "money": 1.5, "status": "2", "pid": "1000",
      "addtime": "2026-12-06 17:30:00", "endtime": "2026-12-06 17:30:05"},  # all text, float
     ("T2", "N2", "1.50", 2, "1000", 1796549400.0, 1796549405.0)),
    ({"trade_no": None, "out_trade_no": False, "money": None, "status": True, "pid": None,
      "addtime": False, "endtime": False},  # nothing in each
     ("", "", "", None, "", None, None)),
    ({"status": "paid", "money": 2, "trade_no": 19}, ("19", "", "2", None, "", None, None)),
])
def test_a_gateway_order_is_read_leniently(row, expected):
    assert tuple(GatewayOrder.from_fields(row, 28800)) == expected


@pytest.mark.parametrize("text, offset, expected", [
    ("2026-12-06 17:30:00", 28800, 1796549400.0),  # Beijing 17:30 is 09:30 UTC
    ("2026-12-06 09:30:00", 0, 1796549400.0),
    ("2024-02-29 23:59:59", -18000, 1709269199.0),
    ("2026-13-01 00:00:00", 0, None), ("2026-12-06T17:30:00", 0, None), ("", 0, None),
    ("0000-00-00 00:00:00", 0, None), ("2026-12-06 17:30", 0, None),
])
def test_gateway_times_are_read_in_the_gateway_time_zone(text, offset, expected):
    from epaycli.monitor.figures import gateway_time

    assert gateway_time(text, offset) == expected


def test_a_v2_merchant_is_monitored_and_reconciled_through_signed_calls(cli, tmp_path):
    with start_gateway() as gateway:
        private = tmp_path / "merchant.pem"
        private.write_text(gateway.v2.merchant_private_pem)
        public = tmp_path / "platform.pem"
        public.write_text(gateway.v2.platform_public_pem)
        v2 = ["--gateway", gateway.url, "--pid", gateway.v2.pid, "--dialect", "v2",
              "--private-key", str(private), "--public-key", str(public)]
        # port 9: nothing answers there, and no listener of anyone's gets the test's notify
        created = cli("order", "create", "--amount", "2.00", "--name", "VIP", "--json", *v2,
                      "--notify-url", "http://127.0.0.1:9/notify")
        assert created.code == 0, created.stderr
        number = json.loads(created.stdout)["out_trade_no"]
        assert cli("order", "pay", number, *v2, "--key", gateway.v2.key).code == 0
        report = cli("monitor", "--once", "--json", *v2)
        assert report.code == 0, report.stderr
        assert (json.loads(report.stdout)["orders"], json.loads(report.stdout)["paid"]) == (1, 1)
        reconciled = cli("reconcile", "--local", "--json", *v2)
        assert reconciled.code == 0, reconciled.stderr
        assert json.loads(reconciled.stdout) == {"checked": 1, "mismatches": []}


def test_the_alert_secret_is_never_echoed_in_an_error(cli):
    # pasted into the wrong option, the secret is quoted by that option's error: masked
    result = cli("monitor", "--once", "--alert-webhook", "https://oapi.dingtalk.com/robot/send",
                 "--alert-secret", "SECfeedface0123456789",
                 "--interval", "SECfeedface0123456789")
    assert result.code == 2 and "is not a duration" in result.stderr
    assert "SECfeedface0123456789" not in result.stderr


DRY_KEY = "abcdefghijklmnopqrstuvwxyz123456"


def test_dry_run_shows_the_first_requests_and_sends_nothing(cli, receiver):
    """The same requests a real run starts with (built by the same code), the key masked."""
    options = ("--gateway", receiver.url, "--pid", "1000", "--key", DRY_KEY, "--concurrency",
               "3", "--json")
    shown = cli("monitor", "--dry-run", *options)
    assert shown.code == 0, shown.stderr
    assert receiver.hits == [] and DRY_KEY not in shown.stdout
    document = json.loads(shown.stdout)
    assert document["dry_run"] is True
    pages = [dict(parse_qsl(urlsplit(r["url"]).query)) for r in document["requests"]]
    assert [(p["act"], p["limit"], p["offset"]) for p in pages] == [
        ("orders", "50", "0"), ("orders", "50", "50"), ("orders", "50", "100"),
        ("orders", "1", "0")]  # three pages, then the probe
    sent = cli("monitor", "--once", *options)  # the receiver answers no JSON: it stops there
    assert sent.code == 4
    assert sorted((h.query["limit"], h.query["offset"]) for h in receiver.hits) == \
        sorted((p["limit"], p["offset"]) for p in pages[:3])
