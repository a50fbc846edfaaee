"""HTTP/1.1 requests read out of a connection's buffer as their bytes arrive. No I/O here: the
server feeds bytes in and asks for the next whole request; the reader answers with one, with
``None`` (more bytes are needed), or raises ``Refusal`` saying what is wrong and which status
to answer. Every part is bounded: the request line and each header line (64 KiB), the number
of headers (100), the body (``max_body``), by Content-Length or chunked.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_LINE_BYTES = 65536
MAX_HEADERS = 100
_MAX_CHUNK_LINE = 1024
METHODS = ("GET", "POST")


class Headers:
    """Request headers in arrival order; names looked up without regard to case."""

    __slots__ = ("_pairs", "_index")

    def __init__(self) -> None:
        self._pairs: list[tuple[str, str]] = []
        self._index: dict[str, str] = {}

    def add(self, name: str, value: str) -> None:
        self._pairs.append((name, value))
        self._index.setdefault(name.lower(), value)

    def get(self, name: str, default=None):
        return self._index.get(name.lower(), default)

    def items(self) -> list[tuple[str, str]]:
        return list(self._pairs)

    def __len__(self) -> int:
        return len(self._pairs)


class Refusal(Exception):
    """A request that cannot be served: answer ``status`` and (unless the request was read
    whole) close the connection. ``kind`` is the journal's: bad_request, too_large, timeout."""

    def __init__(self, status: int, message: str, *, kind: str = "bad_request",
                 size: int | None = None, head: Head | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.kind, self.size = status, message, kind, size
        self.head = head


@dataclass(slots=True)
class Head:
    """The request line and headers."""

    method: str
    target: str  # path?query, as sent
    version: str
    headers: Headers
    keep_alive: bool  # HTTP/1.1 unless ``Connection: close``; HTTP/1.0 only if asked
    expects_continue: bool

    @property
    def path(self) -> str:
        return self.target.partition("?")[0]


@dataclass(slots=True)
class Request:
    head: Head
    body: bytes


class RequestReader:
    """One connection's unread bytes, and the head of the request being read."""

    __slots__ = ("buffer", "max_body", "head", "_body_start", "continue_sent", "_line")

    def __init__(self, max_body: int) -> None:
        self.buffer = bytearray()
        self.max_body = max_body
        self.head: Head | None = None
        self._body_start = 0
        self.continue_sent = False
        self._line = ""  # the request line once complete (to name the path in a refusal)

    @property
    def started(self) -> bool:
        """Part of a request has arrived."""
        return bool(self.buffer) or self.head is not None

    def next(self) -> Request | None:
        """The next whole request (its bytes leave the buffer), or ``None`` until more arrive.
        Raises ``Refusal``."""
        if self.head is None and not self._read_head():
            return None
        body = self._read_body()
        if body is None:
            return None
        request = Request(self.head, body)
        self.head, self.continue_sent, self._line = None, False, ""
        return request

    def needs_continue(self) -> bool:
        """A client waits for ``100 Continue`` before it sends the body (sent once)."""
        head = self.head
        if head is None or not head.expects_continue or self.continue_sent:
            return False
        self.continue_sent = True
        return True

    def stopped(self, *, cut: bool, timeout: float = 0.0) -> Refusal:
        """What to answer a request that stopped arriving: the sender closed (400) or the read
        deadline passed (``cut``: 408)."""
        status, kind = (408, "timeout") if cut else (400, "bad_request")
        if self.head is not None:
            length = self._content_length()
            got = len(self.buffer) - self._body_start
            if length is None:
                message = "the chunked body ended early"
            else:
                message = f"the body ended after {got} of {length} bytes"
            if cut:
                message += " (read deadline)"
            return Refusal(status, message, kind=kind, size=max(got, 0), head=self.head)
        what = "the headers" if self._line else "the request line"
        if cut:
            return Refusal(status, f"{what} did not arrive within {timeout:g} s", kind=kind)
        return Refusal(status, f"{what} ended before it was complete", kind=kind)

    def path_guess(self) -> str:
        """The path of the request being read, as far as its request line shows it."""
        if self.head is not None:
            return self.head.path
        words = self._line.split()
        return words[1].partition("?")[0] if len(words) >= 2 else ""

    # ---- the head ------------------------------------------------------------------------

    def _read_head(self) -> bool:
        buffer = self.buffer
        while buffer[:2] == b"\r\n" or buffer[:1] == b"\n":  # blank lines between requests
            del buffer[:2 if buffer[:1] == b"\r" else 1]
        line_end = buffer.find(b"\n")
        if line_end < 0:
            if len(buffer) > MAX_LINE_BYTES:
                raise Refusal(414, "the request line is longer than 64 KiB")
            return False
        if line_end > MAX_LINE_BYTES:
            raise Refusal(414, "the request line is longer than 64 KiB")
        self._line = buffer[:line_end].decode("latin-1").rstrip("\r")
        method, target, version, keep_alive = _request_line(self._line)
        blank = _first_of(buffer, (b"\n\r\n", b"\n\n"), line_end)
        if blank is None:
            self._check_partial_headers(line_end + 1)
            return False
        end, size = blank
        head_end = end + size
        headers = _headers(bytes(buffer[line_end + 1:end + 1]))
        connection = headers.get("Connection", "").lower()
        if connection == "close":
            keep_alive = False
        elif connection == "keep-alive":
            keep_alive = True
        expects = headers.get("Expect", "").lower() == "100-continue" and version >= "HTTP/1.1"
        head = Head(method, target, version, headers, keep_alive, expects)
        if method not in METHODS:
            raise Refusal(405, f"method {method} is not used for notifies (GET or POST)",
                          head=head)
        self.head, self._body_start = head, head_end
        return True

    def _check_partial_headers(self, start: int) -> None:
        buffer = self.buffer
        if buffer.count(b"\n", start) > MAX_HEADERS:
            raise Refusal(431, "more than 100 headers")
        last = buffer.rfind(b"\n")
        if len(buffer) - last - 1 > MAX_LINE_BYTES or \
                any(len(line) > MAX_LINE_BYTES for line in buffer[start:last].split(b"\n")):
            raise Refusal(431, "a header line is longer than 64 KiB")

    # ---- the body ------------------------------------------------------------------------

    def _content_length(self) -> int | None:
        """The announced length (None: chunked)."""
        headers = self.head.headers
        if "chunked" in headers.get("Transfer-Encoding", "").lower():
            return None
        text = headers.get("Content-Length")
        return int(text) if text is not None and text.strip().isdigit() else 0

    def check_length(self) -> None:
        """Refuse an unreadable or oversized Content-Length before any of the body is read
        (also before answering ``100 Continue``)."""
        head = self.head
        if "chunked" in head.headers.get("Transfer-Encoding", "").lower():
            return
        text = head.headers.get("Content-Length")
        if text is None:
            return
        if not text.strip().isdigit():
            raise Refusal(400, f"Content-Length {text!r} is not a number", size=0, head=head)
        length = int(text)
        if length > self.max_body:
            raise Refusal(413, f"the body is {length} bytes; at most {self.max_body // 1024} KiB "
                          "is accepted", kind="too_large", size=length, head=head)

    def _read_body(self) -> bytes | None:
        self.check_length()
        length = self._content_length()
        buffer, start = self.buffer, self._body_start
        if length is None:
            return self._read_chunked()
        end = start + length
        if len(buffer) < end:
            return None
        body = bytes(buffer[start:end])
        del buffer[:end]
        return body

    def _read_chunked(self) -> bytes | None:
        buffer, position, parts, size = self.buffer, self._body_start, [], 0
        while True:
            line_end = buffer.find(b"\n", position, position + _MAX_CHUNK_LINE)
            if line_end < 0:
                if len(buffer) - position >= _MAX_CHUNK_LINE:
                    raise Refusal(400, "a chunk size is malformed", size=size, head=self.head)
                return None
            try:
                chunk = int(bytes(buffer[position:line_end]).split(b";")[0].strip() or b"x", 16)
            except ValueError:
                raise Refusal(400, "a chunk size is malformed", size=size, head=self.head) \
                    from None
            position = line_end + 1
            if chunk == 0:
                return self._chunked_trailer(position, b"".join(parts))
            size += chunk
            if size > self.max_body:
                raise Refusal(413, f"the body is over {self.max_body // 1024} KiB",
                              kind="too_large", size=size, head=self.head)
            if len(buffer) < position + chunk:
                return None
            parts.append(bytes(buffer[position:position + chunk]))
            position += chunk
            for ending in (b"\r\n", b"\n"):  # the line end after the data
                if buffer[position:position + len(ending)] == ending:
                    position += len(ending)
                    break
            else:
                if len(buffer) < position + 2:
                    return None
                raise Refusal(400, "a chunk does not end where its size says", size=size,
                              head=self.head)

    def _chunked_trailer(self, position: int, body: bytes) -> bytes | None:
        buffer = self.buffer
        while True:  # trailer lines (dropped), up to the blank line
            line_end = buffer.find(b"\n", position)
            if line_end < 0:
                if len(buffer) - position > MAX_LINE_BYTES:
                    raise Refusal(431, "a trailer line is longer than 64 KiB", head=self.head)
                return None
            line = buffer[position:line_end]
            position = line_end + 1
            if line in (b"", b"\r"):
                del buffer[:position]
                return body


def _first_of(buffer: bytearray, needles: tuple[bytes, ...], start: int):
    """(index, length) of the earliest of ``needles`` from ``start``, or None."""
    found = None
    for needle in needles:
        index = buffer.find(needle, start)
        if index >= 0 and (found is None or index < found[0]):
            found = (index, len(needle))
    return found


def _request_line(line: str) -> tuple[str, str, str, bool]:
    """(method, target, version, keep-alive by default) — the stdlib's rules."""
    words = line.split()
    if len(words) != 3:
        raise Refusal(400, "HTTP/0.9 requests are not accepted" if len(words) == 2
                      else f"bad request line {line[:80]!r}")
    method, target, version = words
    number = version[5:].split(".") if version.startswith("HTTP/") else []
    if len(number) != 2 or not all(p.isdigit() and len(p) <= 10 for p in number):
        raise Refusal(400, f"bad request version {version[:20]!r}")
    major, minor = int(number[0]), int(number[1])
    if major >= 2:
        raise Refusal(505, f"HTTP version {version[5:]} is not supported")
    return method, target, version, (major, minor) >= (1, 1)


def _headers(raw: bytes) -> Headers:
    headers = Headers()
    lines = raw.split(b"\n")
    if len(lines) - 1 > MAX_HEADERS:  # the last piece is the blank line's start
        raise Refusal(431, "more than 100 headers")
    for line in lines[:-1]:
        if len(line) > MAX_LINE_BYTES:
            raise Refusal(431, "a header line is longer than 64 KiB")
        text = line.decode("iso-8859-1").rstrip("\r")
        name, colon, value = text.partition(":")
        if not colon or not name or name != name.strip():
            raise Refusal(400, f"malformed header line {text[:40]!r}")
        headers.add(name, value.strip())
    return headers
