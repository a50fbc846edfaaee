"""The inspector (``epay listen --inspect``, ``epay events serve``) over real HTTP on 127.0.0.1:
every endpoint, its refusals (CSRF, token, Host, bounded bodies, bad ids), the key never in a
response, replay through the same code as ``epay events replay``, and huge journals."""

from __future__ import annotations

import json
import re
import socket
import sqlite3
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from test_events import target  # noqa: F401 - a fixture: a second listener replays go to
from test_listen import KEY, Events, notify
from test_listen_cli import env, epay, free_port, run_epay  # noqa: F401 - fixtures

from epaycli.core.redact import mask
from epaycli.core.signing import Keys, Md5Key
from epaycli.listener.inspector import InspectorConfig, start_inspector
from epaycli.listener.inspector import server as inspector_server
from epaycli.listener.server import start_listener

MASKED = mask(KEY)


@pytest.fixture
def journaled(tmp_path):
    """A listener whose journal holds: a genuine GET, its re-send with the money changed, a
    forged one, a POST, a bad request, and a notify carrying the key in a ``key`` field."""
    path = tmp_path / "journal.sqlite3"
    events = Events()
    listener = start_listener(keys=Keys(md5=Md5Key(KEY)), journal=path, on_event=events.append)
    httpx.get(listener.url, params=notify(1))
    httpx.get(listener.url, params=notify(1, money="2.00"))
    httpx.get(listener.url, params=notify(2, key="w" * 32))
    httpx.post(listener.url, data=notify(3))
    httpx.get(listener.url)
    httpx.get(listener.url, params={**notify(4), "key": KEY})
    events.wait(6)
    listener.events = events
    yield listener
    listener.close()


@pytest.fixture
def inspect(journaled):
    started = []

    def start(**options):
        options.setdefault("journal", journaled.journal.path)
        options.setdefault("port", 0)
        options.setdefault("key_shown", MASKED)
        options.setdefault("secrets", (KEY,))
        options.setdefault("signer_for", lambda params: Md5Key(KEY))
        options.setdefault("request_base", journaled.base_url)
        started.append(start_inspector(InspectorConfig(**options)))
        return started[-1]

    yield start
    for running in started:
        running.close()


def client(inspector) -> httpx.Client:
    return httpx.Client(base_url=inspector.base_url, timeout=10)


def replay(http: httpx.Client, inspector, record_id: int, body: dict, **headers):
    return http.post(f"/api/requests/{record_id}/replay", json=body,
                     headers={"X-CSRF-Token": inspector.csrf, **headers})


# ---- the page ------------------------------------------------------------------------------


def test_the_page_carries_a_csrf_token_a_strict_csp_and_no_inline_script(inspect):
    inspector = inspect()
    with client(inspector) as http:
        page = http.get("/")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        csp = page.headers["content-security-policy"]
        assert "default-src 'none'" in csp and "script-src 'self'" in csp
        assert "unsafe-inline" not in csp and "http" not in csp
        assert page.headers["x-content-type-options"] == "nosniff"
        assert f'content="{inspector.csrf}"' in page.text
        scripts = re.findall(r"<script[^>]*>(.*?)</script>", page.text, re.S)
        assert scripts == [""]  # one script, from a file: nothing inline
        assert not re.search(r"\son\w+=", page.text) and "style=" not in page.text
        for link in re.findall(r'(?:src|href)="([^"]+)"', page.text):
            assert link.startswith("/static/"), link  # nothing from elsewhere
            asset = http.get(link)
            assert asset.status_code == 200 and asset.content
            assert "content-security-policy" in asset.headers
        script = http.get("/static/app.js").text
        assert "http://" not in script and "https://" not in script and "innerHTML" not in script
        assert http.get("/static/../server.py").status_code == 404
        assert http.get("/nothing").status_code == 404


