"""Answers that are not what they say (issue 15.5), answers in GBK (15.6), and a gateway that
reports its own internal error (14.6): each said as what really arrived, with the right exit
code — through the real client on 127.0.0.1 and the parser alone."""

from __future__ import annotations

import json

import pytest
from test_gateway_client import JSON, gateway_args, one_line, scripted  # noqa: F401
from test_gateway_replies import CREATE, NOW, QUERY

from epaycli.core.errors import GatewayError
from epaycli.gateway import calls
from epaycli.gateway.replies import decode_body, parse_reply


def refused(call, body: bytes, status: int = 200, content_type: str = "text/html",
            location: str = "") -> GatewayError:
    with pytest.raises(GatewayError) as caught:
        parse_reply(call, status, content_type, body, now=NOW, location=location)
    return caught.value


# ---- 15.5: what really arrived ----------------------------------------------------------------


def test_an_empty_200_is_not_called_an_http_500():
    error = refused(QUERY, b"", 200)
    assert "HTTP 200 with an empty body" in error.message
    assert "500" not in error.message + (error.hint or "")
    assert error.explanation is None and error.code == "gateway_empty_answer"


def test_an_empty_502_is_a_proxy_not_the_catalogue_500():
    error = refused(QUERY, b"", 502)
    assert "HTTP 502" in error.message and "500" not in error.message
    assert "proxy" in error.hint


@pytest.mark.parametrize("status", [301, 302, 307])
def test_a_redirect_with_an_empty_body_is_a_redirect(status):
    error = refused(QUERY, b"", status, location="https://pay.example.com/api.php?act=order&key=SECRETK3Y")
    assert error.code == "gateway_redirect" and f"HTTP {status}" in error.message
    assert "https://pay.example.com/api.php" in error.message
    assert "SECRETK3Y" not in error.message  # the Location may repeat the request's key


def test_redirects_and_empty_answers_through_the_cli(cli, scripted):
    server = scripted((302, "text/html", ""))
    result = cli("order", "query", "A1", *gateway_args(server.url))
    assert result.code == 4 and "redirect (HTTP 302)" in one_line(result)
    empty = scripted((200, "text/html", ""))
    result = cli("order", "query", "A1", *gateway_args(empty.url))
    assert result.code == 4
    line = one_line(result)
    assert "HTTP 200 with an empty body" in line and "HTTP 500" not in line


@pytest.mark.parametrize("answer", [
    '{"code":"1","status":99,"money":"abc"}',
    '{"code":1,"status":1,"money":"abc"}',
    '{"code":1,"status":1}',
    '{"code":1,"money":"1.00"}',
    '{"code":1,"status":"paid","money":"1.00"}',
])
def test_a_success_that_is_not_an_order_exits_4(cli, scripted, answer):
    server = scripted((200, JSON, answer))
    for extra in ((), ("--json",)):
        result = cli("order", "query", "A1", *extra, *gateway_args(server.url))
        assert result.code == 4, (answer, result.stdout, result.stderr)
        assert "not an order" in one_line(result)
        assert result.stdout == ""


def test_wait_does_not_take_a_broken_answer_for_paid(cli, scripted):
    server = scripted((200, JSON, '{"code":1,"status":"1","money":"abc"}'))
    result = cli("order", "wait", "A1", "--timeout", "5", *gateway_args(server.url))
    assert result.code == 4 and "not an order" in one_line(result)


def test_query_from_file_counts_a_broken_answer_as_failed(cli, scripted, tmp_path):
    server = scripted((200, JSON, '{"code":"1","status":99,"money":"abc"}'))
    numbers = tmp_path / "n.txt"
    numbers.write_text("A1\n")
    result = cli("order", "query", "--from", str(numbers), "--json", *gateway_args(server.url))
    assert result.code == 4
    assert json.loads(result.stdout)["summary"]["failed"] == 1


@pytest.mark.parametrize("answer", ['{"code":1,"trade_no":"","payurl":"http://x/p"}',
                                    '{"code":1,"payurl":"http://x/p"}',
                                    '{"code":1,"trade_no":null}'])
def test_create_success_without_a_trade_no_is_a_gateway_error(cli, scripted, answer):
    server = scripted((200, JSON, answer))
    result = cli("order", "create", "-a", "1", "-n", "x", "--out-trade-no", "C1",
                 *gateway_args(server.url))
    assert result.code == 4, result.stderr
    assert "without a trade_no" in one_line(result)
    # The gateway may hold it: epay records it as unknown, to be queried.
    local = json.loads(cli("order", "list", "--local", "--json").stdout)["orders"]
    assert local[0]["out_trade_no"] == "C1" and local[0]["unknown"] is True
    assert "epay order query C1" in result.stderr


@pytest.mark.parametrize("command", [("order", "list"), ("merchant", "settles")])
@pytest.mark.parametrize("data", ['"abc"', "5", "true", "[1, 2]", '[{"trade_no": "1"}, "x"]'])
def test_a_listing_whose_data_is_no_rows_exits_4(cli, scripted, command, data):
    server = scripted((200, JSON, '{"code":1,"msg":"succ","data":%s}' % data))
    result = cli(*command, "--json", *gateway_args(server.url))
    assert result.code == 4, (data, result.stdout, result.stderr)
    assert "not a list of rows" in one_line(result)


@pytest.mark.parametrize("data", ["null", "[]", '""', "false"])
def test_an_empty_listing_is_still_empty(cli, scripted, data):
    server = scripted((200, JSON, '{"code":1,"msg":"succ","data":%s}' % data))
    result = cli("order", "list", "--json", *gateway_args(server.url))
    assert result.code == 0 and json.loads(result.stdout)["orders"] == []


