"""The local gateway's state: merchants, orders, refunds and notify deliveries, in SQLite.

One connection behind one lock serves every read and most writes. In memory
(``data_dir=None``) there is nothing more to it. On disk the database runs in WAL mode, with one
of two durabilities:

- ``commit`` (the default): ``synchronous=NORMAL``. Every order is committed before the gateway
  answers, so a gateway that is stopped, crashes or is killed (``kill -9``) loses nothing it
  acknowledged; an OS crash or power cut may lose the last commits (the WAL is synced at
  checkpoints). Right for a sandbox, and fast: ~40 µs a commit here.
- ``fsync``: ``synchronous=FULL``. A commit returns only once it is on the disk, so nothing
  acknowledged is lost even to a power cut. An fsync costs milliseconds, so new orders (the one
  write that comes in bulk) go through a group commit: the orders of concurrent requests are
  written by one writer thread in one transaction and one fsync, and each request answers once
  its order is durable.
"""

from __future__ import annotations

import functools
import secrets
import sqlite3
import threading
from bisect import bisect_left
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypedDict, TypeVar

from ..core.errors import ConfigError
from ..files import private_database

DB_NAME = "gateway.db"
DURABILITIES = ("commit", "fsync")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS merchants (
    pid INTEGER PRIMARY KEY,
    key TEXT NOT NULL,
    username TEXT NOT NULL DEFAULT '',
    active INTEGER NOT NULL DEFAULT 1,
    rsa_only INTEGER NOT NULL DEFAULT 0,
    refund_api INTEGER NOT NULL DEFAULT 0,
    public_key TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS orders (
    trade_no TEXT PRIMARY KEY,
    pid INTEGER NOT NULL,
    out_trade_no TEXT NOT NULL,
    sent_out_trade_no TEXT NOT NULL,
    type TEXT NOT NULL DEFAULT '',
    name TEXT NOT NULL,
    money TEXT NOT NULL,
    notify_url TEXT NOT NULL,
    return_url TEXT NOT NULL DEFAULT '',
    param TEXT NOT NULL DEFAULT '',
    clientip TEXT NOT NULL DEFAULT '',
    device TEXT NOT NULL DEFAULT '',
    dialect TEXT NOT NULL DEFAULT 'v1',
    status INTEGER NOT NULL DEFAULT 0,
    closed INTEGER NOT NULL DEFAULT 0,
    addtime TEXT NOT NULL,
    created_at REAL NOT NULL,
    endtime TEXT,
    paid_at REAL,
    api_trade_no TEXT,
    buyer TEXT,
    refundmoney TEXT,
    faults TEXT NOT NULL DEFAULT '',
    notify_state TEXT NOT NULL DEFAULT '',
    notify_attempts INTEGER NOT NULL DEFAULT 0,
    notify_next_at REAL
);
CREATE INDEX IF NOT EXISTS orders_by_merchant_number ON orders (pid, out_trade_no);
-- the order list pages newest first: without this every page sorts all the merchant's orders
CREATE INDEX IF NOT EXISTS orders_by_merchant_trade_no ON orders (pid, trade_no);
DROP INDEX IF EXISTS orders_pending_notify;
CREATE TABLE IF NOT EXISTS refunds (
    refund_no TEXT PRIMARY KEY,
    out_refund_no TEXT NOT NULL DEFAULT '',
    trade_no TEXT NOT NULL,
    pid INTEGER NOT NULL,
    money TEXT NOT NULL,
    addtime TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    trade_no TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    copy INTEGER NOT NULL DEFAULT 1,
    at REAL NOT NULL,
    method TEXT NOT NULL,
    url TEXT NOT NULL,
    status INTEGER,
    body TEXT NOT NULL DEFAULT '',
    error TEXT,
    delivered INTEGER NOT NULL,
    faults TEXT NOT NULL DEFAULT '',
    elapsed_ms INTEGER
);
CREATE INDEX IF NOT EXISTS deliveries_by_order ON deliveries (trade_no);
"""

ORDER_FIELDS = ("trade_no", "pid", "out_trade_no", "sent_out_trade_no", "type", "name", "money",
                "notify_url", "return_url", "param", "clientip", "device", "dialect", "status",
                "closed", "addtime", "created_at", "endtime", "paid_at", "api_trade_no", "buyer",
                "refundmoney", "faults", "notify_state", "notify_attempts", "notify_next_at")


# What a new order row holds besides what the gateway gives it (the schema's defaults).
_ORDER_DEFAULTS = {"type": "", "return_url": "", "param": "", "clientip": "", "device": "",
                   "dialect": "v1", "status": 0, "closed": 0, "endtime": None, "paid_at": None,
                   "api_trade_no": None, "buyer": None, "refundmoney": None, "faults": "",
                   "notify_state": "", "notify_attempts": 0, "notify_next_at": None}


@dataclass(frozen=True, repr=False)
class Merchant:
    pid: int
    key: str
    username: str
    active: bool
    rsa_only: bool
    refund_api: bool
    public_key: str  # the merchant's RSA public key (PEM), '' when it has none

    def __repr__(self) -> str:  # the key stays out of tracebacks
        return f"Merchant(pid={self.pid}, rsa_only={self.rsa_only}, refund_api={self.refund_api})"


@dataclass(frozen=True)
class Order:
    trade_no: str
    pid: int
    out_trade_no: str  # as stored (cut to 150 under real quirks)
    sent_out_trade_no: str  # as the merchant sent it: what reuse is looked up by
    type: str
    name: str
    money: Decimal
    notify_url: str
    return_url: str
    param: str
    clientip: str
    device: str
    dialect: str
    status: int
    closed: bool
    addtime: str
    created_at: float
    endtime: str | None
    paid_at: float | None
    api_trade_no: str | None
    buyer: str | None
    refundmoney: str | None
    faults: str
    notify_state: str
    notify_attempts: int
    notify_next_at: float | None


_NUMBER = (int, float)
_OPTIONAL_TEXT = (str, type(None))
_OPTIONAL_NUMBER = (int, float, type(None))
# The kind of value each order column holds; a row with another kind (a damaged or hand-edited
# file) is treated as absent, not as a crash in the middle of a request.
_ORDER_KINDS = dict.fromkeys(ORDER_FIELDS, (str,)) | {
    "pid": (int,), "status": (int,), "closed": (int,), "created_at": _NUMBER,
    "notify_attempts": (int,), "endtime": _OPTIONAL_TEXT, "paid_at": _OPTIONAL_NUMBER,
    "api_trade_no": _OPTIONAL_TEXT, "buyer": _OPTIONAL_TEXT, "refundmoney": _OPTIONAL_TEXT,
    "notify_next_at": _OPTIONAL_NUMBER}
def _order(row: sqlite3.Row | tuple[Any, ...]) -> Order | None:
    # isinstance is exact here: SQLite gives plain int, float, str, bytes or None (never bool)
    if not all(map(isinstance, row, _ROW_KINDS)):
        return None
    values = list(row)
    try:
        values[_MONEY] = Decimal(values[_MONEY])
    except InvalidOperation:
        return None
    if not values[_MONEY].is_finite():
        return None
    values[_CLOSED] = bool(values[_CLOSED])
    return Order(*values)


def _orders(rows: Iterable[tuple[Any, ...]]) -> list[Order]:
    return [order for order in map(_order, rows) if order is not None]


# what _order checks and converts, by position
_ROW_KINDS = tuple(_ORDER_KINDS[name] for name in ORDER_FIELDS)
_MONEY, _CLOSED = ORDER_FIELDS.index("money"), ORDER_FIELDS.index("closed")


def _text(data: bytes) -> str | bytes:
    """Text that is not UTF-8 stays bytes (its row is then damaged) instead of failing the
    query that meets it."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data


def _expected_columns() -> dict[str, list[str]]:
    """Each table of ``_SCHEMA`` and its columns, read from the schema itself."""
    probe = sqlite3.connect(":memory:")
    try:
        probe.executescript(_SCHEMA)
        tables = [row[0] for row in probe.execute(
            "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
        return {table: [row[1] for row in probe.execute(f"PRAGMA table_info({table})")]
                for table in tables}
    finally:
        probe.close()


def _whole_merchant(row: tuple[Any, ...]) -> bool:
    """pid, key, username, three flags, public key: each of its kind (else it is damaged)."""
    kinds = (int, str, str, int, int, int, str)
    return all(value.__class__ is kind for value, kind in zip(row, kinds))


class _OrderList:
    """Each merchant's trade_nos in ascending order, all of them and by status, so that a page
    of the newest-first order list at any offset is a slice: SQLite's OFFSET walks every entry
    it skips (~5 ms a page 100,000 orders deep, and status pages read every row they skip)."""

    def __init__(self, rows: Iterable[tuple[Any, ...]]) -> None:
        self._lists: dict[tuple[int, int | None], list[str]] = {}
        for pid, status, trade_no in rows:
            # a damaged row (wrong kinds) is left out, as the listing leaves it out
            if pid.__class__ is int and status.__class__ is int and trade_no.__class__ is str:
                self._lists.setdefault((pid, None), []).append(trade_no)
                self._lists.setdefault((pid, status), []).append(trade_no)
        for numbers in self._lists.values():
            numbers.sort()  # str order is SQLite's BINARY order for UTF-8 text

    def add(self, pid: int, status: int, trade_no: str) -> None:
        """Idempotent: an order already listed stays listed once."""
        for key in ((pid, None), (pid, status)):
            numbers = self._lists.setdefault(key, [])
            at = bisect_left(numbers, trade_no)
            if at == len(numbers) or numbers[at] != trade_no:
                numbers.insert(at, trade_no)

    def move(self, pid: int, trade_no: str, old: int, new: int) -> None:
        numbers = self._lists.get((pid, old), [])
        at = bisect_left(numbers, trade_no)
        if at < len(numbers) and numbers[at] == trade_no:
            del numbers[at]
        self.add(pid, new, trade_no)

    def page(self, pid: int, status: int | None, *, offset: int, limit: int) -> list[str]:
        """The trade_nos of the page ``offset`` orders below the newest (oldest first)."""
        numbers = self._lists.get((pid, status), [])
        end = len(numbers) - offset
        if end <= 0 or limit <= 0:
            return []
        return numbers[max(0, end - limit):end]


Params = ParamSpec("Params")
Result = TypeVar("Result")


def _readable(method: Callable[Concatenate[GatewayStore, Params], Result]
              ) -> Callable[Concatenate[GatewayStore, Params], Result]:
    """A data file damaged while the gateway runs (a disk, another program) is a config error
    naming the file — the request that met it is answered 500 — not a bare sqlite3 error."""
    @functools.wraps(method)
    def guarded(self: GatewayStore, /, *args: Params.args, **kwargs: Params.kwargs) -> Result:
        try:
            return method(self, *args, **kwargs)
        except (sqlite3.DatabaseError, UnicodeDecodeError) as error:
            raise ConfigError("cannot read the gateway's data file {path} ({reason})",
                              "move it aside (the gateway starts a new one), or choose another "
                              "--data folder", code="mock_data_unreadable",
                              fields={"path": str(self.path or ":memory:"),
                                      "reason": str(error)}) from None
    return guarded


class Counts(TypedDict):
    """A merchant's figures, as api.php?act=query and api/merchant/info report them."""

    orders: int
    orders_today: int
    orders_lastday: int
    paid_money: Decimal


class GatewayStore:
    """All state of one local gateway. Thread-safe: every call takes the one lock."""

    def __init__(self, data_dir: Path | None, *, durability: str = "commit") -> None:
        if durability not in DURABILITIES:
            raise ValueError(f"durability must be one of {DURABILITIES}, not {durability!r}")
        self.path = None if data_dir is None else Path(data_dir) / DB_NAME
        self._lock = threading.Lock()
        if self.path is None:
            self._db = sqlite3.connect(":memory:", check_same_thread=False,
                                       isolation_level=None)
            self._db.executescript(_SCHEMA)
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            private_database(self.path)
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None,
                                       timeout=10)
            self._db.text_factory = _text
            self._open_file(durability)
        self._db.text_factory = _text
        self._merchants: dict[int, Merchant] = {}  # read on every request, changed rarely
        # built at the first listing, then kept by this store's own writes; another
        # connection's commit (a damaged or replaced file) has it read again
        self._listing: _OrderList | None = None
        self._listing_version = 0
        self._group = _GroupCommit(self.path) if self.path is not None and \
            durability == "fsync" else None

    def _open_file(self, durability: str) -> None:
        """WAL, the schema, and a check that the tables are the gateway's: a foreign or
        damaged file is one config error at start, not a failure in every request."""
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=" + ("FULL" if durability == "fsync"
                                                        else "NORMAL"))
            for table, columns in _expected_columns().items():  # before the schema's indexes
                present = {row[1] for row in self._db.execute(f"PRAGMA table_info({table})")
                           if isinstance(row[1], str)}
                missing = [name for name in columns if name not in present]
                if present and missing:
                    raise ConfigError(
                        "the gateway's data file {path} is not one epay mock wrote "
                        "(table {table} lacks {missing})", "move it aside (the "
                        "gateway starts a new one), or choose another --data folder",
                        code="mock_data_unreadable", words="mock_data_foreign",
                        fields={"path": self.path, "table": table,
                                "missing": ", ".join(missing)})
            self._db.executescript(_SCHEMA)
        except (sqlite3.Error, UnicodeDecodeError) as error:  # a damaged schema's text too
            self._db.close()
            raise ConfigError("cannot read the gateway's data file {path} ({reason})",
                              "move it aside (the gateway starts a new one), or choose another "
                              "--data folder", code="mock_data_unreadable",
                              fields={"path": str(self.path), "reason": str(error)}) from None
        except ConfigError:
            self._db.close()
            raise

    def close(self) -> None:
        if self._group is not None:
            self._group.close()
        with self._lock:
            self._db.close()

    # ---- merchants ---------------------------------------------------------------------

    @_readable
    def merchant(self, pid: str | int) -> Merchant | None:
        try:
            number = int(str(pid).strip())
        except ValueError:
            return None
        cached = self._merchants.get(number)
        if cached is not None:
            return cached
        with self._lock:
            row = self._db.execute(
                "SELECT pid, key, username, active, rsa_only, refund_api, public_key "
                "FROM merchants WHERE pid = ?", (number,)).fetchone()
        if row is None or not _whole_merchant(row):
            return None
        found = Merchant(row[0], row[1], row[2], bool(row[3]), bool(row[4]), bool(row[5]), row[6])
        with self._lock:
            self._merchants[number] = found
        return found

    def ensure_merchant(self, pid: int, key: str, *, rsa_only: bool = False,
                        refund_api: bool = True, public_key: str = "", now: int) -> Merchant:
        """The merchant ``pid``, created with these settings when it does not exist yet."""
        with self._lock:
            self._db.execute(
                "INSERT OR IGNORE INTO merchants (pid, key, username, rsa_only, refund_api, "
                "public_key, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (pid, key, f"sandbox{pid}", int(rsa_only), int(refund_api), public_key, now))
        return self._written_merchant(pid)

    def create_merchant(self, *, refund_api: bool, now: int) -> Merchant:
        """A new merchant with the next free pid and a fresh 32-character key."""
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
        key = "".join(secrets.choice(alphabet) for _ in range(32))
        with self._lock:
            (highest,) = self._db.execute("SELECT COALESCE(MAX(pid), 999) FROM merchants").fetchone()
            pid = highest + 1
            self._db.execute(
                "INSERT INTO merchants (pid, key, username, refund_api, created_at) "
                "VALUES (?, ?, ?, ?, ?)", (pid, key, f"merchant{pid}", int(refund_api), now))
        return self._written_merchant(pid)

    def _written_merchant(self, pid: int) -> Merchant:
        """The merchant this store has just written (read back, as every reader sees it)."""
        found = self.merchant(pid)
        assert found is not None
        return found

    def update_merchant(self, pid: int, *, refund_api: bool | None = None,
                        rsa_only: bool | None = None, active: bool | None = None,
                        public_key: str | None = None) -> Merchant:
        """The merchant ``pid`` with the settings given (not None) changed, as now stored."""
        changes = {"refund_api": refund_api, "rsa_only": rsa_only, "active": active,
                   "public_key": public_key}
        with self._lock:
            for column, value in changes.items():
                if value is not None:
                    stored = value if isinstance(value, str) else int(value)
                    self._db.execute(f"UPDATE merchants SET {column} = ? WHERE pid = ?",
                                     (stored, pid))
            self._merchants.pop(pid, None)
        return self._written_merchant(pid)

    # ---- orders ------------------------------------------------------------------------

    def insert_order(self, values: dict[str, Any]) -> Order | None:
        """Store a new order (committed when this returns); None when its trade_no is already
        taken (the caller draws another)."""
        row = {**_ORDER_DEFAULTS, **values}
        statement = (f"INSERT INTO orders ({', '.join(row)}) "
                     f"VALUES ({', '.join('?' for _ in row)})")
        if self._group is not None:
            inserted = self._group.execute(statement, tuple(row.values()))
            if inserted:
                with self._lock:
                    self._list(row, own_commit=True)
        else:
            with self._lock:
                try:
                    self._db.execute(statement, tuple(row.values()))
                    inserted = True
                except sqlite3.IntegrityError:
                    inserted = False
                if inserted:
                    self._list(row, own_commit=False)
        return _order(tuple(row[name] for name in ORDER_FIELDS)) if inserted else None

    @_readable
    def order(self, pid: int, *, trade_no: str = "", out_trade_no: str = "") -> Order | None:
        """An order of this merchant by trade_no (which wins) or by out_trade_no (the latest)."""
        select = f"SELECT {', '.join(ORDER_FIELDS)} FROM orders WHERE pid = ? AND "
        with self._lock:
            if trade_no:
                row = self._db.execute(select + "trade_no = ?", (pid, trade_no)).fetchone()
            else:
                row = self._db.execute(
                    select + "out_trade_no = ? ORDER BY created_at DESC LIMIT 1",
                    (pid, out_trade_no)).fetchone()
        return None if row is None else _order(row)  # None too when the row is damaged

    @_readable
    def order_by_trade_no(self, trade_no: str) -> Order | None:
        with self._lock:
            row = self._db.execute(f"SELECT {', '.join(ORDER_FIELDS)} FROM orders "
                                   "WHERE trade_no = ?", (trade_no,)).fetchone()
        return None if row is None else _order(row)

    @_readable
    def order_for_reuse(self, pid: int, sent_out_trade_no: str, since: float) -> Order | None:
        """The latest order stored under the out_trade_no as sent, since ``since`` (the 10-day
        window). Looked up by the number as *sent*: a real server that cut a 151-character
        number finds nothing and creates a second order under the same stored number."""
        with self._lock:
            row = self._db.execute(
                f"SELECT {', '.join(ORDER_FIELDS)} FROM orders WHERE pid = ? AND "
                "out_trade_no = ? AND created_at >= ? ORDER BY created_at DESC LIMIT 1",
                (pid, sent_out_trade_no, since)).fetchone()
        return None if row is None else _order(row)

    def _list(self, row: dict[str, Any], *, own_commit: bool) -> None:
        """A new order into the listing (under the lock). The group writer's commit is one of
        this store's own: the version it leaves is taken as seen."""
        if self._listing is None:
            return
        self._listing.add(row["pid"], row["status"], row["trade_no"])
        if own_commit:
            self._listing_version = self._data_version()

    def _data_version(self) -> int:
        version: int = self._db.execute("PRAGMA data_version").fetchone()[0]
        return version

    def _order_list(self) -> _OrderList:
        """The listing (under the lock), read whole when it is new or another connection wrote."""
        version = self._data_version()
        if self._listing is None or version != self._listing_version:
            self._listing = _OrderList(self._db.execute("SELECT pid, status, trade_no FROM orders"))
            self._listing_version = version
        return self._listing

    @_readable
    def orders(self, pid: int, *, limit: int, offset: int, status: int | None) -> list[Order]:
        """A page of the merchant's orders, newest (highest trade_no) first: the page's
        trade_nos from the listing, then only its rows read."""
        with self._lock:
            numbers = self._order_list().page(pid, status, offset=offset, limit=limit)
            if not numbers:
                return []
            rows = self._fetch_decoded(
                f"SELECT {', '.join(ORDER_FIELDS)} FROM orders WHERE trade_no IN "
                f"({', '.join('?' for _ in numbers)}) ORDER BY trade_no DESC", numbers)
        return _orders(rows)

    def _fetch_decoded(self, query: str, args: Sequence[object]) -> list[tuple[Any, ...]]:
        """Rows whose text SQLite's own decoder reads (under the lock): the ``_text`` callback
        costs ~3 µs a row, a sixth of a listed order. Text that is not UTF-8 stops that decoder;
        then the rows are read again through ``_text``, which keeps such text as bytes (its
        row is left out as damaged)."""
        self._db.text_factory = str
        try:
            return self._db.execute(query, args).fetchall()
        except sqlite3.OperationalError:
            pass
        finally:
            self._db.text_factory = _text
        return self._db.execute(query, args).fetchall()

    @_readable
    def counts(self, pid: int, today_start: float) -> Counts:
        day = 86400
        with self._lock:
            total, = self._db.execute("SELECT COUNT(*) FROM orders WHERE pid = ?",
                                      (pid,)).fetchone()
            rows = self._db.execute(
                "SELECT SUM(created_at >= ?), SUM(created_at >= ? AND created_at < ?), "
                "SUM(CASE WHEN status IN (1, 2) THEN CAST(money AS REAL) ELSE 0 END) "
                "FROM orders WHERE pid = ?",
                (today_start, today_start - day, today_start, pid)).fetchone()
        return {"orders": total, "orders_today": int(rows[0] or 0),
                "orders_lastday": int(rows[1] or 0), "paid_money": Decimal(str(rows[2] or 0))}

    def mark_paid(self, trade_no: str, *, type: str, endtime: str, paid_at: float,
                  api_trade_no: str, buyer: str, faults: str) -> bool:
        """Unpaid → paid, once: False when the order was not unpaid (or was closed)."""
        with self._lock:
            changed = self._db.execute(
                "UPDATE orders SET status = 1, type = ?, endtime = ?, paid_at = ?, "
                "api_trade_no = ?, buyer = ?, faults = ?, notify_state = 'pending' "
                "WHERE trade_no = ? AND status = 0 AND closed = 0 RETURNING pid",
                (type, endtime, paid_at, api_trade_no, buyer, faults, trade_no)).fetchall()
            self._relist(changed, trade_no, 0, 1)
        return len(changed) == 1

    def _relist(self, changed: list[tuple[Any, ...]], trade_no: str, old: int, new: int
                ) -> None:
        """An order's new status into the listing (under the lock); ``changed`` holds the pid
        of the row an UPDATE … RETURNING pid changed, or nothing."""
        if changed and self._listing is not None:
            self._listing.move(changed[0][0], trade_no, old, new)

    def close_order(self, trade_no: str) -> bool:
        with self._lock:
            cursor = self._db.execute(
                "UPDATE orders SET closed = 1 WHERE trade_no = ? AND status = 0", (trade_no,))
        return cursor.rowcount == 1

    def refund(self, trade_no: str, *, money: str, refund_no: str, out_refund_no: str,
               pid: int, addtime: str) -> bool:
        """Paid → refunded, once (any refund, also a partial one, ends the order's life)."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                changed = self._db.execute(
                    "UPDATE orders SET status = 2, refundmoney = ? WHERE trade_no = ? "
                    "AND status = 1 RETURNING pid", (money, trade_no)).fetchall()
                if len(changed) != 1:
                    self._db.execute("ROLLBACK")
                    return False
                self._db.execute(
                    "INSERT INTO refunds (refund_no, out_refund_no, trade_no, pid, money, "
                    "addtime) VALUES (?, ?, ?, ?, ?, ?)",
                    (refund_no, out_refund_no, trade_no, pid, money, addtime))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._relist(changed, trade_no, 1, 2)
        return True

    @_readable
    def find_refund(self, pid: int, *, refund_no: str = "", out_refund_no: str = ""
                    ) -> dict[str, Any] | None:
        column, value = ("refund_no", refund_no) if refund_no else ("out_refund_no", out_refund_no)
        with self._lock:
            row = self._db.execute(
                f"SELECT refund_no, out_refund_no, trade_no, money, addtime FROM refunds "
                f"WHERE pid = ? AND {column} = ?", (pid, value)).fetchone()
        if row is None:
            return None
        return dict(zip(("refund_no", "out_refund_no", "trade_no", "money", "addtime"), row))

    # ---- notify bookkeeping ------------------------------------------------------------

    def set_notify_state(self, trade_no: str, *, state: str, attempts: int,
                         next_at: float | None) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE orders SET notify_state = ?, notify_attempts = ?, notify_next_at = ? "
                "WHERE trade_no = ?", (state, attempts, next_at, trade_no))

    @_readable
    def pending_notifies(self) -> list[Order]:
        with self._lock:
            rows = self._db.execute(f"SELECT {', '.join(ORDER_FIELDS)} FROM orders "
                                    "WHERE notify_state = 'pending'").fetchall()
        return _orders(rows)

    def record_delivery(self, values: dict[str, object]) -> None:
        columns = ", ".join(values)
        marks = ", ".join("?" for _ in values)
        with self._lock:
            self._db.execute(f"INSERT INTO deliveries ({columns}) VALUES ({marks})",
                             tuple(values.values()))

    @_readable
    def deliveries(self, trade_nos: Iterable[str] | None = None) -> list[dict[str, Any]]:
        columns = ("id", "trade_no", "attempt", "copy", "at", "method", "url", "status", "body",
                   "error", "delivered", "faults", "elapsed_ms")
        query = f"SELECT {', '.join(columns)} FROM deliveries"
        args: tuple[str, ...] = ()
        if trade_nos is not None:
            wanted = tuple(trade_nos)
            query += f" WHERE trade_no IN ({', '.join('?' for _ in wanted)})"
            args = wanted
        with self._lock:
            rows = self._db.execute(query + " ORDER BY id", args).fetchall()
        found = []
        for row in rows:
            item = dict(zip(columns, row))
            item["delivered"] = bool(item["delivered"])
            found.append(item)
        return found

    @_readable
    def orders_with_number(self, out_trade_no: str) -> list[Order]:
        with self._lock:
            rows = self._db.execute(f"SELECT {', '.join(ORDER_FIELDS)} FROM orders "
                                    "WHERE out_trade_no = ?", (out_trade_no,)).fetchall()
        return _orders(rows)


class _Slot:
    __slots__ = ("done", "inserted", "error")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.inserted = False
        self.error: BaseException | None = None


class _GroupCommit:
    """One writer thread with its own connection: it takes every insert waiting, runs them in
    one transaction and commits once (one fsync), then wakes their requests. Readers on the
    main connection are not blocked meanwhile (WAL)."""

    def __init__(self, path: Path) -> None:
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None,
                                   timeout=10)
        self._db.execute("PRAGMA synchronous=FULL")
        self._waiting: list[tuple[str, tuple[object, ...], _Slot]] = []
        self._wake = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="epay-mock-group-commit",
                                        daemon=True)
        self._thread.start()

    def execute(self, statement: str, args: tuple[object, ...]) -> bool:
        """Run ``statement`` durably; False when it broke a uniqueness rule."""
        slot = _Slot()
        with self._wake:
            if self._closed:
                raise sqlite3.ProgrammingError("the gateway's store is closed")
            self._waiting.append((statement, args, slot))
            self._wake.notify()
        slot.done.wait()
        if slot.error is not None:
            raise slot.error
        return slot.inserted

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._waiting and not self._closed:
                    self._wake.wait()
                if not self._waiting:
                    return
                batch, self._waiting = self._waiting, []
            try:
                self._db.execute("BEGIN IMMEDIATE")
                for statement, args, slot in batch:
                    try:
                        self._db.execute(statement, args)
                        slot.inserted = True
                    except sqlite3.IntegrityError:  # only this statement is undone
                        slot.inserted = False
                self._db.execute("COMMIT")
            except Exception as error:  # noqa: BLE001 - every waiting request hears of it
                try:
                    self._db.execute("ROLLBACK")
                except sqlite3.Error:
                    pass
                for _, _, slot in batch:
                    slot.error = error
            for _, _, slot in batch:
                slot.done.set()

    def close(self) -> None:
        with self._wake:
            self._closed = True
            self._wake.notify_all()
        self._thread.join(timeout=10)
        self._db.close()
