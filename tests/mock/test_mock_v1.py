"""The local gateway's V1 endpoints over real HTTP: submit.php, mapi.php, api.php, with the
exact messages of a real server and its quirks."""

from __future__ import annotations

import re
import time

import pytest
from mockkit import create, order_fields, pay, signed

from epaycli.core.models import SANDBOX_KEY
from epaycli.mock.server import start_gateway


@pytest.fixture
def gw():
    with start_gateway() as gateway:
        yield gateway


@pytest.fixture
def clean():
    with start_gateway(quirks="clean") as gateway:
        yield gateway


def mapi(gw, client, fields, key=SANDBOX_KEY):
    return client.post(gw.url + "mapi.php", data=signed(fields, key) if key else fields)


def api(gw, client, act, **params):
    return client.get(gw.url + "api.php", params={"act": act, "pid": gw.pid, "key": gw.key,
                                                  **params})


# ---- mapi.php -------------------------------------------------------------------------


def test_mapi_creates_an_order_with_a_beijing_time_trade_no_and_a_cashier_payurl(gw, client):
    before = time.time()
    answer = create(gw, client)
    assert set(answer) == {"code", "trade_no", "payurl", "sent"}
    assert re.fullmatch(r"[0-9]{19}", answer["trade_no"])
    beijing = time.strftime("%Y%m%d%H", time.gmtime(before + 8 * 3600))
    assert answer["trade_no"].startswith(beijing)
    assert answer["payurl"] == f"{gw.url}cashier/{answer['trade_no']}"
    assert client.get(answer["payurl"]).status_code == 200


def test_mapi_answers_a_qrcode_for_wechat_on_a_pc(gw, client):
    answer = create(gw, client, type="wxpay")
    assert "qrcode" in answer and "payurl" not in answer


def test_real_quirks_write_json_as_php_does_and_clean_does_not(gw, clean, client):
    raw = mapi(gw, client, order_fields("http://127.0.0.1:9/n")).text
    assert "\\/cashier\\/" in raw
    raw = api(gw, client, "orders").text
    assert "\\u67e5" in raw  # 查询订单记录成功！ escaped
    raw = client.post(clean.url + "mapi.php",
                      data=signed(order_fields("http://127.0.0.1:9/n"), clean.key)).text
    assert "/cashier/" in raw and "\\/" not in raw


def test_mapi_is_post_only_on_real_servers(gw, clean, client):
    fields = signed(order_fields("http://127.0.0.1:9/n"), gw.key)
    assert client.get(gw.url + "mapi.php", params=fields).json() == {
        "code": -4, "msg": "未传入任何参数"}
    assert client.get(clean.url + "mapi.php", params=fields).json()["code"] == 1


def test_no_parameters_at_all(gw, client):
    assert client.post(gw.url + "mapi.php").json() == {"code": -4, "msg": "未传入任何参数"}


@pytest.mark.parametrize(("fields", "message"), [
    ({"pid": ""}, "商户ID不能为空"),
    ({"pid": "4242"}, "商户不存在！"),
])
def test_unknown_or_empty_merchant(gw, client, fields, message):
    answer = mapi(gw, client, order_fields("http://127.0.0.1:9/n", **fields)).json()
    assert answer == {"code": -1, "msg": message}


def test_a_wrong_sign_is_refused_with_the_real_message(gw, client):
    fields = signed(order_fields("http://127.0.0.1:9/n"), gw.key)
    fields["money"] = "2.00"
    answer = client.post(gw.url + "mapi.php", data=fields).json()
    assert answer == {"code": -1, "msg": "签名校验失败，请返回重试！"}
    wrong_key = signed(order_fields("http://127.0.0.1:9/n"), "x" * 32)
    assert client.post(gw.url + "mapi.php", data=wrong_key).json()["msg"] == "签名校验失败，请返回重试！"


def test_a_missing_sign_is_named(gw, client):
    answer = mapi(gw, client, order_fields("http://127.0.0.1:9/n"), key=None).json()
    assert answer == {"code": -1, "msg": "缺少签名参数"}


def test_an_rsa_only_merchant_refuses_md5(gw, client):
    fields = order_fields("http://127.0.0.1:9/n", pid=gw.v2.pid)
    answer = mapi(gw, client, fields, key=gw.v2.key).json()
    assert answer == {"code": -1, "msg": "该商户只能使用RSA签名类型"}


