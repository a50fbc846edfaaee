"""What the inspector shows, read from the listener's journal: pages of rows (newest first,
filtered, keyset-paged so a journal of any size opens at once), one request whole with what
earlier deliveries of its trade_no said differently, and the rows newer than an id (the live
feed). Reads through its own read-only connections (WAL: readers never block the writer)."""

from __future__ import annotations

import json
import queue
import shlex
import sqlite3
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...core.errors import ConfigError, InputError
from ...core.notify import changed_fields
from ...core.signing import SignType, signed_string
from ...messages import Messages
from ..journal import JournaledRecord, _open_readonly, iso_time, record_dict

# A row of the list (``summary``): JSON-ready, the ``rows`` of docs/inspector.md's
# /api/requests (a few of the journal's columns, as it holds them).
Summary = dict[str, Any]

PAGE_SIZE = 100
MAX_PAGE_SIZE = 500
LIVE_BATCH = 100  # the live feed sends at most this many rows a tick (a page shows 100)
EARLIER_LIMIT = 20
MAX_SEARCH_CHARS = 128
VERDICTS = ("genuine", "bad_signature", "rejected", "malformed")

# The columns a row of the list needs (never the raw request: a page stays small).
_SUMMARY = ("id, received_at, kind, method, path, trade_no, out_trade_no, money, type, verdict, "
            "reason, duplicate_count, content_changed, answer_status, answer, delivered, "
            "forward IS NOT NULL AS forwarded, json_extract(forward, '$.status') AS forward_status,"
            " json_extract(forward, '$.delivered') AS forward_delivered")


@dataclass(frozen=True)
class Filters:
    """What the list shows: a verdict, a number (trade_no or out_trade_no, any part of it),
    a time range in Unix seconds."""

    verdict: str | None = None
    number: str | None = None
    since: float | None = None
    until: float | None = None

    def where(self) -> tuple[list[str], list[object]]:
        clauses: list[str] = []
        args: list[object] = []
        if self.verdict:
            clauses.append("verdict = ?")
            args.append(self.verdict)
        if self.number:
            pattern = "%" + _escape_like(self.number) + "%"
            clauses.append("(trade_no LIKE ? ESCAPE '\\' OR out_trade_no LIKE ? ESCAPE '\\')")
            args += [pattern, pattern]
        if self.since is not None:
            clauses.append("received_at >= ?")
            args.append(self.since)
        if self.until is not None:
            clauses.append("received_at <= ?")
            args.append(self.until)
        return clauses, args


def parse_filters(query: Mapping[str, str]) -> Filters:
    """The list's filters from a query string; a bad value is an ``InputError`` (answered 400)."""
    verdict = query.get("verdict") or None
    if verdict is not None and verdict not in VERDICTS:
        raise InputError("unknown verdict {verdict!r}", "one of {verdicts}", code="bad_filter",
                         fields={"verdict": verdict, "verdicts": ", ".join(VERDICTS)})
    number = (query.get("q") or "").strip() or None
    if number is not None and len(number) > MAX_SEARCH_CHARS:
        raise InputError("the search is too long", "at most {limit} characters",
                         code="bad_filter_search", fields={"limit": MAX_SEARCH_CHARS})
    return Filters(verdict, number, _seconds(query, "since"), _seconds(query, "until"))


def _seconds(query: Mapping[str, str], name: str) -> float | None:
    text = query.get(name) or ""
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 <= value < 1e11:  # also refuses nan and inf
        raise InputError("{name}={text!r} is not a time", "give Unix seconds",
                         code="bad_filter_time", fields={"name": name, "text": text})
    return value


