"""Timeouts are deadlines for the whole request (issue 15.2): a handler that sends its head and
then a byte every 0.2 s (or its head a byte at a time) is given up on at the deadline by the
listener's forwarder, `events replay`, `trigger` and `check` — not kept while each byte comes
within a per-read timeout. Each test waits at most the deadline and a margin."""

from __future__ import annotations

import time

import pytest
from trickle import Trickle

from epaycli.core.errors import NetworkError

DEADLINE = 1.0
MARGIN = 1.5  # a loaded machine; a per-read timeout would take 100,000 × 0.2 s


@pytest.fixture(params=[True, False], ids=["head-then-trickle", "head-trickled"])
def trickle(request):
    server = Trickle(head_first=request.param)
    yield server
    server.close()


def test_the_forwarder_gives_up_at_its_deadline(trickle):
    from epaycli.listener.forwarder import Forwarder

    forwarder = Forwarder(trickle.url, timeout=DEADLINE)
    try:
        started = time.monotonic()
        forwarded = forwarder.send("GET", b"pid=1001", b"", [("User-Agent", "t")], "127.0.0.1")
        elapsed = time.monotonic() - started
    finally:
        forwarder.close()
    assert forwarded.status is None and "no answer within 1 s" in forwarded.error
    assert elapsed < DEADLINE + MARGIN


def test_replay_gives_up_at_its_deadline(trickle):
    from epaycli.listener.replay import Replay, send_replay

    started = time.monotonic()
    with pytest.raises(NetworkError) as raised:
        send_replay(Replay("GET", trickle.url + "?pid=1", b"", {}, False, ()), timeout=DEADLINE)
    assert raised.value.code == "replay_timeout"
    assert time.monotonic() - started < DEADLINE + MARGIN


def test_trigger_gives_up_at_its_deadline(cli, trickle):
    started = time.monotonic()
    result = cli("trigger", "notify", "--to", trickle.url, "--timeout", str(DEADLINE))
    assert time.monotonic() - started < DEADLINE + MARGIN
    assert result.code == 5 and "within 1 s" in result.stderr + result.stdout


def test_check_gives_each_notify_its_deadline(cli, trickle):
    started = time.monotonic()
    result = cli("check", "notify", trickle.url, "--timeout", str(DEADLINE), "--order", "T1",
                 "--amount", "1.00", "--only", "genuine")
    assert time.monotonic() - started < DEADLINE + MARGIN
    assert result.code == 7 and "no answer within 1 s" in result.stdout
