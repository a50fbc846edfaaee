"""The asyncio listener attacked over real sockets on 127.0.0.1: many connections at once,
pipelining without reading, half-closes and resets, slow and byte-by-byte senders, oversized
bodies, odd framing, ``close()`` while requests are in flight, a slow forward target, a broken
``on_event``. Every socket has a timeout; no test runs longer than a few seconds.

The tests after "found by attacking it" each failed against the first asyncio listener (odd
digits, recursion on pipelined health checks, negative chunk sizes, unbounded trailers, the key
in a path or a refusal, no write back-pressure, close() over unsent answers, forward threads
left, conflicting Content-Lengths, chunked with a Content-Length).
"""

from __future__ import annotations

import socket
import struct
import threading
import time
from pathlib import Path

import httpx
import pytest
from test_listen import (  # noqa: F401 - events, handler, journal_path, listen: fixtures
    KEY,
    events,
    handler,
    journal_path,
    listen,
    notify,
    order,
    rows,
    wait_for,
)

from epaycli.core.php import http_build_query
from epaycli.core.signing import Keys, Md5Key
from epaycli.listener.server import HEALTH_PATH, ListenError, start_listener

HEALTH = f"GET {HEALTH_PATH} HTTP/1.1\r\nHost: x\r\n\r\n".encode()


# ---- helpers ------------------------------------------------------------------------------


def get(number: int, *, key: str = KEY, extra: bytes = b"") -> bytes:
    """A GET notify as a gateway sends it."""
    query = http_build_query(notify(number, key=key)).encode()
    return b"GET /notify?" + query + b" HTTP/1.1\r\nHost: x\r\n" + extra + b"\r\n"


def connect(port: int, *, timeout: float = 3, rcvbuf: int | None = None) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    if rcvbuf is not None:  # before connect, so the window is small from the start
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.connect(("127.0.0.1", port))
    return sock


def read_to_end(sock: socket.socket) -> bytes:
    """Everything until the server closes; a timeout or reset ends it too (marked)."""
    chunks = []
    while True:
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            chunks.append(b"<timeout>")
            break
        except ConnectionResetError:
            chunks.append(b"<reset>")
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


