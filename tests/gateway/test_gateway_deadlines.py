"""--timeout is a deadline for the whole request, and `order wait --timeout` for the whole wait
(issue 15.2): a gateway on 127.0.0.1 that sends its headers and then one byte at a time (or
trickles the headers themselves) cannot hold a command past its deadline. Each test bounds its
own run time: the deadline plus a small margin."""

from __future__ import annotations

import json
import socket
import threading
import time

import pytest
from test_gateway_client import gateway_args, merchant

from epaycli.core.errors import NetworkError
from epaycli.gateway import calls
from epaycli.gateway.client import GatewayClient, Settings, send_all

# Seconds past the deadline a run may take (a loaded 2-core machine); the bug held 60 s+.
MARGIN = 3.0

BODY_TRICKLE = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                b"Content-Length: 100000\r\n\r\n")
HEADER_TRICKLE = b"HTTP/1.1 200 OK\r\n" + b"X-Slow: " + b"a" * 100000


class Trickler:
    """Answers every connection with ``prefix`` at once, then ``tail`` one byte every
    ``pause`` seconds, until the client goes away or the test ends."""

    def __init__(self, prefix: bytes, tail: bytes, pause: float = 0.1) -> None:
        self.prefix, self.tail, self.pause = prefix, tail, pause
        self.stop = threading.Event()
        self.connections = 0
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.listener.settimeout(0.1)
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}/"
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while not self.stop.is_set():
            try:
                connection, _ = self.listener.accept()
            except OSError:
                continue
            self.connections += 1
            threading.Thread(target=self._serve, args=(connection,), daemon=True).start()

    def _serve(self, connection: socket.socket) -> None:
        with connection:
            try:
                connection.settimeout(5)
                connection.recv(65536)
                connection.sendall(self.prefix)
                for byte in self.tail:
                    if self.stop.wait(self.pause):
                        return
                    connection.sendall(bytes([byte]))
            except OSError:
                return  # the client gave up: what the test wants

    def close(self) -> None:
        self.stop.set()
        self.thread.join(5)
        self.listener.close()


@pytest.fixture
def trickler():
    started = []

    def start(prefix: bytes, tail: bytes = b"x" * 100000) -> Trickler:
        server = Trickler(prefix, tail)
        started.append(server)
        return server

    yield start
    for server in started:
        server.close()


def timed(run):
    started = time.monotonic()
    result = run()
    return result, time.monotonic() - started


@pytest.mark.parametrize("prefix,tail", [(BODY_TRICKLE, b"x" * 100000),
                                         (HEADER_TRICKLE[:30], HEADER_TRICKLE[30:])],
                         ids=["body", "headers"])
def test_order_create_timeout_2_ends_in_2_seconds(cli, trickler, prefix, tail):
    server = trickler(prefix, tail)
    result, took = timed(lambda: cli("order", "create", "-a", "1", "-n", "x", "--timeout", "2",
                                     *gateway_args(server.url)))
    assert result.code == 5, result.stderr
    assert "did not answer in time" in result.stderr and "whole request" in result.stderr
    assert took < 2 + MARGIN, took
    # The request was sent: the gateway may hold the order, so epay records it as unknown.
    (local,) = json.loads(cli("order", "list", "--local", "--json").stdout)["orders"]
    assert local["unknown"] is True


def test_order_query_timeout_counts_retries_too(cli, trickler):
    server = trickler(BODY_TRICKLE)
    result, took = timed(lambda: cli("order", "query", "A1", "--timeout", "1",
                                     *gateway_args(server.url)))
    assert result.code == 5
    assert took < 1 + MARGIN, took


def test_order_wait_timeout_is_a_deadline_for_the_whole_wait(cli, trickler):
    server = trickler(BODY_TRICKLE)
    result, took = timed(lambda: cli("order", "wait", "A1", "--timeout", "1.5",
                                     "--request-timeout", "30", *gateway_args(server.url)))
    assert result.code == 7, result.stderr  # not paid in time, as a wait that ran out
    assert "not paid within 1.5 s" in result.stderr
    assert took < 1.5 + MARGIN, took


def test_the_client_and_the_batch_keep_the_deadline(trickler):
    server = trickler(BODY_TRICKLE)
    call = calls.query_order(merchant(server.url), 0, out_trade_no="A1")
    with GatewayClient(Settings(timeout=0.8, retries=2)) as client:
        started = time.monotonic()
        with pytest.raises(NetworkError) as caught:
            client.send(call)
        assert time.monotonic() - started < 0.8 + MARGIN
    assert caught.value.code == "network_timeout"
    started = time.monotonic()
    (outcome,) = send_all([call], Settings(timeout=0.8, retries=2))
    assert isinstance(outcome, NetworkError) and outcome.code == "network_timeout"
    assert time.monotonic() - started < 0.8 + MARGIN
