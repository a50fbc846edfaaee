"""中文 for the reports (issue 17): ``epay demo``'s timeline, ``epay check notify`` and
``epay trigger`` reports, ``epay mock``'s lines and ``epay events replay``. Every template has
its Chinese with the same fields (and none is stale); real runs under EPAY_LANG=zh leave no
English sentence; ``--json`` stays the same in both languages but its free text."""

from __future__ import annotations

import difflib
import json
import re

import pytest
from test_zh import fields

from epaycli.messages import load_catalogue


def english_tables() -> dict[str, object]:
    """Every English template of these areas, by its catalogue id."""
    from zhkit import table_ids

    from epaycli.cli.demo import MESSAGES as DEMO_CLI
    from epaycli.demo.events import STEP_TITLES
    from epaycli.demo.roundtrip import SAID
    from epaycli.demo.timeline import MESSAGES as TIMELINE

    return {**table_ids("demo", DEMO_CLI), **table_ids("demo.step", STEP_TITLES),
            **table_ids("demo.said", SAID), **table_ids("demo.timeline", TIMELINE),
            "demo.nothing_checked": "nothing was checked", **check_tables(), **mock_tables(),
            **events_tables()}


AREAS = ("demo.", "check.", "trigger.", "mock.")


def test_every_report_message_has_its_chinese_with_the_same_fields():
    catalogue = load_catalogue("zh")
    tables = english_tables()
    for message_id, english in tables.items():
        assert message_id in catalogue, message_id
        forms = english.values() if isinstance(english, dict) else [english]
        for form in forms:
            assert fields(catalogue[message_id]) == fields(form), message_id
    stale = {key for key in catalogue if key.startswith(AREAS)} - set(tables)
    assert not stale


# Three English words in a row, once URLs, paths, names=values, ids and quoted values are gone.
ENGLISH_RUN = re.compile(r"\b[a-z]{2,}(?:[ ,]+[a-z]{2,}){2,}\b", re.IGNORECASE)
NOT_PROSE = re.compile(r"https?://\S+|\S*[=_/$.~]\S*|'[^']*'|\"[^\"]*\"|\{.*\}|--?[\w-]+"
                       r"|\b(?:epay|check_callback|SHA256withRSA|md5)\b")
# Words of the data the lines quote (the gateway's cashier page, product names).
QUOTED_DATA = ("Local Epay gateway: no money moves", "epay local gateway", "epay demo",
               "Pay 失败 Fail")


def english_left(text: str) -> list[str]:
    left = []
    for line in text.splitlines():
        for quoted in QUOTED_DATA:
            line = line.replace(quoted, " ")
        if ENGLISH_RUN.search(NOT_PROSE.sub(" ", line)):
            left.append(line)
    return left


@pytest.fixture
def chinese(monkeypatch):
    monkeypatch.setenv("EPAY_LANG", "zh")


# ---- epay demo -----------------------------------------------------------------------------


def test_the_demo_timeline_speaks_chinese(cli, chinese):
    done = cli("demo")
    assert done.code == 0, done.stderr
    assert "1. 创建订单  ✓" in done.stdout and "✓ 每一步都检查通过：共 7 步" in done.stdout
    assert "   签名      md5( " in done.stdout and "（另有 " in done.stdout
    assert english_left(done.stdout + done.stderr) == []


def test_a_caught_demo_fault_and_a_failed_step_are_said_in_chinese(cli, chinese):
    caught = cli("demo", "--fault", "dropped", "--timeout", "1")
    assert caught.code == 7
    assert "5. 查询订单：已支付  — 未执行" in caught.stdout
    assert "✗ 第 4 步（notify）失败：1 秒内接收端没有收到异步通知" in caught.stdout
    assert "故障 'dropped' 在该被拦下的地方被拦下了" in caught.stderr
    assert english_left(caught.stdout + caught.stderr) == []


def test_the_demo_failed_error_is_worded_in_chinese():
    from epaycli.cli.hints import words_for
    from epaycli.demo.events import Check, DemoResult, Setting, Step
    from epaycli.demo.roundtrip import DemoFailed, said
    from epaycli.messages import Messages

    setting = Setting("http://127.0.0.1:1/", "http://127.0.0.1:2/", "v1", "1000", "Sand…0000",
                      "MD5", "")
    failed = Step(1, "create", "create the order",
                  checks=(Check(said("accepted", code=1), False, said("no_trade_no")),))
    result = DemoResult(setting, (failed,), 1.0)
    chinese = Messages("zh")
    error = DemoFailed.of(result)
    assert words_for(error, chinese)[0] == "demo 第 1 步（create）失败：回复里没有 trade_no"
    assert str(DemoFailed.of(result)).startswith(
        "demo step 1 (create) failed: the answer has no trade_no — the timeline above")


