"""HTTP/1.1 requests read out of a connection's buffer as their bytes arrive. No I/O here: the
server feeds bytes in and asks for the next whole request; the reader answers with one, with
``None`` (more bytes are needed), or raises ``Refusal`` saying what is wrong and which status
to answer. Every part is bounded: the request line and each header line (64 KiB), the number
of headers (100) and their bytes (128 KiB), the body (``max_body``), by Content-Length or
chunked (trailers bounded like headers). Framing that two readers could read two ways
(differing Content-Lengths, a transfer coding other than chunked) is refused, as RFC 9112 asks.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from ..core.redact import mask_key_shaped

MAX_LINE_BYTES = 65536
MAX_HEADERS = 100
MAX_HEADER_BYTES = 128 * 1024
_MAX_CHUNK_LINE = 1024
MAX_CHUNKS = 4096
METHODS = ("GET", "POST")
# ASCII digits only: str.isdigit() takes '²', which int() refuses. 18 digits fit in 64 bits.
_LENGTH = re.compile(r"[0-9]{1,18}")
_VERSION = re.compile(r"HTTP/([0-9]{1,10})\.([0-9]{1,10})")
_CHUNK_SIZE = re.compile(rb"[0-9A-Fa-f]{1,16}")  # no sign, no 0x, no underscores


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
    whole) close the connection. ``kind`` is the journal's: bad_request, too_large, timeout.

    A message that quotes the request (``quote``: the piece and how much of it to show, put
    where the message says ``{}``) is worded by ``told(mask)``: masked whole, then cut — a key
    cut short would no longer be recognised as one. ``message`` masks key-shaped runs."""

    def __init__(self, status: int, message: str, *, kind: str = "bad_request",
                 size: int | None = None, head: Head | None = None,
                 quote: tuple[str, int] | None = None) -> None:
        self.status, self.kind, self.size, self.head = status, kind, size, head
        self._message, self._quote = message, quote
        self.message = self.told(mask_key_shaped)
        super().__init__(self.message)

    def told(self, mask: Callable[[str], str]) -> str:
        if self._quote is None:
            return self._message
        piece, limit = self._quote
        return self._message.format(repr(mask(piece)[:limit]))


@dataclass(slots=True)
class Head:
    """The request line and headers."""

    method: str
    target: str  # path?query, as sent
    version: str
    headers: Headers
    keep_alive: bool  # HTTP/1.1 unless ``Connection: close``; HTTP/1.0 only if asked
    expects_continue: bool
    length: int | None = 0  # the body's Content-Length; None: chunked

    @property
    def path(self) -> str:
        return self.target.partition("?")[0]


@dataclass(slots=True)
class Request:
    head: Head
    body: bytes


