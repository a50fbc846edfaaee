"""`epay reconcile`: the shop's export (CSV, JSON) or epay's own memory against epay's own
gateway — every kind of mismatch, exact; the CSV report; bad input."""

from __future__ import annotations

import csv
import json

import httpx
import pytest
from mockkit import order_fields, signed

from epaycli.mock.server import start_gateway
from epaycli.monitor import reconcile as rec


@pytest.fixture(scope="module")
def gateway():
    gw = start_gateway()
    with httpx.Client(timeout=10) as client:
        for number, money, paid in (("R1", "1.00", True), ("R2", "1.00", False),
                                    ("R3", "2.00", True), ("R5", "5.00", True)):
            fields = order_fields("http://127.0.0.1:9/n", out_trade_no=number, money=money)
            assert client.post(gw.url + "mapi.php",
                               data=signed(fields, gw.key)).json()["code"] == 1
            if paid:
                client.post(gw.url + "sandbox/pay", data={"pid": gw.pid, "key": gw.key,
                                                          "out_trade_no": number})
    yield gw
    gw.close()


def v1(gateway) -> list[str]:
    return ["--gateway", gateway.url, "--pid", gateway.pid, "--key", gateway.key]


SHOP_CSV = ("out_trade_no,money,status\n"
            "R1,1.00,unpaid\n"  # paid at the gateway: the lost notify
            "R2,1.00,paid\n"  # credited, never paid
            "R3,3.00,paid\n"  # 2.00 at the gateway
            "R4,1.00,unpaid\n"  # the gateway does not know it
            "R5,5,credited\n")  # all well


def test_every_kind_of_mismatch_is_found_exactly(cli, gateway, tmp_path):
    shop = tmp_path / "shop.csv"
    shop.write_text(SHOP_CSV)
    result = cli("reconcile", "--from", str(shop), "--json", *v1(gateway))
    assert result.code == 7, result.stderr
    document = json.loads(result.stdout)
    assert document["checked"] == 5
    found = {(m["out_trade_no"], m["kind"]) for m in document["mismatches"]}
    assert found == {("R1", "paid_not_credited"), ("R2", "credited_not_paid"),
                     ("R3", "amount_differs"), ("R4", "unknown_to_gateway")}
    by_number = {m["out_trade_no"]: m for m in document["mismatches"]}
    lost = by_number["R1"]
    assert lost["shop"] == {"money": "1.00", "status": "unpaid"}
    assert lost["gateway"]["status"] == 1 and lost["gateway"]["money"] == "1.00"
    assert lost["command"].startswith("epay trigger notify --to ")
    assert f"--order R1 --trade-no {lost['gateway']['trade_no']} --amount 1.00" in lost["command"]
    assert by_number["R2"]["gateway"]["status_text"] == "unpaid"
    assert by_number["R4"]["gateway"] is None
    assert set(lost) == {"out_trade_no", "kind", "shop", "gateway", "command"}
    assert set(by_number["R3"]) == {"out_trade_no", "kind", "shop", "gateway"}


def test_the_csv_report_and_the_table(cli, gateway, tmp_path):
    shop = tmp_path / "shop.csv"
    shop.write_text(SHOP_CSV)
    report = tmp_path / "mismatches.csv"
    result = cli("reconcile", "--from", str(shop), "--csv", str(report), *v1(gateway))
    assert result.code == 7
    rows = list(csv.DictReader(report.open()))
    assert [(r["out_trade_no"], r["kind"]) for r in rows] == [
        ("R1", "paid_not_credited"), ("R2", "credited_not_paid"), ("R3", "amount_differs"),
        ("R4", "unknown_to_gateway")]
    assert rows[2]["shop_money"] == "3.00" and rows[2]["gateway_money"] == "2.00"
    assert "paid_not_credited" in result.stdout and "checked 5 orders: 4 mismatches" in \
        result.stderr


def test_a_json_export_that_agrees_exits_0(cli, gateway, tmp_path):
    shop = tmp_path / "shop.json"
    shop.write_text(json.dumps({"orders": [{"out_trade_no": "R5", "money": "5.00",
                                            "status": "paid"},
                                           {"out_trade_no": "R2", "money": 1,
                                            "status": "pending"}]}))
    result = cli("reconcile", "--from", str(shop), *v1(gateway))
    assert result.code == 0, result.stderr
    assert "checked 2 orders: the shop and the gateway agree" in result.stderr


def test_many_orders_are_found_by_listing_the_gateway(cli, gateway, tmp_path, monkeypatch):
    monkeypatch.setattr(rec, "LIST_FIRST_FROM", 1)
    sent = []
    original = rec._query

    async def counting(client, merchant, now, numbers, found):
        sent.extend(numbers)
        return await original(client, merchant, now, numbers, found)

    monkeypatch.setattr(rec, "_query", counting)
    shop = tmp_path / "shop.csv"
    shop.write_text(SHOP_CSV)
    result = cli("reconcile", "--from", str(shop), "--json", *v1(gateway))
    assert {(m["out_trade_no"], m["kind"]) for m in json.loads(result.stdout)["mismatches"]} \
        == {("R1", "paid_not_credited"), ("R2", "credited_not_paid"), ("R3", "amount_differs"),
            ("R4", "unknown_to_gateway")}
    assert sent == []  # the list ended: R4 is unknown without asking


