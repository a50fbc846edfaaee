"""The listener engine over real HTTP on 127.0.0.1: judging, journaling before answering,
duplicates, forwarding to real handlers, masking, and bad input of every kind."""

from __future__ import annotations

import concurrent.futures
import json
import socket
import sqlite3
import threading
import time
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from conftest import load_vectors

from epaycli.core.errors import ConfigError, InputError
from epaycli.core.notify import PaidOrder, notify_fields, signed_notify
from epaycli.core.php import http_build_query
from epaycli.core.signing import Keys, Md5Key, RsaKeys, load_private_key, load_public_key
from epaycli.listener.server import ListenError, start_listener
from epaycli.state import LocalState, RecordedOrder

KEY = "89unJUB8HZ54Hj7x4nUj56HN4nUzUJ8i"
NOW = 1_764_560_000


def order(number: int = 1, money: str = "1.00", **changes) -> PaidOrder:
    fields = {"pid": "1001", "trade_no": f"20261201120000{number:05d}", "out_trade_no": f"ORD{number}",
              "type": "alipay", "name": "product", "money": Decimal(money)}
    fields.update(changes)
    return PaidOrder(**fields)


def notify(number: int = 1, money: str = "1.00", *, key: str = KEY, **changes) -> dict[str, str]:
    return signed_notify(notify_fields(order(number, money, **changes)), Md5Key(key))


