"""The inspector page in a real headless browser (Debian's chromium, driven by selenium through
the system chromedriver): rows appear live with the right verdicts, a request opens with its
diagnosis, a replay edited and re-signed shows its result in place, paging and filters work on
a large journal, and the page runs under its own Content-Security-Policy without a complaint.

Chromium and its driver come from ``.ci/browser`` (apt). When they are missing these tests
fail under CI (``CI=true``) and are skipped, saying so, in a contributor's plain ``pytest``
run. Each test keeps a screenshot under the artifacts directory it prints (``EPAY_ARTIFACTS``,
else pytest's temporary directory)."""

from __future__ import annotations

import os
import shutil
import sqlite3
from pathlib import Path

import httpx
import pytest
from test_inspector import _copy_journal
from test_listen import KEY, notify
from test_listen_cli import env, epay  # noqa: F401 - fixtures

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
WAIT_SECONDS = 20
# read now: the isolated environment of every test drops EPAY_* variables
ARTIFACTS = os.environ.get("EPAY_ARTIFACTS")


def _missing() -> str | None:
    if not (shutil.which("chromium") or Path(CHROMIUM).exists()):
        return "chromium is not installed"
    if not Path(CHROMEDRIVER).exists():
        return f"chromium-driver is not installed ({CHROMEDRIVER})"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[test]')"
    return None


@pytest.fixture
def browser():
    missing = _missing()
    if missing:
        message = f"{missing}: run .ci/browser (installs chromium and chromium-driver)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message + "; under CI=true this fails")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                     "--disable-gpu", "--window-size=1600,1000", "--no-first-run",
                     "--disable-extensions", "--disable-background-networking"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # the system driver: selenium's own download cannot reach the internet here
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(WAIT_SECONDS)
    yield driver
    driver.quit()


@pytest.fixture
def artifacts(request, tmp_path_factory) -> Path:
    base = Path(ARTIFACTS or tmp_path_factory.getbasetemp() / "artifacts")
    folder = base / request.node.name
    folder.mkdir(parents=True, exist_ok=True)
    print(f"\nartifacts: {folder}")
    return folder


def wait_for(driver, condition, message: str):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, WAIT_SECONDS, poll_frequency=0.05).until(condition, message)


def row(driver, record_id: int):
    """The list's row for a request, once it is there."""
    from selenium.webdriver.common.by import By

    return wait_for(driver, lambda d: (d.find_elements(By.CSS_SELECTOR,
                                                       f'#rows tr[data-id="{record_id}"]')
                                       or [None])[0], f"row {record_id} never appeared")


def verdict(driver, record_id: int) -> str:
    return row(driver, record_id).get_attribute("data-verdict")


def console_problems(driver) -> list[str]:
    return [entry["message"] for entry in driver.get_log("browser")
            if entry["level"] == "SEVERE" or "Content Security Policy" in entry["message"]]


def test_rows_appear_live_a_request_opens_and_an_edited_resigned_replay_shows(
        browser, artifacts, epay, tmp_path):
    from selenium.webdriver.common.by import By

    listener = epay("listen", "--port", "0", "--json", "--journal", str(tmp_path / "j.sqlite3"),
                    "--inspect", "--inspect-port", "0")
    ready = listener.event("ready")
    browser.get(ready["inspector_url"])
    wait_for(browser, lambda d: "on" in d.find_element(By.ID, "live").get_attribute("class"),
             "the live feed never connected")
    assert browser.find_elements(By.CSS_SELECTOR, "#rows tr[data-id]") == []

    url = ready["local_url"]
    assert httpx.get(url, params=notify(1)).text == "success"  # genuine
    tampered = {**notify(2), "money": "0.01"}  # changed after signing
    assert httpx.get(url, params=tampered).text == "fail"
    assert httpx.get(url, params=notify(1)).text == "success"  # the gateway's re-send

    for record_id in (1, 2, 3):
        row(browser, record_id)
    assert browser.current_url == ready["inspector_url"]  # no reload: the same page
    assert verdict(browser, 1) == "genuine" and verdict(browser, 3) == "genuine"
    assert verdict(browser, 2) == "bad_signature"
    assert row(browser, 2).find_element(By.CSS_SELECTOR, ".verdict").text == "bad signature"
    duplicate = row(browser, 3).text
    assert "×2" in duplicate and "content changed" not in duplicate
    order = [tr.get_attribute("data-id")
             for tr in browser.find_elements(By.CSS_SELECTOR, "#rows tr[data-id]")]
    assert order == ["3", "2", "1"]  # newest first

    row(browser, 2).click()
    diagnosis = wait_for(browser, lambda d: d.find_element(
        By.CSS_SELECTOR, '#detail[data-id="2"] .diagnosis'), "the diagnosis never showed")
    assert "does not match" in diagnosis.text and "fix:" in diagnosis.text
    detail = browser.find_element(By.ID, "detail")
    assert "money=0.01" in detail.find_element(By.CSS_SELECTOR, "pre.raw").text
    signed = detail.find_element(By.CSS_SELECTOR, "pre.signed").text
    assert signed.endswith(KEY[:4] + "…" + KEY[-4:]) and KEY not in detail.text
    assert detail.find_element(By.CSS_SELECTOR, "pre.copy-curl").text.startswith("curl -sS")
    assert detail.find_element(By.CSS_SELECTOR, "pre.copy-verify").text.startswith("epay verify")

    row(browser, 1).click()
    money = wait_for(browser, lambda d: d.find_element(
        By.CSS_SELECTOR, '#detail[data-id="1"] input[data-field="money"]'),
        "the replay form never showed")
    money.clear()
    money.send_keys("5.00")
    browser.find_element(By.ID, "replay-resign").click()
    browser.find_element(By.ID, "replay-edited").click()
    result = wait_for(browser, lambda d: d.find_element(By.CSS_SELECTOR,
                                                        "#replay-result[data-status]"),
                      "the replay's result never showed")
    assert result.get_attribute("data-delivered") == "true"
    assert result.get_attribute("data-status") == "200" and "money=5.00" in result.text

    row(browser, 4)  # the replay went to the listener: it arrives live too
    assert verdict(browser, 4) == "genuine" and "content changed" in row(browser, 4).text
    browser.save_screenshot(str(artifacts / "inspector.png"))
    assert console_problems(browser) == []


