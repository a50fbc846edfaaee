#!/usr/bin/env python3
"""A BROKEN Epay notify handler — what not to ship. It accepts bad signatures,
credits duplicates and ignores the amount; `epay check notify` finds all three.

    python3 broken_handler.py --port 8000 --key YOUR_MERCHANT_KEY --pid 1000 --order A1=1.00

GET|POST /notify         the gateway's notify: answers "success" or "fail"
GET  /state?out_trade_no=A1   {"out_trade_no", "money", "credits"} (for epay check --state-url)
POST /orders?money=1.00  creates an order, answers {"out_trade_no", "money"} (--create-order-cmd)
"""

import argparse
import json
import secrets
import threading
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit


class Shop:
    def __init__(self, key, pid, orders):
        self.key, self.pid, self.lock = key, pid, threading.Lock()
        self.orders = {no: {"money": Decimal(m), "credits": 0, "trade_no": None}
                       for no, m in orders.items()}

    def notify(self, fields):
        # BROKEN: the sign is never checked, so anyone can send a "paid" notify.
        if fields.get("pid") != self.pid or fields.get("trade_status") != "TRADE_SUCCESS":
            return "fail"
        with self.lock:
            order = self.orders.get(fields.get("out_trade_no"))
            if order is None:
                return "fail"
            # BROKEN: money is never compared with the order's amount (0.01 buys it).
            # BROKEN: every notify credits again; each gateway retry ships the goods again.
            order["trade_no"], order["credits"] = fields.get("trade_no"), order["credits"] + 1
        return "success"

    def state(self, out_trade_no):
        with self.lock:
            order = self.orders.get(out_trade_no)
            return order and {"out_trade_no": out_trade_no, "money": f"{order['money']:.2f}",
                              "credits": order["credits"]}

    def new_order(self, money):
        number = "A-" + secrets.token_hex(5)
        with self.lock:
            self.orders[number] = {"money": Decimal(money), "credits": 0, "trade_no": None}
        return {"out_trade_no": number, "money": money}


class Handler(BaseHTTPRequestHandler):
    protocol_version, disable_nagle_algorithm = "HTTP/1.1", True

    def do_GET(self):
        self.route(b"")

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        self.route(self.rfile.read(min(length, 65536)) if 0 < length <= 65536 else b"")

    def route(self, body):
        url = urlsplit(self.path)
        query = dict(parse_qsl(url.query, keep_blank_values=True))
        shop = self.server.shop
        if url.path == "/notify":  # Epay reads the query when it has pid, else the form body
            form = dict(parse_qsl(body.decode(), keep_blank_values=True))
            fields = query if "pid" in query else form
            self.answer(200, shop.notify(fields), "text/plain")
        elif url.path == "/state" and shop.state(query.get("out_trade_no")):
            self.answer(200, json.dumps(shop.state(query["out_trade_no"])), "application/json")
        elif url.path == "/orders" and self.command == "POST":
            created = shop.new_order(query.get("money", "1.00"))
            self.answer(200, json.dumps(created), "application/json")
        else:
            self.answer(404, "not found", "text/plain")

    def answer(self, status, text, kind):
        data = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):  # quiet; a real shop logs every notify
        pass


def make_server(port=0, key="", pid="1000", orders=None, host="127.0.0.1"):
    ThreadingHTTPServer.request_queue_size = 128
    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads, server.shop = True, Shop(key, pid, orders or {})
    return server


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="A deliberately broken Epay notify handler.")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--key", required=True, help="the merchant MD5 key")
    parser.add_argument("--pid", default="1000")
    parser.add_argument("--order", action="append", default=[], metavar="OUT_TRADE_NO=AMOUNT")
    options = parser.parse_args()
    server = make_server(options.port, options.key, options.pid,
                         dict(item.split("=", 1) for item in options.order))
    print(f"listening on http://127.0.0.1:{server.server_address[1]}/notify", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
