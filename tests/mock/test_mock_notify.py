"""Paying on the local gateway (sandbox/pay, the cashier) and the notifies it sends: wire form,
real headers, the `success` rule, the retry schedule (compressed) and every fault."""

from __future__ import annotations

import threading
import time
from decimal import Decimal

import httpx
import pytest
from mockkit import create, order_fields, pay, signed

from epaycli.core.callback import Expectations, check_callback
from epaycli.core.notify import RETRY_SCHEDULE_MINUTES
from epaycli.core.signing import Keys, Md5Key, verify
from epaycli.mock.notifier import NOTIFY_HEADERS, parse_faults
from epaycli.mock.server import start_gateway

SCALE = 0.0005  # 1 minute → 30 ms; the whole schedule (55 min) → 1.65 s


@pytest.fixture
def client():
    with httpx.Client(timeout=15) as session:
        yield session


@pytest.fixture
def gateways():
    started = []

    def start(**options):
        gateway = start_gateway(**options)
        started.append(gateway)
        return gateway

    try:
        yield start
    finally:
        for gateway in started:
            gateway.close()


def sandbox_keys(gw) -> Keys:
    return Keys(md5=Md5Key(gw.key))


def test_a_paid_order_is_notified_by_get_as_a_real_server_sends_it(gateways, receiver, client):
    gw = gateways()
    order = create(gw, client, receiver.url, money="1.50", param="cart-7")
    answer = pay(gw, client, order["sent"]["out_trade_no"])
    assert answer["code"] == 1 and answer["trade_no"] == order["trade_no"]
    assert answer["notify"]["delivered"] is True and answer["notify"]["status"] == 200
    assert answer["notify"]["body"] == "success" and answer["notify"]["error"] is None
    (hit,) = receiver.wait(1)
    assert hit.method == "GET" and hit.path == "/notify"
    assert list(hit.query) == ["pid", "trade_no", "out_trade_no", "type", "name", "money",
                               "trade_status", "param", "sign", "sign_type"]
    assert hit.query["name"] == "product" and hit.query["money"] == "1.5"
    assert hit.query["trade_status"] == "TRADE_SUCCESS" and hit.query["param"] == "cart-7"
    for header, value in NOTIFY_HEADERS.items():
        assert hit.headers[header] == value
    assert "Chrome/78" in hit.headers["User-Agent"]
    report = check_callback(hit.query, sandbox_keys(gw),
                            Expectations(amount=Decimal("1.50"), pid=gw.pid))
    assert report.genuine, report.reason
    (delivery,) = gw.deliveries(trade_no=order["trade_no"])
    assert delivery["delivered"] and delivery["attempt"] == 1 and delivery["method"] == "GET"
    assert gw.deliveries(out_trade_no=order["sent"]["out_trade_no"]) == [delivery]


def test_clean_quirks_notify_the_real_name_and_two_decimals(gateways, receiver, client):
    gw = gateways(quirks="clean")
    order = create(gw, client, receiver.url, name="月卡", money="2.00")
    pay(gw, client, order["sent"]["out_trade_no"])
    (hit,) = receiver.wait(1)
    assert hit.query["name"] == "月卡" and hit.query["money"] == "2.00"
    assert check_callback(hit.query, sandbox_keys(gw)).genuine


def test_the_notify_is_signed_over_the_stored_form(gateways, receiver, client):
    gw = gateways(quirks="clean")
    real = gateways()
    create(real, client, receiver.url, name="x")
    name = "Tom's \"A&B\""
    order = create(gw, client, receiver.url, param=name)
    pay(gw, client, order["sent"]["out_trade_no"])
    order = create(real, client, receiver.url, param=name)
    pay(real, client, order["sent"]["out_trade_no"])
    clean_hit, real_hit = receiver.wait(2)
    assert clean_hit.query["param"] == name
    assert real_hit.query["param"] == "Tom\\&#039;s \\&quot;A&amp;B\\&quot;"
    assert check_callback(real_hit.query, sandbox_keys(real)).genuine


def test_param_zero_is_not_sent(gateways, receiver, client):
    gw = gateways()
    order = create(gw, client, receiver.url, param="0")
    pay(gw, client, order["sent"]["out_trade_no"])
    (hit,) = receiver.wait(1)
    assert "param" not in hit.query
    assert check_callback(hit.query, sandbox_keys(gw)).genuine