class RequestReader:
    """One connection's unread bytes, and the head of the request being read."""

    __slots__ = ("buffer", "max_body", "head", "_body_start", "continue_sent", "_line",
                 "_chunks", "_request", "_line_end", "_scanned", "_header_lines",
                 "_lines_from")

    def __init__(self, max_body: int) -> None:
        self.buffer = bytearray()
        self.max_body = max_body
        self.head: Head | None = None
        self._body_start = 0
        self.continue_sent = False
        self._line = ""  # the request line once complete (to name the path in a refusal)
        self._chunks: _Chunks | None = None  # how far a chunked body has been read
        # How far the head has been read, so that bytes arriving a few at a time are each
        # looked at once (not the whole head again on every read).
        self._request: tuple | None = None  # the request line, parsed
        self._line_end = self._scanned = self._lines_from = 0
        self._header_lines = 0

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
        self.head, self.continue_sent, self._line, self._chunks = None, False, "", None
        self._request = None
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
            length = self.head.length
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
        words = self._line.split(" ")
        return words[1].partition("?")[0] if len(words) >= 2 else ""

    # ---- the head ------------------------------------------------------------------------

    def _read_head(self) -> bool:
        buffer = self.buffer
        if self._request is None:
            while buffer[:2] == b"\r\n" or buffer[:1] == b"\n":  # blank lines between requests
                del buffer[:2 if buffer[:1] == b"\r" else 1]
            line_end = buffer.find(b"\n", 0, MAX_LINE_BYTES + 1)
            if line_end < 0:
                if len(buffer) > MAX_LINE_BYTES:
                    raise Refusal(414, "the request line is longer than 64 KiB")
                return False
            self._line = buffer[:line_end].decode("latin-1").rstrip("\r")
            self._request = _request_line(self._line)
            self._line_end = self._scanned = self._lines_from = line_end
            self._header_lines = 0
        method, target, version, keep_alive = self._request
        line_end = self._line_end
        blank = _first_of(buffer, (b"\n\r\n", b"\n\n"), self._scanned)
        if blank is None:
            self._scanned = max(line_end, len(buffer) - 2)  # a blank line may end across reads
            self._check_partial_headers()
            return False
        end, size = blank
        if end - line_end > MAX_HEADER_BYTES:
            raise Refusal(431, "the headers are longer than 128 KiB")
        headers = _headers(bytes(buffer[line_end + 1:end + 1]))
        connection = _joined(headers, "Connection").lower()
        if "close" in connection:
            keep_alive = False
        elif "keep-alive" in connection:
            keep_alive = True
        head = Head(method, target, version, headers, keep_alive, False)
        if method not in METHODS:
            raise Refusal(405, "method {} is not used for notifies (GET or POST)",
                          head=head, quote=(method, 20))
        expect = headers.get("Expect")
        if expect is not None and expect.lower() != "100-continue":
            raise Refusal(417, "Expect {} is not supported", head=head, quote=(expect, 40))
        head.expects_continue = expect is not None and version >= "HTTP/1.1"
        self._frame(head)
        self.head, self._body_start = head, end + size
        return True

    def _check_partial_headers(self) -> None:
        """Refuse (431) a head still arriving that is already over the bounds; each header
        line is counted once, when its end arrives."""
        buffer, start = self.buffer, self._lines_from + 1
        while (line_end := buffer.find(b"\n", start)) >= 0:
            if line_end - start > MAX_LINE_BYTES:
                raise Refusal(431, "a header line is longer than 64 KiB")
            self._header_lines += 1
            start = line_end + 1
        self._lines_from = start - 1
        if self._header_lines > MAX_HEADERS:
            raise Refusal(431, f"more than {MAX_HEADERS} headers")
        if len(buffer) - start > MAX_LINE_BYTES:
            raise Refusal(431, "a header line is longer than 64 KiB")
        if len(buffer) - self._line_end > MAX_HEADER_BYTES:
            raise Refusal(431, "the headers are longer than 128 KiB")

    def _frame(self, head: Head) -> None:
        """How the body is delimited (RFC 9112 §6): chunked, or one Content-Length, bounded."""
        lengths = {value.strip() for name, value in head.headers.items()
                   if name.lower() == "content-length"}
        coding = _joined(head.headers, "Transfer-Encoding")
        if coding:
            if coding.lower().replace(" ", "") != "chunked":
                raise Refusal(501, "Transfer-Encoding {} is not supported (only chunked)",
                              head=head, quote=(coding, 40))
            head.length = None
            if lengths:  # both: chunked wins, and the connection is not trusted after it
                head.keep_alive = False
            return
        if not lengths:
            return
        if len(lengths) > 1:
            raise Refusal(400, "Content-Length is given twice, with different values",
                          size=0, head=head)
        text = lengths.pop()
        if not _LENGTH.fullmatch(text):
            if text.isdigit() and text.isascii():
                raise Refusal(413, f"the body is {len(text)} digits long; at most "
                              f"{self.max_body // 1024} KiB is accepted", kind="too_large",
                              size=2**63 - 1, head=head)
            raise Refusal(400, "Content-Length {} is not a number", quote=(text, 20), size=0,
                          head=head)
        head.length = int(text)
        if head.length > self.max_body:
            raise Refusal(413, f"the body is {head.length} bytes; at most "
                          f"{self.max_body // 1024} KiB is accepted", kind="too_large",
                          size=head.length, head=head)

    # ---- the body ------------------------------------------------------------------------

    def _read_body(self) -> bytes | None:
        length = self.head.length
        if length is None:
            return self._read_chunked()
        buffer, end = self.buffer, self._body_start + length
        if len(buffer) < end:
            return None
        body = bytes(buffer[self._body_start:end])
        del buffer[:end]
        return body

    def _read_chunked(self) -> bytes | None:
        """Chunks as far as they have arrived; read on from there when more comes."""
        chunks = self._chunks
        if chunks is None:
            chunks = self._chunks = _Chunks(self._body_start)
        buffer = self.buffer
        while not chunks.in_trailer:
            position = chunks.position
            line_end = buffer.find(b"\n", position, position + _MAX_CHUNK_LINE)
            if line_end < 0:
                if len(buffer) - position >= _MAX_CHUNK_LINE:
                    raise self._bad_chunk("a chunk size line is longer than 1 KiB", chunks)
                return None
            size_text = bytes(buffer[position:line_end]).split(b";")[0].strip()
            if not _CHUNK_SIZE.fullmatch(size_text):
                raise self._bad_chunk("a chunk size is malformed", chunks)
            chunk = int(size_text, 16)
            if chunk == 0:
                chunks.in_trailer, chunks.position = True, line_end + 1
                break
            if chunks.size + chunk > self.max_body:
                raise Refusal(413, f"the body is over {self.max_body // 1024} KiB",
                              kind="too_large", size=chunks.size + chunk, head=self.head)
            data_start = line_end + 1
            data_end = data_start + chunk
            if buffer[data_end:data_end + 2] == b"\r\n":
                after = data_end + 2
            elif buffer[data_end:data_end + 1] == b"\n":
                after = data_end + 1
            elif len(buffer) < data_end + 2:
                return None  # the chunk, or its line end, has not all arrived
            else:
                raise self._bad_chunk("a chunk does not end where its size says", chunks)
            chunks.parts.append(bytes(buffer[data_start:data_end]))
            chunks.size += chunk
            del buffer[chunks.position:after]  # kept in parts: the buffer holds only what is new
            chunks.count += 1
            if chunks.count > MAX_CHUNKS:
                raise self._bad_chunk(f"the body comes in more than {MAX_CHUNKS} chunks", chunks)
        return self._read_trailer(chunks)

    def _read_trailer(self, chunks: _Chunks) -> bytes | None:
        """Trailer lines (dropped) up to the blank line, bounded like headers."""
        buffer, position = self.buffer, chunks.position
        while True:
            line_end = buffer.find(b"\n", position)
            if line_end < 0:
                if len(buffer) - position > MAX_LINE_BYTES:
                    raise Refusal(431, "a trailer line is longer than 64 KiB", head=self.head)
                chunks.position = position
                return None
            line = buffer[position:line_end]
            position = line_end + 1
            if line in (b"", b"\r"):
                del buffer[:position]
                return b"".join(chunks.parts)
            chunks.trailer_lines += 1
            chunks.trailer_bytes += len(line) + 1
            if chunks.trailer_lines > MAX_HEADERS or chunks.trailer_bytes > MAX_HEADER_BYTES \
                    or len(line) > MAX_LINE_BYTES:
                raise Refusal(431, "the trailer lines after the chunked body are over the "
                              "headers' bounds", size=chunks.size, head=self.head)

    def _bad_chunk(self, message: str, chunks: _Chunks) -> Refusal:
        return Refusal(400, message, size=chunks.size, head=self.head)


class _Chunks:
    """A chunked body being read: where the next chunk starts, what came so far."""

    __slots__ = ("position", "parts", "size", "count", "in_trailer", "trailer_lines",
                 "trailer_bytes")

    def __init__(self, position: int) -> None:
        self.position = position
        self.parts: list[bytes] = []
        self.size = self.count = 0
        self.in_trailer = False
        self.trailer_lines = self.trailer_bytes = 0


def _joined(headers: Headers, name: str) -> str:
    """Every value of a header that may come more than once, as one list (RFC 9110 §5.3)."""
    wanted = name.lower()
    return ", ".join(value for key, value in headers.items() if key.lower() == wanted)


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
    words = line.split(" ")  # one space, as RFC 9112 writes it (not any Unicode blank)
    if len(words) != 3:
        raise Refusal(400, "HTTP/0.9 requests are not accepted" if len(words) == 2
                      else "bad request line {}", quote=(line, 80))
    method, target, version = words
    number = _VERSION.fullmatch(version)
    if number is None:
        raise Refusal(400, "bad request version {}", quote=(version, 20))
    major, minor = int(number[1]), int(number[2])
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
            raise Refusal(400, "malformed header line {}", quote=(text, 40))
        headers.add(name, value.strip())
    return headers
