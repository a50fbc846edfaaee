"""The gateway client and the order/merchant commands over real HTTP on 127.0.0.1, against a
scripted server that answers what real Epay servers were recorded answering (the local
gateway's own end-to-end tests are in test_gateway_e2e.py); plus every entry point's bad
input, a closed port, a gateway that never answers, and a TLS certificate that does not verify."""

from __future__ import annotations

import datetime
import json
import socket
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

import pytest

from epaycli.core.errors import GatewayError, NetworkError
from epaycli.core.models import SANDBOX_KEY
from epaycli.core.signing import Md5Key, verify
from epaycli.gateway import calls
from epaycli.gateway.calls import Merchant
from epaycli.gateway.client import GatewayClient, Settings, send_all


class Scripted(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, answers, tls_context=None):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.answers = list(answers)  # (status, content_type, body[, delay]); the last repeats
        self.requests: list[dict] = []
        self.lock = threading.Lock()
        if tls_context is not None:
            self.socket = tls_context.wrap_socket(self.socket, server_side=True)

    def handle_error(self, request, client_address):
        pass  # a client that gave up (a timeout test) leaves a broken pipe: expected

    def next_answer(self):
        with self.lock:
            return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _answer(self, body: bytes = b""):
        parts = urlsplit(self.path)
        self.server.requests.append({"method": self.command, "path": parts.path,
                                     "query": dict(parse_qsl(parts.query)),
                                     "form": dict(parse_qsl(body.decode()))})
        answer = self.server.next_answer()
        if callable(answer):  # answers that depend on the request (e.g. on the offset)
            answer = answer(self.server.requests[-1])
        status, content_type, text, *delay = answer
        if delay:
            time.sleep(delay[0])
        raw = text.encode() if isinstance(text, str) else text
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def do_GET(self):
        self._answer()

    def do_POST(self):
        self._answer(self.rfile.read(int(self.headers.get("Content-Length") or 0)))


@pytest.fixture
def scripted():
    servers = []

    def start(*answers, tls_context=None):
        server = Scripted(answers, tls_context)
        thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
        thread.start()
        servers.append((server, thread))
        _host, port = server.server_address
        server.url = f"{'https' if tls_context else 'http'}://127.0.0.1:{port}/"
        return server

    yield start
    for server, thread in servers:
        server.shutdown()
        server.server_close()
        thread.join(5)


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def one_line(result) -> str:
    lines = result.stderr.strip().splitlines()
    assert lines and lines[-1].startswith("epay: error: "), result.stderr
    assert " — " in lines[-1] and "Traceback" not in result.stderr
    errors = [line for line in lines if line.startswith("epay: error:")]
    assert len(errors) == 1
    return lines[-1]


JSON = "application/json"
ORDER = ('{"code":1,"msg":"succ","trade_no":"2026120112000012345","out_trade_no":"A1",'
         '"type":"alipay","pid":"1000","name":"\\u6708\\u5361","money":"1.00","status":"1"}')


def merchant(url):
    return Merchant(url, "1000", "v1", Md5Key(SANDBOX_KEY), Md5Key(SANDBOX_KEY))


# ---- the client -----------------------------------------------------------------------------


def test_idempotent_query_is_retried_with_backoff(scripted):
    server = scripted((503, "text/html", "busy"), (502, "text/html", "busy"), (200, JSON, ORDER))
    pauses = []
    with GatewayClient(Settings(timeout=5, retries=2, backoff=0.1), sleep=pauses.append) as client:
        answer = client.send(calls.query_order(merchant(server.url), 0, out_trade_no="A1"))
    assert answer.data["status"] == "1"
    assert pauses == [0.1, 0.2]
    assert len(server.requests) == 3


