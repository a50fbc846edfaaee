"""中文 for ``epay order`` and ``epay merchant`` (issue 17): every message id of the commands
and of the gateway client has its Chinese with the same fields, the commands run against epay's
own local gateway under EPAY_LANG=zh speak Chinese with no English sentence left (what the
gateway sent, ids, field names, flags and URLs aside), and ``--json`` is the same in both
languages."""

from __future__ import annotations

import json
import re
import socket

import pytest
from test_zh import fields
from zhkit import english_left

from epaycli.cli import connect, merchant, order
from epaycli.gateway import calls, client, operations, replies
from epaycli.messages import load_catalogue

GATEWAY_TABLES = [calls.MESSAGES, operations.MESSAGES, replies.MESSAGES, client.MESSAGES]


def template_fields(english) -> set:
    """The fields of an English template; a plural table's forms together."""
    forms = english.values() if isinstance(english, dict) else [english]
    return set().union(*(fields(form) for form in forms))


def check_area(prefix: str, table: dict, *, own: tuple[str, ...] = ()) -> None:
    """Every id of ``table`` has its Chinese under ``prefix`` with the same fields, and the
    catalogue holds no id under ``prefix`` the table lacks (``own``: sub-tables of ids that
    are not messages, such as column headers)."""
    catalogue = load_catalogue("zh")
    for message_id, english in table.items():
        chinese = catalogue.get(f"{prefix}.{message_id}")
        assert chinese is not None, f"{prefix}.{message_id} has no Chinese"
        assert fields(chinese) == template_fields(english), message_id
    known = {f"{prefix}.{message_id}" for message_id in table}
    stale = {key for key in catalogue if key.startswith(f"{prefix}.") and key not in known
             and not key.startswith(tuple(f"{prefix}.{sub}." for sub in own))}
    assert not stale


@pytest.mark.parametrize(("prefix", "table", "own"), [
    ("orders", order.MESSAGES, ("column", "label")),
    ("merchant", merchant.MESSAGES, ("column", "label")),
    ("connect", connect.MESSAGES, ()),
])
def test_every_order_and_merchant_message_has_its_chinese_with_the_same_fields(prefix, table,
                                                                               own):
    check_area(prefix, table, own=own)


def test_every_note_of_the_gateway_client_has_its_chinese_and_one_wording():
    merged: dict = {}
    for table in GATEWAY_TABLES:
        for message_id, english in table.items():
            assert merged.setdefault(message_id, english) == english, message_id
    check_area("gateway", merged)


# ---- the commands, on a real local gateway ---------------------------------------------------


@pytest.fixture
def v1(gateway, receiver):
    """The merchant's options, and notifies to a receiver of this test's own."""
    return ("--gateway", gateway.url, "--pid", gateway.pid, "--key", gateway.key)


@pytest.fixture
def chinese(monkeypatch):
    monkeypatch.setenv("EPAY_LANG", "zh")


def no_english_left(text: str, *allowed: str) -> None:
    """No English sentence in ``text`` (tests/zhkit.py) once the ``allowed`` texts (what the
    gateway said, values) are taken out."""
    for value in allowed:
        text = text.replace(value, " ")
    assert not english_left(text)


