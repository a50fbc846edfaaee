"""Shared by the local-gateway tests: a merchant's notify receiver (a real HTTP server on a free
port), and signed V1/V2 requests made with core."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

import httpx

from epaycli.core.request import sign_request
from epaycli.core.signing import Md5Key


@dataclass
class Hit:
    method: str
    path: str
    query: dict
    form: dict
    headers: dict
    at: float
    raw_query: str


@dataclass
class Receiver:
    """A merchant's notify handler: records every request, answers ``body`` with ``status``
    after ``delay`` seconds (or redirects when ``redirect`` is set)."""

    body: str = "success"
    status: int = 200
    delay: float = 0.0
    redirect: str = ""
    hits: list[Hit] = field(default_factory=list)
    url: str = ""

    def wait(self, count: int, timeout: float = 10.0) -> list[Hit]:
        deadline = time.monotonic() + timeout
        while len(self.hits) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        return list(self.hits)


def start_receiver() -> tuple[Receiver, ThreadingHTTPServer]:
    receiver = Receiver()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def _handle(self):
            split = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode("utf-8") if length else ""
            receiver.hits.append(Hit(self.command, split.path,
                                     dict(parse_qsl(split.query, keep_blank_values=True)),
                                     dict(parse_qsl(body, keep_blank_values=True)),
                                     dict(self.headers.items()), time.time(), split.query))
            if receiver.delay:
                time.sleep(receiver.delay)
            if receiver.redirect:
                self.send_response(302)
                self.send_header("Location", receiver.redirect)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            data = receiver.body.encode("utf-8")
            self.send_response(receiver.status)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = _handle
        do_POST = _handle

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                     daemon=True).start()
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/notify"
    return receiver, server


def order_fields(notify_url: str, /, **changes: str) -> dict[str, str]:
    fields = {"pid": "1000", "type": "alipay", "out_trade_no": "T" + str(time.time_ns()),
              "notify_url": notify_url, "return_url": "http://127.0.0.1:9/return",
              "name": "VIP", "money": "1.00", "clientip": "192.0.2.1"}
    fields.update(changes)
    return {k: v for k, v in fields.items() if v is not None}


def signed(fields: dict[str, str], key: str) -> dict[str, str]:
    return sign_request(fields, Md5Key(key)).params


def create(gw, client: httpx.Client, notify_url: str = "http://127.0.0.1:9/n",
           **changes: str) -> dict:
    """A V1 order made through mapi.php; its JSON answer plus the fields sent."""
    fields = order_fields(notify_url, **changes)
    answer = client.post(gw.url + "mapi.php", data=signed(fields, gw.key)).json()
    assert answer["code"] == 1, answer
    return {**answer, "sent": fields}


def pay(gw, client: httpx.Client, out_trade_no: str, **extra: str) -> dict:
    return client.post(gw.url + "sandbox/pay", data={"pid": gw.pid, "key": gw.key,
                                                    "out_trade_no": out_trade_no,
                                                    **extra}).json()