def test_retries_run_out_and_the_answer_is_a_gateway_error(scripted):
    server = scripted((503, "text/html", "<html><title>503 Service Unavailable</title></html>"))
    with GatewayClient(Settings(timeout=5, retries=1, backoff=0.0)) as client:
        with pytest.raises(GatewayError) as caught:
            client.send(calls.query_order(merchant(server.url), 0, out_trade_no="A1"))
    assert "503" in caught.value.message
    assert len(server.requests) == 2


@pytest.mark.parametrize("build", [
    lambda m: calls.refund_order(m, 0, money=calls.validate_amount("1"), out_trade_no="A1"),
    lambda m: calls.create_order(m, calls.validate_order(
        money="1", name="n", out_trade_no="A1", notify_url="http://x.example/n", type="alipay",
        clientip="1.1.1.1", api=True), 0),
])
def test_create_and_refund_are_never_retried(scripted, build):
    server = scripted((503, "text/html", "busy"), (200, JSON, '{"code":1}'))
    with GatewayClient(Settings(timeout=5, retries=3, backoff=0.0)) as client:
        with pytest.raises(GatewayError):
            client.send(build(merchant(server.url)))
    assert len(server.requests) == 1


def test_timeout_is_a_network_error_naming_url_and_timeout(scripted):
    server = scripted((200, JSON, ORDER, 1.5))
    with GatewayClient(Settings(timeout=0.3, retries=0)) as client:
        with pytest.raises(NetworkError) as caught:
            client.send(calls.query_order(merchant(server.url), 0, out_trade_no="A1"))
    assert caught.value.code == "network_timeout"
    assert server.url in caught.value.message and "timeout 0.3 s" in caught.value.message
    assert SANDBOX_KEY not in caught.value.message


def test_garbage_that_is_not_http_is_a_network_error():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        port = listener.getsockname()[1]

        def babble():
            connection, _ = listener.accept()
            connection.recv(4096)
            connection.sendall(b"\x00\x01garbage that is not HTTP\r\n\r\n")
            connection.close()

        thread = threading.Thread(target=babble, daemon=True)
        thread.start()
        with GatewayClient(Settings(timeout=2, retries=0)) as client:
            with pytest.raises(NetworkError) as caught:
                client.send(calls.query_order(merchant(f"http://127.0.0.1:{port}/"), 0,
                                              out_trade_no="A1"))
        thread.join(5)
    assert caught.value.code == "network_protocol"


def test_batch_keeps_order_and_failures_do_not_stop_it(scripted):
    server = scripted((200, JSON, ORDER))
    bad = scripted((200, JSON, '{"code":-1,"msg":"订单号不存在"}'))
    batch = [calls.query_order(merchant(server.url), 0, out_trade_no=f"A{i}") for i in range(20)]
    batch.insert(5, calls.query_order(merchant(bad.url), 0, out_trade_no="missing"))
    results = send_all(batch, Settings(timeout=5), concurrency=4)
    assert len(results) == 21
    assert isinstance(results[5], GatewayError) and results[5].explanation.id == "order_not_found"
    assert all(r.data["status"] == "1" for i, r in enumerate(results) if i != 5)
    assert sorted(r["query"]["out_trade_no"] for r in server.requests) == \
        sorted(f"A{i}" for i in range(20))


# ---- commands over HTTP ---------------------------------------------------------------------


def gateway_args(url):
    return ("--gateway", url, "--pid", "1000", "--key", SANDBOX_KEY)


def test_order_query_json_has_integer_status(cli, scripted):
    server = scripted((200, JSON, ORDER))
    result = cli("order", "query", "A1", "--json", *gateway_args(server.url))
    assert result.code == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["status"] == 1 and document["name"] == "月卡"
    request = server.requests[0]
    assert request["path"] == "/api.php"
    assert request["query"] == {"act": "order", "pid": "1000", "key": SANDBOX_KEY,
                                "out_trade_no": "A1"}