def test_the_demo_json_is_the_same_in_both_languages(cli, monkeypatch):
    english = json.loads(cli("demo", "--json").stdout)
    monkeypatch.setenv("EPAY_LANG", "zh")
    chinese = json.loads(cli("demo", "--json").stdout)
    assert same_shape(chinese) == same_shape(english)
    assert chinese["steps"][0]["checks"][0]["check"].startswith("the gateway accepted it")


# Signs first: an MD5 sign that starts with eight digits would otherwise lose just those.
VOLATILE = re.compile(r"[0-9a-f]{32,}|\d{8,}|epay[\w-]{14,}|:\d{4,5}/|\"ms\": [\d.]+"
                      r"|\d\d:\d\d:\d\d")


def same_shape(document) -> str:
    """A document with what changes from run to run (numbers, ports, times) blanked."""
    return VOLATILE.sub("#", json.dumps(document, ensure_ascii=False, sort_keys=True))


# ---- epay check notify, epay trigger -------------------------------------------------------


def check_tables() -> dict[str, object]:
    from zhkit import table_ids

    from epaycli.cli.trigger import MESSAGES as TRIGGER
    from epaycli.conformance.cases import CASES, SAID
    from epaycli.conformance.delivery import ANSWER
    from epaycli.conformance.events import VERDICTS
    from epaycli.conformance.reports import MESSAGES as REPORT
    from epaycli.conformance.runner import ALREADY_CREDITED

    cases = {f"check.case.{case.id}.{part}": text for case in CASES
             for part, text in (("fix", case.fix), ("risk", case.risk)) if text}
    return {**cases, **table_ids("check.said", SAID), **table_ids("check.answer", ANSWER),
            **table_ids("check.report", REPORT), **table_ids("trigger", TRIGGER),
            **table_ids("trigger.verdict", VERDICTS), "check.already_credited": ALREADY_CREDITED}


def check(cli, url, *args):
    from test_check_support import KEY, PID

    return cli("check", "notify", url, "--key", KEY, "--pid", PID, "--order", "A1",
               "--amount", "1.00", *args)


def test_a_check_report_speaks_chinese_and_keeps_grades_and_case_ids(cli, chinese):
    from test_check_support import example_shop

    with example_shop("broken_handler") as shop:
        done = check(cli, shop.url, "--state-url", shop.state_url)
    assert done.code == 7
    lines = done.stdout.splitlines()
    flawed = next(line for line in lines if line.startswith("FAIL  bad_signature"))
    assert "订单被入账了（HTTP 200 'success'，用时" in flawed, flawed
    assert any(line.strip().startswith("修复：对收到的除 sign") for line in lines)
    assert lines[-1].startswith("未通过：") and "项通过" in lines[-1]
    assert "个用例中有" in done.stderr and "bad_signature" in done.stderr
    assert english_left(done.stdout + done.stderr) == []


def test_a_check_report_is_a_chinese_table_on_a_terminal(monkeypatch):
    import io

    from test_check_support import KEY, PID, example_shop

    from epaycli.cli.main import run
    from epaycli.env import Environment

    class Terminal(io.StringIO):
        encoding = "utf-8"

        def isatty(self):
            return True

    stdout, stderr = Terminal(), Terminal()
    env = Environment(None, stdout, stderr, {"TERM": "xterm", "EPAY_LANG": "zh"})
    with example_shop("broken_handler") as shop:
        code = run(["check", "notify", shop.url, "--key", KEY, "--pid", PID, "--order", "A1",
                    "--amount", "1.00", "--only", "genuine,bad_signature"], env)
    assert code == 7
    text = stdout.getvalue()
    assert "用例" in text and "结果" in text and "原因" in text and "修复" in text
    assert "CASE" not in text and "未通过：1 项通过，1 项失败" in text


def test_check_dry_run_and_an_unreachable_handler_speak_chinese(cli, chinese):
    from test_check_support import unused_port

    url = f"http://127.0.0.1:{unused_port()}/notify"
    planned = check(cli, url, "--dry-run", "--only", "duplicate")
    assert planned.code == 0, planned.stderr
    assert "演练：什么都没有发送" in planned.stderr and "duplicate ×15：GET" in planned.stdout
    down = check(cli, url, "--only", "genuine")
    assert down.code == 5
    assert down.stderr.startswith("epay: 错误：无法访问 ") and "连接被拒绝" in down.stderr
    assert english_left(planned.stderr + down.stderr) == []