def test_a_create_with_no_way_to_pay_says_so(cli, scripted):
    server = scripted((200, JSON, '{"code":1,"trade_no":"2026120112000012345"}'))
    result = cli("order", "create", "-a", "1", "-n", "x", *gateway_args(server.url))
    assert result.code == 0
    assert "no way to pay" in result.stderr


# ---- 15.6: GBK answers ----------------------------------------------------------------------


def test_a_gbk_answer_is_decoded_by_its_declared_charset():
    body = '{"code":-1,"msg":"订单号不存在"}'.encode("gbk")
    error = refused(QUERY, body, 200, "application/json; charset=GBK")
    assert "订单号不存在" in error.message
    assert error.explanation is not None and error.explanation.id == "order_not_found"


def test_a_gbk_notice_page_declared_in_its_meta_tag_is_readable():
    page = ('<html><head><meta http-equiv="Content-Type" content="text/html; charset=gb2312">'
            "<title>站点提示信息</title></head><body>支付方式(type)不存在</body></html>")
    error = refused(CREATE, page.encode("gbk"), 200, "text/html")
    assert error.explanation is not None and error.explanation.id == "type_unknown"


def test_decode_falls_back_to_utf8():
    assert decode_body("月卡".encode(), "text/html; charset=klingon") == "月卡"
    assert decode_body("\ufeff{}".encode(), "") == "{}"


def test_gbk_through_the_cli(cli, scripted):
    server = scripted((200, "application/json; charset=gbk",
                       '{"code":-3,"msg":"商户密钥错误"}'.encode("gbk")))
    result = cli("order", "query", "A1", *gateway_args(server.url))
    assert result.code == 4 and "商户密钥错误" in one_line(result)


# ---- 14.6: the gateway's own failure is not a wrong URL ---------------------------------------


@pytest.mark.parametrize("text", [
    "链接数据库失败：SQLSTATE[HY000] [2002] Connection refused",
    "PHP Fatal error:  Uncaught Error: Call to undefined function x() in /www/api.php:12",
    "<br />\n<b>Fatal error</b>:  Allowed memory size exhausted in <b>/www/includes/x.php</b> "
    "on line <b>8</b><br />",
])
def test_a_text_answer_that_is_no_notice_page_is_the_gateways_internal_error(text):
    error = refused(QUERY, text.encode(), 200, "text/html")
    said = f"{error.message} — {error.hint}"
    assert "is the gateway URL right" not in said and "site root" not in said
    assert "internal error" in said and error.code == "gateway_internal_error"


def test_internal_error_through_the_cli(cli, scripted):
    server = scripted((200, "text/html; charset=utf-8", "链接数据库失败：Connection refused"))
    result = cli("merchant", "info", *gateway_args(server.url))
    assert result.code == 4
    line = one_line(result)
    assert "is the gateway URL right" not in line and "site root" not in line
    assert "链接数据库失败" in line and "internal error" in line


def test_a_web_servers_own_page_still_points_at_the_url():
    error = refused(QUERY, b"<html><title>404 Not Found</title><body>nginx</body></html>", 404)
    assert "site root" in error.hint


# ---- 14.7: an empty page -------------------------------------------------------------------


def test_an_explicit_offset_page_that_is_an_empty_500_may_be_a_fault(cli, scripted):
    server = scripted((500, "text/html", ""))
    result = cli("order", "list", "--offset", "100", "--json", *gateway_args(server.url))
    assert result.code == 0
    document = json.loads(result.stdout)
    assert document["orders"] == [] and document["count"] == 0
    assert "server fault" in result.stderr and "offset 100" in result.stderr


def test_all_ends_quietly_on_an_empty_500_after_a_short_page(cli, scripted):
    def answer(request):
        if request["query"]["offset"] == "0":
            rows = [{"trade_no": str(i), "out_trade_no": f"O{i}", "money": "1", "status": 0}
                    for i in range(50)]
            return (200, JSON, json.dumps({"code": 1, "count": 50, "data": rows}))
        return (500, "text/html", "")

    server = scripted(answer)
    result = cli("order", "list", "--all", *gateway_args(server.url))
    assert result.code == 0, result.stderr
    assert "fault" not in result.stderr and "HTTP 500" not in result.stderr
    assert "50 orders listed" in result.stderr


# ---- 14.4: what was counted -----------------------------------------------------------------


def test_list_never_reports_the_servers_count_as_a_total(cli, scripted):
    rows = [{"trade_no": str(i), "out_trade_no": f"O{i}", "money": "1", "status": 1}
            for i in range(3)]
    server = scripted((200, JSON, json.dumps({"code": 1, "count": 3, "data": rows})))
    result = cli("order", "list", "--status", "1", "--limit", "3", *gateway_args(server.url))
    assert result.code == 0
    assert "of 3" not in result.stderr and "3 orders listed" in result.stderr
    many = scripted((200, JSON, json.dumps({"code": 1, "count": 50, "data": rows})))
    document = json.loads(cli("order", "list", "--json", *gateway_args(many.url)).stdout)
    assert document["count"] == 3


def test_listing_pages_are_built_once(cli, scripted):
    server = scripted((200, JSON, '{"code":1,"data":[]}'))
    result = cli("order", "list", "--offset", "7", "--limit", "5", *gateway_args(server.url))
    assert result.code == 0
    assert server.requests[0]["query"]["offset"] == "7"
    assert calls.LIST_PAGE_MAX == 50
