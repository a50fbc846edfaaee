"""The notify receiver: a stdlib ``ThreadingHTTPServer`` tuned as DESIGN.md says (backlog 128,
HTTP/1.1 keep-alive, no Nagle, daemon threads), with bounded bodies (64 KiB → 413) and a read
deadline per request that a slowloris sender cannot stretch.

Each request is judged, journaled (committed) and only then answered; then an event (a plain
dict) goes to ``on_event``. The engine never prints.
"""

from __future__ import annotations

import errno
from secrets import token_hex
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from ..core.errors import EpayError, InputError
from ..core.notify import DELIVERY_TIMEOUT_SECONDS, counts_as_delivered
from ..core.signing import Keys
from .journal import Journal, JournalError, iso_time
from .judge import Duplicates, Masker, fingerprint, judge, read_params

MAX_BODY_BYTES = 64 * 1024
READ_TIMEOUT_SECONDS = 10.0
HEALTH_PATH = "/.epay-listen/health"
DEFAULT_NOTIFY_PATH = "/notify"
_WATCH_INTERVAL = 0.2
_REPLY_HELP = "use auto, success, fail, timeout or status:NNN (e.g. status:500)"

Event = dict
OnEvent = Callable[[Event], None]


class ListenError(EpayError):
    """The listener cannot start (port taken, address not local …)."""

    code = "listen_failed"


@dataclass(frozen=True)
class Reply:
    """How to answer: ``auto`` as a correct shop would (success if genuine, else fail; with a
    forward target, what the handler said), or a fixed simulation of a merchant."""

    mode: str = "auto"  # auto | success | fail | timeout | status
    status: int = 200

    @classmethod
    def parse(cls, text: str | Reply | None) -> Reply:
        if isinstance(text, Reply):
            return text
        text = (text or "auto").strip().lower()
        if text in ("auto", "success", "fail", "timeout"):
            return cls(text)
        if text.startswith("status:"):
            code = text.removeprefix("status:")
            if code.isdigit() and 200 <= int(code) <= 599:
                return cls("status", int(code))
        raise InputError(f"unknown reply {text!r}", _REPLY_HELP, code="bad_reply")


@dataclass(frozen=True)
class _Answer:
    status: int
    body: str
    by: str  # verdict | reply | forward
    delay: float = 0.0


