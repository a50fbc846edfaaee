"""Servers the trigger and check tests talk to, for real, on 127.0.0.1: the two example
handlers of examples/handlers/, and small handlers that misbehave on purpose (slow, redirect,
HTTP 500, recording what arrived). Every server is stopped by its own handle."""

from __future__ import annotations

import contextlib
import importlib.util
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

EXAMPLES = Path(__file__).parent.parent / "examples" / "handlers"
KEY = "89unJUB8HZ54Hj7x4nUj56HN4nUzUJ8i"
PID = "1000"


def load_example(name: str):
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@contextlib.contextmanager
def serving(server):
    """Run ``server`` in a thread; always shut down and close it, even when the test fails."""
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@dataclass
class Shop:
    server: object

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/"

    @property
    def url(self) -> str:
        return self.base + "notify"

    @property
    def state_url(self) -> str:
        return self.base + "state"

    def credits(self, out_trade_no: str) -> int:
        return self.server.shop.orders[out_trade_no]["credits"]


@contextlib.contextmanager
def example_shop(name: str, orders: dict[str, str] | None = None):
    module = load_example(name)
    orders = {"A1": "1.00"} if orders is None else orders
    with serving(module.make_server(0, KEY, PID, orders)) as server:
        yield Shop(server)


@dataclass
class Behaviour:
    """What a misbehaving handler does with every request."""

    status: int = 200
    body: str = "success"
    delay: float = 0.0
    location: str = ""
    drop: bool = False  # close the connection without answering
    close: bool = False  # answer, then close the connection (Connection: close)
    seen: list = field(default_factory=list)  # (method, path, body) of every request


@contextlib.contextmanager
def odd_handler(behaviour: Behaviour, tls=None):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            self._answer(b"")

        def do_POST(self):
            self._answer(self.rfile.read(int(self.headers.get("Content-Length") or 0)))

        def _answer(self, body: bytes):
            headers = {**dict(self.headers), "_peer": self.client_address[1]}  # the client port
            behaviour.seen.append((self.command, self.path, body.decode(), headers))
            if behaviour.delay:
                time.sleep(behaviour.delay)
            if behaviour.drop:
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            data = behaviour.body.encode()
            try:
                self.send_response(behaviour.status)
                if behaviour.location:
                    self.send_header("Location", behaviour.location)
                if behaviour.close:
                    self.send_header("Connection", "close")
                    self.close_connection = True
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except OSError:  # the client gave up waiting (the timeout tests)
                pass

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    if tls is not None:  # an ssl.SSLContext: serve https
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    with serving(server):
        scheme = "https" if tls is not None else "http"
        yield f"{scheme}://127.0.0.1:{server.server_address[1]}/notify"


def unused_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def v2_shop(platform_public_pem: str, orders: dict[str, str]):
    """A correct V2 handler built on epay's own judge (``check_callback``): RSA sign checked
    with the platform public key, pid, amount, status and timestamp window; credits once."""
    from decimal import Decimal
    from urllib.parse import parse_qsl, urlsplit

    from epaycli.core.callback import Expectations, check_callback
    from epaycli.core.signing import Keys, RsaKeys, load_public_key

    keys = Keys(rsa=RsaKeys(public=load_public_key(platform_public_pem)))
    credits = dict.fromkeys(orders, 0)
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            url = urlsplit(self.path)
            fields = dict(parse_qsl(url.query, keep_blank_values=True))
            if url.path == "/state":
                number = fields.get("out_trade_no", "")
                self._answer('{"credits": %d}' % credits.get(number, 0))
                return
            number = fields.get("out_trade_no", "")
            if number not in orders:
                self._answer("fail")
                return
            expect = Expectations(amount=Decimal(orders[number]), pid=PID, now=int(time.time()))
            if not check_callback(fields, keys, expect).genuine:
                self._answer("fail")
                return
            with lock:
                credits[number] = credits[number] or 1
            self._answer("success")

        def do_POST(self):  # the form is read off the wire but never used: a real bug
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.do_GET()

        def _answer(self, text):
            data = text.encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    with serving(server):
        yield f"http://127.0.0.1:{server.server_address[1]}/", credits
