"""The listener's journal: every request it received, in one SQLite file, committed before the
request is answered.

Durability: WAL with ``synchronous=FULL`` — every commit fsyncs the write-ahead log — and
**group commit**: one writer thread takes every record waiting at that moment, writes them in one
transaction and commits once, then tells each request (``done``) that it is on disk; only then is
it answered. So a notify that was answered is on disk: it survives the listener being killed
(SIGKILL) and a power cut (as far as the disk honours fsync). A request that was not yet
committed was not answered either: the gateway sends it again.
"""

from __future__ import annotations

import functools
import json
import math
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NotRequired, TypedDict

from ..core.errors import ConfigError, EpayError, InputError
from ..core.jsontext import json_text
from ..files import private_database
from ..messages import Messages

if TYPE_CHECKING:
    from collections.abc import Mapping

    from .forwarder import ForwardAnswer

SCHEMA_VERSION = 3  # 2: changed_fields, 3: words
_SCHEMA = """
CREATE TABLE IF NOT EXISTS requests (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    received_at REAL NOT NULL,         -- Unix seconds
    kind TEXT NOT NULL,                -- notify | bad_request | too_large | not_found | timeout
    method TEXT NOT NULL,
    path TEXT NOT NULL,
    query BLOB NOT NULL,               -- raw bytes, key-shaped values masked
    headers TEXT NOT NULL,             -- JSON [[name, value], …], secrets masked
    body BLOB NOT NULL,                -- raw bytes, key-shaped values masked
    body_size INTEGER NOT NULL,        -- bytes announced/received (also when not kept: 413)
    client TEXT NOT NULL,
    trade_no TEXT NOT NULL DEFAULT '',
    out_trade_no TEXT NOT NULL DEFAULT '',
    money TEXT NOT NULL DEFAULT '',
    type TEXT NOT NULL DEFAULT '',
    pid TEXT NOT NULL DEFAULT '',
    params TEXT,                       -- JSON object as received (masked), NULL if unreadable
    valid INTEGER NOT NULL,
    verdict TEXT NOT NULL,             -- genuine | bad_signature | rejected | malformed
    reason TEXT NOT NULL,
    report TEXT,                       -- JSON: CallbackReport.to_dict()
    fingerprint TEXT NOT NULL DEFAULT '',
    duplicate_count INTEGER NOT NULL DEFAULT 0,
    content_changed INTEGER NOT NULL DEFAULT 0,
    order_amount TEXT,
    answer_status INTEGER NOT NULL,
    answer TEXT NOT NULL,
    delivered INTEGER NOT NULL,        -- would a gateway count the answer as delivered?
    answered_by TEXT NOT NULL,         -- verdict | reply | forward
    forward TEXT,                      -- JSON: the shop handler's answer, NULL if not forwarded
    timings TEXT NOT NULL,             -- JSON: milliseconds
    changed_fields TEXT,               -- JSON [{name, before, after}]: what a duplicate changed
    words TEXT                         -- JSON {english: how to say it}: the report's sentences,
                                       -- to be said again in another language (core.words)
);
CREATE INDEX IF NOT EXISTS requests_by_trade_no ON requests (trade_no);
CREATE INDEX IF NOT EXISTS requests_by_time ON requests (received_at);
"""
COLUMNS = ("received_at", "kind", "method", "path", "query", "headers", "body", "body_size",
           "client", "trade_no", "out_trade_no", "money", "type", "pid", "params", "valid",
           "verdict", "reason", "report", "fingerprint", "duplicate_count", "content_changed",
           "order_amount", "answer_status", "answer", "delivered", "answered_by", "forward",
           "timings", "changed_fields", "words")
_INSERT = f"INSERT INTO requests ({', '.join(COLUMNS)}) VALUES "
_ROW = f"({', '.join('?' for _ in COLUMNS)})"
# What each earlier schema lacks, added in place (the rows already there keep NULL).
# What later versions added to the table: an older journal gets the columns it lacks.
_ADDED_COLUMNS = {"changed_fields": "TEXT", "words": "TEXT"}
# Columns an older journal may lack without being damaged (a reader opens it as it is).
OPTIONAL_COLUMNS = frozenset({"words"})
_BATCH_LIMIT = 512
_ROWS_A_STATEMENT = 32
# How long a request may wait for the journal another process holds locked: a gateway gives up
# after 5 s, so it is answered 503 well before that (and sends the notify again later).
BUSY_SECONDS = 3.0
_STOP_JOIN_SECONDS = 5.0  # a commit under way (not a lock: that is not waited for)
_BUSY_CODES = (5, 6)  # SQLITE_BUSY, SQLITE_LOCKED (primary codes)