@pytest.mark.parametrize(("field", "message"), [
    ("out_trade_no", "订单号(out_trade_no)不能为空"),
    ("notify_url", "通知地址(notify_url)不能为空"),
    ("name", "商品名称(name)不能为空"),
    ("money", "金额(money)不能为空"),
    ("type", "支付方式(type)不能为空"),
    ("clientip", "用户IP地址(clientip)不能为空"),
])
def test_each_required_field_has_its_message(gw, client, field, message):
    answer = mapi(gw, client, order_fields("http://127.0.0.1:9/n", **{field: ""})).json()
    assert answer == {"code": -1, "msg": message}


@pytest.mark.parametrize(("money", "stored"), [
    ("1.", "1.00"), (".5", "0.50"), ("01.00", "1.00"), ("1.999", "2.00"), ("0.001", "0.00"),
    ("1000", "1000.00"),
])
def test_real_money_validation_is_looser_than_the_rule(gw, client, money, stored):
    answer = create(gw, client, money=money)
    order = api(gw, client, "order", trade_no=answer["trade_no"]).json()
    assert order["money"] == stored


@pytest.mark.parametrize(("money", "message"), [
    ("0", "金额(money)不能为空"), (" 1.00", "金额不合法"), ("1e2", "金额不合法"),
    ("1,00", "金额不合法"), ("0.00", "金额不合法"), ("-1", "金额不合法"),
    ("1000.01", "最大支付金额是1000元"),
])
def test_real_money_errors(gw, client, money, message):
    answer = mapi(gw, client, order_fields("http://127.0.0.1:9/n", money=money)).json()
    assert answer == {"code": -1, "msg": message}


@pytest.mark.parametrize("money", ["1.999", "0.001", "1.", "0"])
def test_clean_money_follows_the_rule(clean, client, money):
    answer = client.post(clean.url + "mapi.php",
                         data=signed(order_fields("http://127.0.0.1:9/n", money=money),
                                     clean.key)).json()
    assert answer["code"] == -1
    assert answer["msg"] in ("金额不合法", "金额(money)不能为空")


def test_clean_has_no_1000_yuan_cap(clean, client):
    answer = create(clean, client, money="1500.00")
    assert answer["code"] == 1


def test_out_trade_no_characters_are_checked(gw, client):
    answer = mapi(gw, client, order_fields("http://127.0.0.1:9/n", out_trade_no="A B")).json()
    assert answer == {"code": -1, "msg": "订单号(out_trade_no)格式不正确"}


def test_real_servers_cut_a_long_out_trade_no_and_create_a_second_order(gw, clean, client):
    number = "N" * 151
    first = create(gw, client, out_trade_no=number)
    second = create(gw, client, out_trade_no=number, money="2.00")
    assert first["trade_no"] != second["trade_no"]  # the reuse check looks for the uncut number
    stored = api(gw, client, "order", trade_no=first["trade_no"]).json()["out_trade_no"]
    assert stored == "N" * 150
    refused = client.post(clean.url + "mapi.php", data=signed(
        order_fields("http://127.0.0.1:9/n", out_trade_no=number), clean.key)).json()
    assert refused["msg"] == "订单号(out_trade_no)格式不正确"


def test_an_unknown_payment_type_is_an_html_page_labelled_json(gw, clean, client):
    reply = mapi(gw, client, order_fields("http://127.0.0.1:9/n", type="nopay"))
    assert reply.headers["content-type"].startswith("application/json")
    assert "站点提示信息" in reply.text and "支付方式(type)不存在" in reply.text
    reply = client.post(clean.url + "mapi.php", data=signed(
        order_fields("http://127.0.0.1:9/n", type="nopay"), clean.key))
    assert reply.json() == {"code": -1, "msg": "支付方式(type)不存在"}


# ---- out_trade_no reuse ---------------------------------------------------------------


def test_an_identical_request_reuses_the_order(gw, client):
    fields = order_fields("http://127.0.0.1:9/n")
    first = mapi(gw, client, fields).json()
    again = mapi(gw, client, fields).json()
    assert again["trade_no"] == first["trade_no"]
    assert api(gw, client, "orders").json()["count"] == 1


