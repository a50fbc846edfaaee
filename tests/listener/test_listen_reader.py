"""The listener's request reader (bytes in, whole requests out, every part bounded: llhttp
parses, the reader bounds) and its masker's shortcuts, without a server: what arrives in pieces is read as if it came at once."""

from __future__ import annotations

import pytest

from epaycli.listener.http import Refusal, RequestReader
from epaycli.listener.judge import Masker

KEY = "89unJUB8HZ54Hj7x4nUj56HN4nUzUJ8i"
GET = b"GET /notify?pid=1&money=1.00 HTTP/1.1\r\nHost: x\r\nUser-Agent: t\r\n\r\n"
POST = (b"POST /notify HTTP/1.1\r\nHost: x\r\nContent-Length: 17\r\n\r\n"
        b"pid=1&money=1.00&")
CHUNKED = (b"POST /epay HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
           b"5\r\npid=1\r\nb;ext=1\r\n&money=1.00\r\n0\r\nX-Trailer: y\r\n\r\n")


def read_all(data: bytes, *, piece: int, max_body: int = 65536):
    """Feed ``data`` ``piece`` bytes at a time; every request that came out."""
    reader, got = RequestReader(max_body), []
    for start in range(0, len(data), piece):
        reader.feed(data[start:start + piece])
        while (request := reader.next()) is not None:
            got.append(request)
    return got, reader


@pytest.mark.parametrize("piece", [1, 2, 7, 64, 100_000])
def test_requests_read_in_pieces_are_the_same_as_read_at_once(piece):
    got, reader = read_all(GET + POST + b"\r\n" + CHUNKED + GET, piece=piece)
    assert [(r.head.method, r.head.target, r.body) for r in got] == [
        ("GET", "/notify?pid=1&money=1.00", b""),
        ("POST", "/notify", b"pid=1&money=1.00&"),
        ("POST", "/epay", b"pid=1&money=1.00"),
        ("GET", "/notify?pid=1&money=1.00", b""),
    ]
    assert got[0].head.headers.get("user-agent") == "t"
    assert got[0].head.headers.items() == [("Host", "x"), ("User-Agent", "t")]
    assert not reader.started and not reader.held


@pytest.mark.parametrize("version, connection, keep_alive", [
    ("HTTP/1.1", None, True), ("HTTP/1.1", "close", False), ("HTTP/1.0", None, False),
    ("HTTP/1.0", "keep-alive", True), ("HTTP/1.1", "Close", False),
])
def test_keep_alive_follows_the_version_and_the_connection_header(version, connection,
                                                                  keep_alive):
    extra = f"Connection: {connection}\r\n" if connection else ""
    [request], _ = read_all(f"GET /n?a=1 {version}\r\n{extra}\r\n".encode(), piece=1000)
    assert request.head.keep_alive is keep_alive


def test_bare_newlines_end_lines_too():
    [request], _ = read_all(b"GET /n?a=1 HTTP/1.1\nHost: x\n\n", piece=3)
    assert request.head.headers.get("Host") == "x"