def test_order_create_api_mode_sends_a_signed_form_and_remembers(cli, scripted):
    server = scripted((200, JSON, '{"code":1,"trade_no":"2026120112000099999",'
                                  '"payurl":"http://127.0.0.1/cashier/2026120112000099999"}'))
    result = cli("order", "create", "--amount", "3.5", "--name", "月卡", "--out-trade-no", "C1",
                 "--type", "wxpay", "--notify-url", "https://shop.example/n", "--json",
                 *gateway_args(server.url))
    assert result.code == 0, result.stderr
    document = json.loads(result.stdout)
    assert (document["out_trade_no"], document["trade_no"], document["money"]) == \
        ("C1", "2026120112000099999", "3.50")
    assert document["payurl"].endswith("/cashier/2026120112000099999")
    form = server.requests[0]["form"]
    assert server.requests[0]["method"] == "POST" and server.requests[0]["path"] == "/mapi.php"
    assert verify(form, Md5Key(SANDBOX_KEY)) and form["money"] == "3.50"
    remembered = json.loads(cli("order", "list", "--local", "--json").stdout)["orders"]
    assert remembered[0]["out_trade_no"] == "C1" and remembered[0]["money"] == "3.50"
    assert remembered[0]["trade_no"] == "2026120112000099999"


def test_order_create_gateway_error_exits_4_explained(cli, scripted):
    server = scripted((200, JSON, '{"code":-1,"msg":"该订单(C1)支付参数有变化，请更换订单号重新发起支付"}'))
    result = cli("order", "create", "-a", "1", "-n", "x", "--out-trade-no", "C1",
                 *gateway_args(server.url))
    assert result.code == 4
    line = one_line(result)
    assert "支付参数有变化" in line and "new out_trade_no" in line
    assert json.loads(cli("order", "list", "--local", "--json").stdout)["orders"] == []


def test_html_error_page_from_mapi_exits_4(cli, scripted):
    server = scripted((200, "application/json", "<html><head><title>站点提示信息</title></head>"
                                                "<body>支付方式(type)不存在</body></html>"))
    result = cli("order", "create", "-a", "1", "-n", "x", "--type", "nope",
                 *gateway_args(server.url))
    assert result.code == 4
    assert "支付方式(type)不存在" in one_line(result)


def test_query_batch_from_file(cli, scripted, tmp_path):
    server = scripted((200, JSON, ORDER))
    numbers = tmp_path / "orders.csv"
    numbers.write_text("# reconciliation\nA1,1.00\n\nA2\nA3\n")
    result = cli("order", "query", "--from", str(numbers), "--json", *gateway_args(server.url))
    assert result.code == 0, result.stderr
    document = json.loads(result.stdout)
    assert [r["out_trade_no"] for r in document["results"]] == ["A1", "A2", "A3"]
    assert document["summary"] == {"queried": 3, "ok": 3, "failed": 0,
                                   "amount_mismatches": 0}


def test_query_batch_with_failures_exits_with_the_worst(cli, scripted, tmp_path):
    server = scripted((200, JSON, '{"code":-1,"msg":"订单号不存在"}'))
    numbers = tmp_path / "orders.txt"
    numbers.write_text("A1\nA2\n")
    result = cli("order", "query", "--from", str(numbers), *gateway_args(server.url))
    assert result.code == 4
    assert "2 failed" in result.stderr and "订单号不存在" in result.stdout


def listing_by_offset(total: int, *, empty_status: int = 500):
    def answer(request):
        offset = int(request["query"]["offset"])
        count = max(0, min(50, total - offset))
        if count == 0:
            return (empty_status, "text/html", "")
        rows = [{"trade_no": str(offset + i), "out_trade_no": f"O{offset + i}", "money": "1.00",
                 "status": "1"} for i in range(count)]
        return (200, JSON, json.dumps({"code": 1, "msg": "ok", "count": count, "data": rows}))

    return answer


