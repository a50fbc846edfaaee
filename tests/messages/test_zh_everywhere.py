"""中文 everywhere: a representative run of every command under EPAY_LANG=zh leaves no English
sentence in what it prints (ids, field names, flags, URLs and values aside), against the real
local gateway and a real notify handler. The per-area tests (test_zh_*.py) check the words."""

from __future__ import annotations

import json

import pytest
from mockkit import create
from zhkit import english_left


@pytest.fixture
def chinese(monkeypatch):
    monkeypatch.setenv("EPAY_LANG", "zh")


def merchant(gw) -> list[str]:
    return ["--gateway", gw.url, "--pid", gw.pid, "--key", gw.key]


def runs(gw, receiver_url: str, paid: str, unpaid: str, shop_csv: str) -> list[list[str]]:
    """One or more runs of each command, the ones that end in an error included."""
    sandbox = ["--key", "SandboxKey0nlyForLocalTests00000"]
    return [
        ["sign", "pid=1001", "money=1.00", "out_trade_no=A1", *sandbox],
        ["verify", "pid=1001&money=1.00&out_trade_no=A1&sign=0123&sign_type=MD5", *sandbox],
        ["verify", "pid=1001&money=1.00&out_trade_no=A1", *sandbox],
        ["errors", "签名错误"],
        ["errors", "no-such-error-anywhere"],
        ["profile", "list"],
        ["profile", "add", "shop", "--gateway", gw.url, "--pid", gw.pid, "--key", gw.key],
        ["profile", "show", "shop"],
        ["profile", "use", "shop"],
        ["profile", "remove", "nobody"],
        ["order", "create", "--amount", "1.00", "--name", "月卡", *merchant(gw)],
        ["order", "create", "--amount", "1.00", "--name", "月卡", "--dry-run", *merchant(gw)],
        ["order", "query", paid, *merchant(gw)],
        ["order", "query", "NO-SUCH-ORDER", *merchant(gw)],
        ["order", "list", *merchant(gw)],
        ["order", "wait", unpaid, "--timeout", "1", *merchant(gw)],
        ["order", "refund", paid, "--amount", "1.00", *merchant(gw)],
        ["merchant", "info", *merchant(gw)],
        ["merchant", "settles", *merchant(gw)],
        ["trigger", "notify", "--to", receiver_url, *sandbox],
        ["check", "notify", receiver_url, *sandbox],
        ["doctor", "--offline"],
        ["doctor", "request", "pid=1001", "money=abc"],
        ["events", "list"],
        ["monitor", "--once", *merchant(gw)],
        ["reconcile", "--from", shop_csv, *merchant(gw)],
        ["demo"],
        ["sign"],  # usage errors
        ["order", "create", "--amount", "1.00"],
        ["order", "query", "--no-such-flag"],
    ]


def test_every_command_speaks_chinese_end_to_end(cli, chinese, gateway, receiver, client,
                                                 tmp_path):
    paid, unpaid = "ZH-PAID-1", "ZH-UNPAID-1"
    for number in (paid, unpaid):
        create(gateway, client, out_trade_no=number)
    client.post(gateway.url + "sandbox/pay", data={"pid": gateway.pid, "key": gateway.key,
                                                   "out_trade_no": paid})
    shop = tmp_path / "shop.csv"
    shop.write_text(f"out_trade_no,money,status\n{paid},1.00,unpaid\n", encoding="utf-8")
    left: dict[str, list[str]] = {}
    for args in runs(gateway, receiver.url, paid, unpaid, str(shop)):
        done = cli(*args)
        assert "Traceback" not in done.stderr, args
        found = english_left(done.stdout + done.stderr)
        if found:
            left[" ".join(args[:3])] = found
    assert not left, json.dumps(left, ensure_ascii=False, indent=1)
