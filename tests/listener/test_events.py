"""``epay events list|show|replay`` on a journal written by a real listener; replays go to
real handlers (another listener judges what arrives). On a journal damaged by hand or by a disk
(issue 15.1) a damaged row is shown as damaged and the others are still listed (exit 0); a file
that is no journal is one line with exit 6. Never "internal error … this is a bug"."""

from __future__ import annotations

import json
import sqlite3

import httpx
import pytest
from test_listen import KEY, Events, Handler, notify

from epaycli.core.signing import Keys, Md5Key
from epaycli.listener.server import start_listener


@pytest.fixture
def journal(tmp_path):
    """A journal with: a genuine GET, its duplicate, a forged one, a POST, and a bad request."""
    path = tmp_path / "journal.sqlite3"
    with start_listener(keys=Keys(md5=Md5Key(KEY)), journal=path) as listener:
        httpx.get(listener.url, params=notify(1))
        httpx.get(listener.url, params=notify(1))
        httpx.get(listener.url, params=notify(2, key="w" * 32))
        httpx.post(listener.url, data=notify(3))
        httpx.get(listener.url)
    return path


@pytest.fixture
def target(tmp_path):
    """A second, real listener as the handler replays go to; its events say what arrived."""
    events = Events()
    listener = start_listener(keys=Keys(md5=Md5Key(KEY)), journal=tmp_path / "target.sqlite3",
                              on_event=events.append)
    listener.events = events
    yield listener
    listener.close()


def test_list_json_is_an_array_of_every_journaled_request(cli, journal):
    result = cli("events", "list", "--journal", str(journal), "--json")
    assert result.code == 0
    records = json.loads(result.stdout)
    assert [r["id"] for r in records] == [1, 2, 3, 4, 5]
    assert [r["kind"] for r in records] == ["notify"] * 4 + ["bad_request"]
    assert [r["valid"] for r in records] == [True, True, False, True, False]
    assert records[1]["duplicate_count"] == 1 and records[3]["method"] == "POST"
    assert records[0]["report"]["verdict"] == "genuine"


def test_list_filters_invalid_and_since(cli, journal):
    invalid = json.loads(cli("events", "list", "--journal", str(journal), "--invalid",
                             "--json").stdout)
    assert [r["id"] for r in invalid] == [3, 5]
    future = cli("events", "list", "--journal", str(journal), "--since", "2999-01-01", "--json")
    assert json.loads(future.stdout) == []
    recent = json.loads(cli("events", "list", "--journal", str(journal), "--since", "1h",
                            "--json").stdout)
    assert len(recent) == 5
    newest = json.loads(cli("events", "list", "--journal", str(journal), "--limit", "2",
                            "--json").stdout)
    assert [r["id"] for r in newest] == [4, 5]
    bad = cli("events", "list", "--journal", str(journal), "--since", "yesterday-ish")
    assert bad.code == 2 and bad.stderr.startswith("epay: error: --since")


def test_list_as_a_table(cli, journal):
    result = cli("events", "list", "--journal", str(journal))
    lines = result.stdout.splitlines()
    assert lines[0].split()[:3] == ["ID", "TIME", "METHOD"]
    assert "✓ genuine" in lines[1] and "2026120112000000001" in lines[1]
    assert "✗ the MD5 sign does not match" in lines[3]


def test_show_gives_the_raw_request_and_the_full_verdict(cli, journal):
    shown = cli("events", "show", "3", "--journal", str(journal))
    assert shown.code == 0
    first = shown.stdout.splitlines()[0]
    assert first.startswith("GET /notify?pid=1001&trade_no=2026120112000000002")
    assert "User-Agent: python-httpx" in shown.stdout
    assert "✗ the MD5 sign does not match" in shown.stdout and "fix:" in shown.stdout
    document = json.loads(cli("events", "show", "4", "--journal", str(journal), "--json").stdout)
    assert document["method"] == "POST" and "out_trade_no=ORD3" in document["body"]
    assert document["report"]["signature_valid"] is True


