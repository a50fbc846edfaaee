"""中文 for ``epay listen``'s terminal lines and ``epay events list|show`` (issue 17): every
template has its Chinese with the same fields, a real listener's lines and the events table
speak Chinese under EPAY_LANG=zh, and ``--json`` stays the same in both languages."""

from __future__ import annotations

import io
import json

import httpx
import pytest
from listener.test_listen import KEY, Events, notify
from test_zh import fields

from epaycli.cli.events import MESSAGES as EVENTS_MESSAGES
from epaycli.cli.listen import MESSAGES as LISTEN_MESSAGES
from epaycli.core.signing import Keys, Md5Key
from epaycli.listener.server import start_listener
from epaycli.messages import Messages, load_catalogue


@pytest.mark.parametrize(("area", "table"), [("listen", LISTEN_MESSAGES),
                                             ("events", EVENTS_MESSAGES)])
def test_every_listen_and_events_message_has_its_chinese_with_the_same_fields(area, table):
    catalogue = load_catalogue("zh")
    for message_id, english in table.items():
        chinese = catalogue[f"{area}.{message_id}"]
        assert fields(chinese) == fields(english), message_id
    known = {f"{area}.{message_id}" for message_id in table}
    assert not {key for key in catalogue if key.startswith(f"{area}.")} - known  # none stale


def test_a_real_listener_says_its_lines_in_chinese(tmp_path):
    """The CLI's renderer, given the run's Chinese, on a real listener's events."""
    from epaycli.cli.listen import _human_renderer
    from epaycli.env import Environment
    from epaycli.render import Output

    said = io.StringIO()
    show = _human_renderer(Output(Environment(None, None, said, {})), Messages("zh"))
    events = Events()

    def observe(event):
        show(event)
        events.append(event)

    with start_listener(keys=Keys(md5=Md5Key(KEY)), journal=tmp_path / "j.sqlite3",
                        on_event=observe) as listener:
        assert httpx.get(listener.url, params=notify(1)).text == "success"
        assert httpx.get(listener.url, params=notify(1, name="无类型")).text == "success"
        events.wait(2)
    lines = said.getvalue().splitlines()
    first = next(line for line in lines if "2026120112000000001" in line)
    assert "✓ 验签通过" in first and "→ 200 'success'" in first
    assert "genuine" not in said.getvalue()
    assert "重复第 2 次 内容已变化（攻击或缺陷）：name：product → 无类型" in said.getvalue()


@pytest.fixture
def journal(tmp_path):
    """A genuine notify, a changed copy of it and a forged one, journaled by a real listener."""
    path = tmp_path / "journal.sqlite3"
    with start_listener(keys=Keys(md5=Md5Key(KEY)), journal=path) as listener:
        httpx.get(listener.url, params=notify(1))
        httpx.get(listener.url, params=notify(1, name="无类型"))
        httpx.get(listener.url, params=notify(2, key="w" * 32))
    return str(path)


def test_events_list_and_show_speak_chinese_and_keep_their_json(cli, journal, monkeypatch):
    english = [cli("events", "list", "--journal", journal, "--json").stdout,
               cli("events", "show", "2", "--journal", journal, "--json").stdout]
    english_show = cli("events", "show", "2", "--journal", journal).stdout
    monkeypatch.setenv("EPAY_LANG", "zh")
    listed = cli("events", "list", "--journal", journal)
    assert listed.code == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[0].split()[:4] == ["编号", "时间", "方法", "平台订单号"]
    assert "✓ 验签通过" in lines[1] and "2 内容已变化" in lines[2]
    assert "genuine" not in listed.stdout and "TRADE_NO" not in listed.stdout
    shown = cli("events", "show", "2", "--journal", journal)
    assert shown.code == 0, shown.stderr
    assert "此前已收到 1 次 — 内容已变化：name：product → 无类型" in shown.stdout
    assert "验签结果  ✓ 验签通过" in shown.stdout and "（由 " in shown.stdout
    # the raw request above the verdict is the same bytes in both languages
    assert shown.stdout.split("\n\n")[0] == english_show.split("\n\n")[0]
    chinese = [cli("events", "list", "--journal", journal, "--json").stdout,
               cli("events", "show", "2", "--journal", journal, "--json").stdout]
    # --json: the same but for its free text (the forged notify's reason and diagnosis)
    assert [without_words(json.loads(doc)) for doc in chinese] == \
        [without_words(json.loads(doc)) for doc in english]
    forged = json.loads(chinese[0])[2]
    assert forged["reason"] != json.loads(english[0])[2]["reason"] and "签名" in forged["reason"]
    assert "words" not in forged  # what the journal keeps to say it again is not shown


