"""The local gateway's V2 (RSA) routes over real HTTP: api/pay/*, api/merchant/* and the same
routes as api.php?s=…, signed requests, signed answers, the timestamp window and RSA-only
merchants; and the V2 notify."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest
from mockkit import order_fields, signed

from epaycli.core.callback import Expectations, check_callback
from epaycli.core.request import sign_request
from epaycli.core.signing import Keys, RsaKeys, verify
from epaycli.mock.server import start_gateway


@pytest.fixture(scope="module")
def gw():
    with start_gateway() as gateway:
        yield gateway


def v2_post(gw, client, route, fields, *, rewrite=True, keys=None, now=None):
    keys = keys or gw.v2.client_keys()
    params = sign_request({"pid": gw.v2.pid, **fields}, keys,
                          now=int(time.time()) if now is None else now).params
    url = f"{gw.url}api/{route}" if rewrite else f"{gw.url}api.php?s={route}"
    return client.post(url, data=params)


def platform_verifies(gw, answer: dict) -> bool:
    fields = {k: str(v) for k, v in answer.items() if v is not None}
    return verify(fields, RsaKeys(public=gw.v2.client_keys().public))


def create_v2(gw, client, notify_url="http://127.0.0.1:9/n", **changes):
    fields = order_fields(notify_url, pid=gw.v2.pid, **changes)
    answer = v2_post(gw, client, "pay/create", fields).json()
    assert answer["code"] == 0, answer
    return {**answer, "sent": fields}


@pytest.mark.parametrize("rewrite", [True, False])
def test_pay_create_answers_signed_with_the_platform_key(gw, client, rewrite):
    fields = order_fields("http://127.0.0.1:9/n", pid=gw.v2.pid)
    answer = v2_post(gw, client, "pay/create", fields, rewrite=rewrite).json()
    assert answer["code"] == 0 and answer["pay_type"] == "jump"
    assert answer["pay_info"] == f"{gw.url}cashier/{answer['trade_no']}"
    assert answer["sign_type"] == "RSA" and abs(int(answer["timestamp"]) - time.time()) < 5
    assert platform_verifies(gw, answer)
    assert not platform_verifies(gw, {**answer, "trade_no": "1" + answer["trade_no"][1:]})


def test_timestamp_is_required_and_checked_to_300_seconds(gw, client):
    fields = order_fields("http://127.0.0.1:9/n", pid=gw.v2.pid)
    keys = gw.v2.client_keys()
    unstamped = sign_request({**fields}, keys).params  # no now: no timestamp added
    answer = client.post(gw.url + "api/pay/create", data=unstamped).json()
    assert answer == {"code": -1, "msg": "时间戳(timestamp)字段不能为空"}
    skewed = v2_post(gw, client, "pay/create", fields, now=int(time.time()) - 330).json()
    assert skewed == {"code": -1, "msg": "时间戳字段不正确，请检查服务器时间"}
    ahead = v2_post(gw, client, "pay/create", fields, now=int(time.time()) + 330).json()
    assert ahead["msg"] == "时间戳字段不正确，请检查服务器时间"
    inside = v2_post(gw, client, "pay/create", {**fields, "out_trade_no": "in-window"},
                     now=int(time.time()) - 250).json()
    assert inside["code"] == 0


def test_a_wrong_rsa_sign_is_refused_unsigned(gw, client):
    fields = order_fields("http://127.0.0.1:9/n", pid=gw.v2.pid)
    params = sign_request(fields, gw.v2.client_keys(), now=int(time.time())).params
    params["money"] = "9.99"
    answer = client.post(gw.url + "api/pay/create", data=params).json()
    assert answer == {"code": -1, "msg": "RSA签名校验失败"}


def test_a_merchant_without_a_public_key_cannot_sign_rsa(gw, client):
    fields = order_fields("http://127.0.0.1:9/n")  # the V1 sandbox merchant, pid 1000
    params = sign_request(fields, gw.v2.client_keys(), now=int(time.time())).params
    answer = client.post(gw.url + "api/pay/create", data=params).json()
    assert answer == {"code": -1, "msg": "签名校验失败，商户公钥错误"}


def test_the_rsa_only_merchant_refuses_md5_on_v2_too(gw, client):
    fields = {**order_fields("http://127.0.0.1:9/n", pid=gw.v2.pid),
              "timestamp": str(int(time.time()))}
    answer = client.post(gw.url + "api/pay/create", data=signed(fields, gw.v2.key)).json()
    assert answer == {"code": -1, "msg": "该商户只能使用RSA签名类型"}


def test_a_v1_merchant_may_send_md5_to_v2_routes(gw, client):
    fields = {**order_fields("http://127.0.0.1:9/n"), "timestamp": str(int(time.time()))}
    answer = client.post(gw.url + "api/pay/create", data=signed(fields, gw.key)).json()
    assert answer["code"] == 0 and platform_verifies(gw, answer)
    wrong = signed({**fields, "out_trade_no": "x1"}, "y" * 32)
    assert client.post(gw.url + "api/pay/create", data=wrong).json() == {
        "code": -1, "msg": "MD5签名校验失败"}


def test_unknown_routes_and_empty_requests(gw, client):
    assert client.post(gw.url + "api/pay/explode").json() == {"code": -5, "msg": "接口方法不存在"}
    assert client.post(gw.url + "api.php?s=nope/x").json() == {"code": -5, "msg": "接口方法不存在"}
    assert client.post(gw.url + "api/pay/query").json() == {"code": -4, "msg": "未传入任何参数"}
    unknown = v2_post(gw, client, "pay/query", {"pid": "4242", "trade_no": "1"}).json()
    assert unknown == {"code": -1, "msg": "商户不存在！"}


def test_pay_submit_redirects_to_the_cashier(gw, client):
    fields = order_fields("http://127.0.0.1:9/n", pid=gw.v2.pid, clientip=None)
    params = sign_request(fields, gw.v2.client_keys(), now=int(time.time())).params
    reply = client.post(gw.url + "api/pay/submit", data=params)
    assert reply.status_code == 302 and "/cashier/" in reply.headers["location"]
    bad = client.post(gw.url + "api/pay/submit", data={**params, "money": "3.00"})
    assert "站点提示信息" in bad.text and "RSA签名校验失败" in bad.text


def test_query_refund_refundquery_on_a_paid_order(gw, client):
    order = create_v2(gw, client, money="20.00")
    query = v2_post(gw, client, "pay/query", {"trade_no": order["trade_no"]}).json()
    assert query["code"] == 0 and query["status"] == "0" and query["money"] == "20.00"
    assert query["clientip"] == "192.0.2.1" and "endtime" not in query  # empty fields removed
    assert platform_verifies(gw, query)
    client.post(gw.url + "sandbox/pay", data={"pid": gw.v2.pid, "key": gw.v2.key,
                                              "trade_no": order["trade_no"]})
    paid = v2_post(gw, client, "pay/query",
                   {"out_trade_no": order["sent"]["out_trade_no"]}, rewrite=False).json()
    assert paid["status"] == "1" and paid["api_trade_no"] and paid["bill_trade_no"]
    refund = v2_post(gw, client, "pay/refund", {"trade_no": order["trade_no"], "money": "5.00",
                                                "out_refund_no": "R-" + order["trade_no"]}).json()
    assert refund["code"] == 0 and refund["money"] == "5.00" and platform_verifies(gw, refund)
    found = v2_post(gw, client, "pay/refundquery",
                    {"out_refund_no": "R-" + order["trade_no"]}).json()
    assert found["code"] == 0 and found["trade_no"] == order["trade_no"]
    assert found["refund_no"] == refund["refund_no"] and platform_verifies(gw, found)
    after = v2_post(gw, client, "pay/query", {"trade_no": order["trade_no"]}).json()
    assert after["status"] == "2" and after["refundmoney"] == "5.00"
    twice = v2_post(gw, client, "pay/refund", {"trade_no": order["trade_no"],
                                               "money": "1.00"}).json()
    assert twice == {"code": -1, "msg": "只支持退款已支付状态的订单"}
    missing = v2_post(gw, client, "pay/refundquery", {"out_refund_no": "none"}).json()
    assert missing["code"] == -1


def test_close_an_unpaid_order(gw, client):
    order = create_v2(gw, client)
    closed = v2_post(gw, client, "pay/close", {"trade_no": order["trade_no"]}).json()
    assert closed["code"] == 0 and platform_verifies(gw, closed)
    pay = client.post(gw.url + "sandbox/pay", data={"pid": gw.v2.pid, "key": gw.v2.key,
                                                    "trade_no": order["trade_no"]}).json()
    assert pay == {"code": -1, "msg": "订单已关闭"}
    assert v2_post(gw, client, "pay/query", {"trade_no": "1"}).json() == {
        "code": -1, "msg": "订单号不存在"}


def test_merchant_info_and_orders(gw, client):
    create_v2(gw, client)
    info = v2_post(gw, client, "merchant/info", {}).json()
    assert info["code"] == 0 and info["pid"] == gw.v2.pid and int(info["order_num"]) >= 1
    assert platform_verifies(gw, info)
    orders = v2_post(gw, client, "merchant/orders", {"limit": "2"}, rewrite=False).json()
    assert orders["code"] == 0 and 1 <= len(orders["data"]) <= 2
    assert all(row["pid"] == gw.v2.pid for row in orders["data"])


def test_the_v2_notify_is_signed_by_the_platform_and_stamped(gw, client, receiver):
    order = create_v2(gw, client, receiver.url, money="3.00")
    answer = client.post(gw.url + "sandbox/pay", data={"pid": gw.v2.pid, "key": gw.v2.key,
                                                       "trade_no": order["trade_no"]}).json()
    assert answer["notify"]["delivered"] is True
    (hit,) = receiver.wait(1)
    assert list(hit.query) == ["pid", "trade_no", "out_trade_no", "type", "name", "money",
                               "trade_status", "api_trade_no", "buyer", "timestamp",
                               "sign_type", "sign"]
    keys = Keys(rsa=RsaKeys(public=gw.v2.client_keys().public))
    report = check_callback(hit.query, keys, Expectations(amount=Decimal("3.00"),
                                                          pid=gw.v2.pid, now=int(time.time())))
    assert report.genuine, report.reason
    stale = check_callback(hit.query, keys, Expectations(now=int(time.time()) + 1000))
    assert stale.verdict == "rejected"


def test_a_v2_bad_signature_fault_breaks_the_rsa_sign(gw, client, receiver):
    order = create_v2(gw, client, receiver.url)
    client.post(gw.url + "sandbox/pay", data={"pid": gw.v2.pid, "key": gw.v2.key,
                                              "trade_no": order["trade_no"],
                                              "fault": "bad-signature"})
    (hit,) = receiver.wait(1)
    keys = Keys(rsa=RsaKeys(public=gw.v2.client_keys().public))
    assert check_callback(hit.query, keys).verdict == "bad_signature"


def test_the_v2_merchant_key_is_not_shown_in_its_repr(gw):
    assert gw.v2.key not in repr(gw.v2)
    assert "PRIVATE" not in repr(gw.v2)