@pytest.mark.parametrize("total", [0, 49, 50, 100, 420])
def test_list_all_pages_through_offsets(cli, scripted, total):
    server = scripted(listing_by_offset(total))
    result = cli("order", "list", "--all", "--json", *gateway_args(server.url))
    assert result.code == 0, result.stderr
    document = json.loads(result.stdout)
    assert sorted(int(o["trade_no"]) for o in document["orders"]) == list(range(total))
    offsets = {int(r["query"]["offset"]) for r in server.requests}
    assert set(range(0, total + 1, 50)) <= offsets
    assert max(offsets) <= total + 8 * 50, "reads past the end are bounded by the window"


def test_list_all_keeps_an_order_seen_twice_once(cli, scripted):
    def answer(request):
        offset = int(request["query"]["offset"])
        if offset >= 100:
            return (200, JSON, '{"code":1,"data":null}')
        start = offset - 1 if offset else 0  # the list moved by one while paging
        rows = [{"trade_no": str(start + i), "status": 0} for i in range(50)]
        return (200, JSON, json.dumps({"code": 1, "data": rows}))

    server = scripted(answer)
    document = json.loads(cli("order", "list", "--all", "--json", *gateway_args(server.url)).stdout)
    numbers = [o["trade_no"] for o in document["orders"]]
    assert len(numbers) == len(set(numbers)) == 99


def test_refund_success_code_0(cli, scripted):
    server = scripted((200, JSON, '{"code":0,"msg":"退款成功！退款金额￥1.00"}'))
    result = cli("order", "refund", "A1", "--amount", "1", "--json", *gateway_args(server.url))
    assert result.code == 0, result.stderr
    assert json.loads(result.stdout)["refunded"] is True
    assert server.requests[0]["query"] == {"act": "refund"}
    assert server.requests[0]["form"]["money"] == "1.00"


def test_merchant_info_masks_the_echoed_key(cli, scripted):
    server = scripted((200, JSON, json.dumps({"code": 1, "pid": 1000, "key": SANDBOX_KEY,
                                              "active": 1, "money": "0.00", "orders": 3})))
    result = cli("merchant", "info", *gateway_args(server.url))
    assert result.code == 0, result.stderr
    assert SANDBOX_KEY not in result.stdout + result.stderr
    assert "Sand…0000" in result.stdout


def test_merchant_settles_with_data_null(cli, scripted):
    server = scripted((200, JSON, '{"code":1,"msg":"查询结算记录成功！","data":null}'))
    result = cli("merchant", "settles", "--json", *gateway_args(server.url))
    assert result.code == 0 and json.loads(result.stdout) == {"settles": []}
    assert server.requests[0]["query"]["act"] == "settle"


def test_wait_polls_until_paid(cli, scripted):
    unpaid = ORDER.replace('"status":"1"', '"status":"0"')
    server = scripted((200, JSON, '{"code":-1,"msg":"订单号不存在"}'), (200, JSON, unpaid),
                      (200, JSON, ORDER))
    result = cli("order", "wait", "A1", "--timeout", "20", "--interval", "0.05", "--json",
                 *gateway_args(server.url))
    assert result.code == 0, result.stderr
    outcome = json.loads(result.stdout)
    assert outcome["paid"] and outcome["polls"] == 3
    assert "not at the gateway yet" in result.stderr


def test_wait_gives_up_after_its_timeout_with_exit_7(cli, scripted):
    server = scripted((200, JSON, ORDER.replace('"status":"1"', '"status":"0"')))
    started = time.monotonic()
    result = cli("order", "wait", "A1", "--timeout", "0.4", "--interval", "0.1",
                 *gateway_args(server.url))
    assert result.code == 7
    assert time.monotonic() - started < 5
    assert "not paid within 0.4 s" in result.stderr


def test_wait_stops_at_a_refunded_order(cli, scripted):
    server = scripted((200, JSON, ORDER.replace('"status":"1"', '"status":"2"')))
    result = cli("order", "wait", "A1", "--timeout", "10", *gateway_args(server.url))
    assert result.code == 7 and "refunded" in result.stderr


