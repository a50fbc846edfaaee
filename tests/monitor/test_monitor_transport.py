"""The monitor's lean transport (``monitor.transport.KeptConnections``) under the gateway
client: each lane keeps its connection from one request to the next; a connection the server
closes — said or unsaid — is made anew; timeouts, TLS failures and refused connections are
the client's errors as through httpx's own transport."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from conftest import self_signed_context
from test_check_support import serving

from epaycli.core.errors import NetworkError
from epaycli.core.models import SANDBOX_KEY, SANDBOX_PID
from epaycli.core.signing import Md5Key
from epaycli.gateway import calls
from epaycli.gateway.calls import Merchant
from epaycli.gateway.client import AsyncGatewayClient, Settings
from epaycli.monitor.transport import KeptConnections


class Gateway:
    """How the test gateway behaves, and what it saw."""

    def __init__(self, *, close: str = "", silent: bool = False) -> None:
        self.close = close  # "said": Connection: close; "unsaid": the socket just shut
        self.silent = silent  # never answer (the client's timeout)
        self.connections = 0
        self.lock = threading.Lock()
        self.shut = threading.Semaphore(0)  # released once a connection was shut unsaid


@contextmanager
def gateway(behaviour: Gateway, tls=None):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            with behaviour.lock:
                behaviour.connections += 1
            super().setup()

        def do_GET(self) -> None:
            if behaviour.silent:
                self.rfile.read(1)  # until the client gives up and closes
                self.close_connection = True
                return
            offset = parse_qs(urlsplit(self.path).query)["offset"][0]
            body = json.dumps({"code": 1, "msg": "查询订单记录成功！", "count": 1,
                               "data": [{"trade_no": offset, "status": 1}]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            if behaviour.close == "said":
                self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body)
            self.wfile.flush()
            if behaviour.close == "unsaid":
                self.connection.shutdown(socket.SHUT_RDWR)
                self.close_connection = True
                behaviour.shut.release()

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    with serving(server):
        yield f"{'https' if tls is not None else 'http'}://127.0.0.1:{server.server_address[1]}/"


def pages(url: str, count: int, *, lanes: int, settings: Settings | None = None) -> list:
    settings = settings or Settings()
    key = Md5Key(SANDBOX_KEY)
    merchant = Merchant(url, SANDBOX_PID, "v1", key, key)

    async def main() -> list:
        client = AsyncGatewayClient(settings, concurrency=lanes,
                                    transport=KeptConnections(verify_tls=settings.verify_tls))
        try:
            return await client.send_all([calls.list_orders(merchant, 0, limit=50, offset=i)
                                          for i in range(count)])
        finally:
            await client.aclose()

    return asyncio.run(main())


def offsets(replies: list) -> list[str]:
    assert not [r for r in replies if isinstance(r, Exception)], replies
    return [r.data["data"][0]["trade_no"] for r in replies]


def test_each_lane_keeps_its_connection():
    behaviour = Gateway()
    with gateway(behaviour) as url:
        replies = pages(url, 40, lanes=4)
    assert offsets(replies) == [str(i) for i in range(40)]
    assert 1 <= behaviour.connections <= 4


def test_a_connection_the_gateway_closes_saying_so_is_made_anew():
    behaviour = Gateway(close="said")
    with gateway(behaviour) as url:
        replies = pages(url, 12, lanes=2)
    assert offsets(replies) == [str(i) for i in range(12)]
    assert behaviour.connections == 12


def test_a_kept_connection_the_gateway_shut_unsaid_is_made_anew():
    """No retries: a request sent on the shut connection would fail."""
    behaviour = Gateway(close="unsaid")
    settings = Settings(retries=0)
    with gateway(behaviour) as url:
        merchant = Merchant(url, SANDBOX_PID, "v1", Md5Key(SANDBOX_KEY), Md5Key(SANDBOX_KEY))

        async def main() -> list:
            client = AsyncGatewayClient(settings, concurrency=1,
                                        transport=KeptConnections(verify_tls=True))
            replies = []
            try:
                for offset in range(5):
                    replies.append(await client.send(calls.list_orders(merchant, 0, limit=50,
                                                                       offset=offset)))
                    # the gateway has shut it (and its FIN is on the way) before the next one
                    assert await asyncio.to_thread(behaviour.shut.acquire, timeout=10)
            finally:
                await client.aclose()
            return replies

        replies = asyncio.run(main())
    assert offsets(replies) == [str(i) for i in range(5)]
    assert behaviour.connections == 5


def test_a_gateway_that_never_answers_is_the_clients_timeout():
    with gateway(Gateway(silent=True)) as url:
        replies = pages(url, 1, lanes=1, settings=Settings(timeout=0.5, retries=0))
    assert isinstance(replies[0], NetworkError) and replies[0].code == "network_timeout"


def test_a_refused_connection_is_the_clients_connect_error():
    with socket.socket() as taken:  # a port nothing listens on: bound, never listening
        taken.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{taken.getsockname()[1]}/"
        replies = pages(url, 1, lanes=1, settings=Settings(retries=0))
    assert isinstance(replies[0], NetworkError) and replies[0].code == "network_connect"


def test_tls_is_verified_unless_told_not_to(tmp_path):
    with gateway(Gateway(), tls=self_signed_context(tmp_path)) as url:
        refused = pages(url, 1, lanes=1, settings=Settings(retries=0))
        accepted = pages(url, 3, lanes=1, settings=Settings(verify_tls=False))
    assert isinstance(refused[0], NetworkError) and refused[0].code == "network_tls"
    assert offsets(accepted) == ["0", "1", "2"]