def test_a_notify_url_with_its_own_query_arrives_with_amp_keys(gateways, receiver, client):
    gw = gateways()
    order = create(gw, client, receiver.url + "?a=1&b=2")
    pay(gw, client, order["sent"]["out_trade_no"])
    (hit,) = receiver.wait(1)
    assert list(hit.query)[:2] == ["a", "amp;b"]
    assert not check_callback(hit.query, sandbox_keys(gw)).genuine
    signed_part = {k: v for k, v in hit.query.items() if k not in ("a", "amp;b")}
    assert check_callback(signed_part, sandbox_keys(gw)).genuine


def test_an_order_paid_without_a_type_is_notified_type_0_unsigned(gateways, receiver, client):
    gw = gateways()
    fields = signed(order_fields(receiver.url, type=None, clientip=None), gw.key)
    location = client.get(gw.url + "submit.php", params=fields).headers["location"]
    page = client.post(location, data={"action": "pay"})
    assert page.status_code == 200 and "支付成功" in page.text
    (hit,) = receiver.wait(1)
    assert hit.query["type"] == "0"
    report = check_callback(hit.query, sandbox_keys(gw))
    assert report.verdict == "bad_signature"
    without_type = {k: v for k, v in hit.query.items() if k != "type"}
    assert verify(without_type, Md5Key(gw.key))


def test_the_cashier_can_pick_a_type_or_fail(gateways, receiver, client):
    gw = gateways()
    fields = signed(order_fields(receiver.url, type=None, clientip=None), gw.key)
    location = client.get(gw.url + "submit.php", params=fields).headers["location"]
    failed = client.post(location, data={"action": "fail"})
    assert "支付失败" in failed.text
    assert gw.deliveries() == []
    client.post(location, data={"action": "pay", "type": "wxpay"})
    (hit,) = receiver.wait(1)
    assert hit.query["type"] == "wxpay" and check_callback(hit.query, sandbox_keys(gw)).genuine
    assert "已支付" in client.get(location).text
    again = client.post(location, data={"action": "pay"})
    assert again.status_code == 409 and "该订单已支付" in again.text


def test_the_paid_page_links_back_with_the_signed_return_fields(gateways, receiver, client):
    gw = gateways()
    order = create(gw, client, receiver.url, return_url="http://127.0.0.1:9/back")
    page = client.post(order["payurl"], data={"action": "pay"}).text
    assert 'href="http://127.0.0.1:9/back?pid=1000&amp;trade_no=' in page


@pytest.mark.parametrize(("body", "status", "delivered"), [
    ("<p>SUCCESS</p>", 500, True), ("Success", 200, True), ("ok: success\n", 404, True),
    ("succes", 200, False), ("OK", 200, False), ("", 200, False),
])
def test_the_success_word_counts_whatever_the_status(gateways, receiver, client, body, status,
                                                     delivered):
    gw = gateways(time_scale=1000)  # no retry within the test
    receiver.body, receiver.status = body, status
    order = create(gw, client, receiver.url)
    notify = pay(gw, client, order["sent"]["out_trade_no"])["notify"]
    assert notify["delivered"] is delivered and notify["status"] == status
    assert notify["body"] == body


def test_a_failing_handler_is_retried_on_the_compressed_schedule(gateways, receiver, client):
    gw = gateways(time_scale=SCALE)
    receiver.body = "fail"
    order = create(gw, client, receiver.url)
    answer = pay(gw, client, order["sent"]["out_trade_no"])
    assert answer["notify"]["delivered"] is False and answer["notify"]["body"] == "fail"
    hits = receiver.wait(5, timeout=10)
    time.sleep(0.3)
    assert len(receiver.hits) == 5  # five sends in all, then it gives up
    paid_at = gw.store.order_by_trade_no(order["trade_no"]).paid_at
    for hit, minutes in zip(hits, RETRY_SCHEDULE_MINUTES):  # the schedule counts from payment
        assert hit.at - paid_at >= minutes * 60 * SCALE - 0.005
    assert [hit.query for hit in hits[1:]] == [hits[0].query] * 4  # the same notify each time
    deliveries = gw.deliveries(trade_no=order["trade_no"])
    assert [d["attempt"] for d in deliveries] == [1, 2, 3, 4, 5]
    assert not any(d["delivered"] for d in deliveries)
    assert gw.store.order_by_trade_no(order["trade_no"]).notify_state == "failed"


