"""epay's own memory of the orders it sent, so that a notify's amount can be checked against
what was really ordered (``epay order``, ``epay listen``). One SQLite file under
``$XDG_STATE_HOME/epay/``; this module is the only one that touches it."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from .core.errors import ConfigError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS orders (
    gateway TEXT NOT NULL,
    pid TEXT NOT NULL,
    out_trade_no TEXT NOT NULL,
    trade_no TEXT NOT NULL DEFAULT '',
    money TEXT NOT NULL,
    name TEXT NOT NULL DEFAULT '',
    type TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    unknown INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (gateway, pid, out_trade_no)
);
CREATE INDEX IF NOT EXISTS orders_by_number ON orders (out_trade_no);
"""


@dataclass(frozen=True)
class RecordedOrder:
    gateway: str
    pid: str
    out_trade_no: str
    trade_no: str
    money: Decimal
    name: str
    type: str
    created_at: int
    # The create's answer could not be read: the gateway may hold the order — query it.
    unknown: bool = False

    def to_dict(self) -> dict[str, str | int]:
        return {"gateway": self.gateway, "pid": self.pid, "out_trade_no": self.out_trade_no,
                "trade_no": self.trade_no, "money": f"{self.money:f}", "name": self.name,
                "type": self.type, "created_at": self.created_at, "unknown": self.unknown}


def state_dir(environ: Mapping[str, str]) -> Path:
    """``$XDG_STATE_HOME/epay``, else ``~/.local/state/epay``."""
    base = environ.get("XDG_STATE_HOME") or str(Path(environ.get("HOME") or Path.home())
                                                 / ".local" / "state")
    return Path(base).expanduser() / "epay"


def state_path(environ: Mapping[str, str]) -> Path:
    """The orders file: the only place that names it."""
    return state_dir(environ) / "state.sqlite3"


class LocalState:
    """The orders file. Safe to use from several threads: each thread has its own connection."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        try:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            with self._connect() as connection:
                connection.executescript(_SCHEMA)
                _add_unknown_column(connection)
        except (OSError, sqlite3.Error) as error:
            raise ConfigError(f"cannot open epay's state file {path} ({error})",
                              "check the folder's permissions, or set XDG_STATE_HOME") from None

    @classmethod
    def default(cls, environ: Mapping[str, str]) -> LocalState:
        return cls(state_path(environ))

    @classmethod
    def existing(cls, environ: Mapping[str, str]) -> LocalState | None:
        """The orders file when epay has written one (a reader need not create it)."""
        path = state_path(environ)
        return cls(path) if path.is_file() else None

    def _connect(self) -> sqlite3.Connection:
        # Kept per thread: opening a connection (and setting WAL) costs more than a lookup, and
        # the listener looks an order up for every notify.
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = sqlite3.connect(self.path, timeout=5)
            connection.execute("PRAGMA journal_mode=WAL")
            self._local.connection = connection
        return connection

    def record_order(self, order: RecordedOrder) -> None:
        """Remember an order sent (a re-sent out_trade_no keeps its newest trade_no and amount)."""
        with self._connect() as connection:
            connection.execute(
                f"INSERT INTO orders ({_SELECTED}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (gateway, pid, out_trade_no) DO UPDATE SET "
                "trade_no = excluded.trade_no, money = excluded.money, name = excluded.name, "
                "type = excluded.type, created_at = excluded.created_at, "
                "unknown = excluded.unknown",
                (order.gateway, order.pid, order.out_trade_no, order.trade_no,
                 f"{order.money:f}", order.name, order.type, order.created_at,
                 int(order.unknown)),
            )

    def find_order(self, out_trade_no: str, *, pid: str | None = None,
                   gateway: str | None = None) -> RecordedOrder | None:
        """The newest recorded order with this number (for this pid / gateway, when given)."""
        where, args = _narrowed("out_trade_no = ?", [out_trade_no], pid=pid, gateway=gateway)
        with self._connect() as connection:
            row = connection.execute(f"SELECT {_SELECTED} FROM orders WHERE {where} "
                                     "ORDER BY created_at DESC LIMIT 1", args).fetchone()
        return _order(row) if row else None

    def list_orders(self, limit: int = 50, *, gateway: str | None = None,
                    pid: str | None = None) -> list[RecordedOrder]:
        """The newest orders first; only those sent to ``gateway`` / for ``pid`` when given."""
        where, args = _narrowed("1=1", [], pid=pid, gateway=gateway)
        with self._connect() as connection:
            rows = connection.execute(
                f"SELECT {_SELECTED} FROM orders WHERE {where} "
                "ORDER BY created_at DESC, rowid DESC LIMIT ?",
                (*args, limit),
            ).fetchall()
        return [_order(row) for row in rows]

    def learn_trade_no(self, gateway: str, pid: str, out_trade_no: str, trade_no: str) -> None:
        """Fill in the gateway's trade_no once known (a page-mode order learns it on query)."""
        with self._connect() as connection:
            connection.execute(
                "UPDATE orders SET trade_no = ?, unknown = 0 WHERE gateway = ? AND pid = ? "
                "AND out_trade_no = ? AND trade_no = ''", (trade_no, gateway, pid, out_trade_no))


def _narrowed(where: str, args: list[str], *, pid: str | None,
              gateway: str | None) -> tuple[str, list[str]]:
    """``where`` and its ``args``, narrowed to this pid / gateway when given (placeholders only:
    the values never enter the SQL text)."""
    for column, value in (("pid", pid), ("gateway", gateway)):
        if value:
            where += f" AND {column} = ?"
            args = [*args, value]
    return where, args


_SELECTED = "gateway, pid, out_trade_no, trade_no, money, name, type, created_at, unknown"


def _add_unknown_column(connection: sqlite3.Connection) -> None:
    """A state file from before ``unknown`` existed gets the column (0: the answer was read)."""
    names = {row[1] for row in connection.execute("PRAGMA table_info(orders)")}
    if "unknown" not in names:
        connection.execute("ALTER TABLE orders ADD COLUMN unknown INTEGER NOT NULL DEFAULT 0")


def _order(row: tuple[Any, ...]) -> RecordedOrder:
    gateway, pid, out_trade_no, trade_no, money, name, type_, created_at, unknown = row
    return RecordedOrder(gateway, pid, out_trade_no, trade_no, Decimal(money), name, type_,
                         created_at, bool(unknown))