class Answers:
    """Reads HTTP answers off a socket, one at a time (status, headers, body)."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock, self.buffer = sock, b""

    def _fill(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise EOFError("the server closed the connection")
        self.buffer += chunk

    def next(self) -> tuple[int, bytes, bytes]:
        while b"\r\n\r\n" not in self.buffer:
            self._fill()
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        status = int(head.split(b" ", 2)[1])
        if status == 100:
            return status, head, b""
        length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
        while len(self.buffer) < length:
            self._fill()
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        return status, head, body


def epay_threads() -> list[str]:
    return sorted(t.name for t in threading.enumerate() if t.name.startswith("epay-"))


def no_epay_threads_soon(grace: float = 0.5) -> list[str]:
    deadline = time.monotonic() + grace
    while epay_threads() and time.monotonic() < deadline:
        time.sleep(0.02)
    return epay_threads()


def trade_nos(journal_path: Path) -> list[str]:
    return [r["trade_no"] for r in rows(journal_path)]


# ---- load ---------------------------------------------------------------------------------


def test_hundreds_of_concurrent_connections_are_all_answered_and_journaled(listen, events,
                                                                          journal_path):
    listener = listen()
    socks = [connect(listener.port, timeout=5) for _ in range(300)]
    try:
        for number, sock in enumerate(socks):
            sock.sendall(get(number, extra=b"Connection: close\r\n"))
        answers = [read_to_end(sock) for sock in socks]
    finally:
        for sock in socks:
            sock.close()
    assert sum(a.endswith(b"\r\n\r\nsuccess") for a in answers) == 300
    assert sorted(trade_nos(journal_path)) == sorted(order(n).trade_no for n in range(300))
    assert not events.of("internal_error")


def test_a_thousand_pipelined_requests_sent_unread_are_answered_in_order_buffering_bounded(
        listen, events, journal_path):
    listener = listen()
    pad = b"X-Pad: " + b"p" * 1400 + b"\r\n"  # 1.5 MB in all: reading must pause and resume
    numbers = range(1000)
    data = b"".join(get(n, key=KEY if n % 3 else "y" * 32, extra=pad) for n in numbers)
    peak = [0]
    watching = threading.Event()

    def watch() -> None:
        while not watching.is_set():
            for connection in list(listener._engine.connections):
                peak[0] = max(peak[0], connection.reader.held)
            time.sleep(0.005)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    with connect(listener.port, timeout=5) as sock:
        sock.sendall(data)  # every request before any answer is read
        answers = Answers(sock)
        bodies = [answers.next()[2] for _ in numbers]
    watching.set()
    watcher.join(2)
    assert bodies == [b"success" if n % 3 else b"fail" for n in numbers]
    assert trade_nos(journal_path) == [order(n).trade_no for n in numbers]
    assert peak[0] <= 1024 * 1024, f"{peak[0]} bytes were read ahead of the request served"


# ---- clients that leave -------------------------------------------------------------------


def test_a_client_that_half_closes_right_after_its_requests_still_gets_every_answer(
        listen, journal_path):
    listener = listen()
    with connect(listener.port) as sock:
        sock.sendall(get(1) + get(2, key="y" * 32))
        sock.shutdown(socket.SHUT_WR)
        answer = read_to_end(sock)
    assert answer.count(b"HTTP/1.1 200 OK") == 2 and b"<" not in answer
    assert answer.endswith(b"\r\n\r\nfail") and b"\r\n\r\nsuccessHTTP/1.1" in answer
    assert trade_nos(journal_path) == [order(1).trade_no, order(2).trade_no]


@pytest.mark.parametrize("how", ["close", "reset"])
def test_a_client_that_leaves_while_its_request_commits_does_not_hurt_the_listener(
        how, listen, events, journal_path):
    listener = listen()
    for number in range(30):
        sock = connect(listener.port)
        if how == "reset":  # RST instead of FIN
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.sendall(get(number))
        sock.close()
    assert httpx.get(listener.url, params=notify(99), timeout=5).text == "success"
    # After a FIN every request was read whole; after a reset the kernel may drop some unread.
    events.wait(31 if how == "close" else 1, timeout=5)
    # each request journaled is said just before its answer: wait for the last of them
    wait_for(lambda: len(rows(journal_path)) == len(events), what="an event per journaled row")
    assert not events.of("internal_error") and not events.of("journal_error")
    assert order(99).trade_no in trade_nos(journal_path)
    assert len(rows(journal_path)) == len(events)  # each one journaled was dealt with


def test_reply_timeout_with_a_client_that_leaves_then_close(listen, events, journal_path):
    listener = listen(reply="timeout")
    with connect(listener.port) as sock:
        sock.sendall(get(1))
        # journaled; the answer waits for the gateway's timeout
        wait_for(lambda: len(rows(journal_path)) == 1, what="the first notify journaled")
    with connect(listener.port) as waiting:
        waiting.sendall(get(2))
        wait_for(lambda: len(rows(journal_path)) == 2, what="the second notify journaled")
        started = time.monotonic()
        listener.close()
        assert time.monotonic() - started < 2
        assert read_to_end(waiting) in (b"", b"<reset>")  # never acknowledged …
    assert trade_nos(journal_path) == [order(1).trade_no, order(2).trade_no]  # … journaled
    assert no_epay_threads_soon() == []


# ---- bodies, framing ----------------------------------------------------------------------


def test_a_413_reaches_a_client_that_keeps_sending_its_body(listen, journal_path):
    listener = listen()
    with connect(listener.port) as sock:
        sock.sendall(b"POST /notify HTTP/1.1\r\nHost: x\r\nContent-Length: 5000000\r\n\r\n")
        started = time.monotonic()
        while time.monotonic() - started < 0.6:  # still sending after the refusal
            sock.sendall(b"a" * 4096)
            time.sleep(0.01)
        assert sock.recv(4096).startswith(b"HTTP/1.1 413 ")

    def slow_body():
        for _ in range(40):
            yield b"a" * 8192
            time.sleep(0.01)

    got = httpx.post(listener.url, content=slow_body(), headers={"Content-Length": "327680"},
                     timeout=5)
    assert got.status_code == 413
    assert [(r["kind"], r["answer_status"]) for r in rows(journal_path)] == \
        [("too_large", 413)] * 2


def test_expect_100_continue_edge_cases(listen, journal_path):
    listener = listen()
    body = http_build_query(notify(1)).encode()
    chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
    # chunked: the go-ahead, then the body
    with connect(listener.port) as sock:
        sock.sendall(b"POST /notify HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
                     b"Expect: 100-continue\r\n\r\n")
        answers = Answers(sock)
        assert answers.next()[0] == 100
        sock.sendall(chunked)
        assert answers.next()[::2] == (200, b"success")
    # behind a pipelined request: its go-ahead comes after the first answer, never before
    with connect(listener.port) as sock:
        sock.sendall(get(2) + b"POST /notify HTTP/1.1\r\nExpect: 100-continue\r\n"
                     b"Content-Length: %d\r\n\r\n" % len(body))
        answers = Answers(sock)
        assert answers.next()[::2] == (200, b"success")
        assert answers.next()[0] == 100
        sock.sendall(body)
        assert answers.next()[::2] == (200, b"success")
    # the body sent along at once: no go-ahead is needed, none is sent
    with connect(listener.port) as sock:
        sock.sendall(b"POST /notify HTTP/1.1\r\nExpect: 100-continue\r\nConnection: close\r\n"
                     b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
        assert read_to_end(sock).startswith(b"HTTP/1.1 200 OK")
    # HTTP/1.0 knows no 100 Continue: none is sent (the client sends the body anyway)
    with connect(listener.port) as sock:
        sock.sendall(b"POST /notify HTTP/1.0\r\nExpect: 100-continue\r\n"
                     b"Content-Length: %d\r\n\r\n" % len(body))
        with pytest.raises(TimeoutError):
            sock.settimeout(0.3)
            sock.recv(100)
        sock.settimeout(3)
        sock.sendall(body)
        assert read_to_end(sock).startswith(b"HTTP/1.1 200 OK")
    assert len(rows(journal_path)) == 5


def test_a_chunked_body_split_at_every_byte_is_read(listen, events):
    listener = listen()
    body = http_build_query(notify()).encode()
    chunks = b"".join(b"%x;ext=1\r\n%s\r\n" % (len(body[i:i + 9]), body[i:i + 9])
                      for i in range(0, len(body), 9))
    data = (b"POST /notify HTTP/1.1\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
            + chunks + b"0\r\nX-Trailer: t\r\n\r\n")
    with connect(listener.port) as sock:
        for byte in data:
            sock.sendall(bytes([byte]))
            time.sleep(0.0003)
        assert read_to_end(sock).endswith(b"\r\n\r\nsuccess")
    events.wait(1)
    assert events[0]["valid"] and events[0]["method"] == "POST"


def test_a_request_arriving_byte_by_byte_within_the_deadline_is_served(listen, journal_path):
    listener = listen(read_timeout=4)
    data = get(1, extra=b"Connection: close\r\n")
    started = time.monotonic()
    with connect(listener.port) as sock:
        for byte in data:
            sock.sendall(bytes([byte]))
            time.sleep(0.002)
        assert read_to_end(sock).endswith(b"\r\n\r\nsuccess")
    assert time.monotonic() - started < 4
    assert [r["kind"] for r in rows(journal_path)] == ["notify"]


def test_stray_blank_lines_then_silence_close_the_connection_without_a_journal_entry(
        listen, journal_path):
    listener = listen(read_timeout=0.6)
    with connect(listener.port) as sock:
        sock.sendall(get(1))
        answers = Answers(sock)
        assert answers.next()[2] == b"success"
        sock.sendall(b"\r\n\r\n")  # some clients send a CRLF after a request: not a request
        started = time.monotonic()
        assert read_to_end(sock) == b""  # idle: closed, without an answer
    assert 0.3 < time.monotonic() - started < 2
    assert [r["kind"] for r in rows(journal_path)] == ["notify"]


def test_invalid_utf8_in_the_path_is_answered_and_journaled(listen, events, journal_path):
    listener = listen(path="/notify")
    query = http_build_query(notify()).encode()
    answer = read_to_end_of(listener.port,
                            b"GET /notify\xff\xfe?" + query + b" HTTP/1.1\r\nConnection: close"
                            b"\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 404 ")
    [row] = rows(journal_path)
    assert row["kind"] == "not_found" and row["path"] == "/notify\ufffd\ufffd"
    assert not events.of("internal_error")


def read_to_end_of(port: int, data: bytes, *, timeout: float = 3) -> bytes:
    with connect(port, timeout=timeout) as sock:
        sock.sendall(data)
        return read_to_end(sock)


# ---- the loop keeps going ----------------------------------------------------------------


def test_a_slow_forward_target_does_not_block_the_loop(listen, handler, journal_path):
    slow = handler(delay=1.0)
    listener = listen(forward_to=slow.url)
    answers: dict[int, tuple[str, float]] = {}

    def send(number: int) -> None:
        started = time.monotonic()
        got = httpx.get(listener.url, params=notify(number), timeout=5)
        answers[number] = (got.text, time.monotonic() - started)

    senders = [threading.Thread(target=send, args=(n,)) for n in range(6)]
    checker = httpx.Client()  # made first: setting up a client (TLS context) is not the loop's time
    started = time.monotonic()
    for sender in senders:
        sender.start()
    deadline = time.monotonic() + 5
    while len(slow.received) < 6:  # the six forwards are waiting in the slow handler
        assert time.monotonic() < deadline, "the forwards did not reach the handler"
        time.sleep(0.01)
    health_started = time.monotonic()
    with checker:
        assert checker.get(listener.health_url, timeout=2).status_code == 200
    assert time.monotonic() - health_started < 0.5  # while six forwards are waiting
    for sender in senders:
        sender.join(5)
    assert [answers[n][0] for n in range(6)] == ["success"] * 6
    assert time.monotonic() - started < 3  # side by side, not one after another (6 s)
    assert len(rows(journal_path)) == 6


def test_an_on_event_that_raises_breaks_nothing(listen, journal_path, capfd):
    seen = []

    def broken(event):
        seen.append(event)
        raise RuntimeError("observer bug")

    listener = listen(on_event=broken)
    with httpx.Client(timeout=5) as client:
        assert [client.get(listener.url, params=notify(n)).text for n in range(3)] == \
            ["success"] * 3
    assert read_to_end_of(listener.port, b"BREW /notify HTTP/1.1\r\n\r\n").startswith(
        b"HTTP/1.1 405 ")
    assert len(rows(journal_path)) == 4 and len(seen) == 4
    err = capfd.readouterr().err
    assert "Traceback" not in err and "observer bug" not in err


def test_nothing_on_the_terminal_however_the_clients_behave(listen, events, capfd):
    listener = listen(read_timeout=0.5)
    for data in (b"\x00" * 100, b"GET / HTTP/1.1\r\n" + b"X: y\r\n" * 150 + b"\r\n",
                 b"POST /notify HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n",
                 b"POST /n HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
                 b"GET /notify?pid=1 HTTP/1.1\r\nHost"):  # the last one times out (408)
        sock = connect(listener.port)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.sendall(data)
        time.sleep(0.05)
        sock.close()  # reset while the listener answers
    wait_for(lambda: not listener._engine.connections, what="every connection dealt with")
    assert httpx.get(listener.url, params=notify(), timeout=5).text == "success"
    out, err = capfd.readouterr()
    assert out == "" and err == ""
    assert not events.of("internal_error")


# ---- stopping -----------------------------------------------------------------------------


def test_close_with_requests_in_flight_is_quick_and_loses_nothing_answered(listen,
                                                                          journal_path):
    listener = listen()
    answered: list[int] = []

    def client(first: int) -> None:
        try:
            with connect(listener.port) as sock:
                answers = Answers(sock)
                for number in range(first, first + 10_000):
                    sock.sendall(get(number))
                    if answers.next()[2] == b"success":
                        answered.append(number)
        except (OSError, EOFError):
            pass

    clients = [threading.Thread(target=client, args=(k * 10_000,)) for k in range(16)]
    for one in clients:
        one.start()
    wait_for(lambda: len(answered) >= 16, what="requests in flight")
    started = time.monotonic()
    listener.close()
    listener.close()  # a second close is harmless
    assert time.monotonic() - started < 3
    for one in clients:
        one.join(3)
    assert not any(one.is_alive() for one in clients)
    journaled = set(trade_nos(journal_path))
    assert answered and all(order(n).trade_no in journaled for n in answered)
    assert no_epay_threads_soon() == []
    with pytest.raises(OSError):
        connect(listener.port, timeout=1)


def test_a_listener_that_cannot_start_leaves_no_thread(listen, tmp_path):
    first = listen()
    before = epay_threads()
    with pytest.raises(ListenError):
        start_listener(keys=Keys(md5=Md5Key(KEY)), journal=tmp_path / "other.sqlite3",
                       port=first.port)
    wait_for(lambda: epay_threads() == before, what="the failed one's journal writer gone")


# ---- found by attacking it ------------------------------------------------------------


@pytest.mark.parametrize("request_bytes", [
    b"POST /notify HTTP/1.1\r\nContent-Length: \xb2\r\n\r\nab",
    b"GET /notify?pid=1 HTTP/1.\xb9\r\n\r\n",
    b"POST /notify HTTP/1.1\r\nContent-Length: " + b"9" * 5000 + b"\r\n\r\n",
], ids=["superscript-length", "superscript-version", "5000-digit-length"])
def test_odd_digits_are_refused_with_a_4xx_and_journaled(request_bytes, listen, events,
                                                         journal_path):
    listener = listen()
    answer = read_to_end_of(listener.port, request_bytes)
    assert answer.split(b" ")[1] in (b"400", b"413"), answer[:80]  # 5000 nines: too large
    assert len(rows(journal_path)) == 1
    assert not events.of("internal_error")


def test_pipelined_health_checks_are_all_answered(listen, events):
    listener = listen()
    with connect(listener.port, timeout=1) as sock:
        sock.sendall(HEALTH * 600)
        answers = Answers(sock)
        bodies = [answers.next()[2] for _ in range(600)]
    assert all(body == f"epay-listen {listener.health_token}".encode() for body in bodies)
    assert not events.of("internal_error")


def test_negative_chunk_sizes_do_not_get_past_the_body_bound(listen, events, journal_path):
    listener = listen()
    body = b"a=" + b"x" * 60_000
    data = (b"POST /notify HTTP/1.1\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
            + b"%x\r\n%s\r\n" % (len(body), body) + b"-2\r\n" * 20_000
            + b"%x\r\n%s\r\n" % (30_000, b"z" * 30_000) + b"0\r\n\r\n")
    answer = read_to_end_of(listener.port, data)
    assert answer.split(b" ")[1] in (b"400", b"413"), answer[:80]
    [row] = rows(journal_path)
    assert row["body_size"] <= 64 * 1024 or row["kind"] != "notify"


def test_chunked_trailers_are_bounded_like_headers(listen, journal_path):
    listener = listen(read_timeout=3)
    trailers = b"".join(b"X-T%d: %s\r\n" % (n, b"t" * 500) for n in range(400))  # 200 KB
    with connect(listener.port, timeout=6) as sock:
        sock.sendall(b"POST /notify HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                     b"5\r\npid=1\r\n0\r\n" + trailers)
        started = time.monotonic()
        answer = sock.recv(100)
    assert answer.split(b" ")[1] in (b"400", b"413", b"431"), answer
    assert time.monotonic() - started < 1.5  # refused at once, not cut at the deadline (408)


def test_the_merchant_key_is_not_stored_from_the_path_or_a_refusal(listen, events,
                                                                   journal_path):
    listener = listen(path="/notify")
    key = KEY.encode()
    query = http_build_query(notify()).encode()
    for data in (b"GET /notify/" + key + b"?" + query + b" HTTP/1.1\r\nConnection: close"
                 b"\r\n\r\n",  # 404
                 b"GET /" + key + b" HTTP/1.1 x\r\n\r\n",  # bad request line
                 b"GET /notify?" + query + b" HTTP/1.1\r\nk " + key + b"\r\n\r\n"):  # bad header
        assert read_to_end_of(listener.port, data).split(b" ")[1] in (b"400", b"404")
    events.wait(3)
    listener.close()
    stored = b"".join(p.read_bytes() for p in journal_path.parent.glob("journal.sqlite3*"))
    assert len(rows(journal_path)) == 3
    assert key not in stored
    assert KEY not in repr(list(events))


def test_a_client_that_never_reads_cannot_grow_the_write_buffer(listen):
    listener = listen()
    peak = [0]
    with connect(listener.port, timeout=0.5, rcvbuf=4096) as sock:
        started = time.monotonic()
        try:
            while time.monotonic() - started < 2.5 and peak[0] < 4 * 1024 * 1024:
                sock.sendall(HEALTH * 20)  # small pieces: each read apart (see the bug above)
                time.sleep(0.0005)
                for connection in list(listener._engine.connections):
                    if connection.transport is not None:
                        peak[0] = max(peak[0], connection.transport.get_write_buffer_size())
        except TimeoutError:
            pass  # back-pressure: the listener stopped reading, as it should
    assert peak[0] < 1024 * 1024, f"{peak[0]} bytes of answers buffered for one client"


def test_close_ends_a_connection_whose_answers_are_not_yet_sent(listen):
    listener = listen()
    with connect(listener.port, timeout=0.5, rcvbuf=4096) as sock:
        def backlog() -> int:
            return sum(c.transport.get_write_buffer_size()
                       for c in list(listener._engine.connections) if c.transport)

        # Health checks until the listener holds answers it cannot send: one unbroken byte
        # stream (a send cut by a timeout would tear a request), however slow the machine.
        sock.setblocking(False)
        pending, deadline = b"", time.monotonic() + 60  # a bound, not a wait
        while backlog() == 0 and time.monotonic() < deadline:
            pending = pending or HEALTH * 20
            try:
                pending = pending[sock.send(pending):]
            except BlockingIOError:  # the listener stopped reading: wait for its backlog
                time.sleep(0.005)
        assert backlog() > 0, "could not make the listener buffer answers"
        listener.close()
        sock.settimeout(2)
        ended = time.monotonic() + 2
        while time.monotonic() < ended:
            try:
                if not sock.recv(1 << 20):
                    break  # EOF: the listener closed it
            except ConnectionResetError:
                break
            except TimeoutError:
                pytest.fail("the connection was left open after close()")


def test_close_with_a_forward_in_flight_leaves_no_thread(listen, handler):
    slow = handler(delay=2.0)
    listener = listen(forward_to=slow.url)
    sender = threading.Thread(target=lambda: _quietly(httpx.get, listener.url,
                                                      params=notify(), timeout=4))
    sender.start()
    wait_for(lambda: slow.received, what="the forward in the handler")
    listener.close()
    assert no_epay_threads_soon(0.3) == []
    sender.join(5)


def _quietly(function, *args, **options) -> None:
    try:
        function(*args, **options)
    except httpx.HTTPError:
        pass


def test_conflicting_content_lengths_are_refused(listen, journal_path):
    listener = listen()
    answer = read_to_end_of(listener.port,
                            b"POST /notify HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 30"
                            b"\r\n\r\npid=1GET /x?pid=1 HTTP/1.1\r\n\r\n", timeout=1)
    assert answer.startswith(b"HTTP/1.1 400 ") and answer.count(b"HTTP/1.1 ") == 1
    assert len(rows(journal_path)) == 1


def test_chunked_with_a_content_length_closes_after_the_answer(listen):
    listener = listen()
    body = http_build_query(notify()).encode()
    with connect(listener.port) as sock:
        sock.sendall(b"POST /notify HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked"
                     b"\r\n\r\n%x\r\n%s\r\n0\r\n\r\n" % (len(body), body))
        status, head, _ = Answers(sock).next()
    assert status == 200 and b"Connection: close" in head


# ---- found by a review ---------------------------------------------------------------------


def test_a_commit_that_never_comes_is_answered_503_not_held_forever(listen, events,
                                                                    monkeypatch):
    from epaycli.listener import server
    from epaycli.listener.journal import Journal

    monkeypatch.setattr(server, "_COMMIT_WAIT_SECONDS", 0.5)
    monkeypatch.setattr(Journal, "append_many", lambda self, records: None)  # a stuck disk
    listener = listen()
    started = time.monotonic()
    answer = read_to_end_of(listener.port, get(1), timeout=5)
    assert answer.startswith(b"HTTP/1.1 503") and time.monotonic() - started < 3
    events.wait(1)  # said right after the answer went out
    assert "did not commit" in events.of("journal_error")[0]["message"]


def test_blank_lines_do_not_stretch_the_read_deadline(listen):
    listener = listen(read_timeout=0.6)
    with connect(listener.port, timeout=3) as sock:
        started = time.monotonic()
        try:
            for _ in range(20):
                sock.sendall(b"\r\n")
                time.sleep(0.2)
        except OSError:
            pass  # closed by the listener, as it should be
        assert read_to_end(sock) in (b"", b"<reset>")
        assert time.monotonic() - started < 2.5


def test_at_the_connection_limit_the_idlest_connection_makes_room(listen, monkeypatch):
    from epaycli.listener import server

    monkeypatch.setattr(server, "MAX_CONNECTIONS", 4)
    listener = listen()
    idle = [connect(listener.port) for _ in range(4)]
    try:
        wait_for(lambda: len(listener._engine.connections) == 4, what="four connections")
        assert read_to_end_of(listener.port, get(1, extra=b"Connection: close\r\n")
                              ).endswith(b"success")  # a gateway still gets in
        closed = 0
        for sock in idle:
            sock.settimeout(0.5)
            try:
                closed += sock.recv(10) == b""
            except TimeoutError:
                pass
            except ConnectionResetError:
                closed += 1
        assert closed == 1
    finally:
        for sock in idle:
            sock.close()


def test_a_notify_that_cannot_be_forwarded_as_it_came_is_journaled_and_answered_502(
        listen, handler, events, journal_path):
    listener = listen(forward_to=handler().url)
    query = http_build_query(notify()).encode() + b"&x=%01\x01"
    answer = read_to_end_of(listener.port, b"GET /notify?" + query + b" HTTP/1.1\r\n"
                            b"Connection: close\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 502")
    assert not events.of("internal_error") and len(rows(journal_path)) == 1


def test_close_does_not_wait_for_a_forward_stuck_in_a_slow_handler(listen, handler):
    slow = handler(delay=6.0)
    listener = listen(forward_to=slow.url, forward_timeout=20)
    sender = threading.Thread(target=lambda: _quietly(httpx.get, listener.url,
                                                      params=notify(), timeout=8))
    sender.start()
    wait_for(lambda: slow.received, what="the forward in the handler")
    started = time.monotonic()
    listener.close()
    assert time.monotonic() - started < 3.5
    sender.join(10)