def test_retries_stop_once_the_handler_answers_success(gateways, receiver, client):
    gw = gateways(time_scale=SCALE)
    receiver.body = "not yet"
    order = create(gw, client, receiver.url)
    pay(gw, client, order["sent"]["out_trade_no"])
    receiver.wait(2)
    receiver.body = "success"
    time.sleep(1.8)  # past the whole compressed schedule
    deliveries = gw.deliveries(trade_no=order["trade_no"])
    answered = [d["delivered"] for d in deliveries]
    assert answered[0] is False and answered[-1] is True
    assert answered.index(True) == len(answered) - 1  # nothing sent after the success
    assert len(receiver.hits) == len(deliveries) <= 5


def test_redirects_are_not_followed(gateways, receiver, client):
    gw = gateways(time_scale=1000)
    receiver.redirect = receiver.url + "/elsewhere"
    order = create(gw, client, receiver.url)
    notify = pay(gw, client, order["sent"]["out_trade_no"])["notify"]
    assert notify["delivered"] is False and notify["status"] == 302
    time.sleep(0.2)
    assert [hit.path for hit in receiver.hits] == ["/notify"]


def test_a_slow_handler_times_out(gateways, receiver, client):
    gw = gateways(time_scale=1000, notify_timeout=0.3)
    receiver.delay = 3.0
    order = create(gw, client, receiver.url)
    began = time.monotonic()
    notify = pay(gw, client, order["sent"]["out_trade_no"])["notify"]
    assert time.monotonic() - began < 2.0
    assert notify["delivered"] is False and "timed out" in notify["error"]


def test_the_real_delivery_timeout_is_five_seconds(gateways):
    gw = gateways()
    assert gw._notifier.delivery_timeout == 5


def test_an_unreachable_handler_is_an_error_not_a_crash(gateways, client):
    gw = gateways(time_scale=1000)
    order = create(gw, client, "http://127.0.0.1:9/nothing-listens")
    notify = pay(gw, client, order["sent"]["out_trade_no"])["notify"]
    assert notify["delivered"] is False and notify["status"] is None and notify["error"]


def test_a_slow_merchant_does_not_hold_up_other_requests(gateways, receiver, client):
    gw = gateways(time_scale=SCALE)
    receiver.delay, receiver.body = 2.0, "fail"
    order = create(gw, client, receiver.url)
    payer = threading.Thread(target=pay, args=(gw, httpx.Client(timeout=10),
                                               order["sent"]["out_trade_no"]))
    payer.start()
    time.sleep(0.1)
    began = time.monotonic()
    for _ in range(5):
        reply = client.get(gw.url + "api.php", params={"act": "order", "pid": gw.pid,
                                                       "key": gw.key,
                                                       "trade_no": order["trade_no"]})
        assert reply.json()["code"] == 1
    assert time.monotonic() - began < 1.2  # the merchant holds its answer for 2 s
    payer.join()


# ---- faults ---------------------------------------------------------------------------


def test_fault_duplicate_sends_every_attempt_twice(gateways, receiver, client):
    gw = gateways()
    order = create(gw, client, receiver.url)
    pay(gw, client, order["sent"]["out_trade_no"], fault="duplicate")
    first, second = receiver.wait(2)
    assert first.query == second.query
    assert check_callback(second.query, sandbox_keys(gw)).genuine
    assert [d["copy"] for d in gw.wait_for_deliveries(2)] == [1, 2]


def test_fault_delayed_sends_the_first_attempt_later(gateways, receiver, client):
    gw = gateways(time_scale=0.01)
    order = create(gw, client, receiver.url)
    began = time.time()
    notify = pay(gw, client, order["sent"]["out_trade_no"], fault="delayed=30")["notify"]
    assert notify["delivered"] is False and "delayed" in notify["error"]
    assert receiver.hits == []
    (hit,) = receiver.wait(1)
    assert hit.at - began >= 0.28  # 30 s × 0.01
    assert check_callback(hit.query, sandbox_keys(gw)).genuine


def test_fault_dropped_sends_nothing_ever(gateways, receiver, client):
    gw = gateways(time_scale=SCALE)
    order = create(gw, client, receiver.url)
    notify = pay(gw, client, order["sent"]["out_trade_no"], fault="dropped")["notify"]
    assert notify["delivered"] is False and "dropped" in notify["error"]
    time.sleep(1.8)
    assert receiver.hits == []
    (record,) = gw.deliveries()
    assert record["method"] == "-" and record["faults"] == "dropped"