def test_the_list_is_newest_first_with_verdicts_duplicates_and_changes(inspect):
    with client(inspect()) as http:
        page = http.get("/api/requests").json()
    rows = page["rows"]
    assert [row["id"] for row in rows] == [6, 5, 4, 3, 2, 1]
    assert page["total"] == 6 and page["latest_id"] == 6 and not page["has_older"]
    by_id = {row["id"]: row for row in rows}
    assert by_id[1]["verdict"] == "genuine" and by_id[3]["verdict"] == "bad_signature"
    assert by_id[5]["verdict"] == "malformed" and by_id[5]["duplicate_count"] == 0
    assert by_id[2]["duplicate_count"] == 1 and by_id[2]["content_changed"] is True
    assert by_id[4]["method"] == "POST" and by_id[1]["out_trade_no"] == "ORD1"
    assert by_id[1]["money"] == "1" and by_id[1]["answer_status"] == 200
    assert by_id[1]["forwarded"] is False and "params" not in by_id[1]


def test_filters_verdict_number_and_time_range(inspect, journaled):
    with client(inspect()) as http:
        def ids(**query):
            return [row["id"] for row in http.get("/api/requests", params=query).json()["rows"]]

        assert ids(verdict="bad_signature") == [6, 3]  # 6 signed without its key field
        assert ids(verdict="malformed") == [5]
        assert ids(q="ORD1") == [2, 1]
        assert ids(q="2026120112000000003") == [4]
        assert ids(q="%") == [] and ids(q="_") == []  # LIKE wildcards are searched as text
        stamps = {row["id"]: row["received_at"]
                  for row in http.get("/api/requests").json()["rows"]}
        assert ids(since=stamps[3], until=stamps[4]) == [4, 3]
        assert ids(since=stamps[6] + 1) == []
        for bad in ({"verdict": "good"}, {"since": "yesterday"}, {"until": "nan"},
                    {"since": "inf"}, {"q": "9" * 200}, {"before": "-1"}, {"limit": "x"}):
            answer = http.get("/api/requests", params=bad)
            assert answer.status_code == 400, bad
            assert answer.json()["error"]["code"] in ("bad_filter", "bad_filter_search",
                                                      "bad_filter_time", "bad_id")


def test_keyset_paging_older_and_newer(inspect):
    with client(inspect()) as http:
        first = http.get("/api/requests", params={"limit": 2}).json()
        assert [row["id"] for row in first["rows"]] == [6, 5] and first["has_older"]
        older = http.get("/api/requests", params={"limit": 2, "before": 5}).json()
        assert [row["id"] for row in older["rows"]] == [4, 3]
        assert older["has_older"] and older["has_newer"]
        newer = http.get("/api/requests", params={"limit": 2, "after": 4}).json()
        assert [row["id"] for row in newer["rows"]] == [6, 5] and not newer["has_newer"]
        last = http.get("/api/requests", params={"limit": 2, "before": 3}).json()
        assert [row["id"] for row in last["rows"]] == [2, 1] and not last["has_older"]


# ---- one request ---------------------------------------------------------------------------


def test_one_request_whole_with_diagnosis_signed_string_and_earlier_changes(inspect, journaled):
    with client(inspect()) as http:
        forged = http.get("/api/requests/3").json()
        resent = http.get("/api/requests/2").json()
        posted = http.get("/api/requests/4").json()
    assert forged["verdict"] == "bad_signature" and forged["report"]["problems"][0]["fix"]
    assert forged["report"]["diagnosis"]["mistake"] == "wrong_key"
    assert forged["headers"] and forged["query"].startswith("pid=")
    assert forged["params"]["out_trade_no"] == "ORD2"
    assert forged["signed_text"].endswith("&type=alipay" + MASKED)
    assert forged["signed_text"].startswith("money=1&name=product&out_trade_no=ORD2")
    assert forged["answer"] == "fail" and forged["forward"] is None
    assert forged["curl"].startswith("curl -sS '" + journaled.base_url + "/notify?pid=")
    assert forged["verify_command"].startswith("epay verify 'pid=")
    [earlier] = resent["earlier"]
    assert earlier["id"] == 1 and earlier["verdict"] == "genuine"
    assert earlier["changes"] == [{"name": "money", "before": "1", "after": "2"}]
    assert posted["method"] == "POST" and "--data-binary" in posted["curl"]
    assert posted["verify_command"] == "epay verify '" + posted["body"] + "'"


