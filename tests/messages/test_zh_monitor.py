"""中文 for `epay monitor` and `epay reconcile`: every sentence of epaycli/monitor/text.py has
its Chinese; the dashboard, the alerts and reconcile's lines speak it under EPAY_LANG=zh; the
--json documents and the robots' payload shapes stay the same in both languages."""

from __future__ import annotations

import json

import pytest
from monitor.test_monitor import scripted, stack, v1  # noqa: F401 (stack is a fixture)
from monitor.test_monitor_dashboard import gateway as dashboard_gateway  # noqa: F401
from monitor.test_monitor_dashboard import watch_in_terminal
from monitor.test_reconcile import SHOP_CSV
from monitor.test_reconcile import gateway as reconcile_gateway  # noqa: F401
from test_zh import fields

from epaycli.messages import Messages, load_catalogue
from epaycli.monitor import alerts
from epaycli.monitor.figures import Breach, Report
from epaycli.monitor.text import MESSAGES, say, speaking


def test_every_monitor_message_has_its_chinese_with_the_same_fields():
    catalogue = load_catalogue("zh")
    for message_id, english in MESSAGES.items():
        assert fields(catalogue[f"monitor.{message_id}"]) == fields(english), message_id
    known = {f"monitor.{message_id}" for message_id in MESSAGES}
    assert not {key for key in catalogue if key.startswith("monitor.")} - known  # none stale


def test_say_is_english_outside_a_chinese_run_and_after_it():
    assert say("board_none") == "no abnormal orders in the window"
    with speaking(Messages("zh")):
        assert say("board_none") == "统计窗口内没有异常订单"
        assert say("reconcile_summary", checked=5, count=4) == "已核对 5 笔订单：4 笔不一致"
    assert say("board_none") == "no abnormal orders in the window"


def without_details(report: dict) -> dict:
    return {**report, "abnormal": [{k: v for k, v in item.items() if k != "detail"}
                                   for item in report["abnormal"]]}


def test_monitor_once_details_abnormal_orders_in_chinese_and_keeps_its_json(stack, cli,
                                                                            monkeypatch):
    gateway, listener, clock = stack
    scripted(gateway, listener, clock)
    command = ("monitor", "--once", "--json", "--journal", str(listener.journal.path),
               *v1(gateway))
    english = cli(*command)
    monkeypatch.setenv("EPAY_LANG", "zh")
    chinese = cli(*command)
    assert (english.code, chinese.code) == (7, 7)
    english_report, chinese_report = json.loads(english.stdout), json.loads(chinese.stdout)
    for report in (english_report, chinese_report):  # the latency is measured, not scripted
        report.pop("avg_response_ms"), report.pop("p95_response_ms")
    assert without_details(chinese_report) == without_details(english_report)
    details = {item["kind"]: item["detail"] for item in chinese_report["abnormal"]}
    assert "未收到验签通过的异步通知" in details["notify_missing"]
    assert details["pid_mismatch"].startswith("异步通知属于商户ID 9999")
    assert "签名错误" in details["bad_signature"]
    assert all(not detail.isascii() for detail in details.values())
    assert say("board_none") == "no abnormal orders in the window"  # the run is over


def test_the_dashboard_speaks_chinese_in_a_terminal(dashboard_gateway):
    gateway = dashboard_gateway
    shown, _ = watch_in_terminal(gateway, lambda text: "超出阈值：" in text and "历史" in text,
                                 EPAY_LANG="zh")
    assert f"epay 监控 · 商户ID {gateway.pid}" in shown and "每 1s 刷新" in shown
    assert "成功率" in shown and "50.00 %" in shown and "（≥ 99.50 %）" in shown
    assert "超出阈值：成功率 50.00 % 低于 99.50 %" in shown
    assert "success rate" not in shown and "BREACH" not in shown


def firing_alert():
    report = Report(window=3600, orders=2, paid=1, success_rate=0.5, avg_response_ms=12.0,
                    p95_response_ms=15.0, abnormal_rate=0.0, abnormal=(),
                    notify_latency_ms=None,
                    breaches=(Breach("success_rate", 0.5, 0.995),))
    scope = alerts.Scope("http://127.0.0.1:9/", "1000")
    alert, _ = alerts.next_alert(None, report, scope=scope, now=1_700_000_000.0,
                                 new_id=lambda: "incident-1")
    return alert


@pytest.mark.parametrize("fmt", ["wecom", "dingtalk", "feishu", "slack"])
def test_robot_payloads_carry_chinese_text_in_the_same_shape(fmt):
    english = alerts.payload(firing_alert(), fmt, secret="s" * 8, now=1_700_000_000.0)
    with speaking(Messages("zh")):
        chinese = alerts.payload(firing_alert(), fmt, secret="s" * 8, now=1_700_000_000.0)

    def shape(value):
        if isinstance(value, dict):
            return {key: shape(inner) for key, inner in value.items()}
        return type(value).__name__

    assert shape(chinese) == shape(english)
    said = json.dumps(chinese, ensure_ascii=False)
    assert "[epay] 告警：商户ID 1000（127.0.0.1:9）：成功率 50.00 % 低于 99.50 %" in said
    assert "ALERT" not in said


def test_the_json_alert_format_has_no_words_and_is_the_same_in_both_languages():
    english = alerts.payload(firing_alert(), "json")
    with speaking(Messages("zh")):
        assert alerts.payload(firing_alert(), "json") == english


def test_reconcile_speaks_chinese_and_keeps_its_json(cli, reconcile_gateway, tmp_path,
                                                     monkeypatch):
    shop = tmp_path / "shop.csv"
    shop.write_text(SHOP_CSV)
    english_json = cli("reconcile", "--from", str(shop), "--json", *v1(reconcile_gateway))
    monkeypatch.setenv("EPAY_LANG", "zh")
    chinese_json = cli("reconcile", "--from", str(shop), "--json", *v1(reconcile_gateway))
    assert json.loads(chinese_json.stdout) == json.loads(english_json.stdout)
    done = cli("reconcile", "--from", str(shop), *v1(reconcile_gateway))
    assert done.code == 7
    assert "paid_not_credited" in done.stdout  # the kinds are ids, kept
    assert "已核对 5 笔订单：4 笔不一致" in done.stderr and "checked" not in done.stderr


def test_a_bad_export_is_a_chinese_one_line_error(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("EPAY_LANG", "zh")
    shop = tmp_path / "shop.csv"
    shop.write_text("out_trade_no,money,status\nR1,lots,paid\n")
    done = cli("reconcile", "--from", str(shop), "--gateway", "http://127.0.0.1:9/",
               "--pid", "1000", "--key", "k" * 32)
    assert done.code == 2
    assert f"{shop} 的第 2 行：money 'lots' 不是金额" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