def test_local_memory_compares_amounts_and_existence(cli, gateway, isolated_env):
    from decimal import Decimal

    from epaycli.state import LocalState, RecordedOrder

    created = cli("order", "create", "--amount", "1.50", "--name", "VIP", "--json",
                  *v1(gateway))
    assert created.code == 0, created.stderr
    number = json.loads(created.stdout)["out_trade_no"]
    assert cli("reconcile", "--local", *v1(gateway)).code == 0
    state = LocalState.default({"XDG_STATE_HOME": str(isolated_env / ".local" / "state")})
    state.record_order(RecordedOrder(gateway.url, gateway.pid, "NEVER1", "", Decimal("1.00"),
                                     "VIP", "alipay", 1))
    state.record_order(RecordedOrder(gateway.url, gateway.pid, number, "", Decimal("9.99"),
                                     "VIP", "alipay", 2))
    result = cli("reconcile", "--local", "--json", *v1(gateway))
    assert result.code == 7
    assert {(m["out_trade_no"], m["kind"]) for m in json.loads(result.stdout)["mismatches"]} \
        == {("NEVER1", "unknown_to_gateway"), (number, "amount_differs")}
    recent = cli("reconcile", "--local", "--since", "1h", "--json", *v1(gateway))
    assert json.loads(recent.stdout)["checked"] == 0  # both records claim 1970


@pytest.mark.parametrize("content, words", [
    ("order,amount\nR1,1.00\n", "has no status column"),
    ("out_trade_no,money,status\nR1,abc,paid\n", "line 2 of"),
    ("out_trade_no,money,status\nR1,1.00,maybe\n", "status 'maybe' is not one epay knows"),
    ("out_trade_no,money,status\nR 1,1.00,paid\n", "is not an order number"),
    ("out_trade_no,money,status\n", "lists no orders"),
    ("[1, 2]", "is neither a CSV with a header nor JSON"),
])
def test_a_bad_export_is_a_one_line_usage_error(cli, tmp_path, content, words):
    shop = tmp_path / "shop.csv"
    shop.write_text(content)
    result = cli("reconcile", "--from", str(shop), "--gateway", "http://127.0.0.1:9/")
    assert result.code == 2, result.stderr
    assert words in result.stderr and result.stderr.count("\n") == 1


@pytest.mark.parametrize("args, words", [
    ([], "give --from FILE or --local"),
    (["--local", "--from", "x.csv"], "give --from FILE or --local"),
    (["--from", "/nonexistent/shop.csv"], "does not exist"),
    (["--local", "--since", "yesterday"], "--since 'yesterday' is neither"),
])
def test_bad_options_are_usage_errors(cli, args, words):
    result = cli("reconcile", *args, "--gateway", "http://127.0.0.1:9/")
    assert result.code == 2, result.stderr
    assert words in result.stderr and result.stderr.count("\n") == 1


def test_an_unreachable_gateway_is_exit_5(cli, tmp_path):
    shop = tmp_path / "shop.csv"
    shop.write_text(SHOP_CSV)
    result = cli("reconcile", "--from", str(shop), "--gateway", "http://127.0.0.1:9/",
                 "--timeout", "1")
    assert result.code == 5
    assert result.stderr.startswith("epay: error: cannot connect") and \
        result.stderr.count("\n") == 1


def test_an_export_that_is_not_utf8_is_a_usage_error(cli, tmp_path):
    shop = tmp_path / "shop.csv"
    shop.write_bytes("out_trade_no,money,status\nR1,1.00,已付\n".encode("gbk"))
    result = cli("reconcile", "--from", str(shop), "--gateway", "http://127.0.0.1:9/")
    assert result.code == 2 and "is not UTF-8 text" in result.stderr


def test_since_keeps_the_rows_made_since_and_stdin_is_read(cli, gateway):
    export = ("out_trade_no,money,status,created_at\n"
              "R2,1.00,paid,2020-01-01T00:00:00Z\n"  # old: left out
              "R5,5.00,paid,2099-01-01T00:00:00+08:00\n")
    result = cli("reconcile", "--from", "-", "--since", "2026-01-01", "--json", *v1(gateway),
                 stdin=export)
    assert result.code == 0, result.stderr
    assert json.loads(result.stdout) == {"checked": 1, "mismatches": []}


def test_dry_run_shows_what_would_be_asked_and_sends_nothing(cli, receiver, tmp_path):
    key = "abcdefghijklmnopqrstuvwxyz123456"
    options = ("--gateway", receiver.url, "--pid", "1000", "--key", key, "--concurrency", "4",
               "--dry-run", "--json")
    few, many = tmp_path / "few.csv", tmp_path / "many.csv"
    few.write_text("out_trade_no,money,status\nR1,1.00,paid\nR2,2.00,unpaid\nR1,1.00,paid\n")
    many.write_text("out_trade_no,money,status\n" + "".join(
        f"M{i},1.00,paid\n" for i in range(rec.LIST_FIRST_FROM)))
    asked = cli("reconcile", "--from", str(few), *options)
    listed = cli("reconcile", "--from", str(many), *options)
    assert asked.code == listed.code == 0, asked.stderr + listed.stderr
    assert receiver.hits == [] and key not in asked.stdout + listed.stdout
    # a question per order (once each) ...
    assert [r["url"].rsplit("&", 1)[1] for r in json.loads(asked.stdout)["requests"]] == \
        ["out_trade_no=R1", "out_trade_no=R2"]
    # ... or, for many, the first batch of list pages
    assert [r["url"].rsplit("&", 2)[1:] for r in json.loads(listed.stdout)["requests"]] == \
        [["limit=50", f"offset={offset}"] for offset in (0, 50, 100, 150)]