@pytest.mark.parametrize("path, status, code", [
    ("/api/requests/99", 404, "no_such_event"), ("/api/requests/0", 404, "no_such_event"),
    ("/api/requests/abc", 400, "bad_id"), ("/api/requests/-1", 400, "bad_id"),
    ("/api/requests/1.5", 400, "bad_id"), ("/api/requests/" + "9" * 40, 400, "bad_id"),
    ("/api/requests/", 400, "bad_id"), ("/api/requests/%00", 400, "bad_id"),
])
def test_bad_ids_are_answered_with_a_json_error(inspect, path, status, code):
    inspector = inspect()
    with client(inspector) as http:
        answer = http.get(path)
        assert answer.status_code == status and answer.json()["error"]["code"] == code
        replayed = replay(http, inspector, 99, {})
        assert replayed.status_code == 404


# ---- replay --------------------------------------------------------------------------------


def test_replay_edited_and_resigned_is_genuine_at_the_target(inspect, target):
    inspector = inspect(targets={"listener": target.url})
    with client(inspector) as http:
        answer = replay(http, inspector, 1, {"target": "listener", "changes": {"money": "9.99"},
                                             "resign": True})
        assert answer.status_code == 200, answer.text
        result = answer.json()
    assert result["answer"]["status"] == 200 and result["answer"]["delivered"] is True
    assert "money=9.99" in result["sent"]["url"] and result["sent"]["changed"] is True
    target.events.wait(1)
    arrived = target.events[0]
    assert arrived["valid"] is True and arrived["money"] == "9.99"


def test_replay_edited_without_resigning_is_caught_and_as_received_is_a_duplicate(inspect,
                                                                                   target):
    inspector = inspect(targets={"listener": target.url})
    with client(inspector) as http:
        edited = replay(http, inspector, 1, {"changes": {"money": "9.99"}}).json()
        same = replay(http, inspector, 1, {}).json()
        again = replay(http, inspector, 1, {}).json()
    assert edited["answer"]["body"] == "fail" and edited["answer"]["delivered"] is False
    assert same["answer"]["body"] == "success" and same["sent"]["changed"] is False
    assert again["answer"]["body"] == "success"
    target.events.wait(3)
    assert [e["verdict"] for e in target.events] == ["bad_signature", "genuine", "genuine"]
    assert target.events[2]["duplicate_count"] == 2  # the forged copy counts too


def test_replay_refusals_target_changes_signer_and_unreachable(inspect):
    closed = free_port()
    inspector = inspect(targets={"to": f"http://127.0.0.1:{closed}/notify"}, signer_for=None)
    with client(inspector) as http:
        assert replay(http, inspector, 1, {"target": "elsewhere"}).json()["error"]["code"] \
            == "bad_target"
        for not_a_name in (["to"], {"to": 1}, 7):  # a list or an object cannot even be looked up
            refused = replay(http, inspector, 1, {"target": not_a_name})
            assert refused.status_code == 400 and refused.json()["error"]["code"] == "bad_target"
        assert replay(http, inspector, 1, {"changes": ["money"]}).status_code == 400
        assert replay(http, inspector, 1, {"changes": {"money": 9}}).status_code == 400
        assert replay(http, inspector, 1, {"changes": {"m": "x" * 5000}}).status_code == 400
        assert replay(http, inspector, 1, {"resign": True}).json()["error"]["code"] == "no_signer"
        down = replay(http, inspector, 1, {})
        assert down.status_code == 502 and down.json()["error"]["code"] == "replay_unreachable"
        unreadable = replay(http, inspector, 5, {"changes": {"money": "1"}})
        assert unreadable.status_code == 400
    nowhere = inspect(targets={})
    with client(nowhere) as http:
        assert replay(http, nowhere, 1, {}).json()["error"]["code"] == "no_target"


