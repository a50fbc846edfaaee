"""中文 for the reports (issue 17): ``epay demo``'s timeline, ``epay check notify`` and
``epay trigger`` reports, ``epay mock``'s lines and ``epay events replay``. Every template has
its Chinese with the same fields (and none is stale); real runs under EPAY_LANG=zh leave no
English sentence; ``--json`` stays the same in both languages but its free text."""

from __future__ import annotations

import json
import re

import pytest
from test_zh import fields

from epaycli.messages import load_catalogue


def english_tables() -> dict[str, object]:
    """Every English template of these areas, by its catalogue id."""
    from epaycli.cli.demo import MESSAGES as DEMO_CLI
    from epaycli.demo.events import STEP_TITLES
    from epaycli.demo.roundtrip import SAID
    from epaycli.demo.timeline import MESSAGES as TIMELINE
    from epaycli.messages.phrase import table_ids

    return {**table_ids("demo", DEMO_CLI), **table_ids("demo.step", STEP_TITLES),
            **table_ids("demo.said", SAID), **table_ids("demo.timeline", TIMELINE),
            "demo.nothing_checked": "nothing was checked"}


AREAS = ("demo.",)


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
    error = DemoFailed(result)
    assert words_for(error, chinese)[0] == "demo 第 1 步（create）失败：回复里没有 trade_no"
    assert str(DemoFailed(result)).startswith(
        "demo step 1 (create) failed: the answer has no trade_no — the timeline above")


def test_the_demo_json_is_the_same_in_both_languages(cli, monkeypatch):
    english = json.loads(cli("demo", "--json").stdout)
    monkeypatch.setenv("EPAY_LANG", "zh")
    chinese = json.loads(cli("demo", "--json").stdout)
    assert same_shape(chinese) == same_shape(english)
    assert chinese["steps"][0]["checks"][0]["check"].startswith("the gateway accepted it")


VOLATILE = re.compile(r"\d{8,}|epay\w{14,}|[0-9a-f]{32,}|:\d{4,5}/|\"ms\": [\d.]+|\d\d:\d\d:\d\d")


def same_shape(document) -> str:
    """A document with what changes from run to run (numbers, ports, times) blanked."""
    return VOLATILE.sub("#", json.dumps(document, ensure_ascii=False, sort_keys=True))