class Events(list):
    """Collects the listener's events as their JSON (``to_dict()``; the typed ones in
    ``typed``); wait() until some arrived."""

    def __init__(self) -> None:
        super().__init__()
        self.typed: list = []

    def append(self, event) -> None:
        self.typed.append(event)
        super().append(event.to_dict())

    def wait(self, count: int, timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        while len(self) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(self) >= count, self

    def of(self, name: str) -> list[dict]:
        return [e for e in self if e["event"] == name]


def wait_for(condition, timeout: float = 5, what: str = "") -> None:
    """Until ``condition()`` holds (a test waits for what it asserts, never for time)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"waited {timeout:g} s for {what or condition}"
        time.sleep(0.01)


@pytest.fixture
def journal_path(tmp_path) -> Path:
    return tmp_path / "journal.sqlite3"


@pytest.fixture
def events() -> Events:
    return Events()


@pytest.fixture
def listen(journal_path, events):
    """Start a listener (closed after the test, also when it fails)."""
    started = []

    def start(**options):
        options.setdefault("keys", Keys(md5=Md5Key(KEY)))
        options.setdefault("journal", journal_path)
        options.setdefault("on_event", events.append)
        listener = start_listener(**options)
        started.append(listener)
        return listener

    yield start
    for listener in started:
        listener.close()


def rows(path: Path) -> list[dict]:
    with sqlite3.connect(path) as db:
        db.row_factory = sqlite3.Row
        return [dict(r) for r in db.execute("SELECT * FROM requests ORDER BY id")]


def raw_exchange(port: int, data: bytes, *, timeout: float = 5,
                 answers: int | None = None) -> bytes:
    """Send bytes on a fresh connection; everything the server wrote until it closed (or,
    with ``answers``, until that many whole answers came: a connection kept alive is not
    waited out)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        got = b""
        while answers is None or whole_answers(got) < answers:
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                break
            if not chunk:
                break
            got += chunk
    return got


def whole_answers(data: bytes) -> int:
    """How many whole HTTP answers (head and Content-Length body) ``data`` holds."""
    count = 0
    while (end := data.find(b"\r\n\r\n")) >= 0:
        head = data[:end].lower()
        length = int(head.split(b"content-length:")[1].split(b"\r\n")[0]) \
            if b"content-length:" in head else 0
        if len(data) < end + 4 + length:
            break
        data, count = data[end + 4 + length:], count + 1
    return count


# ---- judging ------------------------------------------------------------------------------


def test_a_genuine_get_notify_is_answered_success_and_journaled_first(listen, events,
                                                                      journal_path):
    listener = listen(pid="1001")
    response = httpx.get(listener.url, params=notify())
    assert response.status_code == 200 and response.text == "success"
    events.wait(1)
    event = events[0]
    assert event["event"] == "notify" and event["valid"] is True
    assert event["verdict"] == "genuine" and event["reason"] == ""
    assert event["trade_no"] == "2026120112000000001" and event["out_trade_no"] == "ORD1"
    assert event["money"] == "1" and event["type"] == "alipay" and event["method"] == "GET"
    assert event["answer"] == "success" and event["delivered"] is True
    assert event["duplicate_count"] == 0 and event["check"]["signature_valid"] is True
    [row] = rows(journal_path)
    assert row["id"] == event["id"] and row["verdict"] == "genuine" and row["valid"] == 1
    assert row["answer"] == "success" and row["method"] == "GET" and row["path"] == "/notify"
    assert b"sign=" in row["query"] and json.loads(row["report"])["valid"] is True
    assert KEY not in json.dumps(event) and KEY not in json.dumps(row, default=str)


def test_post_form_and_json_bodies_are_read_like_the_query(listen, events):
    listener = listen()
    assert httpx.post(listener.url, data=notify(2)).text == "success"
    assert httpx.post(listener.url, json=notify(3)).text == "success"
    events.wait(2)
    assert [e["method"] for e in events] == ["POST", "POST"]
    assert all(e["valid"] for e in events)


def test_a_wrong_sign_is_answered_fail_with_the_reason(listen, events):
    listener = listen()
    forged = notify(key="x" * 32)
    assert httpx.get(listener.url, params=forged).text == "fail"
    tampered = notify()
    tampered["money"] = "100"
    assert httpx.get(listener.url, params=tampered).text == "fail"
    events.wait(2)
    assert [e["verdict"] for e in events] == ["bad_signature", "bad_signature"]
    assert all("does not match" in e["reason"] and e["delivered"] is False for e in events)


def test_amount_is_checked_against_the_order_epay_recorded(listen, events, tmp_path):
    state = LocalState(tmp_path / "state.sqlite3")
    state.record_order(RecordedOrder("http://gw/", "1001", "ORD7", "", Decimal("7.00"), "n",
                                     "alipay", NOW))
    listener = listen(state=state, pid="1001")
    assert httpx.get(listener.url, params=notify(7, "7.00")).text == "success"
    # genuinely signed, but for another amount than the order: rejected, not credited
    assert httpx.get(listener.url, params=notify(7, "0.01")).text == "fail"
    events.wait(2)
    assert events[0]["valid"] and events[0]["order_amount"] == "7.00"
    assert events[1]["verdict"] == "rejected" and "tampered" in events[1]["reason"]
    assert events[1]["check"]["problems"][0]["code"] == "amount_mismatch"


def test_an_order_recorded_while_listening_is_checked_from_the_next_notify(listen, events,
                                                                           tmp_path):
    state = LocalState(tmp_path / "state.sqlite3")
    listener = listen(state=state, pid="1001")
    assert httpx.get(listener.url, params=notify(8, "0.01")).text == "success"  # not recorded
    # `epay order create` in another process, while the listener holds the orders in memory
    LocalState(state.path).record_order(RecordedOrder("http://gw/", "1001", "ORD8", "",
                                                      Decimal("8.00"), "n", "alipay", NOW))
    assert httpx.get(listener.url, params=notify(8, "0.01")).text == "fail"
    assert httpx.get(listener.url, params=notify(8, "8.00")).text == "success"
    events.wait(3)
    assert [e["order_amount"] for e in events] == [None, "8.00", "8.00"]
    assert events[1]["check"]["problems"][0]["code"] == "amount_mismatch"


def test_a_batch_of_events_is_put_out_before_any_of_its_answers(listen, events):
    inside, leave = threading.Event(), threading.Event()
    seen_at_flush: list[int] = []

    def out():  # the renderer's one flush a batch: hold it to see what has happened by then
        seen_at_flush.append(len(events))
        inside.set()
        assert leave.wait(30)

    listener = listen(on_events_out=out)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        answer = pool.submit(httpx.get, listener.url, params=notify(9), timeout=30)
        assert inside.wait(30)
        assert seen_at_flush == [1]  # the event was said before the flush
        assert not answer.done()  # and no answer is written until the flush returns
        leave.set()
        assert answer.result().text == "success"


def test_an_on_events_out_that_raises_breaks_nothing(listen, events, capfd):
    def broken():
        raise RuntimeError("renderer bug")

    listener = listen(on_events_out=broken)
    with httpx.Client(timeout=5) as client:
        assert [client.get(listener.url, params=notify(n)).text for n in (1, 2)] == \
            ["success"] * 2
    assert len(events) == 2 and "renderer bug" not in capfd.readouterr().err


def test_pid_and_trade_status_are_checked(listen, events):
    listener = listen(pid="1001")
    assert httpx.get(listener.url, params=notify(pid="2002")).text == "fail"
    other = signed_notify(notify_fields(order(), trade_status="WAIT_BUYER_PAY"), Md5Key(KEY))
    assert httpx.get(listener.url, params=other).text == "fail"
    events.wait(2)
    assert [e["check"]["problems"][0]["code"] for e in events] == ["pid_mismatch", "not_paid"]


def test_v2_notifies_are_checked_with_the_platform_public_key(listen, events):
    vectors = load_vectors("v2-rsa")
    platform = load_private_key(vectors["platform_private_key_pem"])
    public = load_public_key(vectors["platform_public_key_pem"])
    listener = listen(keys=Keys(rsa=RsaKeys(public=public)), clock=lambda: NOW)
    fields = notify_fields(order(api_trade_no="4200001", buyer="buyer@x"))
    good = signed_notify(fields, RsaKeys(private=platform), now=NOW)
    assert httpx.get(listener.url, params=good).text == "success"
    stale = signed_notify(fields, RsaKeys(private=platform), now=NOW - 3600)
    assert httpx.get(listener.url, params=stale).text == "fail"
    md5 = notify()
    assert httpx.get(listener.url, params=md5).text == "fail"  # no MD5 key configured
    events.wait(3)
    assert events[0]["valid"] and events[0]["sign_type"] == "RSA"
    assert events[1]["check"]["problems"][0]["code"] == "timestamp_outside_window"
    assert events[2]["reason"].startswith("cannot verify")


@pytest.mark.parametrize("case", load_vectors("real-notifies")["cases"],
                         ids=lambda c: f"{c['id']}-{c['expect']}")
def test_notifies_captured_from_a_real_server_are_judged_as_expected(case, listen, events):
    listener = listen(keys=Keys(md5=Md5Key(case["key"])), path=None)
    headers = "".join(f"{k}: {v}\r\n" for k, v in case["headers"].items())
    answer = raw_exchange(listener.port,
                          f"{case['method']} {case['path']} HTTP/1.1\r\n{headers}\r\n".encode())
    events.wait(1)
    event = events[0]
    if case["expect"] == "genuine":
        assert answer.endswith(b"success") and event["valid"], event["reason"]
    else:
        assert answer.endswith(b"fail") and not event["valid"]
        assert event["check"]["diagnosis"]["mistake"] == case["expect"]
    assert case["key"] not in json.dumps(event)  # genuine or not, the verdict never quotes it


# ---- duplicates ---------------------------------------------------------------------------


def test_duplicates_are_counted_and_a_changed_copy_is_flagged(listen, events):
    listener = listen()
    first = notify(5)
    for _ in range(3):
        assert httpx.get(listener.url, params=first).text == "success"
    changed = notify(5, "500.00")  # same trade_no, genuinely signed, other content
    httpx.get(listener.url, params=changed)
    events.wait(4)
    assert [e["duplicate_count"] for e in events] == [0, 1, 2, 3]
    assert [e["content_changed"] for e in events] == [False, False, False, True]


def test_a_changed_copy_names_the_fields_it_changed_everywhere(listen, events, journal_path,
                                                               cli):
    """(issue 14.5) A real retry differed only in ``name`` (the operator switched 回调参数去除
    商品名称 between sends): the event, the terminal line, the journal and ``events show`` say
    which field changed and how."""
    from epaycli.cli.listen import notify_line

    listener = listen()
    assert httpx.get(listener.url, params=notify(5)).text == "success"
    assert httpx.get(listener.url, params=notify(5, name="无类型")).text == "success"
    fields = notify_fields(order(5, name="无类型"))
    resent = signed_notify({k: v for k, v in fields.items() if k != "type"}, Md5Key(KEY))
    assert httpx.get(listener.url, params=resent).text == "success"
    events.wait(3)
    assert [e["changed_fields"] for e in events] == [
        [], [{"name": "name", "before": "product", "after": "无类型"}],
        [{"name": "type", "before": "alipay", "after": None},
         {"name": "name", "before": "product", "after": "无类型"}]]
    line, style = notify_line(events.typed[1])
    assert "duplicate #2 CONTENT CHANGED (attack or bug): name: product → 无类型" in line
    assert style == "bad"
    assert "type: alipay → (absent); name: product → 无类型" in notify_line(events.typed[2])[0]
    stored = [json.loads(r["changed_fields"]) for r in rows(journal_path)]
    assert stored == [e["changed_fields"] for e in events]
    listener.close()
    shown = cli("events", "show", str(events[1]["id"]), "--journal", str(journal_path))
    assert "CONTENT CHANGED: name: product → 无类型" in shown.stdout
    document = json.loads(cli("events", "show", str(events[1]["id"]), "--journal",
                              str(journal_path), "--json").stdout)
    assert document["changed_fields"] == events[1]["changed_fields"]


def test_the_first_copy_is_known_after_a_restart_and_an_old_journal_is_upgraded(
        journal_path, events):
    keys = Keys(md5=Md5Key(KEY))
    with start_listener(keys=keys, journal=journal_path) as listener:
        httpx.get(listener.url, params=notify(8))
    with sqlite3.connect(journal_path) as db:  # as the first schema wrote it
        db.execute("ALTER TABLE requests DROP COLUMN changed_fields")
        db.execute("ALTER TABLE requests DROP COLUMN words")
        db.execute("PRAGMA user_version = 1")
    with start_listener(keys=keys, journal=journal_path, on_event=events.append) as listener:
        assert httpx.get(listener.url, params=notify(8, "8.00")).text == "success"
        events.wait(1)
    assert events[0]["changed_fields"] == [{"name": "money", "before": "1", "after": "8"}]
    assert [r["changed_fields"] for r in rows(journal_path)] == [
        None, json.dumps(events[0]["changed_fields"])]


def test_the_first_copies_kept_are_bounded():
    from epaycli.listener.judge import Duplicates

    duplicates = Duplicates(keep=2)
    for number in range(3):
        duplicates.note(f"T{number}", "a", {"money": "1"})
    forgotten, kept = duplicates.note("T0", "b", {"money": "2"}), duplicates.note("T2", "b", {})
    assert (forgotten.count, forgotten.changed, forgotten.first) == (1, True, None)
    assert (kept.count, kept.changed, kept.first) == (1, True, {"money": "1"})


def test_duplicate_counts_survive_a_restart(journal_path, events):
    keys = Keys(md5=Md5Key(KEY))
    with start_listener(keys=keys, journal=journal_path) as listener:
        httpx.get(listener.url, params=notify(9))
    with start_listener(keys=keys, journal=journal_path, on_event=events.append) as listener:
        assert httpx.get(listener.url, params=notify(9)).text == "success"
        events.wait(1)
    assert events[0]["duplicate_count"] == 1 and not events[0]["content_changed"]


def genuine_from_threads(url: str, *, threads: int, each: int):
    """Start ``threads`` senders of ``each`` genuine notifies (every one for its own order);
    returns the answers as they come and a function that waits for the senders."""
    answers: list[str] = []

    def send(start: int) -> None:
        with httpx.Client() as client:
            for number in range(start, start + each):
                answers.append(client.get(url, params=notify(number)).text)

    started = [threading.Thread(target=send, args=(n * 100,)) for n in range(threads)]
    for thread in started:
        thread.start()

    def join() -> None:
        for thread in started:
            thread.join(60)

    return answers, join


def test_many_notifies_at_once_are_all_answered_and_journaled(listen, events, journal_path):
    listener = listen()
    answers, join = genuine_from_threads(listener.url, threads=8, each=25)
    join()
    events.wait(200)
    assert answers.count("success") == 200
    assert len(rows(journal_path)) == 200 == len({e["id"] for e in events})


def test_notifies_read_together_are_committed_together(listen, events, monkeypatch):
    """(issue 16.1) Group commit: the notifies the loop reads in one turn reach the journal's
    writer together and share one commit (one fsync). Handed over one by one, the writer took
    the first as soon as the loop let go of the GIL and committed batches of one or two; an
    fsync costs as much CPU as judging a notify."""
    from epaycli.listener.journal import Journal

    batches: list[int] = []
    real_commit = Journal._commit

    def counted(self, batch):
        batches.append(len(batch))
        return real_commit(self, batch)

    monkeypatch.setattr(Journal, "_commit", counted)
    listener = listen()
    connections = [socket.create_connection(("127.0.0.1", listener.port), timeout=10)
                   for _ in range(32)]
    try:
        def send_one_each(first: int) -> None:
            for number, connection in enumerate(connections, start=first):
                connection.sendall(b"GET /notify?" + http_build_query(notify(number)).encode()
                                   + b" HTTP/1.1\r\nHost: x\r\n\r\n")

        def read_answers() -> list[bytes]:
            answers = []
            for connection in connections:
                got = b""
                while whole_answers(got) < 1:
                    got += connection.recv(65536)
                answers.append(got.rpartition(b"\r\n\r\n")[2])
            return answers

        send_one_each(1)  # every connection accepted and served once
        assert read_answers() == [b"success"] * 32
        loop_waits, loop_free = threading.Event(), threading.Event()

        def hold_the_loop() -> None:
            loop_waits.set()
            loop_free.wait(10)

        listener._runner.loop.call_soon_threadsafe(hold_the_loop)
        assert loop_waits.wait(10)
        batches.clear()
        send_one_each(33)  # 32 notifies arrive while the loop waits: its next turn reads all
        loop_free.set()
        assert read_answers() == [b"success"] * 32
    finally:
        for connection in connections:
            connection.close()
    assert batches == [32]
    events.wait(64)
    assert len({event["id"] for event in events}) == 64


def test_a_record_is_stored_column_by_column(tmp_path):
    """Each value lands in its own column, in the form readers expect (JSON text, raw bytes,
    0/1); what a record leaves out is stored as '' (NULL where a column allows it)."""
    from epaycli.listener.journal import COLUMNS, Journal

    json_values = {"headers": [["Host", "x"]], "params": {"pid": "1001"},
                   "report": {"valid": False}, "forward": {"url": "http://shop/"},
                   "timings": {"judge_ms": 1.5}, "changed_fields": [{"name": "money"}],
                   "words": {"bad": {"id": "x.bad", "template": "bad", "fields": {}}}}
    record = {name: f"<{name}>" for name in COLUMNS} | json_values | {
        "received_at": 1_764_560_000.5, "query": b"a=1", "body": b"b=2", "body_size": 3,
        "valid": True, "duplicate_count": 2, "content_changed": False, "answer_status": 201,
        "delivered": True, "order_amount": "1.00"}
    stored = {name: json.dumps(value, ensure_ascii=False) for name, value in json_values.items()}
    expected = record | stored | {"valid": 1, "content_changed": 0, "delivered": 1}
    committed = []
    with Journal(tmp_path / "j.sqlite3") as journal:
        journal.append(record, done=lambda *outcome: committed.append(outcome))
        journal.append({"received_at": 1.0, "headers": [], "timings": {}},
                       done=lambda *outcome: committed.append(outcome))
    assert committed == [(1, None), (2, None)]
    full, sparse = rows(tmp_path / "j.sqlite3")
    assert {name: full[name] for name in COLUMNS} == expected
    assert {name for name in COLUMNS if sparse[name] is None} == {
        "order_amount", "params", "report", "forward", "changed_fields", "words"}
    assert (sparse["headers"], sparse["timings"]) == ("[]", "{}")
    assert all(sparse[name] in ("", b"") for name in COLUMNS
               if name not in ("received_at", "order_amount", *json_values))


@pytest.mark.parametrize("stamp", [
    0, 1_764_560_000.25, 1_764_560_000.9995, 1_764_560_000.9999996, 1.0000005, -0.5,
    -1.0000004, -62_135_596_800.0, 253_402_300_799.999, True])
def test_times_are_written_as_datetime_writes_them(stamp):
    """iso_time keeps the text of the last whole second: the same text as isoformat, also
    where a fraction rounds up into the next second, before 1970, and in year 1 or 9999."""
    from datetime import UTC, datetime

    from epaycli.listener.journal import iso_time

    expected = datetime.fromtimestamp(stamp, UTC).isoformat(timespec="milliseconds")
    for _ in range(2):  # the second time from the kept second
        assert iso_time(stamp) == expected.replace("+00:00", "Z")
    for damaged in (float("nan"), float("inf"), 10.0**20, "1", None):
        with pytest.raises((TypeError, ValueError, OverflowError)):
            iso_time(damaged)


# ---- answers ------------------------------------------------------------------------------


@pytest.mark.parametrize("reply, genuine_answer, forged_answer", [
    ("success", (200, "success"), (200, "success")),
    ("fail", (200, "fail"), (200, "fail")),
    ("status:500", (500, "success"), (500, "fail")),
])
def test_reply_simulates_a_merchant(reply, genuine_answer, forged_answer, listen, events):
    listener = listen(reply=reply)
    got = httpx.get(listener.url, params=notify())
    assert (got.status_code, got.text) == genuine_answer
    got = httpx.get(listener.url, params=notify(key="y" * 32))
    assert (got.status_code, got.text) == forged_answer
    events.wait(2)
    assert events[0]["valid"] and not events[1]["valid"]  # the verdict is still honest


def test_reply_timeout_answers_after_the_gateway_gave_up_but_journals_first(listen,
                                                                            journal_path):
    listener = listen(reply="timeout")
    with pytest.raises(httpx.ReadTimeout):
        httpx.get(listener.url, params=notify(), timeout=1)
    assert [r["answered_by"] for r in rows(journal_path)] == ["reply"]


def test_unknown_reply_is_refused(journal_path):
    with pytest.raises(InputError):
        start_listener(keys=Keys(md5=Md5Key(KEY)), journal=journal_path, reply="maybe")
    with pytest.raises(InputError):
        start_listener(keys=Keys(md5=Md5Key(KEY)), journal=journal_path, path="no-slash")
    # refused before anything was opened: no journal writer is left running
    assert [t.name for t in threading.enumerate() if t.name.startswith("epay-")] == []


# ---- forwarding ---------------------------------------------------------------------------


class Handler:
    """A real local shop handler: records what it got, answers as told."""

    def __init__(self, status: int = 200, body: str = "success", delay: float = 0) -> None:
        self.received: list[dict] = []
        handler = self

        class Serve(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                handler.received.append({"method": self.command, "path": self.path,
                                         "body": self.rfile.read(length),
                                         "headers": dict(self.headers)})
                time.sleep(delay)
                data = body.encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass

            do_GET = do_POST = _any

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Serve)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/epay/notify"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def handler():
    made = []

    def make(**options) -> Handler:
        made.append(Handler(**options))
        return made[-1]

    yield make
    for one in made:
        one.close()


def test_forward_passes_the_notify_unchanged_and_answers_with_the_handler(listen, events,
                                                                         handler):
    shop = handler(body="success")
    listener = listen(forward_to=shop.url)
    sent = notify()
    assert httpx.get(listener.url, params=sent, headers={"User-Agent": "Gateway/1"}).text == \
        "success"
    assert httpx.post(listener.url, data=sent).text == "success"
    events.wait(2)
    got_get, got_post = shop.received
    assert got_get["method"] == "GET" and got_get["path"] == "/epay/notify?" + \
        http_build_query(sent)
    assert got_get["headers"]["User-Agent"] == "Gateway/1"
    assert got_post["method"] == "POST" and got_post["body"] == http_build_query(sent).encode()
    forward = events[0]["forward"]
    assert forward["status"] == 200 and forward["body"] == "success" and forward["delivered"]
    assert events[0]["answered_by"] == "forward"


def test_a_failing_handler_is_flagged_and_its_answer_returned(listen, events, handler):
    shop = handler(status=500, body="Internal Server Error")
    listener = listen(forward_to=shop.url)
    got = httpx.get(listener.url, params=notify())
    assert (got.status_code, got.text) == (500, "Internal Server Error")
    events.wait(1)
    assert events[0]["valid"] and events[0]["forward"]["delivered"] is False
    assert events[0]["delivered"] is False


def test_a_slow_handler_is_cut_off_like_the_gateway_would(listen, events, handler,
                                                          journal_path):
    shop = handler(delay=2)
    listener = listen(forward_to=shop.url, forward_timeout=0.5)
    got = httpx.get(listener.url, params=notify(), timeout=10)
    assert got.status_code == 502 and "success" not in got.text
    events.wait(1)
    assert events[0]["forward"]["status"] is None
    assert "no answer within" in events[0]["forward"]["error"]
    assert len(rows(journal_path)) == 1


def test_a_handler_that_is_down_gets_a_clear_line_and_the_notify_is_journaled(listen, events,
                                                                              journal_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}/notify"
    listener = listen(forward_to=dead)
    got = httpx.get(listener.url, params=notify())
    assert got.status_code == 502 and "fail" in got.text
    events.wait(1)
    assert "refused" in events[0]["forward"]["error"]
    assert json.loads(rows(journal_path)[0]["forward"])["error"] == events[0]["forward"]["error"]


def test_a_forward_target_must_be_a_url(journal_path):
    with pytest.raises(InputError):
        start_listener(keys=Keys(md5=Md5Key(KEY)), journal=journal_path, forward_to="shop:80")


# ---- masking ------------------------------------------------------------------------------


def test_keys_in_requests_are_masked_before_they_are_stored_or_shown(listen, events,
                                                                     journal_path):
    listener = listen()
    sent = {**notify(), "key": KEY, "api_key": "AnotherSecretValue123"}
    httpx.get(listener.url, params=sent, headers={"Authorization": "Bearer " + "Z" * 40})
    httpx.post(listener.url, content=json.dumps({"pid": "1001", "key": KEY}),
               headers={"Content-Type": "application/json"})
    # the body is read (no pid in the query), but the query is stored too: masked as well
    httpx.post(listener.url + "?secret=AnotherSecretValue123", data=notify())
    events.wait(3)
    stored = b"".join(p.read_bytes() for p in journal_path.parent.glob("journal.sqlite3*"))
    shown = json.dumps(list(events))
    for secret in (KEY, "AnotherSecretValue123", "Z" * 40):
        assert secret.encode() not in stored and secret not in shown
    assert events[0]["params"]["key"] == "89un…UJ8i"
    assert events[0]["params"]["sign"] == sent["sign"]  # a sign is public: kept


def test_a_key_in_the_method_a_header_name_or_glued_into_the_request_line_is_masked(
        listen, events, journal_path):
    listener = listen()
    query = http_build_query(notify()).encode()
    for data in (KEY.encode() + b" /notify HTTP/1.1\r\n\r\n",  # 405
                 b"GET /notify?" + query + b" HTTP/1.1\r\nX-" + KEY.encode() + b": 1\r\n\r\n",
                 b"GET /x" + b"y" * 70 + KEY.encode() + b" HTTP/1.1 z\r\n\r\n"):  # cut at 80
        raw_exchange(listener.port, data, timeout=2)
    events.wait(3)
    listener.close()
    stored = b"".join(p.read_bytes() for p in journal_path.parent.glob("journal.sqlite3*"))
    for fragment in (KEY, KEY[:16], KEY[-16:]):
        assert fragment.encode() not in stored and fragment not in json.dumps(list(events))
    assert [r["answer_status"] for r in rows(journal_path)] == [405, 200, 400]


# ---- bad input ----------------------------------------------------------------------------


def test_an_oversized_body_gets_413_and_is_journaled(listen, events, journal_path):
    listener = listen()
    got = httpx.post(listener.url, content=b"a=" + b"x" * 70_000)
    assert got.status_code == 413
    answer = raw_exchange(listener.port, b"POST /notify HTTP/1.1\r\nHost: x\r\nContent-Length: "
                          b"999999\r\nExpect: 100-continue\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 413")
    kinds = [(r["kind"], r["answer_status"], r["body_size"]) for r in rows(journal_path)]
    assert kinds == [("too_large", 413, 70_002), ("too_large", 413, 999_999)]
    assert httpx.get(listener.url, params=notify()).text == "success"  # still serving


@pytest.mark.parametrize("request_bytes, status", [
    (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage\r\n\r\n", b"400"),  # TLS to http
    (b"GET /notify?pid=1%FF1&sign=x HTTP/1.1\r\nHost: x\r\n\r\n", b"400"),  # not UTF-8
    (b"GET /notify HTTP/1.1\r\nHost: x\r\n\r\n", b"400"),  # no parameters
    (b"GET /notify?pid=1&pid=2 HTTP/1.1\r\nHost: x\r\n\r\n", b"400"),  # a field twice
    (b"GET /notify?pid=1\r\n\r\n", b"400"),  # HTTP/0.9
    (b"PUT /notify?pid=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", b"405"),
    (b"GET /notify?pid=1 HTTP/2.0\r\n\r\n", b"505"),
    (b"GET /notify?pid=1 HTTP/1.1\r\nX: " + b"y" * 70_000 + b"\r\n\r\n", b"431"),
    (b"POST /notify HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n\xff\xfe", b"400"),
    (b"POST /notify HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n", b"400"),
    (b"POST /notify HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 5\r\n\r\n"
     b"{bad}", b"400"),
])
def test_malformed_requests_get_an_error_are_journaled_and_do_not_stop_the_server(
        request_bytes, status, listen, events, journal_path):
    listener = listen()
    answer = raw_exchange(listener.port, request_bytes, answers=1)
    assert answer.split(b" ")[1] == status, answer[:200]
    assert b"success" not in answer
    [row] = rows(journal_path)
    assert row["valid"] == 0 and row["verdict"] == "malformed" and row["reason"]
    assert row["answer_status"] == int(status)
    assert httpx.get(listener.url, params=notify()).text == "success"


def test_pipelined_requests_are_answered_in_order_on_one_connection(listen, events,
                                                                   journal_path):
    listener = listen()
    first, second = (http_build_query(notify(n)) for n in (31, 32))
    forged = http_build_query(notify(33, key="y" * 32))
    requests = b"".join(f"GET /notify?{q} HTTP/1.1\r\nHost: x\r\n\r\n".encode()
                        for q in (first, forged))
    last = f"\r\nGET /notify?{second} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    answer = raw_exchange(listener.port, requests + last.encode())  # a stray CRLF between
    bodies = [part.split(b"\r\n\r\n", 1)[1][:7] for part in answer.split(b"HTTP/1.1 ")[1:]]
    assert bodies == [b"success", b"fail", b"success"]
    assert [r["trade_no"] for r in rows(journal_path)] == \
        [order(n).trade_no for n in (31, 33, 32)]


def test_expect_100_continue_gets_the_go_ahead_then_the_answer(listen, events):
    listener = listen()
    body = http_build_query(notify()).encode()
    with socket.create_connection(("127.0.0.1", listener.port), timeout=5) as sock:
        sock.sendall(b"POST /notify HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                     b"Content-Type: application/x-www-form-urlencoded\r\n"
                     b"Content-Length: %d\r\n\r\n" % len(body))
        assert sock.recv(4096) == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(body)
        assert sock.recv(4096).endswith(b"\r\n\r\nsuccess")


def test_http_1_0_closes_after_the_answer_unless_asked_to_keep_alive(listen, events):
    listener = listen()
    query = http_build_query(notify()).encode()
    answer = raw_exchange(listener.port, b"GET /notify?" + query + b" HTTP/1.0\r\n\r\n")
    assert answer.endswith(b"success") and b"Connection: close" in answer
    with socket.create_connection(("127.0.0.1", listener.port), timeout=5) as sock:
        for _ in range(2):
            sock.sendall(b"GET /notify?" + query + b" HTTP/1.0\r\nConnection: keep-alive"
                         b"\r\n\r\n")
            reply = sock.recv(4096)
            assert reply.endswith(b"success") and b"Connection: close" not in reply


def test_a_request_cut_off_by_its_sender_is_journaled_as_incomplete(listen, events,
                                                                     journal_path):
    listener = listen()
    for partial in (b"GET /notify?pid=1", b"GET /notify?pid=1 HTTP/1.1\r\nHost: x\r\n",
                    b"POST /notify HTTP/1.1\r\nContent-Length: 50\r\n\r\npid=1",
                    b"POST /notify HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\npi"):
        with socket.create_connection(("127.0.0.1", listener.port), timeout=5) as sock:
            sock.sendall(partial)
            sock.shutdown(socket.SHUT_WR)
            assert sock.recv(4096).startswith(b"HTTP/1.1 400")
    reasons = [r["reason"] for r in rows(journal_path)]
    assert reasons == ["the request line ended before it was complete",
                       "the headers ended before they were complete",
                       "the body ended after 5 of 50 bytes", "the chunked body ended early"]
    assert httpx.get(listener.url, params=notify()).text == "success"


def test_a_chunked_body_is_read(listen, events):
    listener = listen()
    body = http_build_query(notify()).encode()
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + 50]), body[i:i + 50])
                      for i in range(0, len(body), 50))
    answer = raw_exchange(listener.port, b"POST /notify HTTP/1.1\r\nHost: x\r\nConnection: close"
                          b"\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks + b"0\r\n\r\n")
    assert answer.endswith(b"success")


def test_slowloris_partial_requests_are_cut_at_the_read_deadline(listen, events,
                                                                 journal_path):
    listener = listen(read_timeout=0.6)
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", listener.port), timeout=5) as sock:
        sock.sendall(b"GET /notify?pid=1001&trade_no=1")
        for _ in range(10):  # one byte now and then: never a whole request line
            try:
                sock.sendall(b"2")
            except OSError:
                break
            time.sleep(0.1)
        answer = sock.recv(4096)
    assert time.monotonic() - started < 3
    assert answer.startswith(b"HTTP/1.1 408")
    with socket.create_connection(("127.0.0.1", listener.port), timeout=5) as sock:
        sock.sendall(b"POST /notify HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\npid=1")
        assert sock.recv(4096).startswith(b"HTTP/1.1 408")
    with socket.create_connection(("127.0.0.1", listener.port), timeout=5) as sock:
        sock.sendall(b"GET /notify?pid=1 HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        assert sock.recv(4096).startswith(b"HTTP/1.1 408")
    kinds = [(r["kind"], r["answer_status"]) for r in rows(journal_path)]
    assert kinds == [("timeout", 408)] * 3
    assert httpx.get(listener.url, params=notify()).text == "success"


def test_an_idle_keep_alive_connection_is_closed_without_a_journal_entry(listen,
                                                                         journal_path):
    listener = listen(read_timeout=0.4)
    with socket.create_connection(("127.0.0.1", listener.port), timeout=5) as sock:
        assert sock.recv(10) == b""  # closed by the listener
    assert rows(journal_path) == []


def test_a_path_filter_answers_404_elsewhere_and_journals_it(listen, events, journal_path):
    listener = listen(path="/epay/notify")
    assert listener.url.endswith("/epay/notify")
    assert httpx.get(listener.url, params=notify()).text == "success"
    other = httpx.get(listener.base_url + "/other", params=notify())
    assert other.status_code == 404
    assert [r["kind"] for r in rows(journal_path)] == ["notify", "not_found"]


def test_the_health_path_answers_with_the_listeners_token_and_is_not_journaled(listen,
                                                                              journal_path):
    listener = listen()
    got = httpx.get(listener.health_url)
    assert got.status_code == 200 and listener.health_token in got.text
    assert rows(journal_path) == []


# ---- start-up errors ----------------------------------------------------------------------


def test_a_port_in_use_is_one_error(listen, journal_path, tmp_path):
    first = listen()
    with pytest.raises(ListenError) as caught:
        start_listener(keys=Keys(md5=Md5Key(KEY)), journal=tmp_path / "other.sqlite3",
                       port=first.port)
    assert caught.value.code == "port_in_use"


@pytest.mark.parametrize("host", ["no-such-host.invalid", "10.255.255.1", "::zz"])
def test_a_bad_host_is_an_input_error(host, tmp_path):
    with pytest.raises(InputError):
        start_listener(keys=Keys(md5=Md5Key(KEY)), journal=tmp_path / "j.sqlite3", host=host)


def test_an_unwritable_journal_is_a_config_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(ConfigError) as caught:
        start_listener(keys=Keys(md5=Md5Key(KEY)), journal=blocker / "journal.sqlite3")
    assert caught.value.code == "journal_unwritable"
    garbage = tmp_path / "garbage.sqlite3"
    garbage.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(ConfigError):
        start_listener(keys=Keys(md5=Md5Key(KEY)), journal=garbage)


def test_a_notify_that_cannot_be_journaled_is_not_acknowledged(listen, events, monkeypatch):
    from epaycli.listener.journal import Journal, JournalError

    listener = listen()

    def full_disk(self, records):
        raise JournalError("cannot write the journal (database or disk is full)")

    monkeypatch.setattr(Journal, "append_many", full_disk)
    got = httpx.get(listener.url, params=notify())
    assert got.status_code == 503 and "success" not in got.text
    events.wait(1)
    assert events[0]["event"] == "journal_error" and "disk is full" in events[0]["message"]


def test_a_request_sqlite_cannot_store_as_is_fails_no_other_request(listen, events,
                                                                    journal_path):
    """A lone surrogate (JSON ``\\ud800``) quoted in a refusal cannot be stored as UTF-8: it
    must not roll back the genuine notifies committed with it."""
    listener = listen()
    answers, join = genuine_from_threads(listener.url, threads=4, each=10)
    poisoned = [httpx.post(listener.url, content='{"\\ud800": {}}',
                           headers={"Content-Type": "application/json"}) for _ in range(5)]
    join()
    assert answers.count("success") == 40
    assert {answer.status_code for answer in poisoned} == {400}
    stored = rows(journal_path)
    assert len(stored) == 45 and sum(r["kind"] == "notify" for r in stored) == 40
    assert all("\\ud800" in r["reason"] for r in stored if r["kind"] != "notify")


def test_a_bug_while_judging_is_one_event_not_a_traceback(listen, events, monkeypatch, capsys):
    from epaycli.listener import server

    listener = listen()
    real_judge = server.judge
    monkeypatch.setattr(server, "judge", lambda *a, **k: 1 / 0)
    with pytest.raises(httpx.HTTPError):
        httpx.get(listener.url, params=notify())
    events.wait(1)
    assert events[0]["event"] == "internal_error" and "ZeroDivisionError" in events[0]["message"]
    monkeypatch.setattr(server, "judge", real_judge)
    assert httpx.get(listener.url, params=notify()).text == "success"
    assert "Traceback" not in capsys.readouterr().err


def test_a_journal_locked_by_another_program_is_answered_503_soon_and_close_is_prompt(
        listen, events, journal_path):
    """(issue 15.4) Another program holding the journal's write lock: each request is answered
    503 ``fail`` within the journal's 3 s budget (a gateway waits 5 s), the listener keeps
    serving, works again once the lock is gone, and close() does not wait for the lock."""
    listener = listen()
    assert httpx.get(listener.url, params=notify(1)).text == "success"
    holder = sqlite3.connect(journal_path, isolation_level=None)
    try:
        holder.execute("BEGIN EXCLUSIVE")
        started = time.monotonic()
        answers: list[httpx.Response] = []
        senders = [threading.Thread(target=lambda n=n: answers.append(
            httpx.get(listener.url, params=notify(n), timeout=10))) for n in range(2, 6)]
        for sender in senders:
            sender.start()
        assert httpx.get(listener.health_url, timeout=2).status_code == 200  # still serving
        for sender in senders:
            sender.join(10)
        assert [(a.status_code, a.text) for a in answers] == [(503, "fail")] * 4
        assert time.monotonic() - started < 5
        errors = events.of("journal_error")
        assert len(errors) == 4 and {e["code"] for e in errors} == {"journal_locked"}
        assert "locked by another program" in errors[0]["message"]
        holder.execute("ROLLBACK")
        assert httpx.get(listener.url, params=notify(6)).text == "success"
        holder.execute("BEGIN EXCLUSIVE")
        waiting = threading.Thread(target=lambda: _quiet_get(listener.url, notify(7)))
        waiting.start()
        deadline = time.monotonic() + 5
        while not any(c.awaiting_commit for c in list(listener._engine.connections)):
            assert time.monotonic() < deadline, "the request never reached the journal"
            time.sleep(0.01)
        started = time.monotonic()
        listener.close()
        assert time.monotonic() - started < 2.5
        waiting.join(10)
    finally:
        holder.close()
    assert [r["trade_no"] for r in rows(journal_path)] == [order(n).trade_no for n in (1, 6)]


def _quiet_get(url: str, params: dict) -> None:
    try:
        httpx.get(url, params=params, timeout=10)
    except httpx.HTTPError:
        pass