def test_with_forward_to_the_list_shows_the_handler_status_and_replay_can_go_there(
        tmp_path, target):
    events = Events()
    with start_listener(keys=Keys(md5=Md5Key(KEY)), journal=tmp_path / "f.sqlite3",
                        forward_to=target.url, on_event=events.append) as forwarding:
        assert httpx.get(forwarding.url, params=notify(1)).text == "success"
        events.wait(1)
        config = InspectorConfig(journal=forwarding.journal.path, port=0,
                                 targets={"listener": forwarding.url, "forward": target.url})
        with start_inspector(config) as inspector, client(inspector) as http:
            [row] = http.get("/api/requests").json()["rows"]
            assert row["forwarded"] and row["forward_status"] == 200
            assert row["forward_delivered"] is True
            forward = http.get("/api/requests/1").json()["forward"]
            assert forward["url"] == target.url and forward["body"] == "success"
            answer = replay(http, inspector, 1, {"target": "forward"}).json()
            assert answer["target"] == "forward" and answer["answer"]["delivered"]
    target.events.wait(2)  # the forwarded notify, then the replay
    assert [e["duplicate_count"] for e in target.events] == [0, 1]


# ---- safety --------------------------------------------------------------------------------


@pytest.mark.parametrize("headers", [
    {}, {"X-CSRF-Token": "wrong"}, {"X-CSRF-Token": ""},
    {"Origin": "http://evil.example", "X-CSRF-Token": "guess"},
    {"Origin": "http://evil.example"},
])
def test_a_post_without_the_page_csrf_token_is_refused_from_any_origin(inspect, target, headers):
    inspector = inspect(targets={"listener": target.url})
    with client(inspector) as http:
        answer = http.post("/api/requests/1/replay", json={}, headers=headers)
        assert answer.status_code == 403 and answer.json()["error"]["code"] == "csrf"
        form = http.post("/api/requests/1/replay", data={"target": "listener"}, headers=headers)
        assert form.status_code == 403
        # the refused request's body is not read as the next request on the connection
        assert http.get("/api/info").status_code == 200
    assert target.events == []  # nothing was sent


def test_only_get_and_post_and_only_to_known_paths(inspect):
    inspector = inspect()
    with client(inspector) as http:
        for method in ("PUT", "DELETE", "PATCH", "OPTIONS"):
            assert http.request(method, "/api/requests/1/replay").status_code == 405
        assert http.post("/api/requests", json={},
                         headers={"X-CSRF-Token": inspector.csrf}).status_code == 404


def test_a_foreign_host_header_is_refused(inspect):
    """A page on another site that rebinds its DNS name to 127.0.0.1 reaches the inspector
    under its own name: refused, so it can read neither the journal nor the CSRF token."""
    inspector = inspect()
    with client(inspector) as http:
        for path in ("/", "/api/requests", "/api/requests/1", "/api/live"):
            answer = http.get(path, headers={"Host": f"evil.example:{inspector.port}"})
            assert answer.status_code == 403, path
            assert inspector.csrf not in answer.text and "ORD1" not in answer.text
        assert http.get("/", headers={"Host": f"localhost:{inspector.port}"}).status_code == 200


