"""Notifies from epay's own local gateway (``epaycli.mock``), including its fault modes, arrive
at a real listener and are judged as a correct shop would judge them."""

from __future__ import annotations

import json
import time
from decimal import Decimal

import httpx
import pytest
from test_listen import Events, rows

from epaycli.core.request import sign_request
from epaycli.core.signing import Keys, Md5Key
from epaycli.listener.server import start_listener
from epaycli.mock.server import start_gateway
from epaycli.state import LocalState, RecordedOrder


@pytest.fixture
def stack(tmp_path):
    """A gateway with the given faults, a listener with its merchant key, epay's order state."""
    started = []

    def start(*faults: str):
        gateway = start_gateway(faults=faults)
        started.append(gateway)
        events = Events()
        state = LocalState(tmp_path / "state.sqlite3")
        listener = start_listener(keys=Keys(md5=Md5Key(gateway.key)), pid=gateway.pid,
                                  journal=tmp_path / f"journal-{len(started)}.sqlite3",
                                  on_event=events.append, state=state)
        started.append(listener)
        return gateway, listener, events, state

    yield start
    for running in reversed(started):
        running.close()


def create_and_pay(gateway, listener, state, money: str = "3.20") -> dict:
    """An order created through mapi.php (recorded as `epay order create` does), then paid."""
    number = f"LG{time.time_ns()}"
    fields = {"pid": gateway.pid, "type": "alipay", "out_trade_no": number,
              "notify_url": listener.url, "return_url": "http://127.0.0.1:9/return",
              "name": "VIP", "money": money, "clientip": "192.0.2.1"}
    with httpx.Client(timeout=15) as client:
        created = client.post(gateway.url + "mapi.php",
                              data=sign_request(fields, Md5Key(gateway.key)).params).json()
        assert created["code"] == 1, created
        state.record_order(RecordedOrder(gateway.url, gateway.pid, number, created["trade_no"],
                                         Decimal(money), "VIP", "alipay", int(time.time())))
        paid = client.post(gateway.url + "sandbox/pay",
                           data={"pid": gateway.pid, "key": gateway.key,
                                 "out_trade_no": number}).json()
    assert paid["code"] == 1, paid
    return {"number": number, "trade_no": created["trade_no"], "notify": paid["notify"]}


def test_a_paid_order_is_notified_judged_genuine_and_answered_success(stack):
    gateway, listener, events, state = stack()
    order = create_and_pay(gateway, listener, state)
    assert order["notify"]["delivered"] is True and order["notify"]["body"] == "success"
    events.wait(1)
    event = events[0]
    assert event["valid"] and event["method"] == "GET"
    assert event["trade_no"] == order["trade_no"] and event["out_trade_no"] == order["number"]
    assert event["money"] == "3.2" and event["order_amount"] == "3.20"  # float-cast money
    headers = dict(json.loads(rows(listener.journal.path)[0]["headers"]))
    assert "Chrome/78" in headers["User-Agent"]  # the real server's headers, journaled


def test_duplicate_copies_are_counted_and_still_answered_success(stack):
    gateway, listener, events, state = stack("duplicate")
    order = create_and_pay(gateway, listener, state)
    events.wait(2)
    copies = [e for e in events if e["trade_no"] == order["trade_no"]]
    assert [e["duplicate_count"] for e in copies] == [0, 1]
    assert [e["content_changed"] for e in copies] == [False, False]
    assert all(e["valid"] and e["answer"] == "success" for e in copies)


def test_tampered_money_is_caught_by_the_amount_check_and_answered_fail(stack):
    gateway, listener, events, state = stack("tampered_money")
    order = create_and_pay(gateway, listener, state)
    assert order["notify"]["delivered"] is False  # a failing answer: the gateway will retry
    events.wait(1)
    event = events[0]
    assert event["check"]["signature_valid"] is True and event["verdict"] == "rejected"
    assert event["check"]["problems"][0]["code"] == "amount_mismatch"
    assert event["answer"] == "fail"


def test_a_bad_signature_is_answered_fail_with_the_reason(stack):
    gateway, listener, events, state = stack("bad_signature")
    order = create_and_pay(gateway, listener, state)
    assert order["notify"]["delivered"] is False
    events.wait(1)
    assert events[0]["verdict"] == "bad_signature" and "does not match" in events[0]["reason"]


def test_a_post_notify_is_read_from_the_form_and_judged_genuine(stack):
    gateway, listener, events, state = stack("post")
    order = create_and_pay(gateway, listener, state)
    assert order["notify"]["delivered"] is True
    events.wait(1)
    assert events[0]["method"] == "POST" and events[0]["valid"]
    assert rows(listener.journal.path)[0]["query"] == b""  # all of it came in the body


def test_a_v2_notify_is_checked_with_the_platform_public_key(tmp_path):
    from epaycli.core.signing import RsaKeys, load_public_key

    events = Events()
    with start_gateway() as gateway:
        v2 = gateway.v2
        keys = Keys(rsa=RsaKeys(public=load_public_key(v2.platform_public_pem)))
        with start_listener(keys=keys, pid=v2.pid, journal=tmp_path / "v2.sqlite3",
                            on_event=events.append) as listener, httpx.Client(timeout=15) as client:
            number = f"LG2{time.time_ns()}"
            fields = {"pid": v2.pid, "type": "alipay", "out_trade_no": number,
                      "notify_url": listener.url, "return_url": "http://127.0.0.1:9/r",
                      "name": "VIP", "money": "8.00", "clientip": "192.0.2.1"}
            created = client.post(gateway.url + "api/pay/create", data=sign_request(
                fields, v2.client_keys(), now=int(time.time())).params).json()
            assert created["code"] == 0, created
            paid = client.post(gateway.url + "sandbox/pay", data={
                "pid": v2.pid, "key": v2.key, "out_trade_no": number}).json()
            assert paid["notify"]["delivered"] is True, paid
            events.wait(1)
    event = events[0]
    assert event["valid"] and event["sign_type"] == "RSA" and event["out_trade_no"] == number
    assert "timestamp" in event["params"]