class RawRequest(TypedDict):
    """A request as it came (masked): the columns every journaled request has."""

    received_at: float  # Unix seconds
    method: str
    path: str
    query: bytes  # raw, masked
    headers: list[list[str]]  # [[name, value], …], masked
    body: bytes  # raw, masked
    body_size: int  # bytes announced/received
    client: str


class Record(RawRequest):
    """One request as the listener journals it (``COLUMNS``). A refusal has no notify's
    fields: ``row_values`` stores what is missing as ''."""

    kind: str  # notify | bad_request | too_large | not_found | timeout
    params: dict[str, str] | None  # as received (masked); None: unreadable
    valid: bool
    verdict: str  # genuine | bad_signature | rejected | malformed
    reason: str
    answer_status: int
    answer: str
    delivered: bool  # would a gateway count the answer as delivered?
    answered_by: str  # verdict | reply | forward
    timings: dict[str, float]  # milliseconds
    # a notify's
    trade_no: NotRequired[str]
    out_trade_no: NotRequired[str]
    money: NotRequired[str]
    type: NotRequired[str]
    pid: NotRequired[str]
    report: NotRequired[dict[str, Any]]  # CallbackReport.to_dict()
    words: NotRequired[dict[str, object] | None]  # core.words: how its sentences are said
    fingerprint: NotRequired[str]
    duplicate_count: NotRequired[int]
    content_changed: NotRequired[bool]
    changed_fields: NotRequired[list[dict[str, str | None]] | None]  # [{name, before, after}]
    order_amount: NotRequired[str | None]
    forward: NotRequired[ForwardAnswer | None]  # the shop handler's answer


# A journaled request read back (``record_dict``): the table's columns (``_SCHEMA``) with
# ``id``, ``time`` and ``damaged`` — what ``epay events show --json`` prints — JSON-ready, each
# value as far as a damaged row lets it be read (checked where it is used, not here).
JournaledRecord = dict[str, Any]
# A row's values in ``COLUMNS`` order, as sqlite3 stores them.
RowValues = tuple[object, ...]


class JournalError(EpayError):
    """The journal cannot be written: nothing may be acknowledged."""

    code = "journal_unwritable"


Done = Callable[[int | None, Exception | None], object]
# What became of a record: its id, or the error that kept it out.
_Outcome = tuple[int, None] | tuple[None, Exception]


class _Pending:
    """One record waiting for its commit; ``done(id, error)`` runs on the writer after it."""

    __slots__ = ("values", "done", "queued")

    def __init__(self, values: RowValues, done: Done) -> None:
        self.values = values
        self.done = done
        self.queued = time.monotonic()


def default_journal_path(environ: Mapping[str, str]) -> Path:
    """``$XDG_STATE_HOME/epay/listen.sqlite3`` (``~/.local/state/epay/`` without it)."""
    from ..state import state_dir

    return state_dir(environ) / "listen.sqlite3"


