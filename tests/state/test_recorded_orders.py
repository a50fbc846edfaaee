"""state.RecordedOrders: the orders file held in memory for the listener — the same answers as
LocalState.find_order, read again once another connection changed the file."""

from __future__ import annotations

import sqlite3
import threading
from decimal import Decimal

import pytest

from epaycli.core.errors import ConfigError
from epaycli.state import LocalState, RecordedOrder, RecordedOrders


def order(number: str, money: str, created_at: int, *, pid: str = "1000",
          gateway: str = "http://g/", trade_no: str = "") -> RecordedOrder:
    return RecordedOrder(gateway, pid, number, trade_no, Decimal(money), "n", "alipay",
                         created_at)


QUESTIONS = [("A-1", None, None), ("A-1", "1000", None), ("A-1", "2000", None),
             ("A-1", None, "http://other/"), ("A-1", "2000", "http://g/"), ("A-1", "", ""),
             ("B-2", None, None), ("B-2", "1000", None), ("nope", None, None), ("", None, None)]


@pytest.fixture
def state(tmp_path):
    state = LocalState(tmp_path / "state.sqlite3")
    state.record_order(order("A-1", "1.00", 10, trade_no="T1"))
    state.record_order(order("A-1", "9.99", 5, pid="2000", gateway="http://other/"))
    state.record_order(order("A-1", "3.00", 30, pid="2000"))
    state.record_order(order("B-2", "2.00", 20))
    return state


def answers(lookup) -> list[RecordedOrder | None]:
    return [lookup.find_order(number, pid=pid, gateway=gateway)
            for number, pid, gateway in QUESTIONS]


@pytest.mark.parametrize("limit", [5_000, 4, 3, 0])
def test_it_answers_what_the_file_answers_held_or_not(state, limit):
    orders = RecordedOrders(state, limit=limit)  # over the limit: each lookup asks SQLite
    orders.refresh()
    assert answers(orders) == answers(state)
    assert orders.find_order("A-1").money == Decimal("3.00")  # the newest
    assert orders.find_order("A-1", pid="1000").trade_no == "T1"


def test_a_damaged_newest_row_hides_the_order_as_the_file_does(state):
    with sqlite3.connect(state.path) as connection:
        connection.execute("UPDATE orders SET created_at = 'soon' WHERE pid = '1000' AND "
                           "out_trade_no = 'B-2'")
        connection.execute("UPDATE orders SET money = 'abc' WHERE money = '3.00'")
    orders = RecordedOrders(state)
    orders.refresh()
    assert answers(orders) == answers(state)
    assert orders.find_order("B-2") is None and orders.find_order("A-1") is None
    assert orders.find_order("A-1", pid="1000").money == Decimal("1.00")


def test_an_order_recorded_by_another_connection_is_seen_after_refresh(state):
    orders = RecordedOrders(state)
    orders.refresh()
    assert orders.find_order("C-3") is None
    writer = threading.Thread(target=lambda: LocalState(state.path).record_order(
        order("C-3", "5.00", 40)))  # another connection: another thread, as epay order create
    writer.start()
    writer.join()
    assert orders.find_order("C-3") is None  # as of the last refresh
    orders.refresh()
    assert orders.find_order("C-3").money == Decimal("5.00")
    LocalState(state.path).record_order(order("C-3", "6.00", 50))  # the same number, re-sent
    orders.refresh()
    assert orders.find_order("C-3").money == Decimal("6.00")


def test_an_unchanged_file_is_not_read_again(state):
    orders = RecordedOrders(state)
    orders.refresh()
    held = orders._by_number
    orders.refresh()
    assert orders._by_number is held


def test_a_file_that_became_unreadable_is_a_config_error_at_the_lookup(state):
    orders = RecordedOrders(state)
    orders.refresh()
    with sqlite3.connect(state.path) as connection:
        connection.executescript("DROP TABLE orders; CREATE TABLE orders (x);")
    orders.refresh()
    with pytest.raises(ConfigError, match="state file"):
        orders.find_order("A-1")


def test_an_order_recorded_through_the_same_state_on_the_same_thread_is_seen(state):
    orders = RecordedOrders(state)
    orders.refresh()
    state.record_order(order("D-4", "4.00", 60))  # the state's own connection for this thread
    orders.refresh()
    assert orders.find_order("D-4").money == Decimal("4.00")
    orders.close()
    orders.refresh()  # opens its connection again
    assert orders.find_order("D-4").money == Decimal("4.00")