def test_an_order_round_trip_speaks_chinese(cli, chinese, v1, receiver):
    made = cli("order", "create", "-a", "1.00", "-n", "月卡🎁", "--out-trade-no", "ZH-1",
               "--notify-url", receiver.url, *v1)
    assert made.code == 0, made.stderr
    assert made.stdout.splitlines()[0].split() == ["商户订单号", "ZH-1"]
    assert "支付链接" in made.stdout and "订单保存的名称会变成 '月卡?'" in made.stderr
    paid = cli("order", "pay", "ZH-1", *v1)
    assert paid.code == 0, paid.stderr
    assert "结果" in paid.stdout and "已支付" in paid.stdout
    assert re.search(r"异步通知\s+http://127\.0\.0\.1:\d+/\S*：已送达", paid.stdout), paid.stdout
    queried = cli("order", "query", "ZH-1", *v1)
    assert queried.code == 0, queried.stderr
    assert "状态        1（已支付）" in queried.stdout and "商品名称" in queried.stdout
    listed = cli("order", "list", *v1)
    assert listed.code == 0, listed.stderr
    assert listed.stdout.split()[:4] == ["商户订单号", "平台订单号", "金额", "状态"]
    assert "已支付" in listed.stdout and "列出 1 笔订单（读取了 1 页）" in listed.stderr
    local = cli("order", "list", "--local")
    assert "epay 记住了 1 笔订单" in local.stderr and "商户ID" in local.stdout
    waited = cli("order", "wait", "ZH-1", "--timeout", "5", *v1)
    assert waited.code == 0 and waited.stdout.startswith("已支付：ZH-1（平台订单号 ")
    refunded = cli("order", "refund", "ZH-1", "-a", "0.50", *v1)
    assert refunded.code == 0, refunded.stderr
    assert "退款金额  0.50" in refunded.stdout and "网关回复" in refunded.stdout
    for done in (made, paid, queried, listed, local, waited, refunded):
        no_english_left(done.stdout + done.stderr, "月卡🎁", "月卡?")


def test_merchant_info_and_settles_speak_chinese(cli, chinese, v1):
    info = cli("merchant", "info", *v1)
    assert info.code == 0, info.stderr
    assert info.stdout.splitlines()[0].split() == ["商户ID", "1000"]
    assert "商户密钥" in info.stdout and "今日订单数" in info.stdout
    settles = cli("merchant", "settles", *v1)
    assert settles.code == 0 and "0 条结算记录" in settles.stderr
    no_english_left(info.stdout + info.stderr + settles.stdout + settles.stderr)


def test_a_gateway_error_and_a_refusal_are_said_in_chinese(cli, chinese, v1, tmp_path):
    missing = cli("order", "query", "NOPE-1", *v1)
    assert missing.code == 4
    line = missing.stderr.strip()
    assert line.startswith("epay: 错误：网关应答 code -1：订单号不存在 — ")
    assert "核对订单号" in line
    refused = cli("order", "create", "-a", "0", "-n", "x", "--dry-run")
    assert refused.code == 2
    assert "金额为 '0' — 请给出大于零的金额" in refused.stderr
    numbers = tmp_path / "numbers.txt"
    numbers.write_text("ZH-2\nbad no\n")
    bad_line = cli("order", "query", "--from", str(numbers), *v1)
    assert bad_line.code == 2 and "numbers.txt 第 2 行：" in bad_line.stderr
    with socket.socket() as probe:  # a port this run bound, closed again
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    unreachable = cli("order", "query", "A1", "--gateway", f"http://127.0.0.1:{closed}/", "--pid",
                      "1000", "--key", "k" * 32, "--timeout", "1")
    assert unreachable.code == 5 and "无法连接 " in unreachable.stderr
    for done in (missing, refused, bad_line, unreachable):
        no_english_left(done.stderr, "Connection refused", "All connection attempts failed")


def test_dry_run_lines_speak_chinese(cli, chinese):
    done = cli("order", "create", "-a", "1", "-n", "x", "--out-trade-no", "D1", "--dry-run")
    assert done.code == 0, done.stderr
    assert "  # 签名串：" in done.stdout and "试运行：没有发送任何请求" in done.stderr
    assert "notify_url：http://127.0.0.1:8788/notify（沙箱默认值" in done.stderr
    no_english_left(done.stdout + done.stderr)


def test_json_is_the_same_in_both_languages(cli, monkeypatch, v1, receiver):
    made = cli("order", "create", "-a", "2.00", "-n", "x", "--out-trade-no", "ZH-J",
               "--notify-url", receiver.url, *v1)
    assert made.code == 0, made.stderr
    runs = [("order", "query", "ZH-J", "--json", *v1), ("order", "list", "--json", *v1),
            ("order", "list", "--local", "--json"), ("merchant", "info", "--json", *v1),
            ("order", "create", "-a", "1", "-n", "x", "--out-trade-no", "D1", "--dry-run",
             "--json")]
    english = [cli(*args).stdout for args in runs]
    monkeypatch.setenv("EPAY_LANG", "zh")
    assert [cli(*args).stdout for args in runs] == english
    assert all(json.loads(text) for text in english)