@pytest.mark.parametrize("change", [{"money": "2.00"}, {"name": "Other"},
                                    {"notify_url": "http://127.0.0.1:9/other"},
                                    {"param": "x"}])
def test_a_changed_parameter_is_refused(gw, client, change):
    fields = order_fields("http://127.0.0.1:9/n")
    mapi(gw, client, fields)
    answer = mapi(gw, client, {**fields, **change}).json()
    assert answer == {"code": -1, "msg": f"该订单({fields['out_trade_no']})支付参数有变化，"
                                         "请更换订单号重新发起支付"}


def test_a_paid_order_cannot_be_created_again(gw, client):
    answer = create(gw, client)
    number = answer["sent"]["out_trade_no"]
    assert pay(gw, client, number)["code"] == 1
    again = mapi(gw, client, answer["sent"]).json()
    assert again == {"code": -1, "msg": f"该订单({number})已完成支付，请勿重复发起支付"}


def test_an_unchanged_name_whose_stored_form_differs_is_reused_only_when_identical(gw, client):
    fields = order_fields("http://127.0.0.1:9/n", name="Tom's \"A&B\" <x>")
    first = mapi(gw, client, fields).json()
    assert mapi(gw, client, fields).json()["trade_no"] == first["trade_no"]


# ---- stored forms ---------------------------------------------------------------------


def test_real_servers_store_text_escaped_and_addslashed(gw, clean, client):
    name = "Tom's \"A&B\" <x>"
    answer = create(gw, client, name=name, param="C:\\path")
    order = api(gw, client, "order", trade_no=answer["trade_no"]).json()
    assert order["name"] == "Tom\\&#039;s \\&quot;A&amp;B\\&quot; &lt;x&gt;"
    assert order["param"] == "C:\\\\path"
    answer = create(clean, client, name=name)
    order = client.get(clean.url + "api.php", params={
        "act": "order", "pid": clean.pid, "key": clean.key,
        "trade_no": answer["trade_no"]}).json()
    assert order["name"] == name


def test_real_servers_cut_names_to_64_characters_and_emoji_to_question_marks(gw, client):
    answer = create(gw, client, name="月" * 70)
    order = api(gw, client, "order", trade_no=answer["trade_no"]).json()
    assert order["name"] == "月" * 42  # 127 bytes of 3-byte characters first
    answer = create(gw, client, name="a" * 70 + "😀")
    order = api(gw, client, "order", trade_no=answer["trade_no"]).json()
    assert order["name"] == "a" * 64
    answer = create(gw, client, name="VIP😀")
    assert api(gw, client, "order", trade_no=answer["trade_no"]).json()["name"] == "VIP?"


# ---- submit.php -----------------------------------------------------------------------


def test_submit_redirects_the_browser_to_the_cashier(gw, client):
    fields = signed(order_fields("http://127.0.0.1:9/n", type=None, clientip=None), gw.key)
    reply = client.get(gw.url + "submit.php", params=fields)
    assert reply.status_code == 302
    assert reply.headers["location"].startswith(gw.url + "cashier/")
    page = client.get(reply.headers["location"])
    assert "收银台" in page.text and 'value="pay"' in page.text and 'value="fail"' in page.text
    assert "<select" in page.text  # no type given: the cashier lets the buyer pick one


def test_submit_errors_are_html_pages(gw, client):
    fields = signed(order_fields("http://127.0.0.1:9/n", return_url=""), gw.key)
    reply = client.post(gw.url + "submit.php", data=fields)
    assert reply.status_code == 200 and reply.headers["content-type"].startswith("text/html")
    assert "站点提示信息" in reply.text and "回调地址(return_url)不能为空" in reply.text
    fields = signed(order_fields("http://127.0.0.1:9/n"), gw.key)
    fields["sign"] = "0" * 32
    assert "签名校验失败，请返回重试！" in client.post(gw.url + "submit.php", data=fields).text


def test_submit_without_a_pid_is_plain_text(gw, client):
    reply = client.get(gw.url + "submit.php")
    assert reply.text == "你还未配置支付接口商户！"
    assert reply.headers["content-type"].startswith("text/plain")


