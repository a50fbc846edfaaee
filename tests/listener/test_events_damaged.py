"""``epay events`` on a journal damaged by hand or by a disk (issue 15.1): a damaged row is
shown as damaged and the others are still listed (exit 0); a file that is no journal is one line
with exit 6. Never "internal error … this is a bug"."""

from __future__ import annotations

import json
import sqlite3

import pytest
from test_events import journal  # noqa: F401 - the fixture: a journal a real listener wrote

DAMAGES = {
    "headers_not_json": "UPDATE requests SET headers = 'not json' WHERE id = 3",
    "headers_wrong_shape": "UPDATE requests SET headers = '[1, [2]]' WHERE id = 3",
    "params_not_json": "UPDATE requests SET params = '{bad' WHERE id = 3",
    "params_not_text_values": "UPDATE requests SET params = '{\"money\": 1}' WHERE id = 3",
    "report_not_json": "UPDATE requests SET report = 'x' WHERE id = 3",
    "report_a_list": "UPDATE requests SET report = '[1, 2]' WHERE id = 3",
    "report_problems_wrong": "UPDATE requests SET report = '{\"problems\": [3]}' WHERE id = 3",
    "forward_wrong": "UPDATE requests SET forward = '{\"url\": 5}' WHERE id = 3",
    "query_an_integer": "UPDATE requests SET query = 12345 WHERE id = 3",
    "received_at_text": "UPDATE requests SET received_at = 'yesterday' WHERE id = 3",
    "received_at_huge": "UPDATE requests SET received_at = 1e300 WHERE id = 3",
    "reason_a_blob": "UPDATE requests SET reason = x'fffe' WHERE id = 3",
    "reason_not_utf8": "UPDATE requests SET reason = CAST(x'ff41' AS TEXT) WHERE id = 3",
    "answer_status_text": "UPDATE requests SET answer_status = 'two hundred' WHERE id = 3",
    "valid_text": "UPDATE requests SET valid = 'yes' WHERE id = 3",
    "answer_null": "UPDATE requests SET answer = NULL WHERE id = 3",
}


def _damage(path, statement: str) -> None:
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA ignore_check_constraints = 1")
        # the schema says NOT NULL: a hand-edited file need not
        connection.executescript(
            "PRAGMA writable_schema = 1;"
            "UPDATE sqlite_schema SET sql = replace(sql, 'NOT NULL', '') "
            "WHERE name = 'requests';" if "NULL" in statement else "")
    with sqlite3.connect(path) as connection:
        connection.execute(statement)


def _no_bug(result) -> None:
    assert "this is a bug" not in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("damage", list(DAMAGES))
def test_a_damaged_row_is_shown_as_damaged_and_the_others_listed(cli, journal, damage):
    _damage(journal, DAMAGES[damage])
    listed = cli("events", "list", "--journal", str(journal), "--json")
    _no_bug(listed)
    assert listed.code == 0
    records = json.loads(listed.stdout)
    assert [r["id"] for r in records] == [1, 2, 3, 4, 5]
    assert [bool(r["damaged"]) for r in records] == [False, False, True, False, False]
    table = cli("events", "list", "--journal", str(journal))
    _no_bug(table)
    assert table.code == 0 and "⚠ damaged" in table.stdout
    assert "1 of 5 requests are damaged" in table.stderr
    shown = cli("events", "show", "3", "--journal", str(journal))
    _no_bug(shown)
    assert shown.code == 0 and "damaged" in shown.stdout
    replayed = cli("events", "replay", "3", "--journal", str(journal), "--to",
                   "http://127.0.0.1:9/notify", "--dry-run", "--set", "money=1.00")
    _no_bug(replayed)
    assert replayed.code in (0, 2)
    assert cli("events", "list", "--journal", str(journal), "--invalid").code == 0
    assert cli("events", "list", "--journal", str(journal), "--since", "1h").code == 0


@pytest.mark.parametrize("kept", [("id", "kind", "method", "path"), ("valid", "reason"),
                                  ("received_at",)])
def test_a_requests_table_that_lacks_columns_is_listed(cli, journal, kept):
    with sqlite3.connect(journal) as connection:
        connection.executescript(
            f"CREATE TABLE slim AS SELECT {', '.join(kept)} FROM requests;"
            "DROP TABLE requests; ALTER TABLE slim RENAME TO requests;")
    for extra in ([], ["--invalid"], ["--since", "1h"], ["--limit", "2"]):
        listed = cli("events", "list", "--journal", str(journal), "--json", *extra)
        _no_bug(listed)
        assert listed.code == 0, listed.stderr
        assert all(r["damaged"] for r in json.loads(listed.stdout))
    assert len(json.loads(cli("events", "list", "--journal", str(journal), "--json").stdout)) == 5
    shown = cli("events", "show", "2", "--journal", str(journal))
    _no_bug(shown)
    assert shown.code == 0


@pytest.mark.parametrize("content", [b"this is not a database\n" * 40, b"SQLite format 3\0" +
                                     b"\xff" * 4000, b""])
def test_a_file_that_is_no_journal_is_one_line_exit_6(cli, tmp_path, content):
    path = tmp_path / "foreign.sqlite3"
    path.write_bytes(content)
    for command in (["list"], ["show", "1"], ["replay", "1", "--to", "http://127.0.0.1:9/"]):
        result = cli("events", *command, "--journal", str(path))
        _no_bug(result)
        assert result.code == 6, result.stderr
        assert result.stderr.startswith("epay: error:") and len(result.stderr.splitlines()) == 1


def test_a_database_of_something_else_is_one_line_exit_6(cli, tmp_path):
    path = tmp_path / "other.sqlite3"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE notes (body TEXT)")
    result = cli("events", "list", "--journal", str(path))
    assert result.code == 6 and "is it a journal written by epay listen?" in result.stderr