@pytest.mark.parametrize("data, status", [
    (b"GET /" + b"a" * 70_000, 414),
    (b"GET /n HTTP/1.1\r\nX: " + b"y" * 70_000, 431),
    (b"GET /n HTTP/1.1\r\n" + b"X: y\r\n" * 101, 431),
    (b"GET /n HTTP/1.1\r\n" + b"X: y\r\n" * 101 + b"\r\n", 431),
    (b"GET /n\r\n", 400),
    (b"GET /n HTTP/x.y\r\n", 400),
    (b"GET /n HTTP/2.0\r\n", 505),
    (b"GET /n HTTP/1.1\r\n folded: x\r\n\r\n", 400),
    (b"GET /n HTTP/1.1\r\nno colon\r\n\r\n", 400),
    (b"DELETE /n HTTP/1.1\r\n\r\n", 405),
    (b"POST /n HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400),
    (b"POST /n HTTP/1.1\r\nContent-Length: 65537\r\n\r\n", 413),
    (b"POST /n HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400),
    (b"POST /n HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n" + b"1" * 2000, 400),
    (b"POST /n HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcXY", 400),
    (b"POST /n HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n10001\r\n", 413),
    (b"POST /n HTTP/1.1\r\nContent-Length: \xb2\r\n\r\n", 400),  # '²' is a digit to isdigit
    (b"POST /n HTTP/1.1\r\nContent-Length: " + b"9" * 5000 + b"\r\n\r\n", 413),
    (b"GET /n HTTP/1.\xb9\r\n", 400),
    (b"POST /n HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", 400),
    (b"POST /n HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", 501),
    (b"POST /n HTTP/1.1\r\nExpect: 200-ok\r\n\r\n", 417),
    (b"GET /n HTTP/1.1\r\n" + b"X: " + b"y" * 60_000 + b"\r\nZ: " + b"y" * 70_000, 431),
    (b"GET /n HTTP/1.1\r\n" + (b"X: " + b"y" * 60_000 + b"\r\n") * 3 + b"\r\n", 431),
    (b"POST /n HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n-2\r\n", 400),
    (b"POST /n HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0x5\r\n", 400),
    (b"POST /n HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1_0\r\n", 400),
    (b"POST /n HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n" + b"T: x\r\n" * 101, 431),
    (b"POST /n HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n", 501),
    (b"GET\x1c/n\x1cHTTP/1.1\r\n\r\n", 400),  # only a space separates the request line
    (b"POST /n HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n" + b"1\r\na\r\n" * 4097, 400),
])
def test_what_breaks_the_rules_or_the_bounds_is_refused_with_its_status(data, status):
    with pytest.raises(Refusal) as refused:
        read_all(data, piece=4096)
    assert refused.value.status == status and refused.value.message


def test_framing_that_can_be_read_two_ways_is_made_safe():
    [request], _ = read_all(b"POST /n HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 3\r\n"
                            b"\r\na=1", piece=4096)  # the same length twice: one reading
    assert request.body == b"a=1" and request.head.keep_alive
    [request], _ = read_all(b"POST /n HTTP/1.1\r\nContent-Length: 99\r\nTransfer-Encoding: "
                            b"chunked\r\n\r\n3\r\na=1\r\n0\r\n\r\n", piece=4096)
    assert request.body == b"a=1" and not request.head.keep_alive  # chunked wins; then close


def test_an_upgrade_is_ignored_and_the_connection_read_on_as_http_1_1():
    got, _ = read_all(b"GET /n?a=1 HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"
                      b"POST /n HTTP/1.1\r\nUpgrade: h2c\r\nConnection: Upgrade, HTTP2-Settings"
                      b"\r\nContent-Length: 3\r\n\r\na=1GET /n?b=2 HTTP/1.1\r\n\r\n", piece=4096)
    assert [(r.head.method, r.head.target, r.body) for r in got] == [
        ("GET", "/n?a=1", b""), ("POST", "/n", b"a=1"), ("GET", "/n?b=2", b"")]


def test_a_chunked_body_is_read_on_from_where_it_stopped():
    reader = RequestReader(65536)
    reader.feed(b"POST /n HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\na=1\r\n")
    assert reader.next() is None
    reader.feed(b"4\r\n&b=2\r\n0\r\nT: 1\r\n")
    assert reader.next() is None
    reader.feed(b"\r\nGET /next?x=1 HTTP/1.1\r\n\r\n")
    assert reader.next().body == b"a=1&b=2"
    assert reader.next().head.target == "/next?x=1"


def test_the_limits_are_inclusive():
    head = b"POST /n HTTP/1.1\r\n" + b"X: y\r\n" * 100 + b"Content-Length: 10\r\n\r\n"
    with pytest.raises(Refusal):  # the 101st header
        read_all(head + b"0123456789", piece=4096)
    ok = b"POST /n HTTP/1.1\r\n" + b"X: y\r\n" * 99 + b"Content-Length: 10\r\n\r\n0123456789"
    [request], _ = read_all(ok, piece=4096)
    assert len(request.head.headers) == 100
    [request], _ = read_all(b"POST /n HTTP/1.1\r\nContent-Length: 10\r\n\r\n0123456789",
                            piece=4096, max_body=10)
    assert request.body == b"0123456789"


def test_a_request_that_stops_arriving_says_how_far_it_got():
    cases = [
        (b"GET /notify?pid", False, 400, "the request line ended before it was complete"),
        (b"GET /notify?pid=1 HTTP/1.1\r\nHo", True, 408,
         "the headers did not arrive within 2.5 s"),
        (b"POST /notify HTTP/1.1\r\nContent-Length: 9\r\n\r\npid", True, 408,
         "the body ended after 3 of 9 bytes (read deadline)"),
        (b"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", False, 400,
         "the chunked body ended early"),
    ]
    for data, cut, status, message in cases:
        _, reader = read_all(data, piece=5)
        assert reader.started
        refusal = reader.stopped(cut=cut, timeout=2.5)
        assert (refusal.status, refusal.message) == (status, message)
        assert refusal.kind == ("timeout" if cut else "bad_request")
    assert reader.path_guess() == "/x"


def test_100_continue_is_asked_for_once_and_only_by_http_1_1():
    reader = RequestReader(65536)
    reader.feed(b"POST /n HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n")
    assert reader.next() is None
    assert reader.needs_continue() and not reader.needs_continue()
    reader.feed(b"a=1")
    assert reader.next().body == b"a=1"
    reader.feed(b"POST /n HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n")
    assert reader.next() is None and not reader.needs_continue()


def test_a_too_large_body_is_refused_before_the_go_ahead():
    reader = RequestReader(1024)
    reader.feed(b"POST /n HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2048\r\n\r\n")
    with pytest.raises(Refusal) as refused:
        reader.next()
    assert (refused.value.status, refused.value.size, refused.value.kind) == \
        (413, 2048, "too_large")


# ---- the masker's shortcuts -----------------------------------------------------------------


def test_the_verdict_is_masked_wherever_the_key_appears_and_kept_whole_otherwise():
    masker = Masker((KEY,))
    clean = {"reason": "sign matches", "diagnosis": {"tried": ["a", "b"]}}
    assert masker.anything(clean) is clean  # nothing to mask: not even copied
    leaked = {"diagnosis": {"signed": [f"money=1&key={KEY}"]}, "n": 1}
    masked = masker.anything(leaked)
    assert KEY not in str(masked) and "89un…UJ8i" in str(masked) and masked["n"] == 1



def test_an_answer_body_is_kept_as_it_is_unless_it_echoes_a_secret():
    params = {"pid": "1", "api_key": "AnotherSecretValue123"}
    masker = Masker((KEY,))
    body = "success"
    assert masker.anything(body, params) is body
    for secret in (KEY, "AnotherSecretValue123"):
        shown = masker.anything(f"fail: got key {secret}", params)
        assert secret not in shown and shown.startswith("fail: got key ")

@pytest.mark.parametrize("secret", ['quote"d-secret-value', "back\\slash-secret", "tab\tsecret1"])
def test_secrets_json_would_escape_are_still_found(secret):
    masked = Masker((secret,)).anything({"text": f"before {secret} after"})
    assert secret not in masked["text"]


def test_a_key_named_field_of_the_request_is_masked_in_the_verdict_too():
    params = {"pid": "1", "api_key": "AnotherSecretValue123"}
    masker = Masker((KEY,))
    assert not masker.plain(params)
    assert masker.plain({"pid": "1", "money": "1.00"})
    assert not masker.plain({"pid": "1", "param": f"x{KEY}"})
    shown = masker.anything({"quoted": "api_key=AnotherSecretValue123"}, params)
    assert "AnotherSecretValue123" not in shown["quoted"]


def test_raw_bytes_are_rewritten_only_when_they_hold_something_to_mask():
    masker = Masker((KEY,))
    raw = b"pid=1&money=1.00"
    params = {"pid": "1", "money": "1.00"}
    assert masker.raw(raw, params) is raw
    assert masker.raw(raw, params, plain=True) is raw
    leaked = b"pid=1&note=" + KEY.encode()
    assert KEY.encode() not in masker.raw(leaked, {"pid": "1", "note": KEY}, plain=False)
    assert KEY.encode() not in masker.raw(leaked, None)


def test_a_refusal_quoting_the_request_never_quotes_a_key_cut_short():
    for data in (b"GET /n HTTP/1.1\r\n" + b"x" * 20 + KEY.encode() + b"\r\n\r\n",  # no colon
                 b"GET /" + b"x" * 60 + KEY.encode() + b" HTTP/1.1 extra\r\n\r\n"):
        with pytest.raises(Refusal) as refused:
            read_all(data, piece=4096)
        told = refused.value.told(Masker((KEY,)).text)  # as the listener words it
        assert KEY[:12] not in told and "…" in told
    with pytest.raises(Refusal) as refused:  # a key alone is masked by its shape already
        read_all(b"GET /n HTTP/1.1\r\nx " + KEY.encode() + b"\r\n\r\n", piece=4096)
    assert KEY[:12] not in refused.value.message


def test_a_chunked_body_keeps_only_the_chunk_being_read_in_the_buffer():
    reader = RequestReader(65536)
    reader.feed(b"POST /n HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n")
    assert reader.next() is None and reader.held == 0
    for _ in range(1000):
        reader.feed(b"1;ext=" + b"e" * 500 + b"\r\na\r\n")
        assert reader.next() is None
    assert reader.held == 1000  # the data only: the framing read is gone
    reader.feed(b"0\r\n\r\n")
    assert reader.next().body == b"a" * 1000


# ---- the engine without a socket: request in, (record, answer, event) out ------------------


@pytest.fixture
def engine(tmp_path):
    from epaycli.core.signing import Keys, Md5Key
    from epaycli.listener.journal import Journal
    from epaycli.listener.server import Reply, _Engine

    made = _Engine(keys=Keys(md5=Md5Key(KEY)), journal=Journal(tmp_path / "j.sqlite3"),
                   path="/notify", pid="1001", reply=Reply(), on_event=None, state=None,
                   clock=lambda: 1_764_560_000, read_timeout=10, max_body=65536,
                   secrets=(KEY,))
    yield made
    made.close()


def one_request(data: bytes):
    [request], _ = read_all(data, piece=len(data))
    request.client, request.received_at = "10.0.0.9", 1_764_560_000.25
    return request


def test_a_notify_is_handled_without_a_socket_or_the_journal(engine):
    from test_listen import notify

    from epaycli.core.php import http_build_query

    query = http_build_query(notify(3)).encode()
    outcome = engine.handle(one_request(b"GET /notify?" + query + b" HTTP/1.1\r\nHost: x\r\n\r\n"))
    assert (outcome.answer.status, outcome.answer.body, outcome.close) == (200, "success", False)
    assert outcome.record["kind"] == "notify" and outcome.record["valid"] is True
    assert outcome.record["client"] == "10.0.0.9" and outcome.record["query"] == query
    event = outcome.event.to_dict()
    assert (event["event"], event["id"], event["verdict"], event["trade_no"]) == \
        ("notify", None, "genuine", "2026120112000000003")
    assert event["time"] == "2025-12-01T03:33:20.250Z" and event["changed_fields"] == []
    again = engine.handle(one_request(b"GET /notify?" + http_build_query(notify(3, "3.00"))
                                      .encode() + b" HTTP/1.1\r\n\r\n"))
    assert again.event.duplicate_count == 1 and again.event.changed_fields == [
        {"name": "money", "before": "1", "after": "3"}]
    assert engine.journal.count() == 0  # handling writes nothing: serve() journals


def test_what_is_not_a_notify_is_handled_as_its_refusal(engine):
    health = engine.handle(one_request(b"GET /.epay-listen/health HTTP/1.1\r\n\r\n"))
    assert health.record is None and health.event is None
    assert health.answer.body == f"epay-listen {engine.health_token}"
    elsewhere = engine.handle(one_request(b"GET /other?pid=1 HTTP/1.1\r\n\r\n"))
    assert (elsewhere.answer.status, elsewhere.record["kind"], elsewhere.close) == \
        (404, "not_found", False)
    empty = engine.handle(one_request(b"GET /notify HTTP/1.1\r\nConnection: close\r\n\r\n"))
    assert (empty.answer.status, empty.event.name, empty.close) == (400, "bad_request", True)
    with pytest.raises(Refusal) as refused:
        read_all(b"GET /n HTTP/1.1\r\nX-" + KEY.encode() + b" 1\r\n\r\n", piece=100)
    outcome = engine.refused(refused.value, client="10.0.0.9")
    assert outcome.answer.status == 400 and outcome.record["verdict"] == "malformed"
    assert KEY not in outcome.record["reason"] and KEY not in outcome.answer.body