def test_the_query_wins_when_it_has_a_pid_and_is_never_merged_with_the_body(gw, client):
    fields = signed(order_fields("http://127.0.0.1:9/n"), gw.key)
    good = client.post(gw.url + "submit.php", params=fields, data={"money": "99.00"})
    assert good.status_code == 302
    # the body alone would be complete, but the query's pid wins and the query lacks a sign
    bad = client.post(gw.url + "submit.php", params={"pid": "1000"}, data=fields)
    assert "缺少签名参数" in bad.text


# ---- api.php --------------------------------------------------------------------------


def test_act_query_answers_the_merchant_with_its_counts(gw, client):
    create(gw, client)
    paid = create(gw, client, money="2.50")
    pay(gw, client, paid["sent"]["out_trade_no"])
    answer = api(gw, client, "query").json()
    assert answer["code"] == 1 and "msg" not in answer
    assert answer["pid"] == 1000 and answer["key"] == SANDBOX_KEY
    assert answer["orders"] == 2 and answer["orders_today"] == 2
    assert answer["money"] == "2.50"


@pytest.mark.parametrize(("pid", "key", "message"), [
    ("4242", SANDBOX_KEY, "商户ID不存在"), ("", SANDBOX_KEY, "商户ID不存在"),
    ("1000", "wrong", "商户密钥错误"), ("1000", "", "商户密钥错误"),
])
def test_api_auth_errors(gw, client, pid, key, message):
    answer = client.get(gw.url + "api.php", params={"act": "query", "pid": pid,
                                                    "key": key}).json()
    assert answer == {"code": -3, "msg": message}


def test_act_settle_answers_null_data_on_real_servers(gw, clean, client):
    assert api(gw, client, "settle").json() == {"code": 1, "msg": "查询结算记录成功！",
                                                "data": None}
    answer = client.get(clean.url + "api.php", params={"act": "settle", "pid": clean.pid,
                                                       "key": clean.key}).json()
    assert answer["data"] == []


def test_act_order_by_either_number_trade_no_wins(gw, client):
    first = create(gw, client, name="First")
    second = create(gw, client, name="Second")
    by_number = api(gw, client, "order", out_trade_no=first["sent"]["out_trade_no"]).json()
    assert by_number["trade_no"] == first["trade_no"] and by_number["name"] == "First"
    both = api(gw, client, "order", trade_no=second["trade_no"],
               out_trade_no=first["sent"]["out_trade_no"]).json()
    assert both["name"] == "Second"
    assert set(both) == {"code", "msg", "trade_no", "out_trade_no", "api_trade_no", "type",
                         "pid", "addtime", "endtime", "name", "money", "param", "buyer",
                         "status", "payurl"}
    assert both["status"] == 0 and both["endtime"] is None and both["money"] == "1.00"


def test_act_order_unknown_and_missing_numbers(gw, client):
    assert api(gw, client, "order", trade_no="1").json() == {"code": -1, "msg": "订单号不存在"}
    assert api(gw, client, "order").json() == {"code": -1, "msg": "订单号不能为空"}


def test_act_order_reports_a_paid_order(gw, client):
    answer = create(gw, client)
    pay(gw, client, answer["sent"]["out_trade_no"])
    order = api(gw, client, "order", trade_no=answer["trade_no"]).json()
    assert order["status"] == 1 and order["endtime"] and order["type"] == "alipay"


def test_act_orders_pages_filters_and_fails_on_an_empty_page_like_php8(gw, client):
    made = [create(gw, client, money=f"{n}.00") for n in range(1, 4)]
    pay(gw, client, made[0]["sent"]["out_trade_no"])
    page = api(gw, client, "orders", limit="2").json()
    assert page["code"] == 1 and page["msg"] == "查询订单记录成功！" and page["count"] == 2
    rest = api(gw, client, "orders", limit="2", offset="2").json()
    assert rest["count"] == 1
    numbers = {row["trade_no"] for row in page["data"] + rest["data"]}
    assert numbers == {m["trade_no"] for m in made}
    paid = api(gw, client, "orders", status="1").json()
    assert [row["trade_no"] for row in paid["data"]] == [made[0]["trade_no"]]
    empty = api(gw, client, "orders", offset="3")
    assert empty.status_code == 500 and empty.content == b""
    assert api(gw, client, "orders", limit="0").status_code == 500


def test_act_orders_caps_the_limit_at_50(gw, client):
    for n in range(55):
        create(gw, client, out_trade_no=f"cap{n}")
    assert api(gw, client, "orders", limit="80").json()["count"] == 50


