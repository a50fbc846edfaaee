"""A handler that answers too slowly to be waited for, and too steadily for a per-read timeout
to notice: it sends its answer's head (or only its first bytes) and then one byte every
``interval`` seconds. A deadline for the whole request gives up on it; a per-read timeout waits
for ever. Runs on a free 127.0.0.1 port; ``close`` ends it at once."""

from __future__ import annotations

import socket
import threading

HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 100000\r\n\r\n"


class Trickle:
    def __init__(self, *, head_first: bool = True, interval: float = 0.2) -> None:
        self.head_first = head_first
        self.interval = interval
        self._stop = threading.Event()
        self._server = socket.create_server(("127.0.0.1", 0))
        self._server.settimeout(0.1)  # accept() does not see close() from another thread
        self.port = self._server.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/notify"
        self._threads = [threading.Thread(target=self._accept, daemon=True)]
        self._threads[0].start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            thread = threading.Thread(target=self._serve, args=(connection,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, connection: socket.socket) -> None:
        with connection:
            connection.settimeout(0.1)  # to see close() while a client sends nothing
            try:
                received = b""
                while b"\r\n\r\n" not in received and not self._stop.is_set():
                    try:
                        chunk = connection.recv(65536)
                    except TimeoutError:
                        continue
                    if not chunk:
                        return
                    received += chunk
                if self.head_first:
                    connection.sendall(HEAD)
                    pending = b"success" + b" " * 99993
                else:
                    pending = HEAD + b"success"
                for index in range(len(pending)):
                    if self._stop.wait(self.interval):
                        return
                    connection.sendall(pending[index:index + 1])
            except OSError:  # the client gave up: what a deadline does
                return

    def close(self) -> None:
        self._stop.set()
        self._server.close()
        for thread in self._threads:
            thread.join(2)