def parse_id(text: str | None, name: str = "id") -> int | None:
    if text is None or text == "":
        return None
    if not text.isdigit() or len(text) > 18:
        raise InputError("{name}={text!r} is not a request id", "ids are whole numbers",
                         code="bad_id", fields={"name": name, "text": text[:40]})
    return int(text)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class JournalView:
    """Read-only queries on a journal, from any thread: each query borrows a connection from
    a pool (as many as queries ever ran at once, not one per thread the server started)."""

    def __init__(self, path: Path, messages: Messages | None = None) -> None:
        self.path = Path(path)
        self.messages = messages  # a reason is said in its language when the journal can
        self._has_words = False
        self._idle: queue.SimpleQueue[sqlite3.Connection] = queue.SimpleQueue()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._idle.put(self._open())  # fails now, with a one-line error, if not a journal

    def _open(self) -> sqlite3.Connection:
        connection = _open_readonly(self.path)
        with self._lock:
            self._connections.append(connection)
        return connection

    def _summary(self) -> str:
        """The list's columns, with the words its reasons are said in when the journal keeps
        them (a journal of an older epay does not, until a listener upgrades it)."""
        if self.messages is None or self.messages.language == "en":
            return _SUMMARY
        if not self._has_words:
            self._has_words = any(row[1] == "words" for row in
                                  self._rows("PRAGMA table_info(requests)"))
        return _SUMMARY + ", words" if self._has_words else _SUMMARY

    def _rows(self, sql: str, args: tuple[object, ...] | list[object] = ()
              ) -> list[sqlite3.Row]:
        try:
            connection = self._idle.get_nowait()
        except queue.Empty:
            connection = self._open()
        try:
            return connection.execute(sql, args).fetchall()
        except sqlite3.DatabaseError as error:
            raise ConfigError("cannot read the journal {path} ({error})",
                              "is it a journal written by epay listen?",
                              code="journal_unreadable",
                              fields={"path": str(self.path), "error": str(error)}) from None
        finally:
            self._idle.put(connection)

    def close(self) -> None:
        with self._lock:
            for connection in self._connections:
                connection.close()
            self._connections.clear()

    # ---- the list --------------------------------------------------------------------------

    def page(self, filters: Filters, *, before: int | None = None, after: int | None = None,
             limit: int = PAGE_SIZE) -> dict[str, object]:
        """One page, newest first: below ``before`` (older), or the page just above ``after``
        (newer), or the newest. Keyset paging on the id: as fast on row 100,000 as on row 1."""
        limit = max(1, min(limit, MAX_PAGE_SIZE))
        clauses, args = filters.where()
        if before is not None:
            clauses.append("id < ?")
            args.append(before)
        if after is not None:
            clauses.append("id > ?")
            args.append(after)
        where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
        order = "ASC" if after is not None else "DESC"
        rows = self._rows(f"SELECT {self._summary()} FROM requests{where} ORDER BY id {order} "
                          "LIMIT ?",
                          (*args, limit + 1))
        more = len(rows) > limit
        items = [summary(row, self.messages) for row in rows[:limit]]
        if after is not None:
            items.reverse()
        newest = self.latest_id()
        return {"rows": items, "latest_id": newest, "total": self.count(filters),
                "has_older": more if after is None else self._has_older(filters, items),
                "has_newer": bool(items) and items[0]["id"] < newest and self._has_newer(
                    filters, items[0]["id"])}

    def _has_older(self, filters: Filters, rows: list[Summary]) -> bool:
        return bool(rows) and self._exists(filters, "id < ?", rows[-1]["id"])

    def _has_newer(self, filters: Filters, newest_shown: int) -> bool:
        return self._exists(filters, "id > ?", newest_shown)

    def _exists(self, filters: Filters, clause: str, value: int) -> bool:
        clauses, args = filters.where()
        clauses.append(clause)
        return bool(self._rows(f"SELECT 1 FROM requests WHERE {' AND '.join(clauses)} LIMIT 1",
                               (*args, value)))

    def count(self, filters: Filters = Filters()) -> int:
        clauses, args = filters.where()
        where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
        count: int = self._rows(f"SELECT count(*) FROM requests{where}", args)[0][0]
        return count

    def latest_id(self) -> int:
        latest: int = self._rows("SELECT coalesce(max(id), 0) FROM requests")[0][0]
        return latest

    def newer_than(self, last: int, limit: int = LIVE_BATCH) -> tuple[list[Summary], int]:
        """The newest ``limit`` rows above ``last`` (newest first) and the newest id: what the
        live feed sends. A burst larger than ``limit`` is summed up, not sent whole."""
        rows = self._rows(f"SELECT {self._summary()} FROM requests WHERE id > ? ORDER BY id DESC "
                          "LIMIT ?", (last, limit))
        newest = rows[0]["id"] if rows else last
        return [summary(row, self.messages) for row in rows], newest

    # ---- one request -----------------------------------------------------------------------

    def detail(self, record_id: int) -> JournaledRecord:
        rows = self._rows("SELECT * FROM requests WHERE id = ?", (record_id,))
        if not rows:
            raise InputError("there is no request {id} in the journal {path}",
                             "list them with 'epay events list'", code="no_such_event",
                             fields={"id": record_id, "path": str(self.path)})
        record = record_dict(rows[0])
        record["earlier"] = self.earlier(record)
        return record

    def earlier(self, record: JournaledRecord) -> list[dict[str, object]]:
        """Earlier deliveries of the same trade_no, newest first, each with the fields this
        request says differently from it."""
        if not record["trade_no"]:
            return []
        rows = self._rows("SELECT id, received_at, verdict, params FROM requests "
                          "WHERE trade_no = ? AND id < ? ORDER BY id DESC LIMIT ?",
                          (record["trade_no"], record["id"], EARLIER_LIMIT))
        now = record.get("params") or {}
        found = []
        for row in rows:
            before = json.loads(row["params"]) if row["params"] else {}
            found.append({"id": row["id"], "time": iso_time(row["received_at"]),
                          "verdict": row["verdict"],
                          "changes": [change.to_dict() for change in changed_fields(before, now)]})
        return found