def test_clean_answers_an_empty_page_with_no_data(clean, client):
    answer = client.get(clean.url + "api.php", params={"act": "orders", "pid": clean.pid,
                                                       "key": clean.key}).json()
    assert answer == {"code": 1, "msg": "查询订单记录成功！", "count": 0, "data": []}


def test_no_act(gw, client):
    assert client.get(gw.url + "api.php").json() == {"code": -5, "msg": "No Act!"}
    assert api(gw, client, "nope").json() == {"code": -5, "msg": "No Act!"}
    # act only in the body, as some third-party SDKs send it
    answer = client.post(gw.url + "api.php", data={"act": "refund", "pid": gw.pid,
                                                   "key": gw.key}).json()
    assert answer == {"code": -5, "msg": "No Act!"}


# ---- refunds --------------------------------------------------------------------------


def refund(gw, client, pid, key, **fields):
    return client.post(gw.url + "api.php?act=refund",
                       data={"pid": pid, "key": key, **fields}).json()


def test_refund_api_is_off_for_new_merchants_until_switched_on(gw, client):
    merchant = client.post(gw.url + "sandbox/merchant").json()
    pid, key = str(merchant["pid"]), merchant["key"]
    assert merchant["refund_api"] == 0 and re.fullmatch(r"[0-9A-Za-z]{32}", key)
    fields = order_fields("http://127.0.0.1:9/n", pid=pid)
    answer = client.post(gw.url + "mapi.php", data=signed(fields, key)).json()
    client.post(gw.url + "sandbox/pay", data={"pid": pid, "key": key,
                                              "trade_no": answer["trade_no"]})
    refused = refund(gw, client, pid, key, trade_no=answer["trade_no"], money="1.00")
    assert refused == {"code": -2, "msg": "商户未开启订单退款API接口"}
    switched = client.post(gw.url + "sandbox/merchant/settings",
                           data={"pid": pid, "key": key, "refund_api": "1"}).json()
    assert switched["refund_api"] == 1
    done = refund(gw, client, pid, key, trade_no=answer["trade_no"], money="1.00")
    assert done["code"] == 0 and done["msg"] == "退款成功！退款金额￥1.00"


def test_a_refund_succeeds_with_code_0_once_and_echoes_the_money_text(gw, client):
    answer = create(gw, client, money="10.00")
    pay(gw, client, answer["sent"]["out_trade_no"])
    done = refund(gw, client, gw.pid, gw.key, out_trade_no=answer["sent"]["out_trade_no"],
                  money="5")
    assert done["code"] == 0 and done["msg"] == "退款成功！退款金额￥5" and done["money"] == "5"
    assert api(gw, client, "order", trade_no=answer["trade_no"]).json()["status"] == 2
    again = refund(gw, client, gw.pid, gw.key, trade_no=answer["trade_no"], money="1")
    assert again == {"code": -1, "msg": "只支持退款已支付状态的订单"}


@pytest.mark.parametrize(("fields", "message"), [
    ({"money": "1.00"}, "订单号不能为空"),
    ({"trade_no": "1", "money": "1.00"}, "当前订单不存在！"),
    ({"money": "abc"}, "金额输入错误"),
    ({"money": "20.00"}, "退款金额不能大于订单金额"),
])
def test_refund_errors(gw, client, fields, message):
    answer = create(gw, client, money="10.00")
    pay(gw, client, answer["sent"]["out_trade_no"])
    if "trade_no" not in fields and message != "订单号不能为空":
        fields = {**fields, "trade_no": answer["trade_no"]}
    assert refund(gw, client, gw.pid, gw.key, **fields) == {"code": -1, "msg": message}


def test_an_unpaid_order_cannot_be_refunded(gw, client):
    answer = create(gw, client)
    assert refund(gw, client, gw.pid, gw.key, trade_no=answer["trade_no"], money="1") == {
        "code": -1, "msg": "只支持退款已支付状态的订单"}


def test_refund_reads_the_body_not_the_query(gw, client):
    answer = client.post(gw.url + "api.php", params={"act": "refund", "pid": gw.pid,
                                                     "key": gw.key}).json()
    assert answer == {"code": -3, "msg": "商户ID不存在"}