class Journal:
    """Append (from any thread; returns once committed) and read journaled requests."""

    def __init__(self, path: Path | str, *, readonly: bool = False) -> None:
        self.path = Path(path)
        self.readonly = readonly
        self._queue: queue.SimpleQueue[list[_Pending] | None] = queue.SimpleQueue()
        self._writer: threading.Thread | None = None
        self._read_lock = threading.Lock()
        self._closed = False
        self._stopping = False  # close() was called: no more waiting for a lock
        if readonly:
            self._connection = _open_readonly(self.path)
            return
        self._connection = _open_for_writing(self.path)
        self._writer = threading.Thread(target=self._write_loop, name="epay-journal",
                                        daemon=True)
        self._writer.start()

    # ---- writing -------------------------------------------------------------------------

    def append(self, record: Record, *, done: Done) -> None:
        """Journal one request (a dict of ``COLUMNS``): returns at once, and ``done(id, None)``
        — or ``done(None, error)`` — runs on the writer thread right after the commit (the
        listener answers from there, without a thread waiting per request)."""
        self.append_many([(record, done)])

    def append_many(self, records: list[tuple[Record, Done]]) -> None:
        """``append`` for several requests at once: the writer takes them together, into
        one commit (it never splits what is handed over in one call)."""
        if self._writer is None or self._closed:
            raise JournalError("the journal is closed", "start the listener again",
                               code="journal_closed", fields={})
        if records:
            self._queue.put([_Pending(row_values(record), done) for record, done in records])

    def failure(self, error: Exception) -> JournalError:
        """What a failed commit means for the request: it cannot be acknowledged."""
        if _is_busy(error):
            return JournalError("the journal {path} is locked by another program ({reason}); "
                                "requests are answered 503 until it is free",
                                "end the program that holds it open for writing (an sqlite3 "
                                "shell inside a transaction?)", code="journal_locked",
                                fields={"path": str(self.path), "reason": str(error)})
        return JournalError("cannot write the journal {path} ({reason})",
                            "check the disk space and the file's permissions",
                            code="journal_unwritable", words="journal_write_failed",
                            fields={"path": str(self.path), "reason": str(error)})

    def _write_loop(self) -> None:
        stopping = False
        while not stopping:
            first = self._queue.get()
            if first is None:
                break
            batch = first
            while len(batch) < _BATCH_LIMIT:
                try:
                    handed = self._queue.get_nowait()
                except queue.Empty:
                    break
                if handed is None:
                    stopping = True
                    break
                batch += handed
            try:
                outcomes = self._commit(batch)
            except (sqlite3.Error, OverflowError, ValueError, TypeError, UnicodeError) as error:
                if _is_busy(error):  # locked by another program: the whole batch waited
                    outcomes = [(None, error)] * len(batch)
                else:
                    # one value SQLite cannot hold (a lone surrogate, a huge int …) must fail
                    # its own request only: the batch again, row by row
                    outcomes = self._commit_one_by_one(batch)
            for item, (record_id, failure) in zip(batch, outcomes):
                try:
                    item.done(record_id, failure)
                except Exception:  # noqa: BLE001 - whoever waits sees what became of it
                    pass

    def _commit(self, batch: list[_Pending]) -> list[_Outcome]:
        """The batch in one transaction, one fsync, in statements of up to 32 rows: each
        statement gives the GIL up once (executemany: once a row, and taking it back from the
        listener's loop costs more than the row), 32 × 29 values stay within every SQLite's
        limit of 999, and only 32 statement shapes are cached."""
        connection = self._connection
        self._begin(batch[0].queued)
        try:
            for start in range(0, len(batch), _ROWS_A_STATEMENT):
                rows = batch[start:start + _ROWS_A_STATEMENT]
                # (after an INSERT, lastrowid is the statement's last row: never None)
                last: int = connection.execute(  # type: ignore[assignment]
                    _insert_rows(len(rows)), [value for item in rows for value in item.values]
                ).lastrowid
            connection.execute("COMMIT")  # one fsync of the WAL for the whole batch
        except BaseException:
            _rollback(connection)
            raise
        # The write lock was held throughout: the batch got consecutive ids.
        return [(record_id, None) for record_id in range(last - len(batch) + 1, last + 1)]

    def _begin(self, queued: float) -> None:
        """Take the write lock. Another program may hold it: wait only as long as the batch's
        oldest request may (``BUSY_SECONDS``), and not at all once the journal is closing.
        SQLite's own busy wait cannot be cut short by close(): this one can."""
        pause = 0.002
        while True:
            try:
                self._connection.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as error:
                if not _is_busy(error) or self._stopping or \
                        time.monotonic() + pause > queued + BUSY_SECONDS:
                    raise
            time.sleep(pause)
            pause = min(pause * 2, 0.05)

    def _commit_one_by_one(self, batch: list[_Pending]) -> list[_Outcome]:
        outcomes: list[_Outcome] = []
        for item in batch:
            try:
                outcomes.append(self._commit([item])[0])
            except (sqlite3.Error, OverflowError, ValueError, TypeError, UnicodeError) as error:
                if _is_busy(error):
                    outcomes.append((None, error))
                    continue
                try:  # text that is not valid UTF-8 is kept with its bad code points escaped
                    item.values = tuple(_storable(value) for value in item.values)
                    outcomes.append(self._commit([item])[0])
                except (sqlite3.Error, OverflowError, ValueError, TypeError,
                        UnicodeError) as error:
                    outcomes.append((None, error))
        return outcomes

    def close(self) -> None:
        """Commit what is waiting, stop the writer, close the file."""
        if self._closed:
            return
        self._closed = self._stopping = True
        if self._writer is not None:
            self._queue.put(None)
            self._writer.join(_STOP_JOIN_SECONDS)
        with self._read_lock:
            self._connection.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- reading -------------------------------------------------------------------------

    def _rows(self, sql: str, args: tuple[object, ...] = ()) -> list[sqlite3.Row]:
        with self._read_lock:
            try:
                try:
                    return self._connection.execute(sql, args).fetchall()
                except sqlite3.OperationalError as error:
                    if "decode" not in str(error):
                        raise
                    # text that is not UTF-8 in a damaged row: read again, leniently (sqlite3's
                    # own decoding is faster, so it stays the first try)
                    self._connection.text_factory = _lenient_text
                    return self._connection.execute(sql, args).fetchall()
            except (sqlite3.Error, UnicodeDecodeError) as error:  # a damaged schema's text too
                raise ConfigError("cannot read the journal {path} ({error})",
                                  "is it a journal written by epay listen?",
                                  code="journal_unreadable",
                                  fields={"path": str(self.path), "error": str(error)}) from None

    def records(self, *, since: float | None = None, invalid_only: bool = False,
                limit: int | None = None) -> list[JournaledRecord]:
        """Journaled requests, oldest first (with ``limit``, the newest ``limit`` of them)."""
        where: list[str] = []
        args: list[object] = []
        if since is not None:  # a damaged time (not a number) is kept: it cannot be judged
            where.append("(received_at >= ? OR typeof(received_at) NOT IN ('integer', 'real'))")
            args.append(since)
        if invalid_only:
            where.append("valid IS NOT 1")
        sql = f"SELECT {self._selected} FROM requests" + (
            " WHERE " + " AND ".join(where) if where else "")
        if limit is not None:
            sql = f"SELECT * FROM ({sql} ORDER BY id DESC LIMIT ?) "
            args.append(limit)
        rows = self._rows(sql + " ORDER BY id", tuple(args))
        return [record_dict(row) for row in rows]

    @functools.cached_property
    def _selected(self) -> str:
        """The columns to read: the rowid stands in for a missing ``id``, NULL for any other
        missing column the filters name (record_dict names them as damaged)."""
        present = {row[1] for row in self._rows("PRAGMA table_info(requests)")}
        extra = [f"NULL AS {name}" for name in ("received_at", "valid") if name not in present]
        if "id" not in present:
            extra.append("rowid AS id")
        return ", ".join(["*", *extra])

    def record(self, record_id: int) -> JournaledRecord:
        rows = self._rows(f"SELECT * FROM (SELECT {self._selected} FROM requests) WHERE id = ?",
                          (record_id,))
        if not rows:
            raise InputError("there is no request {id} in the journal {path}",
                             "list them with 'epay events list'", code="no_such_event",
                             fields={"id": record_id, "path": str(self.path)})
        return record_dict(rows[0])

    def count(self) -> int:
        count: int = self._rows("SELECT count(*) FROM requests")[0][0]
        return count

    def fingerprints(self) -> Iterator[tuple[str, str]]:
        """(trade_no, fingerprint) of every journaled notify, oldest first: what duplicate
        detection starts from after a restart."""
        rows = self._rows("SELECT trade_no, fingerprint FROM requests "
                          "WHERE kind = 'notify' AND trade_no != '' ORDER BY id")
        return ((row[0], row[1]) for row in rows)

    def first_copies(self, limit: int) -> list[tuple[str, dict[str, str]]]:
        """(trade_no, params) of the first journaled notify of each of the ``limit`` most
        recent trade_nos, oldest first: what names a later copy's changes after a restart.
        A row whose params are not readable JSON is left out."""
        rows = self._rows(
            "SELECT trade_no, params FROM requests WHERE id IN (SELECT min(id) FROM requests "
            "WHERE kind = 'notify' AND trade_no != '' GROUP BY trade_no "
            "ORDER BY min(id) DESC LIMIT ?) ORDER BY id", (limit,))
        copies = []
        for trade_no, params in rows:
            try:
                fields = json.loads(params) if isinstance(params, str) else None
            except ValueError:
                continue
            if isinstance(fields, dict):
                copies.append((trade_no, fields))
        return copies