def test_the_check_json_is_the_same_in_both_languages_but_its_free_text(cli, monkeypatch):
    from test_check_support import example_shop

    with example_shop("broken_handler") as shop:
        args = ("--json", "--trade-no", "2026120112000000001", "--now", "1764561600")
        english = json.loads(check(cli, shop.url, *args).stdout)
        monkeypatch.setenv("EPAY_LANG", "zh")
        chinese = json.loads(check(cli, shop.url, *args).stdout)

    def words_out(report):
        return [{k: v for k, v in case.items() if k not in ("reason", "fix", "answers")}
                for case in report["cases"]]

    a, b = same_shape(words_out(chinese)), same_shape(words_out(english))
    assert a == b, [d for d in difflib.ndiff(a.split(", "), b.split(", ")) if d[0] in "+-"]
    assert [c["grade"] for c in chinese["cases"]] == [c["grade"] for c in english["cases"]]


def test_trigger_says_its_answer_in_chinese(cli, chinese):
    from test_check_support import KEY, PID, Behaviour, odd_handler

    with odd_handler(Behaviour(body="fail")) as url:
        one = cli("trigger", "notify", "--to", url, "--key", KEY, "--pid", PID)
        many = cli("trigger", "notify", "--to", url, "--key", KEY, "--pid", PID,
                   "--count", "3")
        planned = cli("trigger", "notify", "--to", url, "--key", KEY, "--pid", PID,
                      "--dry-run")
    assert one.code == 0, one.stderr
    assert "已送达" in one.stdout and "否 — 正文里没有 success" in one.stdout
    assert "耗时" in one.stdout and "状态码" in one.stdout
    assert "3 条，用时" in many.stdout and "状态码分布  200：3" in many.stdout
    assert "演练：什么都没有发送（GET）" in planned.stderr
    assert english_left(one.stdout + one.stderr + many.stdout + planned.stderr) == []


def test_trigger_with_no_answer_says_the_error_in_chinese(cli, chinese):
    from test_check_support import KEY, PID, unused_port

    done = cli("trigger", "notify", "--to", f"http://127.0.0.1:{unused_port()}/n", "--key", KEY,
               "--pid", PID)
    assert done.code == 5
    assert "没有应答：连接被拒绝（处理程序在运行吗？）" in done.stderr
    assert "网关会把它算作未送达" in done.stderr
    assert english_left(done.stderr) == []


def test_trigger_json_is_the_same_in_both_languages(cli, monkeypatch):
    from test_check_support import KEY, PID, Behaviour, odd_handler

    with odd_handler(Behaviour()) as url:
        args = ("trigger", "notify", "--to", url, "--key", KEY, "--pid", PID, "--order", "A1",
                "--trade-no", "2026120112000000001", "--now", "1764561600", "--json")
        english = json.loads(cli(*args).stdout)
        monkeypatch.setenv("EPAY_LANG", "zh")
        chinese = json.loads(cli(*args).stdout)
    for document in (english, chinese):
        document["answer"].pop("ms"), document.pop("summary")
    assert chinese == english


# ---- epay mock -----------------------------------------------------------------------------


def mock_tables() -> dict[str, object]:
    from zhkit import table_ids

    from epaycli.cli.mock import MESSAGES

    return table_ids("mock", MESSAGES)