class Listener:
    """A running listener. ``url`` is the notify URL to give a gateway; ``close()`` stops it
    (also as a context manager)."""

    def __init__(self, server: _Server, engine: _Engine, thread: threading.Thread) -> None:
        self._server, self._engine, self._thread = server, engine, thread
        host, port = server.server_address[:2]
        self.host, self.port = host, port
        shown = "127.0.0.1" if host in ("0.0.0.0", "") else (f"[{host}]" if ":" in host else host)
        self.base_url = f"http://{shown}:{port}"
        self.path = engine.path
        self.url = self.base_url + (engine.path or DEFAULT_NOTIFY_PATH)
        self.health_url = self.base_url + HEALTH_PATH
        self.health_token = engine.health_token
        self.journal = engine.journal

    @property
    def answered(self) -> int:
        return self._engine.answered

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)
        self._engine.close()

    def __enter__(self) -> Listener:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def start_listener(*, keys: Keys, journal: Path | str, host: str = "127.0.0.1", port: int = 0,
                   path: str | None = None, pid: str | None = None,
                   forward_to: str | None = None, reply: str | Reply = "auto",
                   on_event: OnEvent | None = None, state=None,
                   clock: Callable[[], float] = time.time,
                   read_timeout: float = READ_TIMEOUT_SECONDS,
                   max_body: int = MAX_BODY_BYTES, secrets_to_mask: tuple[str, ...] = (),
                   forward_timeout: float = DELIVERY_TIMEOUT_SECONDS) -> Listener:
    """Start a notify listener in background threads and return it once it accepts requests.

    - ``keys``: ``epaycli.core.signing.Keys`` — the merchant MD5 key (V1) and/or the platform
      public key (``RsaKeys(public=…)``, V2) that notifies are checked with.
    - ``journal``: the SQLite file every request is committed to before it is answered.
    - ``host``/``port``: where to listen (``port=0``: a free port; see ``.port``/``.url``).
    - ``path``: accept notifies only on this path (others get 404, still journaled);
      ``None`` accepts any path.
    - ``pid``: the merchant id notifies must carry (``None``: not checked).
    - ``forward_to``: the shop's own handler; each notify is passed on and its answer returned.
    - ``reply``: ``auto`` (success if genuine, else fail; the handler's answer when
      forwarding), ``success``, ``fail``, ``timeout`` (answer after the gateway gave up),
      ``status:NNN``.
    - ``on_event``: called (from request threads) with one dict per request:
      ``{"event": "notify" | "bad_request", "id", "time", "method", "path", "trade_no",
      "out_trade_no", "money", "type", "valid", "verdict", "reason", "duplicate_count",
      "content_changed", "answer", "answer_status", "delivered", "ms", …}``, and
      ``{"event": "journal_error", "message"}`` when a request could not be journaled.
    - ``state``: an ``epaycli.state.LocalState`` whose recorded orders give the expected
      amount, or ``None``.
    - ``forward_timeout``: how long the handler may take (a gateway waits 5 s).
    - ``read_timeout``: a request must arrive whole within this many seconds (slowloris).
    - ``secrets_to_mask``: further secrets (the merchant key is always masked) that must
      never reach the journal or an event.

    Raises ``ListenError`` (port taken, address not local), ``InputError`` (bad host, reply,
    forward URL) or ``ConfigError`` (journal not writable).
    """
    engine = _Engine(keys=keys, journal=Journal(journal), path=_normal_path(path), pid=pid,
                     reply=Reply.parse(reply), on_event=on_event, state=state, clock=clock,
                     read_timeout=read_timeout, max_body=max_body,
                     secrets=tuple(s for s in (*_key_secrets(keys), *secrets_to_mask) if s))
    try:
        if forward_to:
            from .forwarder import Forwarder

            engine.forwarder = Forwarder(forward_to, timeout=forward_timeout)
        server = _bind(host, port, engine)
    except BaseException:
        engine.close()
        raise
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2},
                              name="epay-listen", daemon=True)
    thread.start()
    engine.start_watchdog()
    return Listener(server, engine, thread)


def _key_secrets(keys: Keys) -> tuple[str, ...]:
    return (keys.md5.secret,) if keys.md5 is not None else ()


def _normal_path(path: str | None) -> str | None:
    if path is None or path in ("", "*"):
        return None
    if not path.startswith("/") or any(ch in path for ch in "?# \r\n"):
        raise InputError(f"the path {path!r} is not a URL path",
                         "give it as /notify (no query, no spaces)", code="bad_path")
    return path


class _Server(ThreadingHTTPServer):
    request_queue_size = 128
    daemon_threads = True
    allow_reuse_address = True


class _Server6(_Server):
    address_family = socket.AF_INET6


def _bind(host: str, port: int, engine: _Engine) -> _Server:
    if not 0 <= port <= 65535:
        raise InputError(f"port {port} is out of range", "give a port from 1 to 65535, or 0",
                         code="bad_port")
    # The per-read socket timeout is only a backstop: the deadline (watchdog) cuts first, so
    # a slow request still gets its 408 and its journal entry.
    handler = type("ListenHandler", (_Handler,), {"engine": engine,
                                                  "timeout": engine.read_timeout * 2 + 1})
    server_class = _Server6 if ":" in host else _Server
    try:
        return server_class((host, port), handler)
    except socket.gaierror:
        raise InputError(f"cannot listen on {host!r}: no such address",
                         "give an address of this machine, e.g. 127.0.0.1", code="bad_host") \
            from None
    except OverflowError:
        raise InputError(f"port {port} is out of range", "give a port from 1 to 65535, or 0",
                         code="bad_port") from None
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            raise ListenError(f"port {port} on {host} is already in use",
                              "pick another port, or port 0 for a free one",
                              code="port_in_use") from None
        if error.errno in (errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT, errno.EINVAL):
            raise InputError(f"cannot listen on {host!r}: not an address of this machine",
                             "give an address of this machine, e.g. 127.0.0.1",
                             code="bad_host") from None
        if error.errno == errno.EACCES:
            raise ListenError(f"not allowed to listen on port {port}",
                              "ports below 1024 need privileges: pick a higher one",
                              code="port_denied") from None
        raise ListenError(f"cannot listen on {host}:{port} ({error.strerror})",
                          "pick another address or port") from None