@functools.lru_cache(maxsize=_ROWS_A_STATEMENT)
def _insert_rows(count: int) -> str:
    """``INSERT … VALUES (…), (…)`` for ``count`` rows."""
    return _INSERT + ", ".join([_ROW] * count)


def _is_busy(error: Exception) -> bool:
    """Another program holds the journal locked (or the wait for it was interrupted)."""
    code = getattr(error, "sqlite_errorcode", None)
    return code is not None and code & 0xFF in _BUSY_CODES


def _rollback(connection: sqlite3.Connection) -> None:
    try:
        connection.execute("ROLLBACK")
    except sqlite3.Error:
        pass


def _storable(value: object) -> object:
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    return value


def _json_column(value: object) -> str | None:
    return None if value is None else json_text(value)


def _plain_column(value: object) -> object:
    if value is None:
        return ""
    if value.__class__ is int and not -2**63 <= value < 2**63:  # a size a client claimed
        return min(max(value, -2**63), 2**63 - 1)
    return value  # a bool is stored as 0/1 by sqlite3 itself


def row_values(record: Record) -> RowValues:
    """A record (a dict of ``COLUMNS``) as the values of its row, in ``COLUMNS`` order: JSON
    columns encoded, raw bytes as bytes, a missing value as ''. Written out, not looped over
    a table of converters: this runs on the listener's loop for every request."""
    get, json_column, plain = record.get, _json_column, _plain_column
    # (get, bound once, types every value as object: query and body are bytes, see Record)
    return (
        plain(get("received_at")), plain(get("kind")), plain(get("method")),
        plain(get("path")),
        bytes(get("query") or b""),  # type: ignore[call-overload]
        json_column(get("headers")),
        bytes(get("body") or b""),  # type: ignore[call-overload]
        plain(get("body_size")), plain(get("client")),
        plain(get("trade_no")), plain(get("out_trade_no")), plain(get("money")),
        plain(get("type")), plain(get("pid")), json_column(get("params")),
        plain(get("valid")), plain(get("verdict")), plain(get("reason")),
        json_column(get("report")), plain(get("fingerprint")), plain(get("duplicate_count")),
        plain(get("content_changed")), get("order_amount"), plain(get("answer_status")),
        plain(get("answer")), plain(get("delivered")), plain(get("answered_by")),
        json_column(get("forward")), json_column(get("timings")),
        json_column(get("changed_fields")), json_column(get("words")))


