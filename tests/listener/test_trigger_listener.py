"""``epay trigger notify`` in every mode against a real local listener (the engine behind
``epay listen``), which judges each notify with epay's own callback checks: what trigger sends
as genuine is genuine there, and every forgery is caught."""

from __future__ import annotations

import json
import time

import pytest
from conftest import load_vectors
from test_check_support import KEY, PID

from epaycli.core.errors import ExitCode
from epaycli.core.signing import Keys, Md5Key, RsaKeys, load_public_key

server = pytest.importorskip("epaycli.listener.server")
V2 = load_vectors("v2-rsa")


@pytest.fixture
def listener(tmp_path):
    events: list[dict] = []
    keys = Keys(md5=Md5Key(KEY), rsa=RsaKeys(public=load_public_key(V2["platform_public_key_pem"])))
    running = server.start_listener(keys=keys, journal=tmp_path / "journal.sqlite3", pid=PID,
                                    on_event=lambda event: events.append(event.to_dict()))
    try:
        yield running, events
    finally:
        running.close()


def notify_events(events: list[dict], count: int) -> list[dict]:
    """The listener reports a notify just after answering it: wait (briefly) for them."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        found = [e for e in events if e.get("event") == "notify"]
        if len(found) >= count:
            return found
        time.sleep(0.01)
    return [e for e in events if e.get("event") == "notify"]


def send(cli, url, *args):
    result = cli("trigger", "notify", "--to", url, "--key", KEY, "--pid", PID, "--json", *args)
    assert result.code == ExitCode.OK, result.stderr
    return json.loads(result.stdout)


@pytest.mark.parametrize("args, genuine", [
    ([], True),
    (["--money-format", "2dp"], True),
    (["--method", "POST"], True),
    (["--set", "channel=7", "--param", "p&q"], True),
    (["--bad-sign"], False),
    (["--unsigned"], False),
    (["--sign-with", "z" * 32], False),
    (["--pid", "1001"], False),
    (["--set", "trade_status=WAIT_BUYER_PAY"], False),
])
def test_every_mode_is_judged_as_trigger_meant_it(cli, listener, args, genuine):
    running, events = listener
    document = send(cli, running.url, "--order", "L1", "--amount", "2.00", *args)
    assert document["answer"]["delivered"] is genuine  # the listener answers like a shop
    (event,) = notify_events(events, 1)
    assert event["valid"] is genuine, event
    assert event["out_trade_no"] == "L1"


def test_v2_notify_is_genuine_at_the_listener(cli, listener, tmp_path):
    running, events = listener
    platform = tmp_path / "platform.pem"
    platform.write_text(V2["platform_private_key_pem"])
    document = send(cli, running.url, "--platform-key", str(platform), "--order", "L2")
    assert document["answer"]["delivered"] is True
    assert notify_events(events, 1)[0]["valid"] is True
    forged = send(cli, running.url, "--platform-key", str(platform), "--order", "L2",
                  "--bad-sign")
    assert forged["answer"]["delivered"] is False
    assert notify_events(events, 2)[1]["valid"] is False


def test_count_reaches_the_listener_every_time(cli, listener):
    running, events = listener
    document = send(cli, running.url, "--order", "L3", "--count", "30", "--concurrency", "6")
    assert document["summary"]["delivered"] == 30
    notifies = notify_events(events, 30)
    assert len(notifies) == 30 and all(e["valid"] for e in notifies)
    assert max(e.get("duplicate_count", 0) for e in notifies) >= 29