FREE_TEXT = {"reason", "message", "fix", "title", "detail", "notes"}


def without_words(document):
    if isinstance(document, dict):
        return {k: without_words(v) for k, v in document.items() if k not in FREE_TEXT}
    if isinstance(document, list):
        return [without_words(item) for item in document]
    return document


def test_epay_listen_under_epay_lang_zh_prints_chinese_lines(tmp_path):
    """The command passes the run's language to its renderer: a real ``epay listen``."""
    import os
    import re
    import signal
    import subprocess
    import sys

    from conftest import ROOT

    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path),
           "XDG_CONFIG_HOME": str(tmp_path / ".config"), "XDG_STATE_HOME": str(tmp_path / "state"),
           "EPAY_KEY": KEY, "EPAY_PID": "1001", "PYTHONPATH": str(ROOT), "EPAY_LANG": "zh",
           "PYTHONIOENCODING": "utf-8"}
    listener = subprocess.Popen(
        [sys.executable, "-m", "epaycli", "listen", "--port", "0", "--journal",
         str(tmp_path / "j.sqlite3")], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, text=True, encoding="utf-8")
    try:
        ready = listener.stderr.readline()  # said once serving (SIGTERM is handled from then)
        found = re.search(r"正在监听 (http://127\.0\.0\.1:\d+/\S*?)（任意路径）", ready)
        assert found, ready
        assert httpx.get(found[1], params=notify(1)).text == "success"
        listener.send_signal(signal.SIGTERM)
        listener.wait(15)  # (its few lines fit the pipe: it cannot block writing them)
        rest = listener.stderr.read()
    finally:
        if listener.poll() is None:
            listener.kill()
            listener.wait(5)
    assert listener.returncode == 0, rest
    assert "按 Ctrl+C 停止" in rest
    line = next(line for line in rest.splitlines() if "2026120112000000001" in line)
    assert "✓ 验签通过" in line and "→ 200 'success'" in line
    assert "已停止；共应答 1 个请求" in rest


@pytest.mark.parametrize(("raw", "chinese", "english"), [
    (b"BREW /notify HTTP/1.1\r\nHost: a\r\n\r\n", "异步通知不使用 'BREW' 方法（只用 GET 或 POST）",
     "method 'BREW' is not used for notifies (GET or POST)"),
    (b"GET /notify HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
     "Content-Length 出现了两次，且值不同", "Content-Length is given twice, with different values"),
    (b"GET /elsewhere HTTP/1.1\r\nHost: a\r\n\r\n", "找不到：异步通知请发到 /notify",
     "not found: notifies go to /notify"),
])
def test_a_refused_request_is_said_in_chinese_and_journaled_in_english(tmp_path, raw, chinese,
                                                                      english):
    import socket

    from epaycli.cli.listen import notify_line

    events = Events()
    with start_listener(keys=Keys(md5=Md5Key(KEY)), journal=tmp_path / "j.sqlite3",
                        path="/notify", on_event=events.append) as listener:
        with socket.create_connection(("127.0.0.1", listener.port), timeout=5) as sock:
            sock.sendall(raw)
            assert sock.recv(1000).startswith(b"HTTP/1.1 4")
        events.wait(1)
    (event,) = [e for e in events.typed if e.name == "bad_request"]
    assert chinese in notify_line(event, Messages("zh"))[0]
    assert english in notify_line(event, Messages("en"))[0]
    assert event.reason == english  # the journal and --json keep the English