def record_dict(row: sqlite3.Row) -> JournaledRecord:
    """A journaled request as plain data (JSON-ready: raw bytes as text, ``\\x..`` for bytes
    that are not UTF-8). A value that is not what the listener writes (a file edited or
    damaged by hand, a column missing) is shown as well as it can be, and its column is named
    in ``damaged``: one bad row never hides the others."""
    found = dict(row)
    damaged = [name for name in COLUMNS if name not in found and name not in OPTIONAL_COLUMNS]
    record: JournaledRecord = {"id": found.get("id")}
    if record["id"].__class__ is not int:
        damaged.insert(0, "id")
    for name in COLUMNS:
        value, whole = _READERS[name](found.get(name))
        record[name] = value
        if not whole and name in found:
            damaged.append(name)
    record["time"] = _readable_time(record["received_at"])
    record["damaged"] = damaged
    return record


def said_record(record: JournaledRecord, messages: Messages) -> JournaledRecord:
    """A journaled record (``record_dict``) with its reason and report said in ``messages``'
    language, from the words journaled beside them (English, or a journal without words, as
    they are). The words themselves are not shown."""
    words = record.pop("words", None)
    if messages.language == "en" or not isinstance(words, dict) or not words:
        return record
    from ..core.words import with_words

    try:
        said = {name: messages.say_all(with_words(record.get(name), words))
                for name in ("reason", "report")}
    except (KeyError, IndexError, TypeError, ValueError):  # words an older epay wrote
        return record
    return {**record, **said}