def test_off_the_default_address_the_printed_token_is_required_then_a_cookie(inspect):
    inspector = inspect(host="127.0.0.2")  # still loopback, but not the default address
    assert inspector.token and inspector.url == \
        f"http://127.0.0.2:{inspector.port}/?token={inspector.token}"
    with client(inspector) as http:
        for path in ("/", "/api/requests", "/api/requests/1", "/api/live", "/static/app.js"):
            refused = http.get(path)
            assert refused.status_code == 401 and "ORD1" not in refused.text, path
            assert inspector.csrf not in refused.text
        assert http.get("/", params={"token": "wrong"}).status_code == 401
        with httpx.Client(base_url=inspector.base_url, cookies={"epay_inspector": "x"}) as guess:
            assert guess.get("/").status_code == 401
        replayed = http.post("/api/requests/1/replay", json={},
                             headers={"X-CSRF-Token": inspector.csrf})
        assert replayed.status_code == 401  # the CSRF token alone is not enough
        first = http.get("/", params={"token": inspector.token})
        assert first.status_code == 303 and first.headers["location"] == "/"
        cookie = first.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
        assert http.get("/").status_code == 200  # the cookie now
        assert http.get("/api/requests").json()["total"] == 6
        # reached by a name epay cannot know (a LAN name): the cookie is what counts
        named = http.get("/api/info", headers={"Host": f"shop-dev.lan:{inspector.port}"})
        assert named.status_code == 200
    with httpx.Client(base_url=inspector.base_url) as other:
        assert other.get("/api/requests").status_code == 401


def test_the_key_is_never_in_any_response(inspect, journaled, tmp_path):
    """Not in the page, the list, any request's detail (one carried the key in a field), the
    live feed, nor a replay's answer (the handler echoes the key back)."""
    echo = _EchoingHandler.start(KEY)
    inspector = inspect(targets={"to": echo.url})
    seen = []
    with client(inspector) as http:
        for path in ("/", "/static/app.js", "/api/info", "/api/requests"):
            seen.append(http.get(path).text)
        for record_id in range(1, 7):
            seen.append(http.get(f"/api/requests/{record_id}").text)
        seen.append(replay(http, inspector, 6, {}).text)
        seen.append(replay(http, inspector, 6, {"resign": True}).text)
        with http.stream("GET", "/api/live", params={"after": 0}) as live:
            lines = live.iter_lines()
            seen.append(_next_event(lines, "rows"))
    echo.close()
    everything = "\n".join(seen)
    assert KEY not in everything
    assert MASKED in everything  # the key is shown the journal's way: masked
    assert json.loads(seen[-2])["answer"]["body"] == "success " + MASKED


def test_request_bodies_are_bounded(inspect):
    inspector = inspect()
    huge = inspector_server.MAX_BODY_BYTES + 1
    raw = _raw(inspector, (f"POST /api/requests/1/replay HTTP/1.1\r\nHost: 127.0.0.1:"
                           f"{inspector.port}\r\nX-CSRF-Token: {inspector.csrf}\r\n"
                           f"Content-Type: application/json\r\nContent-Length: {huge}\r\n\r\n{{")
               .encode())
    assert raw.startswith(b"HTTP/1.1 413") and b"Connection: close" in raw
    no_length = _raw(inspector, (f"POST /api/requests/1/replay HTTP/1.1\r\nHost: 127.0.0.1:"
                                 f"{inspector.port}\r\nX-CSRF-Token: {inspector.csrf}\r\n\r\n")
                     .encode())
    assert no_length.startswith(b"HTTP/1.1 411")
    with client(inspector) as http:
        headers = {"X-CSRF-Token": inspector.csrf}
        assert http.post("/api/requests/1/replay", content=b"{}", headers={
            **headers, "Content-Type": "text/plain"}).status_code == 415
        for body in (b"[1]", b"{", b"\xff\xfe"):
            assert http.post("/api/requests/1/replay", content=body, headers={
                **headers, "Content-Type": "application/json"}).status_code == 400
    long_line = _raw(inspector, b"GET /" + b"a" * 70000 + b" HTTP/1.1\r\n\r\n")
    assert long_line.startswith((b"HTTP/1.0 414", b"HTTP/1.1 414"))


# ---- live ----------------------------------------------------------------------------------