def test_a_large_journal_pages_and_filters_in_the_browser(browser, artifacts, epay,
                                                          tmp_path):
    from selenium.webdriver.common.by import By

    seed = tmp_path / "seed.sqlite3"
    from epaycli.core.signing import Keys, Md5Key
    from epaycli.listener.server import start_listener

    with start_listener(keys=Keys(md5=Md5Key(KEY)), journal=seed) as listener:
        httpx.get(listener.url, params=notify(1))
    journal = _copy_journal(seed, tmp_path / "large.sqlite3", 5000)
    served = epay("events", "serve", "--journal", str(journal), "--port", "0", "--json")
    browser.get(served.event("ready")["inspector_url"])
    row(browser, 5000)
    assert "5,000 requests" in browser.find_element(By.ID, "total").text
    assert len(browser.find_elements(By.CSS_SELECTOR, "#rows tr[data-id]")) == 100

    browser.find_element(By.ID, "older").click()
    row(browser, 4900)
    assert not browser.find_elements(By.CSS_SELECTOR, '#rows tr[data-id="5000"]')
    browser.find_element(By.ID, "newer").click()
    row(browser, 5000)

    burst = 3 * 100  # more than the live feed sends a tick: the page fetches its newest page
    with sqlite3.connect(journal) as db:
        columns = ", ".join(r[1] for r in db.execute("PRAGMA table_info(requests)")
                            if r[1] != "id")
        db.execute(f"INSERT INTO requests ({columns}) SELECT {columns} FROM requests "
                   f"WHERE id <= {burst}")
    row(browser, 5000 + burst)
    wait_for(browser, lambda d: "5,300 requests" in d.find_element(By.ID, "total").text,
             "the count never followed the burst")

    search = browser.find_element(By.ID, "f-q")
    search.send_keys("000000000004321")
    search.submit()
    wait_for(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#rows tr[data-id]")) == 1,
             "the search never narrowed the list")
    row(browser, 4321)
    browser.save_screenshot(str(artifacts / "large-journal.png"))
    assert console_problems(browser) == []


def test_the_page_speaks_chinese_when_the_run_does(browser, artifacts, epay, tmp_path):
    """``epay events serve`` under EPAY_LANG=zh: the page's own words, its verdicts and the
    opened request's sections are Chinese; ids, numbers and the raw request stay as they are."""
    from selenium.webdriver.common.by import By

    from epaycli.core.signing import Keys, Md5Key
    from epaycli.listener.server import start_listener

    journal = tmp_path / "j.sqlite3"
    with start_listener(keys=Keys(md5=Md5Key(KEY)), journal=journal) as listener:
        assert httpx.get(listener.url, params=notify(1)).text == "success"
        assert httpx.get(listener.url, params={**notify(2), "money": "0.01"}).text == "fail"
    served = epay("events", "serve", "--journal", str(journal), "--port", "0", "--json",
                  extra_env={"EPAY_LANG": "zh", "PYTHONIOENCODING": "utf-8"})
    browser.get(served.event("ready")["inspector_url"])
    row(browser, 2)
    wait_for(browser, lambda d: d.find_element(By.ID, "total").text == "共 2 个请求",
             "the count never showed in Chinese")
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "zh-CN"
    assert row(browser, 1).find_element(By.CSS_SELECTOR, ".verdict").text == "真实"
    assert row(browser, 2).find_element(By.CSS_SELECTOR, ".verdict").text == "签名错误"
    headers = [th.text for th in browser.find_elements(By.CSS_SELECTOR, "thead th")]
    assert headers[1:3] == ["时间", "方法"] and headers[5] == "判定"
    assert browser.find_element(By.CSS_SELECTOR, "#filters button[type=submit]").text == "筛选"
    assert browser.find_element(By.ID, "f-q").get_attribute("placeholder") == \
        "trade_no 或 out_trade_no"
    wait_for(browser, lambda d: d.find_element(By.ID, "live").text == "实时",
             "the live feed never said so in Chinese")

    row(browser, 2).click()
    detail = wait_for(browser, lambda d: d.find_element(By.CSS_SELECTOR, '#detail[data-id="2"]'),
                      "the request never opened")
    sections = [h3.text for h3 in detail.find_elements(By.TAG_NAME, "h3")]
    assert sections[:3] == ["判定", "原始请求", "解析出的字段"], sections
    assert "money=0.01" in detail.find_element(By.CSS_SELECTOR, "pre.raw").text
    assert "网关会把它算作未送达" in detail.text and "重放" in sections
    browser.save_screenshot(str(artifacts / "inspector-zh.png"))
    assert console_problems(browser) == []
