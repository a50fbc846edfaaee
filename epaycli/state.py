"""epay's own memory of the orders it sent, so that a notify's amount can be checked against
what was really ordered (``epay order``, ``epay listen``). One SQLite file under
``$XDG_STATE_HOME/epay/``; this module is the only one that touches it."""

from __future__ import annotations

import functools
import sqlite3
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, TypeVar, cast

from .core.errors import ConfigError
from .files import private_database

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
_COLUMNS = ("gateway", "pid", "out_trade_no", "trade_no", "money", "name", "type", "created_at")
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


_Method = TypeVar("_Method", bound=Callable[..., Any])


def _readable(method: _Method) -> _Method:
    """A state file damaged after it was opened (a disk, a hand edit, another program) is a
    one-line config error, not a crash."""
    @functools.wraps(method)
    def guarded(self: LocalState, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except (sqlite3.Error, UnicodeDecodeError) as error:  # a damaged schema's text too
            raise _unreadable(self.path, error) from None
    return cast(_Method, guarded)


def _unreadable(path: Path, error: Exception) -> ConfigError:
    return ConfigError("cannot read epay's state file {path} ({reason})",
                       "move it aside (epay starts a new one), or set XDG_STATE_HOME",
                       code="state_unreadable", fields={"path": path, "reason": error})


class LocalState:
    """The orders file. Safe to use from several threads: each thread has its own connection."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        self.skipped = 0  # damaged rows list_orders left out, last time
        try:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            private_database(path)
            with self._connect() as connection:
                present = {row[1] for row in connection.execute("PRAGMA table_info(orders)")}
                missing = [name for name in _COLUMNS if name not in present]
                if present and missing:  # checked before the schema's index names them
                    raise ConfigError(
                        "epay's state file {path} is not one epay wrote (its orders table lacks "
                        "{missing})", "move it aside (epay starts a new one), or set "
                        "XDG_STATE_HOME", code="state_unreadable", words="state_foreign",
                        fields={"path": path, "missing": ", ".join(missing)})
                connection.executescript(_SCHEMA)
                _add_unknown_column(connection)
        except (OSError, sqlite3.Error, UnicodeDecodeError) as error:
            raise ConfigError("cannot open epay's state file {path} ({error})",
                              "check the folder's permissions, or set XDG_STATE_HOME",
                              code="state_cannot_open",
                              fields={"path": path, "error": error}) from None

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
            connection.text_factory = _text
            connection.execute("PRAGMA journal_mode=WAL")
            self._local.connection = connection
        return connection

    @_readable
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

    @_readable
    def find_order(self, out_trade_no: str, *, pid: str | None = None,
                   gateway: str | None = None) -> RecordedOrder | None:
        """The newest recorded order with this number (for this pid / gateway, when given);
        None also when its row is damaged (its amount cannot be trusted)."""
        where, args = _narrowed("out_trade_no = ?", [out_trade_no], pid=pid, gateway=gateway)
        # A SELECT opens no transaction (no `with` to commit one): the listener asks this for
        # every notify
        row = self._connect().execute(f"SELECT {_SELECTED} FROM orders WHERE {where} "
                                      "ORDER BY created_at DESC LIMIT 1", args).fetchone()
        return _order(row) if row else None

    @_readable
    def list_orders(self, limit: int = 50, *, gateway: str | None = None,
                    pid: str | None = None) -> list[RecordedOrder]:
        """The newest orders first; only those sent to ``gateway`` / for ``pid`` when given.
        Damaged rows are left out and counted in ``skipped``."""
        where, args = _narrowed("1=1", [], pid=pid, gateway=gateway)
        with self._connect() as connection:
            rows = connection.execute(
                f"SELECT {_SELECTED} FROM orders WHERE {where} "
                "ORDER BY created_at DESC, rowid DESC LIMIT ?",
                (*args, limit),
            ).fetchall()
        orders = [_order(row) for row in rows]
        self.skipped = orders.count(None)
        return [order for order in orders if order is not None]

    @_readable
    def learn_trade_no(self, gateway: str, pid: str, out_trade_no: str, trade_no: str) -> None:
        """Fill in the gateway's trade_no once known (a page-mode order learns it on query)."""
        with self._connect() as connection:
            connection.execute(
                "UPDATE orders SET trade_no = ?, unknown = 0 WHERE gateway = ? AND pid = ? "
                "AND out_trade_no = ? AND trade_no = ''", (trade_no, gateway, pid, out_trade_no))


class RecordedOrders:
    """The orders file read whole into memory, for a server that looks an order up for every
    request (the listener): a lookup is a dict access, where a SQLite read would also hand the
    GIL over (to the journal's writer) and back each time. ``refresh()`` — called once a turn
    of the listener's loop — reads the file again only if another connection committed to it
    since (``PRAGMA data_version``). A file of more than ``limit`` orders is not held: each
    lookup asks SQLite, as ``LocalState.find_order`` does (same answers either way)."""

    def __init__(self, state: LocalState, *, limit: int = 5_000) -> None:
        self.state, self.limit = state, limit
        # Its own connection: PRAGMA data_version sees only other connections' commits, and
        # the state's own (one per thread) may be the one that records an order.
        self._connection: sqlite3.Connection | None = None
        self._version: int | None = None
        self._by_number: dict[str, list[tuple[Any, ...]]] | None = None  # newest first
        self._failure: ConfigError | None = None

    def refresh(self) -> None:
        """Read the file again if it changed. An unreadable file is said by the next lookup."""
        try:
            self._refresh()
        except (sqlite3.Error, UnicodeDecodeError) as error:
            self._version = self._by_number = None
            self._failure = _unreadable(self.state.path, error)

    def _refresh(self) -> None:
        connection = self._connection
        if connection is None:  # (used by one thread at a time, not always the one that made it)
            connection = sqlite3.connect(self.state.path, timeout=5, check_same_thread=False)
            connection.text_factory = _text
            self._connection = connection
        version = connection.execute("PRAGMA data_version").fetchone()[0]
        if version == self._version:
            return
        self._failure = None
        by_number: dict[str, list[tuple[Any, ...]]] | None = None
        too_many = connection.execute("SELECT 1 FROM orders LIMIT 1 OFFSET ?",
                                      (self.limit,)).fetchone()  # (stops there: no count)
        if too_many is None:
            by_number = {}
            # newest first, in SQLite's own order (a damaged row's other kind of value too)
            for row in connection.execute(f"SELECT {_SELECTED} FROM orders "
                                          "ORDER BY created_at DESC"):
                by_number.setdefault(row[2], []).append(row)
        self._version, self._by_number = version, by_number

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def find_order(self, out_trade_no: str, *, pid: str | None = None,
                   gateway: str | None = None) -> RecordedOrder | None:
        """What ``LocalState.find_order`` answers, as of the last ``refresh()``."""
        if self._failure is not None:
            raise self._failure
        if self._by_number is None:  # too many orders to hold (or never read): ask SQLite
            return self.state.find_order(out_trade_no, pid=pid, gateway=gateway)
        for row in self._by_number.get(out_trade_no, ()):
            if (not pid or row[1] == pid) and (not gateway or row[0] == gateway):
                return _order(row)
        return None


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


def _text(data: bytes) -> str | bytes:
    """Text that is not UTF-8 stays bytes (its row is damaged) instead of failing the query."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data


def _order(row: tuple[Any, ...]) -> RecordedOrder | None:
    """The row as an order; None when it is damaged (a value not of its column's kind)."""
    gateway, pid, out_trade_no, trade_no, money, name, type_, created_at, unknown = row
    texts = (gateway, pid, out_trade_no, trade_no, money, name, type_)
    if not all(value.__class__ is str for value in texts) or created_at.__class__ is not int:
        return None
    try:
        amount = Decimal(money)
    except InvalidOperation:
        return None
    if not amount.is_finite():
        return None
    return RecordedOrder(gateway, pid, out_trade_no, trade_no, amount, name, type_, created_at,
                         bool(unknown))
