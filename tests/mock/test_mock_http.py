"""The local gateway as an HTTP server: bad input (oversized, garbage, non-UTF-8, slow), keep-
alive, closing with connections open, and a restart with a data dir that loses nothing."""

from __future__ import annotations

import os
import socket
import stat
import time

import httpx
import pytest
from mockkit import create, pay, signed, start_receiver

from epaycli.core.errors import ConfigError, InputError
from epaycli.mock.server import start_gateway


@pytest.fixture
def gw():
    with start_gateway(read_timeout=0.5, body_limit=4096) as gateway:
        yield gateway


def raw_exchange(gw, data: bytes, *, timeout: float = 5.0) -> bytes:
    """Send ``data`` on a fresh connection; everything the gateway answers until it closes."""
    with socket.create_connection((gw.host, gw.port), timeout=timeout) as connection:
        connection.sendall(data)
        received = b""
        while True:
            chunk = connection.recv(65536)
            if not chunk:
                return received
            received += chunk


def test_an_oversized_body_is_413_and_the_connection_closed(gw):
    head = (b"POST /mapi.php HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-"
            b"urlencoded\r\nContent-Length: 5000\r\n\r\n")
    answer = raw_exchange(gw, head)
    assert answer.startswith(b"HTTP/1.1 413")
    assert b"Connection: close" in answer


