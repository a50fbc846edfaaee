"""The local gateway's notifies, byte for byte the ones a real server sent: each notify captured
from a real Rainbow Epay install (tests/vectors/real-notifies.json) is rebuilt from the order it
came from, with that install's merchant key, and must come out identical — fields, order,
encoding, money format, stored forms and sign."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from urllib.parse import parse_qsl, urlsplit

import pytest
from conftest import load_vectors

from epaycli.mock.notifier import Faults, notify_get_url, notify_params
from epaycli.mock.quirks import Quirks
from epaycli.mock.store import Merchant, Order

CASES = load_vectors("real-notifies")["cases"]
REAL = Quirks.named("real")
# What the merchant sent for the cases whose stored text differs from it.
SENT_NAMES = {"Q-esc": "Tom's \"A&B\" <x>", "Q-long": "N" * 70, "Q-emoji": "VIP😀会员"}
SENT_PARAMS = {"Q-esc": "Tom's \"A&B\" <x>", "Q-emoji": "p😀q"}


def order_behind(case: dict) -> tuple[Order, str]:
    """The order row the captured notify was made from, and the notify_url as sent."""
    target = urlsplit(case["path"])
    captured = dict(parse_qsl(target.query, keep_blank_values=True))
    notify_url = f"http://{case['headers']['Host']}{target.path}"
    if case["expect"] == "notify_url_query":
        notify_url += "?a=1&b=2"
    name = SENT_NAMES.get(case["id"], captured["name"])
    param = SENT_PARAMS.get(case["id"], captured.get("param", ""))
    order = Order(
        trade_no=captured["trade_no"], pid=int(captured["pid"]),
        out_trade_no=captured["out_trade_no"], sent_out_trade_no=captured["out_trade_no"],
        type="" if captured["type"] == "0" else captured["type"],
        name=REAL.store_name(name), money=Decimal(captured["money"]).quantize(Decimal("0.01")),
        notify_url=REAL.store_text(notify_url), return_url="", param=REAL.store_text(param),
        clientip="", device="pc", dialect="v1", status=1, closed=False, addtime="",
        created_at=0.0, endtime=None, paid_at=None, api_trade_no=None, buyer=None,
        refundmoney=None, faults="", notify_state="", notify_attempts=0, notify_next_at=None)
    return order, notify_url


@pytest.mark.parametrize("case", CASES, ids=[f"{c['id']}-{n}" for n, c in enumerate(CASES)])
def test_the_gateway_sends_what_the_real_server_sent(case):
    order, _ = order_behind(case)
    merchant = Merchant(order.pid, case["key"], "", True, False, True, "")
    captured_name = dict(parse_qsl(urlsplit(case["path"]).query))["name"]
    quirks = dataclasses.replace(REAL, name_product=captured_name == "product")
    params = notify_params(order, merchant, quirks=quirks, platform_private=None, now=0,
                           faults=Faults())
    url = notify_get_url(order.notify_url, params)
    assert url == f"http://{case['headers']['Host']}{case['path']}"


def test_the_captured_stored_forms_come_from_the_real_rules():
    esc = next(c for c in CASES if c["id"] == "Q-esc")
    order, sent_url = order_behind(esc)
    assert "&amp;b=2" in order.notify_url and "&amp;" not in sent_url
    assert REAL.store_name("a" * 200) == "a" * 64
    assert REAL.store_name("月" * 50) == "月" * 42  # 127 bytes first: 42 three-byte characters
    assert Quirks.named("clean").store_text("Tom's") == "Tom's"
