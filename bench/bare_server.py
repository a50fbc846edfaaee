"""The floor `epay listen` is measured against (bench/listen_load.py): a bare stdlib HTTP/1.1
server that answers every request ``success`` — no parsing of parameters, no verifying, no
journal. Tuned as the local gateway's server is (backlog 128, keep-alive, no Nagle, daemon
threads). Prints its port on stdout, then serves until killed.

    python bench/bare_server.py [--port 0]
"""

from __future__ import annotations

import argparse
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _Answer(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", "7")
        self.end_headers()
        self.wfile.write(b"success")

    def log_message(self, *args) -> None:
        pass


class _Server(ThreadingHTTPServer):
    request_queue_size = 128
    daemon_threads = True


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    server = _Server(("127.0.0.1", parser.parse_args().port), _Answer)
    print(server.server_address[1], flush=True)
    sys.stdout.close()
    server.serve_forever()


if __name__ == "__main__":
    main()
