"""``epay events list|show|replay`` on a journal written by a real listener; replays go to
real handlers (another listener judges what arrives)."""

from __future__ import annotations

import json

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