def test_epay_mock_says_its_start_lines_notifies_and_stop_in_chinese(tmp_path, receiver, client):
    """A real ``epay mock`` under EPAY_LANG=zh: its fields, the listening line, a notify it
    sent and its last line in Chinese."""
    import os
    import signal
    import subprocess
    import sys
    from types import SimpleNamespace

    from conftest import ROOT
    from mockkit import create, pay

    from epaycli.core.models import SANDBOX_KEY

    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path),
           "XDG_CONFIG_HOME": str(tmp_path / ".config"), "PYTHONPATH": os.environ["PYTHONPATH"]
           + os.pathsep + str(ROOT), "EPAY_LANG": "zh", "PYTHONIOENCODING": "utf-8",
           "PYTHONUNBUFFERED": "1"}
    errors = (tmp_path / "mock.err").open("w+", encoding="utf-8")
    gateway = subprocess.Popen([sys.executable, "-m", "epaycli", "mock", "--port", "0",
                                "--in-memory"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                               stderr=errors, text=True, encoding="utf-8")
    try:
        first = gateway.stdout.readline()  # printed once serving
        assert first.startswith("网关 "), first
        gw = SimpleNamespace(url=first.split()[1], pid="1000", key=SANDBOX_KEY)
        order = create(gw, client, receiver.url)
        pay(gw, client, order["sent"]["out_trade_no"])
        receiver.wait(1)
        gateway.send_signal(signal.SIGTERM)
        assert gateway.wait(15) == 0
        out = first + gateway.stdout.read()
        errors.seek(0)
        err = errors.read()
    finally:
        if gateway.poll() is None:
            gateway.kill()
            gateway.wait(5)
        gateway.stdout.close()
        errors.close()
    assert "商户密钥     " + SANDBOX_KEY in out and "V2 商户私钥  （仅在内存中）" in out
    assert "epay mock：正在监听 http://127.0.0.1:" in err and "epay mock 已停止" in err
    assert f"异步通知 {order['sent']['out_trade_no']} 第 1 次：已送达" in err
    assert "配置档 'sandbox' 现在指向" in err
    assert english_left(out + err) == []


def test_a_dropped_notify_and_a_second_copy_are_said_in_chinese():
    import io

    from epaycli.cli.mock import show_event
    from epaycli.env import Environment
    from epaycli.messages import Messages
    from epaycli.mock.events import NotifyAttempt, RequestFailed
    from epaycli.render import Output

    said = io.StringIO()
    out = Output(Environment(None, io.StringIO(), said, {}))
    dropped = NotifyAttempt("A1", "2026", 0, 1, 0.0, "-", "http://127.0.0.1:9/", None, "",
                            "dropped (fault: dropped)", False, "dropped", None)
    copy = NotifyAttempt("A1", "2026", 1, 2, 0.0, "GET", "http://127.0.0.1:9/", 200, "fail",
                         None, False, "duplicate", 3)
    for event in (dropped, copy, RequestFailed("/mapi.php", "ValueError: odd")):
        show_event(out, event, Messages("zh"))
    assert said.getvalue().splitlines() == [
        "异步通知 A1 第 0 次：已丢弃（故障：dropped）",
        "异步通知 A1 第 1 次（第 2 份）：HTTP 200，没有 success",
        "网关错误：ValueError: odd"]


# ---- epay events replay / serve ------------------------------------------------------------


def events_tables() -> dict[str, object]:
    """The replay and serve lines (list and show: test_zh_listen.py)."""
    from epaycli.cli.events import MESSAGES

    return {f"events.{key}": text for key, text in MESSAGES.items()
            if key.startswith(("replay_", "serving", "how_to_stop"))}


@pytest.fixture
def journal(tmp_path):
    import httpx
    from listener.test_listen import KEY, notify

    from epaycli.core.signing import Keys, Md5Key
    from epaycli.listener.server import start_listener

    path = tmp_path / "journal.sqlite3"
    with start_listener(keys=Keys(md5=Md5Key(KEY)), journal=path) as listener:
        httpx.get(listener.url, params=notify(1))
    return str(path)


def test_events_replay_speaks_chinese(cli, chinese, journal):
    from listener.test_listen import KEY
    from test_check_support import Behaviour, odd_handler

    with odd_handler(Behaviour(body="fail")) as url:
        sent = cli("events", "replay", "1", "--journal", journal, "--to", url)
        changed = cli("events", "replay", "1", "--journal", journal, "--to", url, "--set",
                      "money=2.00", "--resign", "--key", KEY, "--dry-run")
    assert sent.code == 0, sent.stderr
    assert "✗ 没有 'success'：网关会再次发送" in sent.stdout
    assert changed.code == 0, changed.stderr
    assert "（已修改）" in changed.stderr and "money=2.00" in changed.stderr
    nowhere = cli("events", "replay", "1", "--journal", journal)
    assert nowhere.code == 2 and nowhere.stderr.startswith("epay: 错误：没有重放的目标地址")
    assert english_left(sent.stdout + sent.stderr + changed.stderr + nowhere.stderr) == []


def test_events_serve_says_where_in_chinese(tmp_path, journal):
    import os
    import signal
    import subprocess
    import sys

    from conftest import ROOT

    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path),
           "XDG_CONFIG_HOME": str(tmp_path / ".config"), "EPAY_LANG": "zh",
           "PYTHONPATH": os.environ["PYTHONPATH"] + os.pathsep + str(ROOT),
           "PYTHONIOENCODING": "utf-8"}
    served = subprocess.Popen([sys.executable, "-m", "epaycli", "events", "serve", "--journal",
                               journal, "--port", "0"], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                              encoding="utf-8")
    try:
        first = served.stderr.readline()  # said once serving
        served.send_signal(signal.SIGTERM)
        served.wait(15)
        rest = served.stderr.read()
    finally:
        if served.poll() is None:
            served.kill()
            served.wait(5)
    assert first.startswith("检查器：http://127.0.0.1:") and f"— 日志 {journal}" in first
    assert "按 Ctrl+C 停止" in rest
