"""The local gateway's events (issue 16.2): frozen records whose to_dict() is the --json
contract of docs/events.md ("epay mock"); the human lines dispatch on the type."""

from __future__ import annotations

import dataclasses
import io

import httpx
import pytest
from mockkit import create, pay

from epaycli.cli.mock import show_event
from epaycli.env import Environment
from epaycli.mock.events import GatewayStarted, NotifyAttempt, RequestFailed
from epaycli.mock.server import start_gateway
from epaycli.render import Output

NOTIFY_KEYS = ["event", "out_trade_no", "trade_no", "attempt", "copy", "at", "method", "url",
               "status", "body", "error", "delivered", "faults", "elapsed_ms"]


def lines(event) -> list[str]:
    stderr = io.StringIO()
    show_event(Output(Environment(None, io.StringIO(), stderr, {})), event)
    return stderr.getvalue().splitlines()


def test_a_notify_sent_is_one_typed_event_with_todays_json_fields(receiver):
    events = []
    with start_gateway(on_event=events.append) as gw, httpx.Client(timeout=15) as client:
        order = create(gw, client, receiver.url)
        pay(gw, client, order["sent"]["out_trade_no"])  # the first notify goes before the answer
    (event,) = [e for e in events if isinstance(e, NotifyAttempt)]
    document = event.to_dict()
    assert list(document) == NOTIFY_KEYS
    assert document["event"] == "notify" and document["delivered"] is True
    assert document["out_trade_no"] == order["sent"]["out_trade_no"]
    assert document["trade_no"] == order["trade_no"] and document["attempt"] == 1
    assert document["status"] == 200 and document["body"] == "success"
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.status = 500  # type: ignore[misc]


def test_events_read_as_a_person_expects():
    attempt = NotifyAttempt("A1", "2024", 2, 2, 1.0, "GET", "http://s/n", 500, "no", None, False,
                            "duplicate", 3)
    assert lines(attempt) == ["notify A1 attempt 2 (copy 2): HTTP 500, no success"]
    assert lines(dataclasses.replace(attempt, copy=1, delivered=True)) == [
        "notify A1 attempt 2: delivered"]
    assert lines(dataclasses.replace(attempt, copy=1, error="timed out after 5 s")) == [
        "notify A1 attempt 2: timed out after 5 s"]
    assert lines(RequestFailed("/submit.php", "KeyError: 'x'")) == [
        "gateway error: KeyError: 'x'"]


def test_the_started_and_error_events_keep_their_json_fields():
    started = GatewayStarted("http://127.0.0.1:1/", "1000", "k" * 32, "1001", None, "/p.pem",
                             None, 42, "real", ("wrote profile 'sandbox-v2'",))
    assert started.to_dict() == {
        "event": "started", "url": "http://127.0.0.1:1/", "pid": "1000", "key": "k" * 32,
        "v2": {"pid": "1001", "private_key": None, "public_key": "/p.pem"},
        "data_dir": None, "process": 42, "quirks": "real",
        "profiles": ["wrote profile 'sandbox-v2'"]}
    assert RequestFailed("/x", "boom").to_dict() == {"event": "error", "path": "/x",
                                                      "error": "boom"}