def test_the_live_feed_sends_new_rows_as_they_are_journaled(inspect, journaled):
    inspector = inspect()
    with client(inspector) as http, http.stream("GET", "/api/live") as live:
        assert live.headers["content-type"].startswith("text/event-stream")
        lines = live.iter_lines()
        assert json.loads(_next_event(lines, "hello"))["latest_id"] == 6
        httpx.get(journaled.url, params=notify(7))
        httpx.get(journaled.url, params=notify(8, key="z" * 32))
        arrived = []
        while len(arrived) < 2:
            arrived += json.loads(_next_event(lines, "rows"))["rows"]
    assert sorted((row["id"], row["verdict"]) for row in arrived) == [
        (7, "genuine"), (8, "bad_signature")]


def test_live_feeds_are_bounded(inspect, monkeypatch):
    monkeypatch.setattr(inspector_server, "MAX_STREAMS", 1)
    inspector = inspect()
    with client(inspector) as http, http.stream("GET", "/api/live") as live:
        lines = live.iter_lines()  # kept: a dropped iterator closes the stream
        _next_event(lines, "hello")
        with client(inspector) as second:
            busy = second.get("/api/live")
            assert busy.status_code == 503 and busy.json()["error"]["code"] == "busy"


def test_a_closed_page_frees_its_live_feed(inspect, monkeypatch):
    monkeypatch.setattr(inspector_server, "MAX_STREAMS", 1)
    inspector = inspect()
    with client(inspector) as http, http.stream("GET", "/api/live") as live:
        _next_event(live.iter_lines(), "hello")
    # the page went away: the next one gets the feed (without waiting for a keep-alive write)
    deadline = time.monotonic() + inspector_server.KEEPALIVE_SECONDS / 2
    with client(inspector) as http:
        while True:
            with http.stream("GET", "/api/live") as again:
                if again.status_code == 200:
                    assert _next_event(again.iter_lines(), "hello")
                    break
            assert time.monotonic() < deadline, "the closed page still holds the feed"


def test_a_burst_larger_than_a_batch_is_summed_up_not_sent_whole(journaled, tmp_path):
    from epaycli.listener.inspector.view import LIVE_BATCH, JournalView

    path = _copy_journal(journaled.journal.path, tmp_path / "burst.sqlite3", LIVE_BATCH + 50)
    view = JournalView(path)
    rows, newest = view.newer_than(0)
    view.close()
    assert len(rows) == LIVE_BATCH and newest == LIVE_BATCH + 50
    assert rows[0]["id"] == newest  # the newest are the ones sent


# ---- huge journals, ports ------------------------------------------------------------------


def test_a_journal_of_100000_rows_pages_from_end_to_end(journaled, tmp_path):
    path = _copy_journal(journaled.journal.path, tmp_path / "huge.sqlite3", 100_000)
    with start_inspector(InspectorConfig(journal=path, port=0)) as inspector, \
            client(inspector) as http:
        first = http.get("/api/requests").json()
        assert first["total"] == 100_000 and first["rows"][0]["id"] == 100_000
        assert len(first["rows"]) == 100
        deep = http.get("/api/requests", params={"before": 151, "limit": 500}).json()
        assert [row["id"] for row in deep["rows"]] == list(range(150, 0, -1))
        assert not deep["has_older"]
        found = http.get("/api/requests", params={"q": "00000099999"}).json()
        assert [row["id"] for row in found["rows"]] == [99_999]
        assert http.get("/api/requests/54321").json()["id"] == 54_321
        assert http.get("/api/requests", params={"limit": "100000"}).status_code == 200


def test_the_default_port_falls_back_to_a_free_one_when_taken(journaled, monkeypatch):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        monkeypatch.setattr(inspector_server, "DEFAULT_PORT", busy.getsockname()[1])
        with start_inspector(InspectorConfig(journal=journaled.journal.path)) as inspector:
            assert inspector.port not in (0, busy.getsockname()[1])
            assert httpx.get(inspector.url).status_code == 200
        from epaycli.core.errors import ConfigError

        with pytest.raises(ConfigError) as refused:
            start_inspector(InspectorConfig(journal=journaled.journal.path,
                                            port=busy.getsockname()[1]))
        assert refused.value.code == "inspector_port_in_use"