def test_a_non_utf8_form_is_a_400_with_a_json_error(gw, client):
    reply = client.post(gw.url + "mapi.php", content=b"pid=1000&name=%C0%AF",
                        headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert reply.status_code == 400
    assert reply.json()["code"] == -1 and "UTF-8" in reply.json()["msg"]
    query = client.get(gw.url + "api.php?act=query&pid=%FF")
    assert query.status_code == 400


def test_garbage_is_refused_without_killing_the_server(gw, client):
    answer = raw_exchange(gw, b"\x16\x03\x01\x02\x00garbage\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 400")
    assert b"HTTP/1.1 400" in raw_exchange(gw, b"GET / HTTP/1.1\r\nContent-Length: x\r\n\r\n")
    assert b"HTTP/1.1 411" in raw_exchange(
        gw, b"POST /mapi.php HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
    assert client.post(gw.url + "mapi.php").json()["code"] == -4  # still serving


def test_a_json_body_is_no_parameters_as_on_php(gw, client):
    reply = client.post(gw.url + "mapi.php", json={"pid": "1000"})
    assert reply.json() == {"code": -4, "msg": "未传入任何参数"}


def test_a_multipart_form_is_read_like_php(gw, client):
    reply = client.post(gw.url + "api.php?act=refund", files={"pid": (None, "1000"),
                                                             "key": (None, "nope")})
    assert reply.json() == {"code": -3, "msg": "商户密钥错误"}


def test_a_stalled_request_is_cut_by_the_read_timeout(gw):
    began = time.monotonic()
    answer = raw_exchange(gw, b"POST /mapi.php HTTP/1.1\r\nHost: x\r\nContent-Length: 100"
                              b"\r\n\r\npid=1000")
    assert time.monotonic() - began < 3
    assert answer == b""  # closed without an answer: the request never arrived whole
    began = time.monotonic()
    assert raw_exchange(gw, b"GET /api.php HTTP/1.1\r\nHost: x\r\n") == b""
    assert time.monotonic() - began < 3


def test_unknown_paths_are_404(gw, client):
    reply = client.get(gw.url + "nothing/here")
    assert reply.status_code == 404 and "URL Error!" in reply.text
    assert client.get(gw.url + "cashier/123").status_code == 404
    assert client.request("PUT", gw.url + "mapi.php").status_code == 501


def test_keep_alive_serves_many_requests_on_one_connection(gw):
    with httpx.Client(timeout=5) as session:
        for _ in range(20):
            assert session.get(gw.url + "api.php").json()["code"] == -5
    assert len(gw._server.open_connections) <= 1


def test_head_answers_headers_only(gw, client):
    reply = client.head(gw.url)
    assert reply.status_code == 200 and reply.content == b""


def test_closing_ends_open_keep_alive_connections():
    gateway = start_gateway(read_timeout=30)
    connection = socket.create_connection((gateway.host, gateway.port), timeout=5)
    connection.sendall(b"GET /api.php HTTP/1.1\r\nHost: x\r\n\r\n")
    answer = b""
    while not answer.endswith(b"No Act!\"}"):
        answer += connection.recv(4096)
    assert answer.startswith(b"HTTP/1.1 200")
    began = time.monotonic()
    gateway.close()
    assert connection.recv(4096) == b""  # shut by close(), not by the 30 s timeout
    assert time.monotonic() - began < 3
    connection.close()
    gateway.close()  # twice is harmless


def test_latency_delays_every_answer():
    with start_gateway(latency_ms=150) as slow, httpx.Client() as session:
        began = time.monotonic()
        session.get(slow.url + "api.php")
        assert time.monotonic() - began >= 0.15


@pytest.mark.parametrize(("options", "word"), [
    ({"time_scale": 0}, "time scale"), ({"latency_ms": -1}, "latency"),
    ({"quirks": "odd"}, "quirks"), ({"port": 70000}, "port"),
])
def test_bad_options_are_input_errors(options, word):
    with pytest.raises(InputError, match=word):
        start_gateway(**options)


def test_a_second_gateway_on_the_same_port_fails_with_a_config_error():
    with start_gateway() as first:
        with pytest.raises(ConfigError, match="already in use") as caught:
            start_gateway(port=first.port)
        assert caught.value.code == "port_in_use"


def test_a_restart_with_a_data_dir_loses_nothing(tmp_path):
    data = tmp_path / "gateway"
    with start_gateway(data_dir=data) as first, httpx.Client() as session:
        kept = create(first, session, money="7.00")
        paid = create(first, session, money="8.00")
        pay(first, session, paid["sent"]["out_trade_no"])
        v2 = first.v2
        assert first.keys_created
    for name in ("gateway.db", "v2-merchant-private.pem", "v2-platform-private.pem",
                 "v2-merchant-public.pem", "v2-platform-public.pem"):
        assert stat.S_IMODE(os.stat(data / name).st_mode) == 0o600, name
    with start_gateway(data_dir=data) as second, httpx.Client() as session:
        assert not second.keys_created
        assert second.v2.key == v2.key
        assert second.v2.merchant_private_pem == v2.merchant_private_pem
        assert second.v2.merchant_private_path == data / "v2-merchant-private.pem"

        def order(trade_no):
            return session.get(second.url + "api.php", params={
                "act": "order", "pid": second.pid, "key": second.key,
                "trade_no": trade_no}).json()

        assert order(kept["trade_no"])["money"] == "7.00"
        assert order(kept["trade_no"])["status"] == 0
        assert order(paid["trade_no"])["status"] == 1
        assert len(second.deliveries(trade_no=paid["trade_no"])) == 1
        # the reuse rule still knows the paid one
        again = session.post(second.url + "mapi.php", data=signed(
            paid["sent"], second.key)).json()
        assert "已完成支付" in again["msg"]


def test_pending_retries_are_taken_up_after_a_restart(tmp_path):
    receiver, server = start_receiver()
    receiver.body = "fail"
    data = tmp_path / "gateway"
    try:
        with start_gateway(data_dir=data, time_scale=0.01) as first, httpx.Client() as session:
            order = create(first, session, receiver.url)
            pay(first, session, order["sent"]["out_trade_no"])
        assert len(receiver.hits) == 1  # closed before the 1-minute (0.6 s) retry
        receiver.body = "success"
        with start_gateway(data_dir=data, time_scale=0.01) as second:
            receiver.wait(2, timeout=5)
            assert len(receiver.hits) == 2
            deliveries = second.wait_for_deliveries(2, trade_no=order["trade_no"])
            assert [d["attempt"] for d in deliveries] == [1, 2]
            assert deliveries[-1]["delivered"]
    finally:
        server.shutdown()
        server.server_close()


def test_fsync_durability_group_commits_concurrent_orders(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    data = tmp_path / "gateway"
    with start_gateway(data_dir=data, durability="fsync") as gw:
        def make(n):
            with httpx.Client(timeout=20) as session:
                return create(gw, session, out_trade_no=f"G{n}")["trade_no"]

        with ThreadPoolExecutor(8) as pool:
            numbers = list(pool.map(make, range(40)))
        assert len(set(numbers)) == 40
    with start_gateway(data_dir=data) as again:
        assert all(again.store.order_by_trade_no(n) is not None for n in numbers)


def test_an_unknown_durability_is_refused():
    with pytest.raises(InputError, match="durability"):
        start_gateway(durability="maybe")


def test_v2_keys_made_anew_replace_the_merchants_stored_public_key(tmp_path):
    data = tmp_path / "gateway"
    with start_gateway(data_dir=data) as first:
        old = first.v2.merchant_public_pem
    (data / "v2-merchant-private.pem").unlink()
    with start_gateway(data_dir=data) as second, httpx.Client() as session:
        assert second.keys_created and second.v2.merchant_public_pem != old
        from epaycli.core.request import sign_request

        params = sign_request({"pid": second.v2.pid}, second.v2.client_keys(),
                              now=int(time.time())).params
        answer = session.post(second.url + "api/merchant/info", data=params).json()
        assert answer["code"] == 0


def test_connections_beyond_the_limit_are_refused_with_503():
    with start_gateway(max_connections=2, read_timeout=5) as gw:
        held = [socket.create_connection((gw.host, gw.port), timeout=5) for _ in range(2)]
        try:
            time.sleep(0.2)
            assert raw_exchange(gw, b"GET / HTTP/1.1\r\n\r\n").startswith(b"HTTP/1.1 503")
        finally:
            for connection in held:
                connection.close()
        time.sleep(0.3)
        with httpx.Client() as session:
            assert session.get(gw.url + "api.php").json()["code"] == -5
