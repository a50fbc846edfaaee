"""The gateway's order list (act=orders, api/merchant/orders) pages from an in-memory listing
kept by the store's own writes: every page, at every offset and status, is what the SQL a
real server runs (ORDER BY trade_no DESC LIMIT offset, limit) would answer — after new
orders, payments, refunds and closes, in either durability, and after another connection
wrote to the file."""

from __future__ import annotations

import random
import sqlite3

import pytest

from epaycli.mock.store import DB_NAME, GatewayStore

PIDS = (1000, 1001)


def new_order(store: GatewayStore, pid: int, trade_no: str) -> None:
    assert store.insert_order({
        "trade_no": trade_no, "pid": pid, "out_trade_no": "N" + trade_no,
        "sent_out_trade_no": "N" + trade_no, "type": "alipay", "name": "VIP", "money": "1.00",
        "notify_url": "http://127.0.0.1:9/n", "addtime": "2026-12-06 12:00:00",
        "created_at": 1.0}) is not None


def reference(path, pid: int, status: int | None, offset: int, limit: int) -> list[str]:
    """The page as the real server's SQL answers it, read by a connection of its own."""
    query = "SELECT trade_no FROM orders WHERE pid = ?" + (" AND status = ?" if status is not
                                                            None else "")
    args = (pid,) + ((status,) if status is not None else ()) + (limit, offset)
    with sqlite3.connect(path) as db:
        return [row[0] for row in db.execute(query + " ORDER BY trade_no DESC LIMIT ? OFFSET ?",
                                             args)]


def listed(store: GatewayStore, pid: int, status: int | None, offset: int,
           limit: int) -> list[str]:
    return [o.trade_no for o in store.orders(pid, limit=limit, offset=offset, status=status)]


def assert_pages_match(store: GatewayStore, path) -> None:
    for pid in PIDS:
        for status in (None, 0, 1, 2, 3):
            for offset in (0, 1, 7, 13, 50, 119, 120, 400):
                for limit in (1, 7, 50):
                    assert listed(store, pid, status, offset, limit) == \
                        reference(path, pid, status, offset, limit), (pid, status, offset, limit)


@pytest.mark.parametrize("durability", ["commit", "fsync"])
def test_every_page_is_what_the_servers_sql_answers_as_orders_change(tmp_path, durability):
    store = GatewayStore(tmp_path, durability=durability)
    path = tmp_path / DB_NAME
    randomness = random.Random(19)
    # trade_nos made in no particular order: a second's orders sort by their random digits
    numbers = [f"20261206{randomness.randrange(10**11):011d}" for _ in range(240)]
    try:
        for number in numbers[:60]:
            new_order(store, PIDS[randomness.randrange(2)], number)
        assert_pages_match(store, path)  # the listing is read whole here, at the first page
        for number in numbers[60:]:  # then kept by the store's own writes
            new_order(store, PIDS[randomness.randrange(2)], number)
        for number in numbers[::3]:
            assert store.mark_paid(number, type="alipay", endtime="2026-12-06 12:00:01",
                                   paid_at=2.0, api_trade_no="", buyer="", faults="")
        assert not store.mark_paid(numbers[0], type="alipay", endtime="", paid_at=2.0,
                                   api_trade_no="", buyer="", faults="")  # paid already
        for index, number in enumerate(numbers[::6]):
            pid = store.order_by_trade_no(number).pid
            assert store.refund(number, money="1.00", refund_no=f"R{index}", out_refund_no="",
                                pid=pid, addtime="2026-12-06 12:00:02")
        for number in numbers[1::5]:
            store.close_order(number)
        assert_pages_match(store, path)
    finally:
        store.close()


def test_orders_another_connection_wrote_are_listed(tmp_path):
    store = GatewayStore(tmp_path)
    path = tmp_path / DB_NAME
    try:
        new_order(store, 1000, "2026120612000000001")
        assert listed(store, 1000, None, 0, 50) == ["2026120612000000001"]
        with sqlite3.connect(path) as db:  # e.g. seeded by a benchmark, or a hand edit
            db.execute("INSERT INTO orders (trade_no, pid, out_trade_no, sent_out_trade_no, "
                       "name, money, notify_url, addtime, created_at, status) VALUES "
                       "('2026120612000000002', 1000, 'X', 'X', 'VIP', '1.00', 'http://x/', "
                       "'2026-12-06 12:00:00', 1.0, 1)")
            db.execute("UPDATE orders SET status = 3 WHERE trade_no = '2026120612000000001'")
        assert listed(store, 1000, None, 0, 50) == ["2026120612000000002",
                                                     "2026120612000000001"]
        assert listed(store, 1000, 3, 0, 50) == ["2026120612000000001"]
        assert listed(store, 1000, 0, 0, 50) == []
        assert_pages_match(store, path)
    finally:
        store.close()


def test_an_order_whose_text_is_not_utf8_is_left_out_and_the_page_served(tmp_path):
    store = GatewayStore(tmp_path)
    try:
        for number in ("2026120612000000001", "2026120612000000002", "2026120612000000003"):
            new_order(store, 1000, number)
        with sqlite3.connect(tmp_path / DB_NAME) as db:  # damaged by a disk or a hand edit
            db.execute("UPDATE orders SET name = CAST(x'ff41' AS TEXT) "
                       "WHERE trade_no = '2026120612000000002'")
        assert listed(store, 1000, None, 0, 50) == ["2026120612000000003",
                                                     "2026120612000000001"]
        assert [o.name for o in store.orders(1000, limit=50, offset=0, status=None)] == \
            ["VIP", "VIP"]
    finally:
        store.close()