def test_wait_stops_on_other_gateway_errors(cli, scripted):
    server = scripted((200, JSON, '{"code":-3,"msg":"商户密钥错误"}'))
    result = cli("order", "wait", "A1", "--timeout", "10", *gateway_args(server.url))
    assert result.code == 4 and "商户密钥错误" in one_line(result)


def test_query_warns_when_the_gateway_amount_differs_from_what_epay_ordered(cli, scripted):
    server = scripted((200, JSON, '{"code":1,"trade_no":"2026120112000012345","payurl":"x"}'),
                      (200, JSON, ORDER))  # then the gateway says the order is 1.00
    cli("order", "create", "-a", "9.90", "-n", "x", "--out-trade-no", "A1",
        *gateway_args(server.url))
    result = cli("order", "query", "A1", "--json", *gateway_args(server.url))
    assert result.code == 3  # not what epay ordered: never 0 (issue 14.1)
    local = json.loads(result.stdout)["local"]
    assert local["amount_matches"] is False and local["money"] == "9.90"
    assert "do not deliver" in result.stderr


# ---- network failures -------------------------------------------------------------------------


@pytest.mark.parametrize("args", [
    ("order", "query", "A1"), ("order", "create", "-a", "1", "-n", "x"),
    ("order", "list"), ("order", "refund", "A1", "-a", "1"), ("merchant", "info"),
    ("merchant", "settles"), ("order", "pay", "A1"), ("order", "wait", "A1", "--timeout", "1"),
])
def test_closed_port_exits_5_in_one_line(cli, args):
    url = f"http://127.0.0.1:{closed_port()}/"
    result = cli(*args, "--gateway", url, "--pid", "1000", "--key", SANDBOX_KEY)
    assert result.code == 5, result.stderr
    line = one_line(result)
    assert url in line and "timeout" in line
    assert SANDBOX_KEY not in result.stderr


def test_a_gateway_that_never_answers_exits_5(cli, scripted):
    server = scripted((200, JSON, ORDER, 3))
    result = cli("order", "query", "A1", "--timeout", "0.3", *gateway_args(server.url))
    assert result.code == 5
    assert "did not answer in time" in one_line(result)


@pytest.fixture(scope="module")
def self_signed(tmp_path_factory):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    import ipaddress

    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(
                ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .sign(key, hashes.SHA256()))
    folder = tmp_path_factory.mktemp("tls")
    (folder / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(folder / "cert.pem", folder / "key.pem")
    return context


def test_tls_certificate_that_does_not_verify_exits_5(cli, scripted, self_signed):
    server = scripted((200, JSON, ORDER), tls_context=self_signed)
    result = cli("order", "query", "A1", *gateway_args(server.url))
    assert result.code == 5
    line = one_line(result)
    assert "TLS" in line and "--insecure" in line


def test_insecure_skips_the_certificate_check_and_says_so(cli, scripted, self_signed):
    server = scripted((200, JSON, ORDER), tls_context=self_signed)
    result = cli("order", "query", "A1", "--insecure", "--json", *gateway_args(server.url))
    assert result.code == 0, result.stderr
    assert json.loads(result.stdout)["status"] == 1
    assert "--insecure" in result.stderr


def test_an_endless_answer_is_cut_off(scripted):
    from epaycli.gateway.client import MAX_ANSWER_BYTES

    server = scripted((200, "text/html", b"x" * (MAX_ANSWER_BYTES + 10)))
    with GatewayClient(Settings(timeout=5, retries=0)) as client:
        with pytest.raises(NetworkError) as caught:
            client.send(calls.query_order(merchant(server.url), 0, out_trade_no="A1"))
    assert caught.value.code == "network_too_large"
    results = send_all([calls.query_order(merchant(server.url), 0, out_trade_no="A1")],
                       Settings(timeout=5, retries=0))
    assert isinstance(results[0], NetworkError)
