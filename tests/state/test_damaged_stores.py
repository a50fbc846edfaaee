"""epay's state file and the local gateway's data file, damaged by hand or by a disk
(issue 15.1): a damaged row is left out (and counted), the rest still served; a file that is
not epay's is one line with exit 6. Their -wal/-shm files are the owner's only (issue 15.6)."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
from decimal import Decimal

import httpx
import pytest
from mockkit import create, pay

from epaycli.core.errors import ConfigError
from epaycli.mock.server import start_gateway
from epaycli.state import LocalState, RecordedOrder, state_dir


def _bug_free(result) -> None:
    assert "this is a bug" not in result.stderr and "Traceback" not in result.stderr


def _state_with_orders(environ) -> LocalState:
    state = LocalState.default(environ)
    for number, money in (("A1", "1.00"), ("A2", "2.00"), ("A3", "3.00")):
        state.record_order(RecordedOrder("http://gw/", "1001", number, "", Decimal(money), "n",
                                         "alipay", 1_700_000_000 + int(money[0])))
    return state


@pytest.mark.parametrize("damage", [
    "UPDATE orders SET money = 'abc' WHERE out_trade_no = 'A2'",
    "UPDATE orders SET money = 'NaN' WHERE out_trade_no = 'A2'",
    "UPDATE orders SET created_at = 'soon' WHERE out_trade_no = 'A2'",
    "UPDATE orders SET name = x'ff00' WHERE out_trade_no = 'A2'",
    "UPDATE orders SET name = CAST(x'ff41' AS TEXT) WHERE out_trade_no = 'A2'",
])
def test_a_damaged_order_is_left_out_and_counted(cli, isolated_env, damage):
    state = _state_with_orders(os.environ)
    with sqlite3.connect(state.path) as connection:
        connection.execute(damage)
    listed = cli("order", "list", "--local", "--json")
    _bug_free(listed)
    assert listed.code == 0, listed.stderr
    assert [o["out_trade_no"] for o in json.loads(listed.stdout)["orders"]] == ["A3", "A1"]
    assert "1 damaged orders" in listed.stderr
    assert LocalState.default(os.environ).find_order("A2") is None  # its amount is not trusted
    assert LocalState.default(os.environ).find_order("A3").money == Decimal("3.00")


@pytest.mark.parametrize("content", [b"not a database at all\n" * 50,
                                     b"SQLite format 3\0" + b"\xff" * 5000])
def test_a_state_file_that_is_not_sqlite_is_one_line_exit_6(cli, isolated_env, content):
    path = state_dir(os.environ) / "state.sqlite3"
    path.parent.mkdir(parents=True)
    path.write_bytes(content)
    listed = cli("order", "list", "--local")
    _bug_free(listed)
    assert listed.code == 6 and listed.stderr.startswith("epay: error:")
    assert len(listed.stderr.splitlines()) == 1


def test_a_foreign_orders_table_is_a_config_error(isolated_env):
    path = state_dir(os.environ) / "state.sqlite3"
    path.parent.mkdir(parents=True)
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE orders (id INTEGER, total REAL)")
    with pytest.raises(ConfigError) as raised:
        LocalState(path)
    assert raised.value.code == "state_unreadable" and "lacks gateway" in raised.value.message


def test_state_damaged_after_opening_is_a_config_error(isolated_env):
    state = _state_with_orders(os.environ)
    with sqlite3.connect(state.path) as connection:
        connection.executescript("DROP TABLE orders; CREATE TABLE orders (x);")
    with pytest.raises(ConfigError) as raised:
        state.list_orders()
    assert raised.value.code == "state_unreadable"


def _modes(folder, prefix):
    return {path.name: stat.S_IMODE(path.stat().st_mode) for path in folder.iterdir()
            if path.name.startswith(prefix)}


def test_state_and_its_wal_and_shm_are_0600(isolated_env):
    state = _state_with_orders(os.environ)
    state.find_order("A1")
    modes = _modes(state.path.parent, "state.sqlite3")
    assert {"state.sqlite3", "state.sqlite3-wal", "state.sqlite3-shm"} <= set(modes)
    assert set(modes.values()) == {0o600}, modes


def test_the_journal_and_its_wal_and_shm_are_0600(tmp_path):
    from epaycli.listener.journal import Journal

    with Journal(tmp_path / "listen.sqlite3") as journal:
        modes = _modes(tmp_path, "listen.sqlite3")
        assert journal is not None
    assert {"listen.sqlite3", "listen.sqlite3-wal", "listen.sqlite3-shm"} <= set(modes)
    assert set(modes.values()) == {0o600}, modes


def test_the_gateway_data_and_its_wal_and_shm_are_0600(tmp_path):
    with start_gateway(data_dir=tmp_path) as gw:
        modes = _modes(tmp_path, "gateway.db")
        assert gw.url
    assert {"gateway.db", "gateway.db-wal", "gateway.db-shm"} <= set(modes)
    assert set(modes.values()) == {0o600}, modes


@pytest.mark.parametrize("content", [b"garbage, not sqlite\n" * 40,
                                     b"SQLite format 3\0" + b"\xff" * 5000])
def test_a_gateway_data_file_that_is_not_sqlite_is_one_line_exit_6(cli, tmp_path, content):
    (tmp_path / "gateway.db").write_bytes(content)
    result = cli("mock", "--port", "0", "--data", str(tmp_path))
    _bug_free(result)
    assert result.code == 6 and result.stderr.startswith("epay: error:"), result.stderr
    assert "gateway.db" in result.stderr


def test_a_foreign_gateway_table_is_named(tmp_path):
    with sqlite3.connect(tmp_path / "gateway.db") as connection:
        connection.execute("CREATE TABLE orders (trade_no TEXT, pid INTEGER)")
    with pytest.raises(ConfigError) as raised:
        start_gateway(data_dir=tmp_path)
    assert raised.value.code == "mock_data_unreadable" and "table orders lacks" in str(raised.value)


@pytest.mark.parametrize("damage", ["money = 'lots'", "status = 'paid'", "pid = 'x'",
                                    "name = x'00ff'", "created_at = NULL"])
def test_a_damaged_gateway_order_is_absent_and_the_others_served(tmp_path, damage):
    with start_gateway(data_dir=tmp_path) as gw, httpx.Client(timeout=10) as client:
        first = create(gw, client, out_trade_no="D1")
        create(gw, client, out_trade_no="D2")
    with sqlite3.connect(tmp_path / "gateway.db") as connection:
        if "NULL" in damage:
            connection.executescript("PRAGMA writable_schema = 1; UPDATE sqlite_schema SET "
                                     "sql = replace(sql, 'NOT NULL', '') WHERE name = 'orders';")
    with sqlite3.connect(tmp_path / "gateway.db") as connection:
        connection.execute(f"UPDATE orders SET {damage} WHERE out_trade_no = 'D1'")
    errors = []
    with start_gateway(data_dir=tmp_path, on_event=errors.append) as gw, \
            httpx.Client(timeout=10) as client:
        query = {"act": "order", "pid": gw.pid, "key": gw.key}
        damaged = client.get(gw.url + "api.php", params={**query, "trade_no": first["trade_no"]})
        assert damaged.status_code == 200 and damaged.json()["code"] != 1
        listed = client.get(gw.url + "api.php", params={"act": "orders", "pid": gw.pid,
                                                         "key": gw.key}).json()
        assert [o["out_trade_no"] for o in listed["data"]] == ["D2"]
        assert pay(gw, client, "D2")["code"] == 1
    assert not [e for e in errors if e.to_dict()["event"] == "error"]


def _schema_not_utf8(path) -> None:
    """The schema's own text damaged: SQLite's error message then carries bytes that are not
    UTF-8 (sqlite3 raised UnicodeDecodeError, not one of its own errors)."""
    with sqlite3.connect(path) as connection:
        connection.executescript(
            "PRAGMA writable_schema = 1; UPDATE sqlite_schema SET sql = "
            "CAST(x'435245415445205441424c4520c4ff28' AS TEXT) WHERE type = 'table';")


def test_a_schema_that_is_not_utf8_is_one_line_everywhere(cli, tmp_path, isolated_env):
    from epaycli.listener.journal import Journal

    with Journal(tmp_path / "journal.sqlite3"):
        pass
    _schema_not_utf8(tmp_path / "journal.sqlite3")
    listed = cli("events", "list", "--journal", str(tmp_path / "journal.sqlite3"))
    _bug_free(listed)
    assert listed.code == 6
    state = _state_with_orders(os.environ)
    _schema_not_utf8(state.path)
    with pytest.raises(ConfigError):
        LocalState(state.path).list_orders()
    with start_gateway(data_dir=tmp_path / "gw"):
        pass
    _schema_not_utf8(tmp_path / "gw" / "gateway.db")
    with pytest.raises(ConfigError) as raised:
        start_gateway(data_dir=tmp_path / "gw")
    assert raised.value.code == "mock_data_unreadable"


def test_gateway_data_damaged_while_it_runs_is_a_config_error_naming_the_file(tmp_path):
    from epaycli.mock.store import GatewayStore

    store = GatewayStore(tmp_path)
    try:
        store.ensure_merchant(1001, "k" * 32, now=0)
        with sqlite3.connect(tmp_path / "gateway.db") as connection:
            connection.executescript("DROP TABLE orders; CREATE TABLE orders (x);")
        with pytest.raises(ConfigError) as raised:
            store.orders(1001, limit=5, offset=0, status=None)
        assert raised.value.code == "mock_data_unreadable" and "gateway.db" in str(raised.value)
    finally:
        store.close()