class _Engine:
    """What every request thread shares: keys, journal, duplicates, the forwarder."""

    def __init__(self, *, keys: Keys, journal: Journal, path, pid, reply: Reply, on_event,
                 state, clock, read_timeout: float, max_body: int, secrets) -> None:
        self.keys, self.journal, self.path, self.pid = keys, journal, path, pid
        self.reply, self.on_event, self.state, self.clock = reply, on_event, state, clock
        self.read_timeout, self.max_body = read_timeout, max_body
        self.masker = Masker(secrets)
        self.duplicates = Duplicates()
        self.duplicates.load(journal.fingerprints())
        self.forwarder = None
        self.health_token = token_hex(8)  # tells this listener apart from any other
        self.answered = 0
        self._count_lock = threading.Lock()
        self._watched: dict[_Handler, float] = {}
        self._stop = threading.Event()
        self._watchdog: threading.Thread | None = None

    # ---- the read deadline -----------------------------------------------------------

    def start_watchdog(self) -> None:
        self._watchdog = threading.Thread(target=self._watch, name="epay-listen-deadline",
                                          daemon=True)
        self._watchdog.start()

    def arm(self, handler: _Handler) -> None:
        self._watched[handler] = time.monotonic() + self.read_timeout

    def disarm(self, handler: _Handler) -> None:
        self._watched.pop(handler, None)

    def _watch(self) -> None:
        # One thread for all connections: a request (or an idle keep-alive connection) that
        # is not read whole by its deadline has its reading side shut, which ends the read.
        while not self._stop.wait(_WATCH_INTERVAL):
            now = time.monotonic()
            for handler, deadline in list(self._watched.items()):
                if now > deadline:
                    self._watched.pop(handler, None)
                    handler.cut = True
                    try:
                        handler.connection.shutdown(socket.SHUT_RD)
                    except OSError:
                        pass

    def close(self) -> None:
        self._stop.set()
        if self.forwarder is not None:
            self.forwarder.close()
        self.journal.close()

    # ---- one request -------------------------------------------------------------------

    def emit(self, event: Event) -> None:
        if self.on_event is not None:
            try:
                self.on_event(event)
            except Exception:  # noqa: BLE001 - a broken observer must not break the listener
                pass

    def handle(self, request: _Handler) -> None:
        started = request.started
        raw_target = request.path.encode("latin-1", "replace")
        raw_path, _, query = raw_target.partition(b"?")
        query = query.partition(b"#")[0]
        path = raw_path.decode("utf-8", "replace")
        if path == HEALTH_PATH:
            try:
                request.read_body(self.max_body)  # a body on a health check is dropped
            except _BodyProblem:
                request.close_connection = True
            self.disarm(request)
            request.answer(200, f"epay-listen {self.health_token}")
            return
        try:
            body = request.read_body(self.max_body)
        except _BodyProblem as problem:
            self.disarm(request)
            self.refuse(request, problem.status, problem.message, kind=problem.kind,
                        path=path, query=query, body_size=problem.size)
            return
        self.disarm(request)
        if self.path is not None and path != self.path:
            self.refuse(request, 404, f"not found: notifies go to {self.path}", kind="not_found",
                        path=path, query=query, body=body)
            return
        content_type = request.headers.get("Content-Type", "")
        try:
            params, source = read_params(request.command, query, body, content_type)
        except InputError as error:
            self.refuse(request, 400, error.message, kind="bad_request", path=path, query=query,
                        body=body)
            return
        self.notify(request, path, query, body, params, source, started)

    def notify(self, request, path: str, query: bytes, body: bytes, params: dict, source: str,
               started: float) -> None:
        judged_at = time.perf_counter()
        verdict = judge(params, self.keys, pid=self.pid, now=int(self.clock()), state=self.state)
        trade_no = params.get("trade_no", "")
        print_ = fingerprint(params)
        seen, changed = self.duplicates.note(trade_no, print_)
        forwarded = None
        forward_ms = 0.0
        if self.forwarder is not None:
            forwarded = self.forwarder.send(request.command, query, body, request.headers.items(),
                                            request.client_address[0])
            forward_ms = forwarded.ms
        answer = self._answer(verdict.valid, forwarded)
        masked = self.masker.params(params)
        timings = {"judge_ms": _ms(judged_at), "forward_ms": round(forward_ms, 2)}
        record = {
            **self._raw(request, path, query, body, params, source), "kind": "notify",
            "trade_no": masked.get("trade_no", ""),
            "out_trade_no": masked.get("out_trade_no", ""), "money": masked.get("money", ""),
            "type": masked.get("type", ""), "pid": masked.get("pid", ""), "params": masked,
            "valid": verdict.valid, "verdict": verdict.verdict, "reason": verdict.reason,
            "report": self.masker.anything(verdict.report, params), "fingerprint": print_,
            "duplicate_count": seen, "content_changed": changed,
            "order_amount": verdict.order_amount, "answer_status": answer.status,
            "answer": self.masker.anything(answer.body, params),  # a handler may echo anything
            "delivered": counts_as_delivered(answer.body),
            "answered_by": answer.by,
            "forward": None if forwarded is None else self.masker.anything(forwarded.to_dict(),
                                                                             params),
            "timings": timings,
        }
        self._journal_and_answer(request, record, answer, started, "notify")

    def refuse(self, request, status: int, message: str, *, kind: str, path: str = "",
               query: bytes = b"", body: bytes = b"", body_size: int | None = None) -> None:
        """A request that is not a readable notify: journaled, answered ``status``."""
        answer = _Answer(status, f"fail: {message}", "verdict")
        record = {
            **self._raw(request, path, query, body), "kind": kind, "params": None,
            "valid": False, "verdict": "malformed", "reason": message,
            "answer_status": status, "answer": answer.body, "delivered": False,
            "answered_by": "verdict", "timings": {},
        }
        if body_size is not None:
            record["body_size"] = body_size
        # After a refusal the rest of the connection cannot be trusted (an unread body, a cut
        # request); a 404 was read whole.
        request.close_connection = request.close_connection or kind != "not_found"
        self._journal_and_answer(request, record, answer, request.started, "bad_request")

    def _raw(self, request, path: str, query: bytes, body: bytes, params=None,
             source: str = "") -> dict:
        """The request as it came, masked; ``params`` (read from ``source``) spare the
        masking of that part when it holds nothing to mask."""
        headers = request.headers.items() if request.headers is not None else []
        masker = self.masker
        return {"received_at": request.received_at, "method": request.command or "",
                "path": path, "query": masker.raw(query, params if source == "query" else None),
                "headers": masker.headers(headers),
                "body": masker.raw(body, params if source == "body" else None),
                "body_size": len(body), "client": request.client_address[0]}

    def _answer(self, valid: bool, forwarded) -> _Answer:
        reply = self.reply
        if reply.mode == "success":
            return _Answer(200, "success", "reply")
        if reply.mode == "fail":
            return _Answer(200, "fail", "reply")
        if reply.mode == "timeout":
            return _Answer(200, "success", "reply", delay=DELIVERY_TIMEOUT_SECONDS + 1)
        if forwarded is not None:
            if forwarded.status is None:
                return _Answer(502, f"fail: the shop's handler did not answer "
                               f"({forwarded.error})", "forward")
            return _Answer(forwarded.status, forwarded.body, "forward")
        body = "success" if valid else "fail"
        return _Answer(reply.status if reply.mode == "status" else 200, body,
                       "reply" if reply.mode == "status" else "verdict")

    def _journal_and_answer(self, request, record: dict, answer: _Answer, started: float,
                            event_name: str) -> None:
        committing = time.perf_counter()
        sent = []

        def answer_now() -> None:  # on the journal's writer, right after the commit
            request.answer(answer.status, answer.body)
            sent.append(True)

        try:
            record_id = self.journal.append(record, then=None if answer.delay else answer_now)
        except JournalError as error:
            request.close_connection = True
            request.answer(503, "fail: the listener cannot journal this request")
            self.emit({"event": "journal_error", "message": error.message,
                       "time": iso_time(self.clock())})
            return
        journal_ms = _ms(committing)
        if answer.delay:
            time.sleep(answer.delay)
        if not sent:
            request.answer(answer.status, answer.body)
        with self._count_lock:
            self.answered += 1
        event = _event(event_name, record_id, record)
        event["timings"] = {**record["timings"], "journal_ms": journal_ms}
        event["ms"] = _ms(started)
        self.emit(event)


