"""Reading gateway answers leniently: the shapes real Epay servers were seen to send, fed
through the client's parser; and the requests the client builds, checked against the spec."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from conftest import load_vectors

from epaycli.core.errors import ExitCode, GatewayError, InputError, SignatureError
from epaycli.core.models import SANDBOX_KEY
from epaycli.core.signing import Md5Key, RsaKeys, load_private_key, load_public_key, sign, verify
from epaycli.gateway import calls
from epaycli.gateway.calls import Merchant
from epaycli.gateway.replies import (
    create_fields,
    order_fields,
    page_text,
    parse_reply,
    rows_of,
    signed_fields,
)

V2 = load_vectors("v2-rsa")
NOW = 1_764_547_200
V1 = Merchant("http://127.0.0.1:8787/", "1000", "v1", Md5Key(SANDBOX_KEY), Md5Key(SANDBOX_KEY))
PLATFORM_PRIVATE = load_private_key(V2["platform_private_key_pem"])
MERCHANT_PRIVATE = load_private_key(V2["merchant_private_key_pem"])
V2M = Merchant("https://pay.example.com/", "1001", "v2", RsaKeys(private=MERCHANT_PRIVATE), None,
               RsaKeys(public=load_public_key(V2["platform_public_key_pem"])))

QUERY = calls.query_order(V1, NOW, out_trade_no="A1")
ORDERS = calls.list_orders(V1, NOW, limit=50)
REFUND = calls.refund_order(V1, NOW, money=Decimal("1.00"), out_trade_no="A1")
CREATE = calls.create_order(V1, calls.validate_order(
    money="1.00", name="n", out_trade_no="A1", notify_url="http://s.example/n",
    type="alipay", clientip="1.2.3.4", api=True), NOW)


def reply(call, body, status=200, content_type="application/json"):
    raw = body if isinstance(body, bytes) else body.encode("utf-8")
    return parse_reply(call, status, content_type, raw, now=NOW)


def gateway_error(call, body, status=200, content_type="application/json") -> GatewayError:
    with pytest.raises(GatewayError) as caught:
        reply(call, body, status, content_type)
    assert caught.value.exit_code is ExitCode.GATEWAY_ERROR
    return caught.value


# ---- recorded shapes --------------------------------------------------------------------------


def test_order_with_numbers_as_strings_and_escaped_chinese():
    body = ('{"code":"1","msg":"succ","trade_no":"2026120112000012345","out_trade_no":"A1",'
            '"api_trade_no":null,"type":"alipay","pid":"1000","addtime":"2026-12-01 12:00:00",'
            '"endtime":null,"name":"\\u6708\\u5361","money":"1.00","param":null,"buyer":null,'
            '"status":"1","payurl":null}')
    order = order_fields(reply(QUERY, body).data)
    assert order["status"] == 1 and order["status_text"] == "paid"
    assert order["name"] == "月卡"
    assert order["money"] == "1.00"
    assert order["api_trade_no"] == "" and order["endtime"] == ""


def test_order_as_php8_sends_it_numbers_and_false():
    body = ('{"code":1,"msg":"succ","trade_no":"2026120112000012345","out_trade_no":"A1",'
            '"type":false,"pid":1000,"money":"5","status":2}')
    order = order_fields(reply(QUERY, body).data)
    assert (order["status"], order["type"], order["pid"], order["money"]) == (2, "", "1000", "5")
    assert order["status_text"] == "refunded"


def test_listing_with_data_null_and_object_data():
    assert rows_of(reply(ORDERS, '{"code":1,"msg":"查询订单记录成功！","count":0,"data":null}').data) == []
    keyed = reply(ORDERS, '{"code":1,"count":1,"data":{"0":{"trade_no":"1","status":"0"}}}')
    assert [r["trade_no"] for r in rows_of(keyed.data)] == ["1"]


def test_listing_http_500_empty_body_is_an_empty_page():
    answer = reply(ORDERS, b"", status=500, content_type="text/html")
    assert rows_of(answer.data) == [] and answer.empty


def test_mapi_http_500_empty_body_is_a_gateway_error():
    error = gateway_error(CREATE, b"", status=500, content_type="text/html")
    assert error.explanation.id == "http_500_empty"
    assert "HTTP 500" in error.message


def test_html_notice_page_labelled_json_carries_its_message():
    page = ('<!DOCTYPE html><html><head><meta charset="utf-8"><title>站点提示信息</title></head>'
            '<body><div class="container"><h3>站点提示信息</h3><p>支付方式(type)不存在</p>'
            '<script>setTimeout(function(){history.back()},3000)</script></div></body></html>')
    error = gateway_error(CREATE, page, content_type="application/json; charset=utf-8")
    assert error.explanation.id == "type_unknown"
    assert error.gateway_message.startswith("支付方式(type)不存在")
    assert "labelled application/json" in error.message
    assert "setTimeout" not in error.message


def test_plain_text_answer_is_explained():
    error = gateway_error(CREATE, "你还未配置支付接口商户！", content_type="text/html")
    assert error.explanation.id == "no_merchant_configured"


def test_unknown_html_page_is_a_gateway_error_that_shows_the_page():
    error = gateway_error(QUERY, "<html><title>Welcome to nginx!</title><body>It works</body></html>",
                          content_type="text/html")
    assert error.code == "gateway_not_json" and "Welcome to nginx!" in error.message
    assert "site root" in error.hint


def test_php_warning_before_the_json_is_skipped():
    body = "<br />\n<b>Warning</b>: Undefined variable $x in api.php on line 3<br />\n" \
           '{"code":1,"msg":"succ","trade_no":"9","status":0}'
    assert order_fields(reply(QUERY, body).data)["status"] == 0


def test_utf8_bom_is_skipped():
    assert reply(QUERY, '\ufeff{"code":1,"status":"0"}'.encode()).data["status"] == "0"


def test_refund_success_is_code_0_and_forks_code_1():
    assert reply(REFUND, '{"code":0,"msg":"退款成功！退款金额￥1.00"}').data["code"] == 0
    assert reply(REFUND, '{"code":"1","msg":"ok"}').data["code"] == "1"


def test_code_0_is_no_success_for_mapi_or_api_query():
    error = gateway_error(QUERY, '{"code":0,"msg":"查询失败"}')
    assert error.gateway_code == 0


def test_error_answers_become_explained_gateway_errors():
    error = gateway_error(CREATE, '{"code":"-1","msg":"签名校验失败，请返回重试！"}')
    assert (error.gateway_code, error.explanation.id) == (-1, "sign_mismatch")
    assert "签名校验失败" in error.message and error.hint == error.explanation.fix
    reuse = gateway_error(CREATE, '{"code":-1,"msg":"该订单(A1)支付参数有变化，请更换订单号重新发起支付"}')
    assert reuse.explanation.id == "order_params_changed"
    auth = gateway_error(QUERY, '{"code":-3,"msg":"\\u5546\\u6237\\u5bc6\\u94a5\\u9519\\u8bef"}')
    assert auth.explanation.id == "key_wrong"


def test_tutorial_code_is_said_to_come_from_other_gateways():
    error = gateway_error(QUERY, '{"code":1001,"msg":"sign error"}')
    assert error.explanation.id == "tutorial_1001"
    assert "other gateways" in error.message


def test_unknown_message_keeps_code_meaning_and_points_to_epay_errors():
    error = gateway_error(QUERY, '{"code":-2,"msg":"插件返回异常"}')
    assert error.explanation is None
    assert "Upstream channel" in error.message and "epay errors" in error.hint


def test_answers_without_a_code_or_not_an_object():
    assert gateway_error(QUERY, '{"msg":"hi"}').gateway_message == "hi"
    assert gateway_error(QUERY, '[1,2]').code == "gateway_not_json"
    assert gateway_error(QUERY, '{"code":1', content_type="text/plain").code == "gateway_not_json"


def test_redirect_is_not_followed_and_says_why():
    error = gateway_error(QUERY, b"<html>moved</html>", status=302, content_type="text/html")
    assert error.code == "gateway_redirect"


def test_http_error_status_with_a_success_code_is_still_an_error():
    gateway_error(QUERY, '{"code":1,"msg":"succ"}', status=503)


def test_page_text_strips_tags_scripts_and_entities():
    assert page_text("<p>A&amp;B</p><script>x()</script><b>C</b>") == "A&B C"


def test_create_fields_v1_and_v2():
    assert create_fields({"code": 1, "trade_no": 123, "qrcode": "weixin://x"}, v2=False) == \
        {"trade_no": "123", "qrcode": "weixin://x"}
    v2 = create_fields({"code": 0, "trade_no": "9", "pay_type": "qrcode", "pay_info": "q"}, v2=True)
    assert v2["qrcode"] == "q" and v2["pay_type"] == "qrcode"


# ---- V2 signed answers ----------------------------------------------------------------------


def v2_answer(call, fields, *, signer=PLATFORM_PRIVATE):
    document = dict(fields)
    document["sign"] = sign(signed_fields(document), RsaKeys(private=signer))
    document["sign_type"] = "RSA"
    return reply(call, json.dumps(document, ensure_ascii=False))


V2_QUERY = calls.query_order(V2M, NOW, out_trade_no="A1")


def test_v2_answer_signed_by_the_platform_verifies():
    answer = v2_answer(V2_QUERY, {"code": 0, "trade_no": "9", "out_trade_no": "A1", "money": "1.00",
                                  "status": 1, "buyer": None, "timestamp": str(NOW)})
    assert answer.verified is True


def test_v2_answer_signed_by_someone_else_is_refused():
    with pytest.raises(SignatureError) as caught:
        v2_answer(V2_QUERY, {"code": 0, "status": 1, "timestamp": str(NOW)},
                  signer=MERCHANT_PRIVATE)
    assert caught.value.exit_code is ExitCode.SIGNATURE_INVALID


def test_v2_answer_tampered_after_signing_is_refused():
    document = {"code": 0, "money": "1.00", "timestamp": str(NOW)}
    document["sign"] = sign(signed_fields(document), RsaKeys(private=PLATFORM_PRIVATE))
    document["money"] = "100.00"
    with pytest.raises(SignatureError):
        reply(V2_QUERY, json.dumps(document))


@pytest.mark.parametrize("offset", [-301, 301])
def test_v2_answer_outside_the_timestamp_window_is_refused(offset):
    with pytest.raises(SignatureError) as caught:
        v2_answer(V2_QUERY, {"code": 0, "status": 1, "timestamp": str(NOW + offset)})
    assert "301 s" in caught.value.message


def test_v2_answer_at_the_window_edge_passes():
    assert v2_answer(V2_QUERY, {"code": 0, "timestamp": str(NOW - 300)}).verified is True


def test_v2_unsigned_answer_or_no_platform_key_is_not_verified_and_says_so():
    unsigned = reply(V2_QUERY, '{"code":0,"status":1}')
    assert unsigned.verified is None and "not signed" in unsigned.notes[0]
    keyless = Merchant("https://pay.example.com/", "1001", "v2", RsaKeys(private=MERCHANT_PRIVATE))
    call = calls.query_order(keyless, NOW, out_trade_no="A1")
    answer = v2_answer(call, {"code": 0, "timestamp": str(NOW)})
    assert answer.verified is None and "no platform public key" in answer.notes[0]


def test_v2_success_is_code_0_only():
    gateway_error(V2_QUERY, '{"code":1,"msg":"?"}')


# ---- requests, as built -----------------------------------------------------------------------


def test_v1_query_is_a_get_to_api_php_with_the_key_masked_when_shown():
    assert QUERY.method == "GET"
    assert QUERY.url == f"http://127.0.0.1:8787/api.php?act=order&pid=1000&key={SANDBOX_KEY}&out_trade_no=A1"
    assert SANDBOX_KEY not in QUERY.shown_url and "Sand…0000" in QUERY.shown_url
    assert SANDBOX_KEY not in json.dumps(QUERY.to_dict(), ensure_ascii=False)
    assert QUERY.idempotent


def test_trade_no_wins_over_out_trade_no():
    call = calls.query_order(V1, NOW, out_trade_no="A1", trade_no="T9")
    assert "trade_no=T9" in call.url and "out_trade_no" not in call.url


def test_v1_refund_posts_with_act_in_the_query():
    assert (REFUND.method, REFUND.url) == ("POST", "http://127.0.0.1:8787/api.php?act=refund")
    assert REFUND.form == {"pid": "1000", "key": SANDBOX_KEY, "out_trade_no": "A1", "money": "1.00"}
    assert not REFUND.idempotent


def test_v1_create_is_a_signed_post_to_mapi():
    assert (CREATE.method, CREATE.endpoint) == ("POST", "http://127.0.0.1:8787/mapi.php")
    assert list(CREATE.form)[-2:] == ["sign", "sign_type"]
    assert verify(CREATE.form, Md5Key(SANDBOX_KEY))
    assert not CREATE.idempotent


def test_v2_create_carries_timestamp_and_rsa_sign():
    order = calls.validate_order(money="2.50", name="n", out_trade_no="B1",
                                 notify_url="https://s.example/n", type="wxpay",
                                 clientip="1.2.3.4", method="web", api=True)
    call = calls.create_order(V2M, order, NOW)
    assert call.endpoint == "https://pay.example.com/api/pay/create"
    assert call.form["timestamp"] == str(NOW) and call.form["sign_type"] == "RSA"
    assert call.form["method"] == "web"
    assert verify(call.form, RsaKeys(public=load_public_key(V2["merchant_public_key_pem"])))
    plain = Merchant("https://pay.example.com/", "1001", "v2", RsaKeys(private=MERCHANT_PRIVATE),
                     rewrite=False)
    assert calls.create_order(plain, order, NOW).url == "https://pay.example.com/api.php?s=pay/create"


def test_v2_with_md5_key_still_sends_a_timestamp():
    merchant = Merchant("https://pay.example.com/", "1001", "v2", Md5Key(SANDBOX_KEY))
    call = calls.query_order(merchant, NOW, trade_no="T")
    assert call.form["timestamp"] == str(NOW) and call.form["sign_type"] == "MD5"
    assert verify(call.form, Md5Key(SANDBOX_KEY))


def test_submit_page_v1_and_v2():
    order = calls.validate_order(money="1", name="月卡", out_trade_no="P1",
                                 notify_url="https://s.example/n", return_url="https://s.example/r",
                                 api=False)
    endpoint, signed = calls.submit_page(V1, order, NOW)
    assert endpoint == "http://127.0.0.1:8787/submit.php"
    assert signed.params["money"] == "1.00" and verify(signed.params, Md5Key(SANDBOX_KEY))
    form = calls.auto_submit_form(endpoint, signed)
    assert 'action="http://127.0.0.1:8787/submit.php"' in form
    assert f'name="sign" value="{signed.sign}"' in form
    v2_endpoint, v2_signed = calls.submit_page(V2M, order, NOW)
    assert v2_endpoint.endswith("api/pay/submit") and "timestamp" in v2_signed.params


def test_v2_only_routes_refuse_v1():
    with pytest.raises(InputError):
        calls.close_order(V1, NOW, out_trade_no="A1")
    assert calls.close_order(V2M, NOW, out_trade_no="A1").endpoint.endswith("api/pay/close")
    assert calls.refund_query(V2M, NOW, out_refund_no="R1").endpoint.endswith("api/pay/refundquery")


# ---- validation in the gateway's words ------------------------------------------------------


def order(**changes):
    fields = dict(money="1.00", name="n", out_trade_no="A1", notify_url="https://s.example/n",
                  return_url="https://s.example/r", type="alipay", clientip="1.2.3.4", api=True)
    fields.update(changes)
    return calls.validate_order(**fields)


@pytest.mark.parametrize("money,wording", [
    ("1.999", "金额不合法"), ("abc", "金额不合法"), ("-1", "金额不合法"), ("1e2", "金额不合法"),
    (" 1.00", "金额不合法"), ("1,00", "金额不合法"), ("0", "金额(money)不能为空"),
    ("0.00", "金额(money)不能为空"), ("", "金额不合法"),
])
def test_bad_amounts_are_refused_in_the_gateways_words(money, wording):
    with pytest.raises(InputError) as caught:
        order(money=money)
    assert caught.value.message.startswith(wording)
    assert caught.value.exit_code is ExitCode.USAGE


def test_amount_is_kept_to_the_cent():
    assert order(money="1.5").money == Decimal("1.50")
    assert order(money="1000000").money == Decimal("1000000.00")


@pytest.mark.parametrize("number,wording", [
    ("a b", "订单号(out_trade_no)格式不正确"), ("单号", "订单号(out_trade_no)格式不正确"),
    ("x" * 151, "订单号(out_trade_no)格式不正确"), ("", "订单号(out_trade_no)不能为空"),
    ("a&b", "订单号(out_trade_no)格式不正确"),
])
def test_bad_out_trade_no(number, wording):
    with pytest.raises(InputError) as caught:
        order(out_trade_no=number)
    assert caught.value.message.startswith(wording)


def test_allowed_out_trade_no_characters_and_length():
    assert order(out_trade_no="Az09._-|" + "x" * 142).out_trade_no.startswith("Az09")


@pytest.mark.parametrize("url,wording", [
    ("", "通知地址(notify_url)不能为空"), ("shop.example/n", "该域名不可发起支付"),
    ("ftp://shop.example/n", "该域名不可发起支付"), ("/notify", "该域名不可发起支付"),
    ("http:///nohost", "该域名不可发起支付"),
])
def test_bad_notify_url(url, wording):
    with pytest.raises(InputError) as caught:
        order(notify_url=url)
    assert caught.value.message.startswith(wording)


def test_required_fields_by_mode():
    with pytest.raises(InputError, match="支付方式"):
        order(type="")
    with pytest.raises(InputError, match="clientip"):
        order(clientip="")
    with pytest.raises(InputError, match="商品名称"):
        order(name="  ")
    with pytest.raises(InputError, match="return_url"):
        order(api=False, return_url="")
    assert order(api=False, type="", clientip="").type == ""


def test_warnings_for_what_the_gateway_will_do():
    notes = calls.order_warnings(order(notify_url="https://s.example/n?a=1&b=2", name="x" * 70),
                                 "https://pay.example.com/")
    assert any("query string" in n for n in notes) and any("64" in n for n in notes)
    local = calls.order_warnings(order(notify_url="http://127.0.0.1:9/n"), "https://pay.example.com/")
    assert any("cannot reach" in n for n in local)
    assert calls.order_warnings(order(notify_url="http://127.0.0.1:9/n"), "http://127.0.0.1:8787/") == []


@pytest.mark.parametrize("gateway", ["https://pay.example.com/", "http://10.0.0.1/",
                                     "http://127.0.0.1.example.com/"])
def test_sandbox_pay_refuses_non_loopback(gateway):
    merchant = Merchant(gateway, "1000", "v1", Md5Key(SANDBOX_KEY), Md5Key(SANDBOX_KEY))
    with pytest.raises(InputError) as caught:
        calls.sandbox_pay(merchant, out_trade_no="A1")
    assert caught.value.code == "not_sandbox"


@pytest.mark.parametrize("gateway", ["http://127.0.0.1:8787/", "http://localhost:1/",
                                     "http://[::1]:8787/", "http://127.8.9.10/"])
def test_sandbox_pay_on_loopback(gateway):
    merchant = Merchant(gateway, "1000", "v1", Md5Key(SANDBOX_KEY), Md5Key(SANDBOX_KEY))
    call = calls.sandbox_pay(merchant, out_trade_no="A1", failed=True)
    assert call.endpoint.endswith("/sandbox/pay") and call.form["result"] == "failed"


def test_limits_of_listing_calls():
    with pytest.raises(InputError):
        calls.list_orders(V1, NOW, limit=51)
    with pytest.raises(InputError):
        calls.list_orders(V1, NOW, limit=10, offset=-1)
    with pytest.raises(InputError):
        calls.settles(V1, limit=0)


def test_generated_out_trade_no_is_valid_and_dated():
    number = calls.new_out_trade_no(NOW, "ab12cd")
    assert calls.validate_out_trade_no(number) == "epay20251201000000ab12cd"


# ---- properties -------------------------------------------------------------------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from epaycli.core.errors import EpayError  # noqa: E402


@settings(max_examples=300, deadline=None)
@given(body=st.binary(max_size=400), status=st.sampled_from([200, 404, 500, 502]),
       content_type=st.sampled_from(["application/json", "text/html", ""]))
def test_any_answer_is_data_or_an_epay_error(body, status, content_type):
    for call in (QUERY, ORDERS, REFUND, CREATE, V2_QUERY):
        try:
            parse_reply(call, status, content_type, body, now=NOW)
        except EpayError:
            pass


@settings(max_examples=200, deadline=None)
@given(document=st.dictionaries(st.text(max_size=8), st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=20),
    st.lists(st.integers(), max_size=3)), max_size=8))
def test_any_json_object_is_data_or_an_epay_error(document):
    for call in (QUERY, ORDERS, REFUND, V2_QUERY):
        try:
            answer = parse_reply(call, 200, "application/json", json.dumps(document).encode(),
                                 now=NOW)
        except EpayError:
            continue
        order = order_fields(answer.data)
        assert order["status"] is None or isinstance(order["status"], int)
        rows_of(answer.data)