def _read_text(value: object) -> tuple[str, bool]:
    if value.__class__ is str:
        return value, True
    if isinstance(value, bytes):
        return value.decode("utf-8", "backslashreplace"), False
    return ("" if value is None else str(value)), False


def _read_raw(value: object) -> tuple[str, bool]:
    """``query`` and ``body``: bytes as received (text is how an older journal kept them)."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "backslashreplace"), True
    if value.__class__ is str:
        return value, True
    return ("" if value is None else str(value)), False


def _read_int(value: object) -> tuple[int, bool]:
    if value.__class__ is int:
        return value, True
    return 0, value == ""  # '' is how the listener stores a count it did not take


def _read_flag(value: object) -> tuple[bool, bool]:
    whole = (value.__class__ is int and value in (0, 1)) or value == ""
    return whole and bool(value), whole


def _read_seconds(value: object) -> tuple[float | None, bool]:
    if value.__class__ in (int, float) and _readable_time(value):
        return value, True
    return None, False


def _read_amount(value: object) -> tuple[str | None, bool]:
    return (value, True) if value is None or value.__class__ is str else (str(value), False)


def _json_reader(shape: Callable[[object], bool], *,
                 empty: object = None) -> Callable[[object], tuple[object, bool]]:
    """A JSON column of this shape; ``empty`` is what a NOT NULL column shows when damaged."""
    def read(value: object) -> tuple[object, bool]:
        if value is None:
            return empty, empty is None
        try:
            decoded = json.loads(value)  # type: ignore[arg-type]  # (not text: TypeError)
        except (TypeError, ValueError, RecursionError):
            return empty, False
        return (decoded, True) if shape(decoded) else (empty, False)
    return read


def _is_headers(value: object) -> bool:
    return isinstance(value, list) and all(
        isinstance(pair, list) and len(pair) == 2 and all(isinstance(p, str) for p in pair)
        for pair in value)


def _is_params(value: object) -> bool:
    return isinstance(value, dict) and all(isinstance(v, str) for v in value.values())


def _is_report(value: object) -> bool:
    if not isinstance(value, dict):
        return False
    problems = value.get("problems", [])
    diagnosis = value.get("diagnosis")
    return (isinstance(problems, list)
            and all(isinstance(p, dict) and isinstance(p.get("message"), str)
                    and isinstance(p.get("fix", ""), str | None) for p in problems)
            and (diagnosis is None or (isinstance(diagnosis, dict)
                 and all(isinstance(diagnosis.get(k, ""), str | None)
                         for k in ("signed_string", "expected_string")))))


def _is_forward(value: object) -> bool:
    return (isinstance(value, dict) and isinstance(value.get("url"), str)
            and ((value.get("status") is None and isinstance(value.get("error"), str))
                 or (value.get("status").__class__ is int and isinstance(value.get("body"), str)
                 and isinstance(value.get("ms"), int | float))))


def _is_changes(value: object) -> bool:
    return isinstance(value, list) and all(
        isinstance(change, dict) and isinstance(change.get("name"), str) for change in value)


_Reader = Callable[[object], tuple[object, bool]]  # a column's value: (shown, whole)
_READERS: dict[str, _Reader] = dict.fromkeys(COLUMNS, _read_text) | {
    "received_at": _read_seconds, "query": _read_raw, "body": _read_raw,
    "body_size": _read_int, "duplicate_count": _read_int, "answer_status": _read_int,
    "valid": _read_flag, "content_changed": _read_flag, "delivered": _read_flag,
    "order_amount": _read_amount, "headers": _json_reader(_is_headers, empty=[]),
    "params": _json_reader(_is_params), "report": _json_reader(_is_report),
    "forward": _json_reader(_is_forward),
    "timings": _json_reader(lambda v: isinstance(v, dict), empty={}),
    "changed_fields": _json_reader(_is_changes),
    "words": _json_reader(lambda v: isinstance(v, dict))}


def _readable_time(stamp: float) -> str:
    """``iso_time``, or '' for a time no clock shows (a damaged row)."""
    try:
        return iso_time(stamp)
    except (TypeError, ValueError, OverflowError, OSError):
        return ""


def iso_time(stamp: float) -> str:
    """``2026-12-01T03:33:20.250Z``: Unix seconds as ISO 8601 UTC, to the millisecond (cut,
    not rounded, as ``isoformat`` does). The listener says the time of every request: the
    text of the whole second is kept, and the datetime is made only when the second changes.
    """
    fraction, whole = math.modf(stamp)
    micros = round(fraction * 1e6)  # as datetime rounds a timestamp (half to even)
    if micros >= 1_000_000:
        whole, micros = whole + 1, micros - 1_000_000
    elif micros < 0:
        whole, micros = whole - 1, micros + 1_000_000
    second, text = _last_second
    if whole != second:
        text = datetime.fromtimestamp(whole, UTC).isoformat(timespec="seconds")[:-6]
        _remember_second(whole, text)
    return f"{text}.{micros // 1000:03d}Z"


_last_second: tuple[float, str] = (math.nan, "")  # (whole seconds, their text): one tuple, so
# a thread reads a pair that belongs together


def _remember_second(whole: float, text: str) -> None:
    global _last_second
    _last_second = (whole, text)


def _upgrade(connection: sqlite3.Connection) -> str:
    """The statements that bring an older journal's table up to this version's columns."""
    present = {row[1] for row in connection.execute("PRAGMA table_info(requests)")}
    return "".join(f"ALTER TABLE requests ADD COLUMN {name} {kind};"
                   for name, kind in _ADDED_COLUMNS.items() if name not in present)


def _open_for_writing(path: Path) -> sqlite3.Connection:
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        private_database(path)  # before SQLite makes -wal and -shm with the file's mode
        connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False,
                                     timeout=BUSY_SECONDS)
        connection.row_factory = sqlite3.Row
        mode = connection.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if mode.lower() != "wal":
            raise sqlite3.OperationalError(f"WAL mode refused ({mode})")
        connection.execute("PRAGMA synchronous=FULL")
        version = connection.execute("PRAGMA user_version").fetchone()[0]
        if version != SCHEMA_VERSION:  # a new file (an existing one opens without a write)
            connection.executescript("BEGIN;" + (_upgrade(connection) if version else _SCHEMA)
                                     + f"PRAGMA user_version={SCHEMA_VERSION}; COMMIT;")
            path.chmod(0o600)  # raw requests: the owner's business only
        connection.execute("PRAGMA busy_timeout = 0")  # the writer waits its own way (_begin)
    except (OSError, sqlite3.Error) as error:
        reason = getattr(error, "strerror", None) or str(error)
        raise ConfigError("cannot write the journal {path} ({reason})",
                          "choose a writable journal file", code="journal_unwritable",
                          fields={"path": str(path), "reason": reason}) from None
    return connection


class _Undecodable(str):
    """TEXT that was not UTF-8: its bad bytes as ``\\x..`` (record_dict names it damaged)."""


def _lenient_text(data: bytes) -> str:
    """A damaged row's text that is not UTF-8 must not fail the whole query, as sqlite3's own
    decoding would."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return _Undecodable(data.decode("utf-8", "backslashreplace"))


def _open_readonly(path: Path) -> sqlite3.Connection:
    if not path.is_file():
        raise ConfigError("there is no journal at {path}",
                          "epay listen writes one; name it with --journal FILE",
                          code="journal_missing", fields={"path": str(path)})
    try:
        connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True,
                                     check_same_thread=False, timeout=10)
        connection.row_factory = sqlite3.Row
        connection.execute("SELECT 1 FROM requests LIMIT 1").fetchall()
    except (sqlite3.Error, UnicodeDecodeError) as error:  # a damaged schema's text too
        raise ConfigError("cannot read the journal {path} ({error})",
                          "is it a journal written by epay listen?",
                          code="journal_unreadable",
                          fields={"path": str(path), "error": str(error)}) from None
    return connection