def _event(name: str, record_id: int, record: dict) -> Event:
    event = {"event": name, "id": record_id, "time": iso_time(record["received_at"])}
    for field in ("kind", "method", "path", "client", "trade_no", "out_trade_no", "money",
                  "type", "pid"):
        event[field] = record.get(field, "")
    params = record.get("params") or {}
    event["trade_status"] = params.get("trade_status", "")
    for field in ("valid", "verdict", "reason", "duplicate_count", "content_changed",
                  "order_amount", "answer", "answer_status", "delivered", "answered_by",
                  "forward"):
        event[field] = record.get(field)
    event["duplicate_count"] = event["duplicate_count"] or 0
    event["content_changed"] = bool(event["content_changed"])
    report = record.get("report") or {}
    event["sign_type"] = report.get("sign_type", "")
    event["check"] = report or None
    event["params"] = record.get("params")
    return event


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)


class _Headers:
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


class _BodyProblem(Exception):
    def __init__(self, status: int, kind: str, message: str, size: int) -> None:
        super().__init__(message)
        self.status, self.kind, self.message, self.size = status, kind, message, size


class _Handler(BaseHTTPRequestHandler):
    """One connection; requests on it one after another (HTTP/1.1 keep-alive)."""

    engine: _Engine
    protocol_version = "HTTP/1.1"
    server_version = "epay-listen"
    sys_version = ""
    disable_nagle_algorithm = True

    def setup(self) -> None:
        super().setup()
        self.cut = False
        self.started = time.perf_counter()
        self.received_at = time.time()
        self.headers = None
        self.command = None

    def log_message(self, format, *args) -> None:  # noqa: A002 - the engine never prints
        pass

    def handle_one_request(self) -> None:
        engine = self.engine
        engine.arm(self)
        try:
            self._one_request(engine)
        except OSError:  # the client went away, or the read timed out
            self.close_connection = True
        except Exception as error:  # noqa: BLE001 - a bug: said once, not a traceback
            self.close_connection = True
            engine.emit({"event": "internal_error", "time": iso_time(engine.clock()),
                         "message": f"{type(error).__name__}: {error}"[:300]})
        finally:
            engine.disarm(self)

    def _one_request(self, engine: _Engine) -> None:
        self.headers, self.command = None, None
        line = self.rfile.readline(65537)
        if not line:
            self.close_connection = True
            return
        self.started, self.received_at = time.perf_counter(), engine.clock()
        self.raw_requestline = line
        self.requestline = line.decode("latin-1").rstrip("\r\n")
        if len(line) > 65536:
            self.send_error(414, "the request line is longer than 64 KiB")
            return
        if not line.endswith(b"\n"):
            self._incomplete("the request line")
            return
        if not self.parse_request():
            return
        if self.cut or not self.headers_complete:
            self._incomplete("the headers")
            return
        if self.command not in ("GET", "POST"):
            self.send_error(405, f"method {self.command} is not used for notifies (GET or POST)")
            return
        engine.handle(self)

    def parse_request(self) -> bool:
        """The request line and headers (the stdlib's rules, without its email parser, which
        costs more than judging the notify). False once an error was answered."""
        self.command, self.request_version = None, "HTTP/0.9"
        self.close_connection = True
        self.headers_complete = False
        words = self.requestline.split()
        if not words:
            return False
        if len(words) != 3:
            self.send_error(400, "HTTP/0.9 requests are not accepted" if len(words) == 2
                            else f"bad request line {self.requestline[:80]!r}")
            return False
        command, path, version = words
        number = version[5:].split(".") if version.startswith("HTTP/") else []
        if len(number) != 2 or not all(p.isdigit() and len(p) <= 10 for p in number):
            self.send_error(400, f"bad request version {version[:20]!r}")
            return False
        if int(number[0]) >= 2:
            self.send_error(505, f"HTTP version {version[5:]} is not supported")
            return False
        self.close_connection = (int(number[0]), int(number[1])) < (1, 1)
        self.command, self.path, self.request_version = command, path, version
        headers = _Headers()
        self.headers = headers
        while True:
            line = self.rfile.readline(65537)
            if len(line) > 65536:
                self.send_error(431, "a header line is longer than 64 KiB")
                return False
            if line in (b"\r\n", b"\n"):
                self.headers_complete = True
                break
            if not line:
                return True  # cut off: the caller answers (408, or 400 for a closed sender)
            if len(headers) >= 100:
                self.send_error(431, "more than 100 headers")
                return False
            text = line.decode("iso-8859-1").rstrip("\r\n")
            name, colon, value = text.partition(":")
            if not colon or not name or name != name.strip():
                self.send_error(400, f"malformed header line {text[:40]!r}")
                return False
            headers.add(name, value.strip())
        connection = headers.get("Connection", "").lower()
        if connection == "close":
            self.close_connection = True
        elif connection == "keep-alive":
            self.close_connection = False
        if headers.get("Expect", "").lower() == "100-continue" and \
                self.request_version >= "HTTP/1.1":
            return self.handle_expect_100()
        return True

    def _incomplete(self, what: str) -> None:
        self.close_connection = True
        if self.cut:
            message = f"{what} did not arrive within {self.engine.read_timeout:g} s"
            self.engine.refuse(self, 408, message, kind="timeout", path=self._path_guess())
        else:
            message = f"{what} ended before it was complete"
            self.engine.refuse(self, 400, message, kind="bad_request", path=self._path_guess())

    def _path_guess(self) -> str:
        words = getattr(self, "requestline", "").split()
        return words[1].partition("?")[0] if len(words) >= 2 else ""

    def read_body(self, limit: int) -> bytes:
        headers = self.headers
        encoding = headers.get("Transfer-Encoding", "").lower()
        if "chunked" in encoding:
            return self._read_chunked(limit)
        length_text = headers.get("Content-Length")
        if length_text is None:
            return b""
        if not length_text.strip().isdigit():
            raise _BodyProblem(400, "bad_request", f"Content-Length {length_text!r} is not a number",
                               0)
        length = int(length_text)
        if length > limit:
            self.close_connection = True  # the body is left unread
            raise _BodyProblem(413, "too_large", f"the body is {length} bytes; at most "
                               f"{limit // 1024} KiB is accepted", length)
        try:
            body = self.rfile.read(length) if length else b""
        except TimeoutError:
            body, self.cut = b"", True
        if len(body) < length:
            self.close_connection = True
            kind, status = ("timeout", 408) if self.cut else ("bad_request", 400)
            raise _BodyProblem(status, kind, f"the body ended after {len(body)} of {length} "
                               "bytes" + (" (read deadline)" if self.cut else ""), len(body))
        return body

    def _read_chunked(self, limit: int) -> bytes:
        parts, size = [], 0
        while True:
            line = self.rfile.readline(1024)
            try:
                chunk = int(line.split(b";")[0].strip() or b"x", 16)
            except ValueError:
                self.close_connection = True
                raise _BodyProblem(400, "bad_request", "a chunk size is malformed", size) from None
            if chunk == 0:
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(parts)
            size += chunk
            if size > limit:
                self.close_connection = True
                raise _BodyProblem(413, "too_large", f"the body is over {limit // 1024} KiB",
                                   size)
            data = self.rfile.read(chunk)
            self.rfile.readline(3)
            if len(data) < chunk:
                self.close_connection = True
                raise _BodyProblem(400, "bad_request", "the chunked body ended early", size)
            parts.append(data)

    def handle_expect_100(self) -> bool:
        length = self.headers.get("Content-Length", "")
        if length.isdigit() and int(length) > self.engine.max_body:
            self.engine.disarm(self)
            self.close_connection = True
            self.engine.refuse(self, 413, f"the body is {length} bytes; at most "
                               f"{self.engine.max_body // 1024} KiB is accepted",
                               kind="too_large", path=self._path_guess(),
                               body_size=int(length))
            return False
        return super().handle_expect_100()

    def send_error(self, code, message=None, explain=None) -> None:
        """Every refusal the stdlib makes (bad request line, header too long …) is journaled."""
        self.close_connection = True
        self.engine.refuse(self, int(code), message or HTTPStatus(code).phrase,
                           kind="bad_request", path=self._path_guess())

    def answer(self, status: int, body: str) -> None:
        data = body.encode("utf-8")
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = "Status"
        head = (f"HTTP/1.1 {status} {phrase}\r\nContent-Type: text/plain; charset=utf-8\r\n"
                f"Content-Length: {len(data)}\r\n")
        if self.close_connection:
            head += "Connection: close\r\n"
        self.wfile.write(head.encode("latin-1") + b"\r\n" + data)
        self.wfile.flush()