def test_a_journal_that_is_missing_or_not_a_journal_is_a_config_error(tmp_path):
    from epaycli.core.errors import ConfigError

    for path, code in ((tmp_path / "none.sqlite3", "journal_missing"),
                       (_garbage(tmp_path / "x.sqlite3"), "journal_unreadable")):
        with pytest.raises(ConfigError) as error:
            start_inspector(InspectorConfig(journal=path, port=0))
        assert error.value.code == code


# ---- the commands --------------------------------------------------------------------------


def test_listen_inspect_prints_the_inspector_url_in_the_ready_object(epay, tmp_path):
    listener = epay("listen", "--port", "0", "--json", "--journal", str(tmp_path / "j.sqlite3"),
                    "--inspect", "--inspect-port", "0")
    ready = listener.event("ready")
    url = ready["inspector_url"]
    assert url.startswith("http://127.0.0.1:") and url != ready["local_url"]
    assert httpx.get(ready["local_url"], params=notify()).text == "success"
    listener.event("notify")
    page = httpx.get(url)
    assert page.status_code == 200 and "epay inspector" in page.text
    base = url.rstrip("/")
    [row] = httpx.get(base + "/api/requests").json()["rows"]
    assert row["verdict"] == "genuine"
    targets = httpx.get(base + "/api/info").json()["targets"]
    assert targets == [{"name": "listener", "url": ready["local_url"]}]
    assert KEY not in httpx.get(base + f"/api/requests/{row['id']}").text
    listener.proc.terminate()
    assert listener.finish()[0] == 0


def test_listen_inspect_says_the_url_on_the_ready_lines(epay, tmp_path):
    listener = epay("listen", "--port", "0", "--journal", str(tmp_path / "j.sqlite3"),
                    "--inspect", "--inspect-port", "0")
    deadline = time.monotonic() + 15
    journal = tmp_path / "j.sqlite3"
    while not journal.exists() and time.monotonic() < deadline:
        time.sleep(0.05)  # the journal is opened before the ready lines are written
    listener.proc.terminate()
    code, stderr = listener.finish()
    assert code == 0
    assert re.search(r"^inspector: http://127\.0\.0\.1:\d+/$", stderr, re.M), stderr


def test_listen_without_inspect_has_no_inspector(epay, tmp_path):
    listener = epay("listen", "--port", "0", "--json", "--journal", str(tmp_path / "j.sqlite3"))
    assert listener.event("ready")["inspector_url"] is None


def test_listen_inspect_host_prints_a_url_with_the_token(epay, tmp_path):
    listener = epay("listen", "--port", "0", "--journal", str(tmp_path / "j.sqlite3"), "--json",
                    "--inspect-host", "127.0.0.2", "--inspect-port", "0")
    url = listener.event("ready")["inspector_url"]
    assert re.fullmatch(r"http://127\.0\.0\.2:\d+/\?token=[\w-]{20,}", url)
    assert httpx.get(url.split("?")[0]).status_code == 401
    assert httpx.get(url, follow_redirects=True).status_code == 200


def test_events_serve_serves_a_journal_and_replays_to_the_given_url(
        epay, journaled, target):
    served = epay("events", "serve", "--journal", str(journaled.journal.path), "--port", "0",
                  "--to", target.url, "--json")
    ready = served.event("ready")
    base = ready["inspector_url"].rstrip("/")
    page = httpx.get(base + "/")
    csrf = re.search(r'name="epay-csrf" content="([^"]+)"', page.text).group(1)
    answer = httpx.post(base + "/api/requests/1/replay", json={"changes": {"money": "3.00"},
                                                               "resign": True},
                        headers={"X-CSRF-Token": csrf}, timeout=10)
    assert answer.status_code == 200 and answer.json()["answer"]["delivered"] is True
    curl = httpx.get(base + "/api/requests/1").json()["curl"]
    assert curl.startswith(f"curl -sS '{target.base_url}/notify?pid=")  # where replays go
    target.events.wait(1)
    assert target.events[0]["valid"] and target.events[0]["money"] == "3.00"
    served.proc.terminate()
    assert served.finish()[0] == 0