def summary(row: sqlite3.Row, messages: Messages | None = None) -> Summary:
    """One row of the list, JSON-ready (its reason said in ``messages``' language when the
    journal keeps its words)."""
    item = dict(row)
    words = item.pop("words", None)
    if words and messages is not None:
        item["reason"] = said_reason(item["reason"], words, messages)
    item["time"] = iso_time(item["received_at"])
    item["duplicate_count"] = int(item["duplicate_count"] or 0)
    item["content_changed"] = bool(item["content_changed"])
    item["delivered"] = bool(item["delivered"])
    item["forwarded"] = bool(item["forwarded"])
    if item["forward_delivered"] is not None:
        item["forward_delivered"] = bool(item["forward_delivered"])
    if len(item["reason"]) > 160:
        item["reason"] = item["reason"][:159] + "…"
    if len(item["answer"]) > 60:
        item["answer"] = item["answer"][:59] + "…"
    return item


def said_reason(reason: str, words: str, messages: Messages) -> str:
    from ...core.words import with_words

    try:
        said = with_words(reason, json.loads(words))
        return messages.say(said) if isinstance(said, str) else reason
    except (ValueError, KeyError, IndexError, TypeError):  # words an older epay wrote
        return reason


# ---- what the page offers to copy ----------------------------------------------------------


def signed_text(params: Mapping[str, str] | None, key_shown: str) -> str | None:
    """The string the sign covers, as the protocol builds it from the fields received, with
    the key appended masked for MD5 (RSA appends none)."""
    if not params or "sign" not in params:
        return None
    fields = {k: v for k, v in params.items() if k not in ("sign", "sign_type")}
    sign_type = SignType.RSA if params.get("sign_type", "").upper() == "RSA" else SignType.MD5
    text = signed_string(fields, sign_type)
    return text + key_shown if sign_type is SignType.MD5 else text


def curl_command(record: Mapping[str, Any], base_url: str | None) -> str:
    """The request again, as a curl command line (to ``base_url``'s host, the path received)."""
    target = (base_url.rstrip("/") if base_url else "http://127.0.0.1:8788") + record["path"]
    if record["query"]:
        target += "?" + record["query"]
    parts = ["curl", "-sS"]
    if record["method"] not in ("GET", ""):
        parts += ["-X", record["method"]]
    for name, value in record["headers"]:
        if name.lower() == "content-type":
            parts += ["-H", f"{name}: {value}"]
    if record["body"]:
        parts += ["--data-binary", record["body"]]
    parts.append(target)
    return shlex.join(parts)


def verify_command(record: Mapping[str, Any]) -> str | None:
    """``epay verify '…'`` with what was received (the query, or the form body)."""
    received = record["body"] if record["body"] and record["method"] == "POST" else record["query"]
    if not received:
        return None
    return shlex.join(["epay", "verify", received])
