"""中文 for the inspector page (issue 17): every sentence the server answers with and every one
the page shows (static/app.js MESSAGES, index.html's data-t texts) has its Chinese with the
same fields, and an inspector started in Chinese hands its page the language and the table,
and answers its refusals and errors in Chinese. (The page itself, in a real Chromium:
tests/listener/test_inspector_browser.py.)"""

from __future__ import annotations

import re
from importlib import resources

import httpx
import pytest
from listener.test_listen import KEY, notify
from test_zh import fields
from zhkit import english_left

from epaycli.core.signing import Keys, Md5Key
from epaycli.listener.inspector import InspectorConfig, start_inspector
from epaycli.listener.inspector.server import MESSAGES
from epaycli.listener.server import start_listener
from epaycli.messages import load_catalogue

STATIC = resources.files("epaycli.listener.inspector").joinpath("static")


def page_english() -> dict[str, str]:
    """The page's English by id: app.js's MESSAGES table and index.html's data-t texts."""
    script = STATIC.joinpath("app.js").read_text("utf-8")
    table = script[script.index("const MESSAGES = {"):script.index("\n};")]
    found = dict(re.findall(r'^\s+(\w+): "((?:[^"\\]|\\.)*)",$', table, re.MULTILINE))
    html = STATIC.joinpath("index.html").read_text("utf-8")
    for tag in re.finditer(r"<(\w+)([^>]*)>([^<]*)(?=<)", html):
        attributes, text = tag[2], tag[3].strip()
        for kind, message_id in re.findall(r'data-t(-\w+)?="(\w+)"', attributes):
            if kind == "-placeholder":
                text = re.search(r'placeholder="([^"]*)"', attributes)[1]
            elif kind == "-title":
                text = re.search(r' title="([^"]*)"', attributes)[1]
            assert found.setdefault(message_id, text) == text, message_id  # one id, one text
    return found


def test_every_page_and_server_sentence_has_its_chinese_with_the_same_fields():
    catalogue = load_catalogue("zh")
    english = page_english()
    assert len(english) > 60 and english["verdict_genuine"] == "genuine"
    assert english["filter_number_placeholder"] == "trade_no or out_trade_no"
    for message_id, text in english.items():
        chinese = catalogue.get(f"inspector.page.{message_id}")
        assert chinese is not None, message_id
        assert fields(chinese) == fields(text), message_id
    for message_id, text in MESSAGES.items():
        assert fields(catalogue[f"inspector.{message_id}"]) == fields(text), message_id
    known = {f"inspector.page.{i}" for i in english} | {f"inspector.{i}" for i in MESSAGES}
    assert not {key for key in catalogue if key.startswith("inspector.")} - known  # none stale


@pytest.fixture
def journal(tmp_path):
    path = tmp_path / "journal.sqlite3"
    with start_listener(keys=Keys(md5=Md5Key(KEY)), journal=path) as listener:
        httpx.get(listener.url, params=notify(1))
    return path


@pytest.mark.parametrize("language", ["zh", "en"])
def test_the_inspector_hands_its_page_the_language_and_says_refusals_in_it(journal, language):
    with start_inspector(InspectorConfig(journal=journal, port=0, language=language)) as seen:
        info = httpx.get(seen.base_url + "/api/info").json()
        page = httpx.get(seen.base_url + "/").text
        missing = httpx.get(seen.base_url + "/nowhere").json()["error"]
        bad_id = httpx.get(seen.base_url + "/api/requests/x").json()["error"]
    assert info["language"] == language and info["latest_id"] == 1
    if language == "en":  # the page keeps its own English: nothing to hand over
        assert info["messages"] == {} and '<html lang="en">' in page
        assert missing["message"] == "no such page"
        return
    assert info["messages"]["verdict_genuine"] == "真实" and info["messages"]["filter"] == "筛选"
    assert '<html lang="zh-CN">' in page
    assert missing == {"code": "not_found", "message": "没有这个页面"}
    assert bad_id["code"] == "bad_id" and re.search(r"[\u4e00-\u9fff]", bad_id["message"])


def test_a_forged_notify_is_diagnosed_in_the_inspectors_language(tmp_path):
    """The journal keeps how its verdict's sentences are said: the page shows them in Chinese,
    the English journal and page are unchanged."""
    path = tmp_path / "journal.sqlite3"
    with start_listener(keys=Keys(md5=Md5Key(KEY)), journal=path) as listener:
        httpx.get(listener.url, params=notify(2, key="w" * 32))
    shown, listed = {}, {}
    for language in ("en", "zh"):
        with start_inspector(InspectorConfig(journal=path, port=0, language=language)) as seen:
            shown[language] = httpx.get(seen.base_url + "/api/requests/1").json()
            listed[language] = httpx.get(seen.base_url + "/api/requests").json()
    english, chinese = shown["en"], shown["zh"]
    (row,) = listed["zh"]["rows"]
    assert row["reason"] == chinese["reason"] and "words" not in row
    assert listed["en"]["rows"][0]["reason"] == english["reason"]
    assert "words" not in english and "words" not in chinese
    problem = chinese["report"]["problems"][0]
    assert "签名" in problem["message"] and not english_left(problem["message"])
    assert problem["code"] == english["report"]["problems"][0]["code"]
    assert "signature" in english["report"]["problems"][0]["message"].lower() or \
        "sign" in english["reason"]
    assert chinese["reason"] != english["reason"] and not english_left(chinese["reason"])