def test_events_serve_errors_are_one_line_with_their_exit_code(env, tmp_path):
    missing = run_epay(env, "events", "serve", "--journal", str(tmp_path / "none.sqlite3"))
    assert missing.returncode == 6 and missing.stderr.count("\n") == 1
    assert missing.stderr.startswith("epay: error: there is no journal")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        journal = tmp_path / "j.sqlite3"
        sqlite3.connect(journal).executescript(
            "CREATE TABLE requests (id INTEGER PRIMARY KEY);").close()
        taken = run_epay(env, "events", "serve", "--journal", str(journal), "--port",
                         str(busy.getsockname()[1]))
    assert taken.returncode == 6 and "already in use" in taken.stderr
    assert "--port N" in taken.stderr and "Traceback" not in taken.stderr


# ---- helpers -------------------------------------------------------------------------------


def _next_event(lines, name: str) -> str:
    """The data of the next server-sent event called ``name``."""
    current = None
    for line in lines:
        if line.startswith("event: "):
            current = line[7:]
        elif line.startswith("data: ") and current == name:
            return line[6:]
    raise AssertionError(f"the stream ended before a {name} event")


def _raw(inspector, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", inspector.port), timeout=10) as sock:
        sock.sendall(data)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def _copy_journal(source, path, count: int):
    """A journal of ``count`` rows made from the first row of ``source``, each its own trade_no
    (one INSERT … SELECT: seconds, not a listener's minutes)."""
    import shutil

    with sqlite3.connect(source) as db:
        db.execute("PRAGMA wal_checkpoint(FULL)")
    shutil.copy(source, path)
    with sqlite3.connect(path) as db:
        columns = [row[1] for row in db.execute("PRAGMA table_info(requests)") if row[1] != "id"]
        db.execute("CREATE TEMP TABLE template AS SELECT * FROM requests ORDER BY id LIMIT 1")
        db.execute("DELETE FROM requests")
        picked = ", ".join("printf('2026%015d', n.value)" if name == "trade_no"
                           else name for name in columns)
        db.execute(f"""
            WITH RECURSIVE n(value) AS (SELECT 1 UNION ALL SELECT value + 1 FROM n
                                        WHERE value < {count})
            INSERT INTO requests (id, {', '.join(columns)})
            SELECT n.value, {picked} FROM n, template""")
    return path


def _garbage(path):
    path.write_bytes(b"not a database" * 100)
    return path


class _EchoingHandler(BaseHTTPRequestHandler):
    """A shop handler that (wrongly) puts the merchant key in its answer."""

    secret = ""

    def do_GET(self) -> None:
        body = f"success {self.secret}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_GET

    def log_message(self, *args) -> None:
        pass

    @classmethod
    def start(cls, secret: str):
        handler = type("Echo", (cls,), {"secret": secret})
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        server.url = f"http://127.0.0.1:{server.server_address[1]}/notify"

        def close():
            server.shutdown()
            server.server_close()

        server.close = close
        return server


def test_read_connections_are_pooled_not_one_per_server_thread(inspect):
    inspector = inspect()
    for _ in range(30):  # each on its own connection, so on its own server thread
        assert httpx.get(inspector.base_url + "/api/requests").status_code == 200
    assert len(inspector.view._connections) <= 2


def test_listen_inspect_on_a_foreign_address_is_a_usage_error(env, tmp_path):
    done = run_epay(env, "listen", "--port", "0", "--journal", str(tmp_path / "j.sqlite3"),
                    "--inspect", "--inspect-host", "203.0.113.1", "--inspect-port", "0")
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert "--inspect-host" in done.stderr and "Traceback" not in done.stderr
