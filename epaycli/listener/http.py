"""HTTP/1.1 requests out of a connection's bytes, parsed by llhttp (``httptools``, the parser
uvicorn and Node.js use). No I/O here: the server feeds bytes in as they arrive and takes whole
requests out, in order; a request that cannot be served comes out as a ``Refusal`` saying what
is wrong and which status to answer.

llhttp checks the syntax (request line, header tokens and values, Content-Length digits,
chunk sizes and the CRLF after each chunk, Transfer-Encoding) and rejects request smuggling
(a second, different Content-Length; a Transfer-Encoding other than a final ``chunked``).
What a parser leaves to its user is added here: the bounds — the request line and each header
line (64 KiB), the number of headers (100) and their bytes (128 KiB), the body (``max_body``,
refused by its announced size before it is read), the chunks (4,096; a size line of 1 KiB),
trailers bounded like headers — and a few answers of our own: 405 for a method other than GET
or POST, 417 for an Expect other than 100-continue, 501 for a transfer coding, 505 for HTTP/2.

To keep those bounds exact, the reader hands llhttp the head of each request only once its
bounds are checked, a Content-Length body by its length, and a chunked body chunk by chunk;
so it always knows where a request ends and the next begins (pipelining).

Measured on one notify GET (bench/README.md): llhttp 7–9 µs a request, the hand-written
reader it replaces 30–50 µs, h11 140–230 µs.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import overload

import httptools

from ..core.redact import mask_key_shaped
from ..core.words import Text

MAX_LINE_BYTES = 65536
MAX_HEADERS = 100
MAX_HEADER_BYTES = 128 * 1024
MAX_CHUNK_LINE = 1024
MAX_CHUNKS = 4096
METHODS = ("GET", "POST")
_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # RFC 9110 §5.6.2
_VERSION_MAJOR = re.compile(rb"HTTP/([0-9]+)\.")
_LENGTH_LINE = re.compile(rb"^content-length[ \t]*:[ \t]*(.*?)[ \t]*\r?$", re.MULTILINE)
_HEADER_LINE = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+:[^\x00-\x08\x0a-\x1f\x7f]*")
_URL_UNSAFE = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\xff]")
_UPGRADE_LINE = re.compile(rb"^upgrade[ \t]*:[^\n]*\n", re.MULTILINE | re.IGNORECASE)
_BLANK_LINES = (b"\n\r\n", b"\n\n")

# What the reader is reading (its phase).
_IDLE, _HEAD, _LENGTH, _CHUNK_SIZE, _CHUNK_DATA, _CHUNK_END, _TRAILER = range(7)


class Headers:
    """Request headers in arrival order; names looked up without regard to case."""

    __slots__ = ("_pairs", "_index")

    def __init__(self) -> None:
        self._pairs: list[tuple[str, str]] = []
        self._index: dict[str, str] = {}

    def add(self, name: str, value: str) -> None:
        self._pairs.append((name, value))
        self._index.setdefault(name.lower(), value)

    @overload
    def get(self, name: str) -> str | None: ...
    @overload
    def get(self, name: str, default: str) -> str: ...

    def get(self, name: str, default: str | None = None) -> str | None:
        return self._index.get(name.lower(), default)

    def items(self) -> list[tuple[str, str]]:
        return list(self._pairs)

    def joined(self, name: str) -> str:
        """Every value of a header that may come more than once, as one list (RFC 9110 §5.3)."""
        wanted = name.lower()
        if wanted not in self._index:
            return ""  # (the index has every name: asked for every request, rarely there)
        return ", ".join(value for key, value in self._pairs if key.lower() == wanted)

    def __len__(self) -> int:
        return len(self._pairs)


# Why a request is refused, by id (``refusals.<id>`` in the catalogue). ``{quoted}`` is the
# piece of the request a message quotes, masked and cut; ``{reason}`` is llhttp's own words.
REFUSALS = {
    "chunked_body_cut": "the chunked body ended early",
    "chunked_body_cut_late": "the chunked body ended early (read deadline)",
    "body_cut": "the body ended after {size} of {length} bytes",
    "body_cut_late": "the body ended after {size} of {length} bytes (read deadline)",
    "headers_late": "the headers did not arrive within {seconds:g} s",
    "line_late": "the request line did not arrive within {seconds:g} s",
    "headers_cut": "the headers ended before they were complete",
    "line_cut": "the request line ended before it was complete",
    "line_too_long": "the request line is longer than 64 KiB",
    "too_many_headers": "more than {count} headers",
    "headers_too_long": "the headers are longer than 128 KiB",
    "header_line_too_long": "a header line is longer than 64 KiB",
    "http09": "HTTP/0.9 requests are not accepted",
    "version_unsupported": "HTTP version {version} is not supported",
    "length_digits": "the body is {digits} digits long; at most {kib} KiB is accepted",
    "length_twice": "Content-Length is given twice, with different values",
    "length_overflow": "the body is longer than 64 bits can count; at most {kib} KiB is accepted",
    "body_too_large": "the body is {length} bytes; at most {kib} KiB is accepted",
    "body_over": "the body is over {kib} KiB",
    "trailer_line_too_long": "a trailer line is longer than 64 KiB",
    "chunk_line_too_long": "a chunk size line is longer than 1 KiB",
    "too_many_chunks": "the body comes in more than {count} chunks",
    "trailers_too_long": "the trailer lines after the chunked body are over the headers' bounds",
    "upgrade": "a protocol upgrade is not supported",
    "method": "method {quoted} is not used for notifies (GET or POST)",
    "expect": "Expect {quoted} is not supported",
    "coding": "Transfer-Encoding {quoted} is not supported (only chunked)",
    "bad_version": "bad request version {quoted} ({reason})",
    "bad_line": "bad request line {quoted} ({reason})",
    "bad_header_line": "malformed header line {quoted} ({reason})",
    "bad_headers": "malformed headers ({reason})",
    "bad_body": "malformed body ({reason})",
    "not_found": "not found: notifies go to {path}",  # (said by the server, which knows the path)
}


class Refusal(Exception):
    """A request that cannot be served: answer ``status`` and (unless the request was read
    whole) close the connection. ``kind`` is the journal's: bad_request, too_large, timeout.
    ``said`` names its words (``REFUSALS``), filled from ``fields``.

    A message that quotes the request (``quote``: the piece and how much of it to show, put
    where the message says ``{quoted}``) is worded by ``told(mask)``: masked whole, then cut —
    a key cut short would no longer be recognised as one. ``message`` masks key-shaped runs."""

    def __init__(self, status: int, said: str, *, kind: str = "bad_request",
                 size: int | None = None, head: Head | None = None,
                 quote: tuple[str, int] | None = None, path: str = "",
                 fields: dict[str, object] | None = None) -> None:
        self.status, self.kind, self.size, self.head = status, kind, size, head
        self.path = head.path if head is not None else path  # as far as it is known
        self.said, self._fields, self._quote = said, fields or {}, quote
        self.message = self.told(mask_key_shaped)
        super().__init__(self.message)

    def told(self, mask: Callable[[str], str]) -> str:
        """The words (a ``Text``: the listener's line says them in the run's language)."""
        fields = self._fields
        if self._quote is not None:
            piece, limit = self._quote
            fields = {**fields, "quoted": repr(mask(piece)[:limit])}
        return Text(f"refusals.{self.said}", REFUSALS[self.said], **fields)


@dataclass(slots=True)
class Head:
    """The request line and headers."""

    method: str
    target: str  # path?query, as sent
    version: str  # HTTP/1.1
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
    client: str = ""  # set by the server: who sent it
    received_at: float = 0.0  # Unix seconds, when its first byte arrived
    size: int = 0  # bytes of its head and body


class RequestReader:
    """One connection's requests: ``feed`` bytes as they arrive, ``next`` whole requests out
    in order (``None`` until one is whole). After a refusal nothing more is read."""

    __slots__ = ("max_body", "_parser", "_ready", "waiting", "_phase", "_held", "_scanned",
                 "_line", "_line_fed", "_raw_target", "_url", "_headers", "_head", "_parts",
                 "_size", "_head_size", "_remaining", "_chunks", "_trailer_lines", "_trailer_bytes",
                 "continue_sent", "_failed")

    def __init__(self, max_body: int) -> None:
        self.max_body = max_body
        self._parser = httptools.HttpRequestParser(self)
        # A bare LF ends a header line, as in most servers; Content-Length beside chunked is
        # read as chunked (RFC 9112 §6.1) and the connection closed after it (see _framed).
        self._parser.set_dangerous_leniencies(lenient_chunked_length=True,
                                              lenient_optional_cr_before_lf=True)
        self._ready: deque[Request | Refusal] = deque()
        self.waiting = 0  # bytes of the whole requests not yet taken
        self._phase = _IDLE
        self._held = bytearray()  # a head, or a chunk's line, not yet handed to llhttp
        self._failed = False
        self._start_message()

    def _start_message(self) -> None:
        self._scanned = 0
        self._line = b""  # the request line once complete
        self._line_fed = False
        self._raw_target: bytes | None = None  # when llhttp was given it %-escaped
        self._url = bytearray()
        self._headers = Headers()
        self._head: Head | None = None
        self._parts: list[bytes] = []
        self._size = self._remaining = self._chunks = self._head_size = 0
        self._trailer_lines = self._trailer_bytes = 0
        self.continue_sent = False

    # ---- what the server asks ----------------------------------------------------------

    @property
    def started(self) -> bool:
        """Part of a request has arrived (a whole one waiting to be taken does not count)."""
        return self._phase != _IDLE

    @property
    def held(self) -> int:
        """Bytes kept for requests not yet taken (the server pauses reading above a bound)."""
        return self.waiting + len(self._held) + self._size

    def feed(self, data: bytes | memoryview) -> None:
        """Read ``data`` as far as it goes; what is whole (or refused) waits for ``next``."""
        if self._failed:
            return
        try:
            self._read(bytes(data))
        except Refusal as refusal:
            self._refuse(refusal)

    def next(self) -> Request | None:
        """The next whole request, or ``None`` until more arrives. Raises ``Refusal``."""
        if not self._ready:
            return None
        taken = self._ready.popleft()
        if isinstance(taken, Refusal):
            raise taken
        self.waiting -= taken.size
        return taken

    def clear(self) -> None:
        """Forget everything (the connection is closing)."""
        self._ready.clear()
        self._held.clear()
        self._parts.clear()
        self.waiting = 0
        self._failed = True

    def needs_continue(self) -> bool:
        """A client waits for ``100 Continue`` before it sends the body (sent once)."""
        head = self._head
        if head is None or self._ready or not head.expects_continue or self.continue_sent \
                or self._phase == _IDLE:
            return False
        self.continue_sent = True
        return True

    def stopped(self, *, cut: bool, timeout: float = 0.0) -> Refusal:
        """What to answer a request that stopped arriving: the sender closed (400) or the read
        deadline passed (``cut``: 408)."""
        status, kind = (408, "timeout") if cut else (400, "bad_request")
        head = self._head
        if head is not None:
            if head.length is None:
                said = "chunked_body_cut_late" if cut else "chunked_body_cut"
            else:
                said = "body_cut_late" if cut else "body_cut"
            return Refusal(status, said, kind=kind, size=self._size, head=head,
                           fields={"size": self._size, "length": head.length})
        what = "headers" if self._line else "line"
        if cut:
            return Refusal(status, f"{what}_late", kind=kind, path=self.path_guess(),
                           fields={"seconds": timeout})
        return Refusal(status, f"{what}_cut", kind=kind, path=self.path_guess())

    def path_guess(self) -> str:
        """The path of the request being read, as far as its request line shows it."""
        if self._head is not None:
            return self._head.path
        line = self._line or bytes(self._held[:MAX_LINE_BYTES])
        words = line.split(b" ")
        return words[1].partition(b"?")[0].decode("utf-8", "replace") if len(words) >= 2 else ""

    # ---- reading -----------------------------------------------------------------------

    def _read(self, data: bytes) -> None:
        position, end = 0, len(data)
        while position < end and not self._failed:
            phase = self._phase
            if phase == _LENGTH:
                take = min(self._remaining, end - position)
                self._remaining -= take
                self._feed(data[position:position + take], "body")
                position += take
            elif phase in (_IDLE, _HEAD):
                position = self._read_head(data, position)
            else:
                position = self._read_chunked(data, position)

    def _read_head(self, data: bytes, position: int) -> int:
        held = self._held
        if self._phase == _IDLE:
            while position < len(data) and data[position] in b"\r\n":  # blank lines between
                position += 1
            if position == len(data):
                return position
            self._phase = _HEAD
        start = len(held)
        held += data[position:]
        blank = _first_of(held, _BLANK_LINES, max(self._scanned - 2, 0))
        if blank is None:
            self._scanned = len(held)
            self._check_partial_head()
            return len(data)
        end = blank[0] + blank[1]  # (past what was held before: else it was found then)
        head = bytes(held[:end])
        held.clear()
        self._head_size = len(head)
        self._take_head(head)
        return position + end - start  # what follows is a body, or the next requests

    def _check_partial_head(self) -> None:
        """A head still arriving: refuse it as soon as it is over a bound; hand llhttp the
        request line once it is whole (a bad one is refused before the headers come)."""
        held = self._held
        line_end = held.find(b"\n")
        if line_end < 0:
            if len(held) > MAX_LINE_BYTES:
                raise Refusal(414, "line_too_long")
            return
        if not self._line_fed:
            self._feed_request_line(bytes(held[:line_end + 1]))
        lines = held.count(b"\n")
        if lines - 1 > MAX_HEADERS:
            raise Refusal(431, "too_many_headers", path=self.path_guess(),
                          fields={"count": MAX_HEADERS})
        if len(held) - line_end > MAX_HEADER_BYTES:
            raise Refusal(431, "headers_too_long", path=self.path_guess())
        if len(held) - held.rfind(b"\n") > MAX_LINE_BYTES or \
                _longest_line(held, line_end + 1) > MAX_LINE_BYTES:
            raise Refusal(431, "header_line_too_long", path=self.path_guess())

    def _take_head(self, head: bytes) -> None:
        """A whole head (through its blank line): bounds, then llhttp."""
        line_end = head.find(b"\n")
        if line_end > MAX_LINE_BYTES:
            raise Refusal(414, "line_too_long")
        headers = head[line_end + 1:]
        if not self._line_fed:
            self._feed_request_line(head[:line_end + 1])
        if headers.count(b"\n") - 1 > MAX_HEADERS:
            raise Refusal(431, "too_many_headers", path=self.path_guess(),
                          fields={"count": MAX_HEADERS})
        if len(headers) > MAX_HEADER_BYTES:
            raise Refusal(431, "headers_too_long", path=self.path_guess())
        if _longest_line(headers, 0) > MAX_LINE_BYTES:
            raise Refusal(431, "header_line_too_long", path=self.path_guess())
        if b"pgrade" in headers:
            # A server may ignore Upgrade (RFC 9110 §7.8), and this one does (curl --http2
            # asks for h2c): llhttp is not shown it, so it reads on as HTTP/1.1.
            headers = _UPGRADE_LINE.sub(b"", headers)
        if b"ontent-" in headers:
            lengths = _LENGTH_LINE.findall(headers.lower())
            if len(lengths) > 1 or any(len(value) > 18 for value in lengths):
                headers = self._one_content_length(headers, self.path_guess())
        self._feed(headers, "headers")

    def _feed_request_line(self, line: bytes) -> None:
        self._line = line.rstrip(b"\r\n")
        self._line_fed = True
        if self._line.count(b" ") == 1:
            raise Refusal(400, "http09", path=self.path_guess())
        if not line.endswith(b"\r\n"):  # llhttp wants CRLF here; a bare LF is read as one
            line = line[:-1] + b"\r\n"
        if _URL_UNSAFE.search(line) is not None:
            # llhttp refuses bytes that are not ASCII in a target; a gateway's curl sends a
            # notify_url with a raw 回调 path as it is. It sees them %-escaped; the request
            # keeps its target as it came.
            line = _URL_UNSAFE.sub(lambda byte: b"%%%02X" % byte[0][0], line)
            self._raw_target = self._line.split(b" ")[1] if self._line.count(b" ") == 2 \
                else None
        self._feed(line, "line")
        version = _VERSION_MAJOR.search(self._line.rpartition(b" ")[2])
        if version is not None and int(version[1]) >= 2:
            raise Refusal(505, "version_unsupported", path=self.path_guess(),
                          fields={"version": self._line.rpartition(b' ')[2][5:].decode()})

    def _one_content_length(self, headers: bytes, path: str) -> bytes:
        """The same Content-Length given twice is read once (RFC 9110 §8.6; llhttp refuses
        any repeat); different ones are refused. A length of more digits than 64 bits hold
        is too large (413), not malformed."""
        lines = headers.split(b"\n")
        values, kept = set(), []
        for line in lines:
            found = _LENGTH_LINE.fullmatch(line.lower())
            if found is not None:
                value = found[1]
                if value.isdigit() and len(value) > 18:
                    raise Refusal(413, "length_digits", kind="too_large", size=2**63 - 1,
                                  path=path, fields={"digits": len(value),
                                                     "kib": self.max_body // 1024})
                if value in values:
                    continue
                values.add(value)
                if len(values) > 1:
                    raise Refusal(400, "length_twice", size=0, path=path)
            kept.append(line)
        return b"\n".join(kept)

    def _read_chunked(self, data: bytes, position: int) -> int:
        """A chunked body: each size line and trailer line whole to llhttp (so the size is
        known before its data), each chunk's data by its size."""
        phase = self._phase
        if phase == _CHUNK_DATA:
            take = min(self._remaining, len(data) - position)
            self._remaining -= take
            self._feed(data[position:position + take], "body")
            if self._remaining == 0:
                self._phase = _CHUNK_END
            return position + take
        if phase == _CHUNK_END:  # CRLF (or LF) after the data: byte by byte, so that
            byte = data[position:position + 1]  # anything else is refused at once
            self._feed(byte, "body")
            if byte == b"\n":
                self._phase = _CHUNK_SIZE
            return position + 1
        line_end = data.find(b"\n", position)
        held = self._held
        if line_end < 0:
            held += data[position:]
            self._check_chunk_line(len(held))
            return len(data)
        held += data[position:line_end + 1]
        line = bytes(held)
        held.clear()
        self._check_chunk_line(len(line) - 1)
        if phase == _CHUNK_SIZE:
            self._chunk_size(line)
        else:
            self._trailer_line(line)
        return line_end + 1

    def _check_chunk_line(self, length: int) -> None:
        if self._phase == _TRAILER:
            if length > MAX_LINE_BYTES:
                raise Refusal(431, "trailer_line_too_long", size=self._size,
                              head=self._head)
        elif length >= MAX_CHUNK_LINE:
            raise Refusal(400, "chunk_line_too_long", size=self._size,
                          head=self._head)

    def _chunk_size(self, line: bytes) -> None:
        self._feed(line, "body")  # llhttp checks it: hex digits, extensions, line end
        size = int(line.partition(b";")[0].strip(), 16)
        if size == 0:
            self._phase = _TRAILER
            return
        self._chunks += 1
        if self._chunks > MAX_CHUNKS:
            raise Refusal(400, "too_many_chunks", size=self._size, head=self._head,
                          fields={"count": MAX_CHUNKS})
        if self._size + size > self.max_body:
            raise Refusal(413, "body_over", kind="too_large", size=self._size + size,
                          head=self._head, fields={"kib": self.max_body // 1024})
        self._phase, self._remaining = _CHUNK_DATA, size

    def _trailer_line(self, line: bytes) -> None:
        if line not in (b"\n", b"\r\n"):
            self._trailer_lines += 1
            self._trailer_bytes += len(line)
            if self._trailer_lines > MAX_HEADERS or self._trailer_bytes > MAX_HEADER_BYTES:
                raise Refusal(431, "trailers_too_long", size=self._size, head=self._head)
        self._feed(line, "body")  # the blank line ends the request (on_message_complete)

    def _feed(self, data: bytes, part: str) -> None:
        """Hand llhttp ``data`` of the request's ``part`` (line, headers or body)."""
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserCallbackError as error:
            if isinstance(error.__context__, Refusal):
                raise error.__context__ from None
            raise
        except httptools.HttpParserError as error:
            raise self._malformed(error, part, data) from None
        except httptools.HttpParserUpgrade:  # (its Upgrade line is not shown: see _take_head)
            raise Refusal(400, "upgrade", head=self._head,
                          path=self.path_guess()) from None

    def _malformed(self, error: httptools.HttpParserError, part: str, data: bytes) -> Refusal:
        """llhttp's reason, as the status it calls for."""
        reason, path = str(error), self.path_guess()
        line = self._line.decode("latin-1")
        if part == "line":
            method = self._line.partition(b" ")[0]
            if isinstance(error, httptools.HttpParserInvalidMethodError) and \
                    _TOKEN.fullmatch(method):
                return Refusal(405, "method", quote=(method.decode("latin-1"), 20), path=path)
            if reason.startswith("Invalid") and "version" in reason:
                return Refusal(400, "bad_version", quote=(line.rpartition(" ")[2], 20),
                               path=path, fields={"reason": reason.lower()})
            return Refusal(400, "bad_line", quote=(line, 80), path=path,
                           fields={"reason": reason.lower()})
        if "Transfer-Encoding" in reason:
            return Refusal(501, "coding", path=path,
                           quote=(self._headers.joined("Transfer-Encoding") or reason, 40))
        if reason == "Content-Length overflow":
            return Refusal(413, "length_overflow", kind="too_large", size=2**63 - 1,
                           path=path, fields={"kib": self.max_body // 1024})
        if part == "headers":
            bad = next((line for line in data.split(b"\n")[:-2]
                        if not _HEADER_LINE.fullmatch(line)), None)
            if bad is not None:  # (named for whoever reads the journal)
                return Refusal(400, "bad_header_line", path=path,
                               quote=(bad.rstrip(b"\r").decode("latin-1"), 40),
                               fields={"reason": reason.lower()})
            return Refusal(400, "bad_headers", path=path, fields={"reason": reason.lower()})
        return Refusal(400, "bad_body", size=self._size, head=self._head,
                       fields={"reason": reason.lower()})

    def _refuse(self, refusal: Refusal) -> None:
        self._failed = True
        self._held.clear()
        self._ready.append(refusal)

    # ---- llhttp's callbacks --------------------------------------------------------------

    def on_url(self, url: bytes) -> None:
        self._url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        if self._head is None:  # (trailers, after the body, are dropped)
            self._headers.add(name.decode("latin-1"), value.decode("latin-1"))

    def on_headers_complete(self) -> None:
        parser, headers = self._parser, self._headers
        method = parser.get_method().decode("latin-1")
        target = self._url if self._raw_target is None else self._raw_target
        head = Head(method, target.decode("latin-1"), "HTTP/" + parser.get_http_version(),
                    headers, parser.should_keep_alive(), False)
        self._head = head
        if method not in METHODS:
            raise Refusal(405, "method", head=head, quote=(method, 20))
        expect = headers.get("Expect")
        if expect is not None and expect.lower() != "100-continue":
            raise Refusal(417, "expect", head=head, quote=(expect, 40))
        head.expects_continue = expect is not None and head.version >= "HTTP/1.1"
        self._framed(head)

    def _framed(self, head: Head) -> None:
        """How the body is delimited (RFC 9112 §6), and its size bound."""
        coding = head.headers.joined("Transfer-Encoding")
        length = head.headers.get("Content-Length")
        if coding:
            if coding.lower().replace(" ", "") != "chunked":
                raise Refusal(501, "coding", head=head, quote=(coding, 40))
            head.length = None
            if length is not None:  # both: chunked wins, and the connection is not trusted
                head.keep_alive = False
            self._phase = _CHUNK_SIZE
            return
        head.length = int(length) if length is not None else 0  # digits: llhttp checked
        if head.length > self.max_body:
            raise Refusal(413, "body_too_large", kind="too_large", size=head.length,
                          head=head, fields={"length": head.length,
                                             "kib": self.max_body // 1024})
        self._phase, self._remaining = _LENGTH, head.length

    def on_body(self, body: bytes) -> None:
        self._parts.append(body)
        self._size += len(body)

    def on_message_complete(self) -> None:
        # (llhttp completes a message only after on_headers_complete set _head: no check a request)
        request = Request(self._head, b"".join(self._parts))  # type: ignore[arg-type]
        request.size = self._head_size + self._size
        self._ready.append(request)
        self.waiting += request.size
        self._phase = _IDLE
        self._start_message()


def _first_of(buffer: bytearray, needles: tuple[bytes, ...], start: int) -> tuple[int, int] | None:
    """(index, length) of the earliest of ``needles`` from ``start``, or None."""
    found = None
    for needle in needles:
        index = buffer.find(needle, start)
        if index >= 0 and (found is None or index < found[0]):
            found = (index, len(needle))
    return found


def _longest_line(data: bytes | bytearray, start: int) -> int:
    """The length of the longest complete line of ``data`` from ``start``."""
    if len(data) - start <= MAX_LINE_BYTES:
        return 0  # (cannot hold a line over the bound: the common case, not split)
    return max(map(len, data[start:].split(b"\n")[:-1]), default=0)
