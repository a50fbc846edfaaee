"""A stand-in for the ngrok agent (v3) that pyngrok 9.x can drive, for tests only: no machine
here reaches ngrok's servers. Started through a ``#!/bin/sh`` wrapper the tests write
(``exec python fake_ngrok.py "$@"``), so its PID is the agent's PID.

What it does, as the real agent does for pyngrok:
- ``ngrok --version`` → ``ngrok version 3.x.y``;
- ``ngrok start --none --log stdout [--config P] [--authtoken T] [--region R]`` starts a local
  API on 127.0.0.1 and prints the logfmt lines pyngrok waits for (``starting web service …
  addr=…``, ``client session established``, ``tunnel session started``);
- ``POST /api/endpoints`` opens a relay on 127.0.0.1 that forwards every request (method,
  path, query, body, headers) to the upstream, and answers with it as ``public_url``;
  ``GET /api/endpoints`` lists, ``DELETE /api/endpoints/NAME`` closes.

Faults, for the error paths:
- an authtoken starting with ``bad`` → ``lvl=eror … err="authentication failed …"``, exit 1;
- ``FAKE_NGROK_MODE=offline`` → error lines about dialing ngrok's servers, never ready;
- ``FAKE_NGROK_MODE=hang`` → prints nothing and waits;
- ``FAKE_NGROK_MODE=crash`` → exits 1 at once without a word;
- ``POST /fake/break`` on the API makes every relay answer 404 ``ERR_NGROK_3200`` (the
  tunnel is gone at ngrok's edge while the agent still runs).
``FAKE_NGROK_LOG`` (a file) gets one JSON line per start: the arguments, the PID, the API URL.
"""

from __future__ import annotations

import http.client
import itertools
import json
import os
import signal
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

VERSION = "3.19.0"
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "upgrade", "host",
              "proxy-connection", "content-length"}


def log(level: str, message: str, **fields: str) -> None:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    extra = "".join(f" {k}={_quote(v)}" for k, v in fields.items())
    sys.stdout.write(f"t={stamp} lvl={level} msg={_quote(message)}{extra}\n")
    sys.stdout.flush()


def _quote(value: str) -> str:
    return f'"{value}"' if any(c in value for c in ' ="') else value


class Relay:
    """The "public" side of one tunnel: forwards to the upstream."""

    broken = False

    def __init__(self, name: str, upstream: str) -> None:
        self.name, self.upstream = name, urlsplit(upstream)
        relay = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                if Relay.broken:
                    self._reply(404, b"Tunnel not found (ERR_NGROK_3200)")
                    return
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
                headers["X-Forwarded-For"] = self.client_address[0]
                headers["X-Forwarded-Proto"] = "https"
                try:
                    connection = http.client.HTTPConnection(
                        relay.upstream.hostname or "127.0.0.1", relay.upstream.port or 80,
                        timeout=10)
                    connection.request(self.command, self.path, body=body or None,
                                       headers=headers)
                    response = connection.getresponse()
                    data = response.read()
                    self._reply(response.status, data,
                                response.getheader("Content-Type", "text/plain"))
                    connection.close()
                except OSError:
                    self._reply(502, b"failed to reach the upstream (ERR_NGROK_8012)")

            def _reply(self, status: int, data: bytes, content_type: str = "text/plain") -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _forward

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.public_url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def describe(self) -> dict:
        return {"id": f"ep_{self.name}", "name": self.name,
                "uri": f"/api/endpoints/{self.name}", "public_url": self.public_url,
                "url": self.public_url, "proto": "https",
                "upstream": {"url": self.upstream.geturl(), "protocol": "http1"}}

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


RELAYS: dict[str, Relay] = {}


class Api(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:
        pass

    def _json(self, status: int, document=None) -> None:
        data = b"" if document is None else json.dumps(document).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if self.path.rstrip("/") in ("/api/endpoints", "/api/tunnels"):
            self._json(200, {"endpoints": [r.describe() for r in RELAYS.values()], "uri": self.path})
        else:
            self._json(404, {"error_code": 100, "msg": "not found"})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        document = json.loads(self.rfile.read(length) or b"{}")
        if self.path == "/fake/break":
            Relay.broken = True
            self._json(200, {"broken": True})
            return
        if self.path.rstrip("/") != "/api/endpoints":
            self._json(404, {"error_code": 100, "msg": "not found"})
            return
        name = document.get("name") or f"endpoint-{uuid.uuid4().hex[:8]}"
        upstream = (document.get("upstream") or {}).get("url") or document.get("addr", "80")
        if "://" not in str(upstream):
            upstream = f"http://127.0.0.1:{upstream}"
        relay = Relay(name, str(upstream).replace("localhost", "127.0.0.1"))
        RELAYS[name] = relay
        log("info", "started tunnel", obj="tunnels", name=name, addr=relay.upstream.geturl(),
            url=relay.public_url)
        self._json(201, relay.describe())

    def do_DELETE(self) -> None:
        name = self.path.rstrip("/").rsplit("/", 1)[-1]
        relay = RELAYS.pop(name, None)
        if relay is None:
            self._json(404, {"error_code": 100, "msg": "not found"})
            return
        relay.close()
        self._json(204)


def start(arguments: list[str]) -> int:
    options = dict(itertools.pairwise(arguments))  # each option with the word after it
    token = options.get("--authtoken", "")
    mode = os.environ.get("FAKE_NGROK_MODE", "")
    if mode == "crash":
        _record(arguments, None)
        return 1
    if mode == "hang":
        _record(arguments, None)
        time.sleep(3600)
        return 0
    api = ThreadingHTTPServer(("127.0.0.1", 0), Api)
    api.daemon_threads = True
    threading.Thread(target=api.serve_forever, daemon=True).start()
    _record(arguments, f"http://127.0.0.1:{api.server_address[1]}")
    log("info", "no configuration paths supplied", obj="config")
    log("info", "starting web service", obj="web", addr=f"127.0.0.1:{api.server_address[1]}",
        allow_hosts="[]")
    if token.startswith("bad"):
        log("eror", "session closing", obj="tunnels.session",
            err="authentication failed: The authtoken you specified does not look like a proper "
                "ngrok tunnel authtoken.\\n\\nERR_NGROK_105")
        return 1
    if mode == "offline":
        for _ in range(600):
            log("eror", "failed to reconnect session", obj="tunnels.session",
                err="failed to dial ngrok server with address \"connect.ngrok-agent.com:443\": "
                    "dial tcp: lookup connect.ngrok-agent.com: no such host")
            time.sleep(0.5)
        return 1
    log("info", "client session established", obj="tunnels.session")
    log("info", "tunnel session started", obj="tunnels.session")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    for relay in list(RELAYS.values()):
        relay.close()
    return 0


def _record(arguments: list[str], api: str | None) -> None:
    record = os.environ.get("FAKE_NGROK_LOG")
    if record:
        with open(record, "a", encoding="utf-8") as stream:
            stream.write(json.dumps({"pid": os.getpid(), "args": arguments, "api": api}) + "\n")


def main(arguments: list[str]) -> int:
    if "--version" in arguments or arguments[:1] == ["version"]:
        print(f"ngrok version {VERSION}")
        return 0
    if arguments[:1] == ["start"]:
        return start(arguments[1:])
    if arguments[:2] == ["config", "add-authtoken"]:
        print("Authtoken saved to configuration file")
        return 0
    print(f"fake ngrok: unsupported arguments {arguments}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