def test_fault_tampered_money_is_genuinely_signed_for_the_wrong_amount(gateways, receiver, client):
    gw = gateways()
    order = create(gw, client, receiver.url, money="88.00")
    pay(gw, client, order["sent"]["out_trade_no"], fault="tampered-money")
    (hit,) = receiver.wait(1)
    assert hit.query["money"] != "88"
    report = check_callback(hit.query, sandbox_keys(gw), Expectations(amount=Decimal("88.00")))
    assert report.signature_valid and report.verdict == "rejected"
    assert [p.code for p in report.problems] == ["amount_mismatch"]


def test_fault_bad_signature(gateways, receiver, client):
    gw = gateways()
    order = create(gw, client, receiver.url)
    pay(gw, client, order["sent"]["out_trade_no"], fault="bad_signature")
    (hit,) = receiver.wait(1)
    assert len(hit.query["sign"]) == 32
    assert check_callback(hit.query, sandbox_keys(gw)).verdict == "bad_signature"


def test_fault_post_sends_a_form(gateways, receiver, client):
    gw = gateways()
    order = create(gw, client, receiver.url)
    notify = pay(gw, client, order["sent"]["out_trade_no"], fault="post")["notify"]
    assert notify["delivered"] is True
    (hit,) = receiver.wait(1)
    assert hit.method == "POST" and hit.query == {}
    assert hit.form["out_trade_no"] == order["sent"]["out_trade_no"]
    assert check_callback(hit.form, sandbox_keys(gw)).genuine


def test_global_faults_apply_to_every_order(gateways, receiver, client):
    gw = gateways(faults=["post", "duplicate"])
    for _ in range(2):
        order = create(gw, client, receiver.url)
        pay(gw, client, order["sent"]["out_trade_no"])
    hits = receiver.wait(4)
    assert len(hits) == 4 and {hit.method for hit in hits} == {"POST"}


def test_unknown_faults_are_refused(gateways, client):
    gw = gateways()
    order = create(gw, client)
    answer = pay(gw, client, order["sent"]["out_trade_no"], fault="explode")
    assert answer["code"] == -1 and "explode" in answer["msg"]
    assert gw.store.order_by_trade_no(order["trade_no"]).status == 0
    with pytest.raises(Exception, match="unknown fault"):
        start_gateway(faults=["nope"])


def test_parse_faults_reads_names_values_and_lists():
    faults = parse_faults(["duplicate,delayed=5", "Tampered-Money"])
    assert faults.names == {"duplicate", "delayed", "tampered_money"}
    assert faults.delay_seconds == 5
    with pytest.raises(Exception, match="takes no value"):
        parse_faults(["post=1"])
    with pytest.raises(Exception, match="seconds"):
        parse_faults(["delayed=soon"])


# ---- sandbox calls --------------------------------------------------------------------


def test_sandbox_pay_errors(gateways, client):
    gw = gateways()
    order = create(gw, client)
    url = gw.url + "sandbox/pay"
    assert client.post(url, data={"pid": gw.pid, "key": "bad", "trade_no": order["trade_no"]}
                       ).json() == {"code": -1, "msg": "商户密钥错误"}
    assert client.post(url, data={"pid": gw.pid, "key": gw.key}).json()["msg"] == "订单号不能为空"
    assert client.post(url, data={"pid": gw.pid, "key": gw.key, "trade_no": "1"}
                       ).json()["msg"] == "当前订单不存在！"
    assert client.get(url).json()["code"] == -1
    failed = client.post(url, data={"pid": gw.pid, "key": gw.key, "trade_no": order["trade_no"],
                                    "result": "failed"}).json()
    assert failed["code"] == 1 and failed["status"] == 0 and failed["notify"] is None
    paid = pay(gw, client, order["sent"]["out_trade_no"])
    assert paid["status"] == 1 and set(paid["notify"]) == {"url", "delivered", "status", "body",
                                                           "error"}
    assert pay(gw, client, order["sent"]["out_trade_no"]) == {"code": -1, "msg": "该订单已支付"}


def test_sandbox_renotify_sends_a_paid_orders_notify_again(gateways, receiver, client):
    gw = gateways()
    order = create(gw, client, receiver.url)
    pay(gw, client, order["sent"]["out_trade_no"])
    again = client.post(gw.url + "sandbox/renotify", data={
        "pid": gw.pid, "key": gw.key, "trade_no": order["trade_no"]}).json()
    assert again["code"] == 1 and again["notify"]["delivered"] is True
    first, second = receiver.wait(2)
    assert first.query["trade_no"] == second.query["trade_no"]