def test_show_and_list_errors_are_one_line(cli, journal, tmp_path):
    missing = cli("events", "show", "99", "--journal", str(journal))
    assert missing.code == 2 and "there is no request 99" in missing.stderr
    assert "see the ids with 'epay events list'" in missing.stderr  # the CLI's table (16.5)
    nothing = cli("events", "list", "--journal", str(tmp_path / "none.sqlite3"))
    assert nothing.code == 6 and "there is no journal" in nothing.stderr
    assert "epay listen" in nothing.stderr
    garbage = tmp_path / "garbage.sqlite3"
    garbage.write_bytes(b"SQLite format 3\x00" + b"\x00" * 200)
    broken = cli("events", "list", "--journal", str(garbage))
    assert broken.code == 6 and broken.stderr.count("\n") == 1


def test_the_default_journal_is_under_xdg_state_home(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    path = tmp_path / "state" / "epay" / "listen.sqlite3"
    with start_listener(keys=Keys(md5=Md5Key(KEY)), journal=path) as listener:
        httpx.get(listener.url, params=notify())
    records = json.loads(cli("events", "list", "--json").stdout)
    assert len(records) == 1 and records[0]["valid"]


def test_replay_resends_unchanged(cli, journal, target):
    result = cli("events", "replay", "1", "--journal", str(journal), "--to", target.url)
    assert result.code == 0, result.stderr
    assert result.stdout.startswith("200 'success'")
    target.events.wait(1)
    arrived = target.events[0]
    assert arrived["valid"] and arrived["params"] == notify(1)


def test_replay_with_a_change_keeps_the_old_sign_so_it_is_caught(cli, journal, target):
    result = cli("events", "replay", "1", "--journal", str(journal), "--to", target.url,
                 "--set", "money=99.00")
    assert result.code == 0 and "no 'success'" in result.stdout
    target.events.wait(1)
    assert target.events[0]["money"] == "99.00" and not target.events[0]["valid"]


def test_replay_resigned_after_a_change_verifies(cli, journal, target, monkeypatch):
    monkeypatch.setenv("EPAY_KEY", KEY)
    result = cli("events", "replay", "1", "--journal", str(journal), "--to", target.url,
                 "--set", "money=99.00", "--set", "param=", "--resign", "--json")
    assert result.code == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["sent"]["changed"] and document["answer"]["delivered"]
    target.events.wait(1)
    assert target.events[0]["money"] == "99.00" and target.events[0]["valid"]


def test_replay_of_a_post_is_a_post_with_the_same_body(cli, journal):
    shop = Handler()
    try:
        result = cli("events", "replay", "4", "--journal", str(journal), "--to", shop.url)
        assert result.code == 0
        [got] = shop.received
        assert got["method"] == "POST" and b"out_trade_no=ORD3" in got["body"]
        assert got["path"] == "/epay/notify"
    finally:
        shop.close()


def test_replay_dry_run_sends_nothing(cli, journal):
    shop = Handler()
    try:
        result = cli("events", "replay", "1", "--journal", str(journal), "--to", shop.url,
                     "--dry-run", "--json")
        assert json.loads(result.stdout)["answer"] is None and shop.received == []
    finally:
        shop.close()


def test_replay_to_a_handler_that_is_down_exits_5(cli, journal):
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}/notify"
    result = cli("events", "replay", "1", "--journal", str(journal), "--to", dead)
    assert result.code == 5 and result.stderr.startswith("epay: error: cannot reach")


def test_replay_needs_a_target_and_a_readable_notify_to_change(cli, journal):
    result = cli("events", "replay", "1", "--journal", str(journal))
    assert result.code == 2 and "--to" in result.stderr
    result = cli("events", "replay", "5", "--journal", str(journal), "--to",
                 "http://127.0.0.1:9/", "--set", "money=1")
    assert result.code == 2 and "no fields to change" in result.stderr
    result = cli("events", "replay", "1", "--journal", str(journal), "--to", "ftp://x/")
    assert result.code == 2


# ---- a journal damaged by hand or by a disk (issue 15.1) ----------------------------------------


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
