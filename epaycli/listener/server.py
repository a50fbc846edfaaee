"""The notify receiver: one asyncio event loop in a background thread serves every connection
(HTTP/1.1 keep-alive, backlog 128, no Nagle), with bounded requests (``http.RequestReader``:
64 KiB bodies, else 413) and a read deadline per request that a slowloris sender cannot
stretch. One thread, not one per connection: a notify costs a few dozen microseconds of
judging, and threads would spend more than that handing the GIL to each other.

Each request is judged, handed to the journal's writer thread and answered only once it is
committed; its event (``events.Notify``, a frozen dataclass) goes to ``on_event`` just before
the answer is written, so a client that has its answer can rely on the event being out. The
engine never prints. ``_Engine.handle`` is the request's whole meaning without a socket.
"""

from __future__ import annotations

import asyncio
import errno
import functools
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from secrets import token_hex
from typing import TYPE_CHECKING

from ..core.errors import ConfigError, EpayError, InputError
from ..core.notify import DELIVERY_TIMEOUT_SECONDS, changed_fields, counts_as_delivered
from ..core.signing import Keys
from ..core.words import Text, words_of
from ..state import RecordedOrders
from .events import BadRequest, InternalError, ListenEvent, Notify, NotJournaled
from .http import METHODS, REFUSALS, Head, Refusal, Request, RequestReader
from .journal import Done, Journal, JournalError, RawRequest, Record, iso_time
from .judge import (
    KEEP_FIRST_COPIES,
    Duplicates,
    Judgement,
    Masker,
    Seen,
    fingerprint,
    judge,
    read_params,
)

if TYPE_CHECKING:
    from ..state import LocalState
    from .forwarder import Forwarded, Forwarder, Workers

MAX_BODY_BYTES = 64 * 1024
READ_TIMEOUT_SECONDS = 10.0
HEALTH_PATH = "/.epay-listen/health"
DEFAULT_NOTIFY_PATH = "/notify"
_WATCH_INTERVAL = 0.2
_LINGER_SECONDS = 1.0  # after a refusal, unread bytes are drained this long before closing
_PAUSE_READING_AT = 256 * 1024  # bytes waiting behind a request that is being answered
_WRITE_BUFFER_HIGH = 64 * 1024  # answers a client has not read: above this, serve it no more
_RECEIVE_BYTES = 64 * 1024  # one read at the most (the buffer each connection receives into)
MAX_CONNECTIONS = 1024  # at once; more are closed as they come (as the local gateway does)
_STOP_WAIT_SECONDS = 5.0
_FORWARD_STOP_SECONDS = 2.0  # how long close() waits for forwards still in flight
# A request whose commit takes longer is answered 503 (a gateway waits 5 s). A journal locked
# by another program fails sooner, after journal.BUSY_SECONDS: this is for a disk that stalls.
_COMMIT_WAIT_SECONDS = 4.0
_PHRASES = {status.value: status.phrase for status in HTTPStatus}
_REPLY_HELP = "use auto, success, fail, timeout or status:NNN (e.g. status:500)"

OnEvent = Callable[[ListenEvent], None]


class ListenError(ConfigError):
    """The listener cannot start (port taken or not allowed): a set-up problem, exit 6 like
    the local gateway's."""

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
        raise InputError("unknown reply {reply!r}", _REPLY_HELP, code="bad_reply",
                         fields={"reply": text})


@dataclass(frozen=True)
class _Answer:
    status: int
    body: str
    by: str  # verdict | reply | forward
    delay: float = 0.0


class Listener:
    """A running listener. ``url`` is the notify URL to give a gateway; ``close()`` stops it
    (also as a context manager)."""

    def __init__(self, runner: _Runner, engine: _Engine) -> None:
        self._runner, self._engine = runner, engine
        host, port = runner.address[:2]
        self.host, self.port = host, port
        shown = "127.0.0.1" if host in ("0.0.0.0", "") else (f"[{host}]" if ":" in host else host)
        self.base_url = f"http://{shown}:{port}"
        self.path = engine.path
        self.url = self.base_url + (engine.path or DEFAULT_NOTIFY_PATH)
        self.health_url = self.base_url + HEALTH_PATH
        self.health_token = engine.health_token
        self.journal = engine.journal
        self._closed = False

    @property
    def answered(self) -> int:
        return self._engine.answered

    def close(self) -> None:
        """Stop accepting, commit and answer what is waiting, then end the connections."""
        if self._closed:
            return
        self._closed = True
        runner, engine = self._runner, self._engine
        runner.call(runner.stop_accepting)
        runner.call(engine.hand_over)  # what was read is committed and answered …
        engine.journal.close()  # … its last commits queue their answers on the loop …
        runner.call(engine.end_connections)  # … which runs them before this
        runner.stop()
        engine.close()

    def __enter__(self) -> Listener:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def start_listener(*, keys: Keys, journal: Path | str, host: str = "127.0.0.1", port: int = 0,
                   path: str | None = None, pid: str | None = None,
                   forward_to: str | None = None, reply: str | Reply = "auto",
                   on_event: OnEvent | None = None,
                   on_events_out: Callable[[], None] | None = None,
                   state: LocalState | None = None,
                   clock: Callable[[], float] = time.time,
                   read_timeout: float = READ_TIMEOUT_SECONDS,
                   max_body: int = MAX_BODY_BYTES, secrets_to_mask: tuple[str, ...] = (),
                   forward_timeout: float = DELIVERY_TIMEOUT_SECONDS) -> Listener:
    """Start a notify listener in a background thread and return it once it accepts requests.

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
    - ``on_event``: called (from the listener's thread) with one ``events`` dataclass per
      request (``Notify`` or ``BadRequest``: verdict, duplicates, answer, timings …), a
      ``NotJournaled`` when a request could not be journaled (answered 503), and an
      ``InternalError`` for a bug (the connection is closed). ``to_dict()`` is the JSON form
      (docs/events.md).
    - ``on_events_out``: called once the events of the requests about to be answered were all
      given to ``on_event``, before any answer is written: a renderer that holds its lines
      back (one write for a batch of notifies, not one each) puts them out here.
    - ``state``: an ``epaycli.state.LocalState`` whose recorded orders give the expected
      amount, or ``None``.
    - ``forward_timeout``: how long the handler may take (a gateway waits 5 s).
    - ``read_timeout``: a request must arrive whole within this many seconds (slowloris).
    - ``secrets_to_mask``: further secrets (the merchant key is always masked) that must
      never reach the journal or an event.

    Raises ``ListenError`` (port taken, address not local), ``InputError`` (bad host, reply,
    forward URL) or ``ConfigError`` (journal not writable).
    """
    path, reply = _normal_path(path), Reply.parse(reply)  # refused before the journal opens
    engine = _Engine(keys=keys, journal=Journal(journal), path=path, pid=pid,
                     reply=reply, on_event=on_event, on_events_out=on_events_out,
                     state=state, clock=clock,
                     read_timeout=read_timeout, max_body=max_body,
                     secrets=tuple(s for s in (*_key_secrets(keys), *secrets_to_mask) if s))
    try:
        if forward_to:
            from .forwarder import Forwarder

            engine.forwarder = Forwarder(forward_to, timeout=forward_timeout)
        runner = _Runner(engine, _bind(host, port))
    except BaseException:
        engine.close()
        raise
    return Listener(runner, engine)


def _key_secrets(keys: Keys) -> tuple[str, ...]:
    return (keys.md5.secret,) if keys.md5 is not None else ()


def _normal_path(path: str | None) -> str | None:
    if path is None or path in ("", "*"):
        return None
    if not path.startswith("/") or any(ch in path for ch in "?# \r\n"):
        raise InputError("the path {path!r} is not a URL path",
                         "give it as /notify (no query, no spaces)", code="bad_path",
                         fields={"path": path})
    return path


def _bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host``:``port``, or the error that says why not."""
    if not 0 <= port <= 65535:
        raise InputError("port {port} is out of range", "give a port from 1 to 65535, or 0",
                         code="bad_port", fields={"port": port})
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
        return sock
    except (OSError, OverflowError) as error:
        sock.close()
        raise _bind_error(error, host, port) from None


def _bind_error(error: OSError | OverflowError, host: str, port: int) -> EpayError:
    if isinstance(error, socket.gaierror):
        return InputError("cannot listen on {host!r}: not an address of this machine",
                          "give an address of this machine, e.g. 127.0.0.1", code="bad_host",
                          fields={"host": host})  # (no such name at all)
    if isinstance(error, OverflowError):
        return InputError("port {port} is out of range", "give a port from 1 to 65535, or 0",
                          code="bad_port", fields={"port": port})
    if error.errno == errno.EADDRINUSE:
        return ListenError("port {port} on {host} is already in use",
                           "pick another port, or port 0 for a free one", code="port_in_use",
                           fields={"port": port, "host": host})
    if error.errno in (errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT, errno.EINVAL):
        return InputError("cannot listen on {host!r}: not an address of this machine",
                          "give an address of this machine, e.g. 127.0.0.1", code="bad_host",
                          fields={"host": host})
    if error.errno == errno.EACCES:
        return ListenError("not allowed to listen on port {port}",
                           "ports below 1024 need privileges: pick a higher one",
                           code="port_denied", fields={"port": port})
    return ListenError("cannot listen on {host}:{port} ({reason})", "pick another host or port",
                       code="cannot_listen",
                       fields={"host": host, "port": port, "reason": error.strerror})


class _Runner:
    """The event loop's thread: serves the socket until ``stop()``."""

    def __init__(self, engine: _Engine, sock: socket.socket) -> None:
        self.engine = engine
        self.address = sock.getsockname()
        self.loop = asyncio.new_event_loop()
        self._server: asyncio.AbstractServer | None = None
        self._failure: BaseException | None = None
        ready = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(sock, ready),
                                        name="epay-listen", daemon=True)
        self._thread.start()
        ready.wait()
        if self._failure is not None:
            raise ListenError("cannot serve on {host}:{port} ({reason})",
                              "pick another address or port", code="cannot_serve",
                              fields={"host": self.address[0], "port": self.address[1],
                                      "reason": str(self._failure)})

    def _run(self, sock: socket.socket, ready: threading.Event) -> None:
        loop = self.loop
        asyncio.set_event_loop(loop)
        try:
            self._server = loop.run_until_complete(loop.create_server(
                lambda: _Connection(self.engine), sock=sock, backlog=128))
            self.engine.attach(loop)
        except Exception as error:  # noqa: BLE001 - said by the thread that started us
            self._failure = error
            sock.close()
            loop.close()
            ready.set()
            return
        ready.set()
        try:
            loop.run_forever()
        finally:
            loop.close()

    def call(self, function: Callable[[], object]) -> None:
        """Run ``function`` on the loop and wait for it (bounded: a stuck loop is not waited for)."""
        finished = threading.Event()

        def run() -> None:
            try:
                function()
            finally:
                finished.set()

        try:
            self.loop.call_soon_threadsafe(run)
        except RuntimeError:  # the loop is closed already
            return
        finished.wait(_STOP_WAIT_SECONDS)

    def stop_accepting(self) -> None:
        if self._server is not None:
            self._server.close()

    def stop(self) -> None:
        try:
            self.loop.call_soon_threadsafe(self.loop.stop)
        except RuntimeError:
            pass
        self._thread.join(_STOP_WAIT_SECONDS)


class _Engine:
    """Everything the connections share: keys, journal, duplicates, the forwarder. Runs on
    the loop's thread, except ``_committed_soon`` (the journal's writer)."""

    loop: asyncio.AbstractEventLoop  # set by attach(), before the first connection

    def __init__(self, *, keys: Keys, journal: Journal, path: str | None, pid: str | None,
                 reply: Reply, on_event: OnEvent | None, state: LocalState | None,
                 clock: Callable[[], float], read_timeout: float, max_body: int,
                 secrets: tuple[str, ...],
                 on_events_out: Callable[[], None] | None = None) -> None:
        self.keys, self.journal, self.path, self.pid = keys, journal, path, pid
        self.reply, self.on_event, self.clock = reply, on_event, clock
        self.on_events_out = on_events_out
        # epay's recorded orders, held in memory and read again when the file changes: a
        # SQLite read a notify costs the loop ~50 µs, as it hands the GIL to the journal's writer
        self.orders = RecordedOrders(state) if state is not None else None
        self._orders_fresh = False  # asked this turn of the loop whether the file changed
        self._attached = False  # to a loop, whose turns bound how fresh the orders are
        self.read_timeout, self.max_body = read_timeout, max_body
        self.masker = Masker(secrets)
        self.duplicates = Duplicates()
        self.duplicates.load(journal.fingerprints(), journal.first_copies(KEEP_FIRST_COPIES))
        self.forwarder: Forwarder | None = None
        self._forward_workers: Workers[Forwarded] | None = None
        self.health_token = token_hex(8)  # tells this listener apart from any other
        self.answered = 0
        self.connections: set[_Connection] = set()
        self._to_journal: list[_Waiting] = []  # read in this turn of the loop
        # filled by the writer, emptied by the loop: (waiting, record id, error)
        self._committed: deque[tuple[_Waiting, int | None, Exception | None]] = deque()
        self._wake_pending = False

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop, self._attached = loop, True
        loop.set_exception_handler(self._loop_failure)
        loop.call_later(_WATCH_INTERVAL, self._watch)

    def _loop_failure(self, loop: asyncio.AbstractEventLoop,
                      context: dict[str, object]) -> None:
        # Whatever escaped a callback: one event, never a traceback on the user's terminal.
        error = context.get("exception")
        message = f"{type(error).__name__}: {error}" if error else context.get("message", "")
        self.emit(InternalError(iso_time(self.clock()), str(message)[:300]))

    def _watch(self) -> None:
        # One timer for all connections: a request (or an idle keep-alive connection) that is
        # not read whole by its deadline is refused with 408 (or, idle, closed).
        now = time.monotonic()
        try:
            for connection in [c for c in self.connections if c.deadline < now]:
                try:
                    connection.expired()
                except Exception as error:  # noqa: BLE001 - a bug: said once, not a traceback
                    self.internal_error(connection, error)
        finally:
            self.loop.call_later(_WATCH_INTERVAL, self._watch)

    def end_connections(self) -> None:
        self._drain_committed()
        for connection in list(self.connections):
            connection.abort()

    def close(self) -> None:
        if self.forwarder is not None:
            self.forwarder.close()  # idle connections to the handler end; one in use does not
        if self._forward_workers is not None:
            self._forward_workers.close(timeout=_FORWARD_STOP_SECONDS)
        if self.orders is not None:
            self.orders.close()
        self.journal.close()

    def emit(self, event: ListenEvent) -> None:
        if self.on_event is not None:
            try:
                self.on_event(event)
            except Exception:  # noqa: BLE001 - a broken observer must not break the listener
                pass

    def internal_error(self, connection: _Connection, error: Exception) -> None:
        """A bug: said once as an event, the connection closed, the listener serving on."""
        self.emit(InternalError(iso_time(self.clock()), f"{type(error).__name__}: {error}"[:300]))
        connection.abort()

    # ---- one request: pure (no socket, no journal) -------------------------------------

    def handle(self, request: Request) -> Outcome:
        """What one request comes to — the record to journal, the answer, the event — with no
        socket and no journal: judged, duplicates counted, masked. A notify the shop's handler
        is to see first is passed on by ``serve``, then ``conclude``d with its answer."""
        prepared = self.prepare(request)
        return prepared if isinstance(prepared, Outcome) else self.conclude(prepared, None)

    def prepare(self, request: Request) -> Outcome | _Judged:
        """The request read: a health check, a 404 or a 400 as its ``Outcome``; a notify
        judged, on its way to an answer (``conclude``)."""
        head, body = request.head, request.body
        raw_path, _, query = head.target.encode("latin-1", "replace").partition(b"?")
        query = query.partition(b"#")[0]
        path = raw_path.decode("utf-8", "replace")
        close = not head.keep_alive
        if path == HEALTH_PATH:  # a body on a health check is dropped; nothing journaled
            return Outcome(None, _Answer(200, f"epay-listen {self.health_token}", "reply"),
                           None, close)
        if self.path is not None and path != self.path:
            return self.refusal(head, request, 404,
                                Text("refusals.not_found", REFUSALS["not_found"],
                                     path=self.path),
                                kind="not_found", path=path, query=query,
                                close=close)  # read whole: the connection stays usable
        try:
            params, source = read_params(head.method, query, body,
                                         head.headers.get("Content-Type", ""))
        except InputError as error:  # read whole: the connection stays usable
            return self.refusal(head, request, 400, error.said, path=path, query=query,
                                close=close)
        judged_at = time.perf_counter()
        verdict = judge(params, self.keys, pid=self.pid, now=int(self.clock()),
                        state=self._orders_now())
        print_ = fingerprint(params)
        plain = self.masker.plain(params)
        masked = params if plain else self.masker.params(params)
        seen = self.duplicates.note(params.get("trade_no", ""), print_, masked)
        return _Judged(request, path, query, params, source, close, verdict, print_, plain,
                       masked, seen, _ms(judged_at))

    def _orders_now(self) -> RecordedOrders | None:
        """The recorded orders as of this turn of the loop: whether the file changed is asked
        once a turn, before its first notify is judged (``handle`` with no loop: every time)."""
        orders = self.orders
        if orders is not None and not self._orders_fresh:
            orders.refresh()
            if self._attached:
                self._orders_fresh = True
                self.loop.call_soon(self._orders_go_stale)
        return orders

    def _orders_go_stale(self) -> None:
        self._orders_fresh = False

    def conclude(self, judged: _Judged, forwarded: Forwarded | None) -> Outcome:
        """A judged notify (and the shop's handler's answer, when forwarding) as its
        ``Outcome``."""
        verdict, params, request = judged.verdict, judged.params, judged.request
        answer = self._answer(verdict.valid, forwarded)
        plain, masked, seen = judged.plain, judged.masked, judged.seen
        # None: changed, but the first copy is no longer kept
        changes: list[dict[str, str | None]] | None = []
        if seen.changed:
            changes = None if seen.first is None else [
                change.to_dict() for change in changed_fields(seen.first, masked)]
        timings = {"judge_ms": judged.judge_ms,
                   "forward_ms": round(forwarded.ms, 2) if forwarded is not None else 0.0}
        record: Record = {
            **self._raw(request.head, request, judged.path, judged.query, params,
                        judged.source, plain),
            "kind": "notify",
            "trade_no": masked.get("trade_no", ""),
            "out_trade_no": masked.get("out_trade_no", ""), "money": masked.get("money", ""),
            "type": masked.get("type", ""), "pid": masked.get("pid", ""), "params": masked,
            "valid": verdict.valid, "verdict": verdict.verdict,
            # A genuine sign over plain fields quotes no signed string, so nothing secret: the
            # (costly) search is for the verdicts that carry a diagnosis.
            "reason": verdict.reason if plain and verdict.valid else
            self.masker.anything(verdict.reason, params),
            "report": verdict.report if plain and verdict.valid else
            self.masker.anything(verdict.report, params),
            # how its sentences are said, for a reader in another language (masked alike)
            "words": None if verdict.valid else self.masker.anything(
                words_of(verdict.report), params) or None,
            "fingerprint": judged.fingerprint,
            "duplicate_count": seen.count, "content_changed": seen.changed,
            "changed_fields": changes,
            "order_amount": verdict.order_amount, "answer_status": answer.status,
            "answer": self.masker.anything(answer.body, params),  # a handler may echo anything
            "delivered": counts_as_delivered(answer.body),
            "answered_by": answer.by,
            "forward": None if forwarded is None else self.masker.anything(forwarded.to_dict(),
                                                                             params),
            "timings": timings,
        }
        return Outcome(record, answer, Notify, judged.close)

    def refused(self, refusal: Refusal, *, client: str = "",
                received_at: float = 0.0) -> Outcome:
        """A request the reader could not read (malformed, too large, cut off)."""
        # (no Request: the reader may have refused before it had a head)
        return self.refusal(refusal.head, _Unread(client, received_at), refusal.status,
                            refusal.told(self.masker.text),
                            kind=refusal.kind, path=refusal.path, body_size=refusal.size)

    def refusal(self, head: Head | None, request: Request | _Unread, status: int,
                message: str, *,
                kind: str = "bad_request", path: str = "", query: bytes = b"",
                body_size: int | None = None, close: bool = True) -> Outcome:
        """A request that is not a readable notify: journaled, answered ``status``. After a
        refusal the rest of the connection cannot be trusted (an unread body, a cut request),
        so it is closed unless the request was read whole (``close=False``)."""
        message = self.masker.text(message)  # it may quote the request line or a header
        answer = _Answer(status, f"fail: {message}", "verdict")
        # (a refusal has none of a notify's own keys: mypy wants them named beside a **)
        record: Record = {
            **self._raw(head, request, path, query),  # type: ignore[typeddict-item]
            "kind": kind, "params": None,
            "valid": False, "verdict": "malformed", "reason": message,
            "answer_status": status, "answer": answer.body, "delivered": False,
            "answered_by": "verdict", "timings": {},
        }
        if body_size is not None:
            record["body_size"] = body_size
        return Outcome(record, answer, BadRequest, close)

    def _raw(self, head: Head | None, request: Request | _Unread, path: str, query: bytes,
             params: dict[str, str] | None = None, source: str = "",
             plain: bool | None = None) -> RawRequest:
        """The request as it came (``head``: None when the reader refused it before it had
        one), masked; ``params`` (read from ``source``) spare the masking of that part when
        they hold nothing to mask (``plain``)."""
        masker, body = self.masker, request.body
        return {"received_at": request.received_at,
                "method": "" if head is None else head.method if head.method in METHODS
                else masker.text(head.method),
                "path": path if path == self.path else masker.text(path),
                "query": masker.raw(query, params if source == "query" else None, plain=plain),
                "headers": masker.headers(head.headers.items() if head is not None else []),
                "body": masker.raw(body, params if source == "body" else None, plain=plain),
                "body_size": len(body), "client": request.client}

    def _answer(self, valid: bool, forwarded: Forwarded | None) -> _Answer:
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

    # ---- one request on a connection ---------------------------------------------------

    def serve(self, connection: _Connection, request: Request) -> None:
        """Handle a request read whole: passed on to the shop's handler first when
        forwarding, then journaled and answered."""
        request.client, request.received_at = connection.client, connection.request_received_at
        prepared = self.prepare(request)
        if isinstance(prepared, Outcome):
            self._finish(connection, prepared)
        elif (forwarder := self.forwarder) is None:
            self._finish(connection, self.conclude(prepared, None))
        else:
            self._forward(connection, prepared, forwarder)

    def serve_refusal(self, connection: _Connection, refusal: Refusal) -> None:
        self._finish(connection, self.refused(refusal, client=connection.client,
                                              received_at=connection.request_received_at))

    def _forward(self, connection: _Connection, judged: _Judged, forwarder: Forwarder) -> None:
        if self._forward_workers is None:
            from .forwarder import Workers

            self._forward_workers = Workers(32, "epay-forward")
        loop, head = self.loop, judged.request.head

        def forwarded(result: Forwarded | None, error: Exception | None) -> None:  # a worker
            try:
                loop.call_soon_threadsafe(self._after_forward, connection, judged, result,
                                          error)
            except RuntimeError:  # the listener is stopping
                pass

        self._forward_workers.submit(forwarder.send, (
            head.method, judged.query, judged.request.body, head.headers.items(),
            connection.client), forwarded)

    def _after_forward(self, connection: _Connection, judged: _Judged,
                       result: Forwarded | None, error: Exception | None) -> None:
        try:
            if error is not None:
                raise error
            self._finish(connection, self.conclude(judged, result))
        except Exception as failure:  # noqa: BLE001 - a bug: said once, not a traceback
            self.internal_error(connection, failure)

    def _finish(self, connection: _Connection, outcome: Outcome) -> None:
        record = outcome.record
        if record is None:  # a health check: answered at once, not journaled
            connection.answer(outcome.answer.status, outcome.answer.body, outcome.close)
            connection.next_request()
            return
        self._journal_and_answer(connection, outcome, record)

    # ---- journal, then answer ----------------------------------------------------------

    def _journal_and_answer(self, connection: _Connection, outcome: Outcome,
                            record: Record) -> None:
        waiting = _Waiting(connection, outcome, record, time.perf_counter())
        connection.awaiting_commit = True  # a disk that stalls gets a 503 (see expired)
        connection.deadline = time.monotonic() + _COMMIT_WAIT_SECONDS
        if not self._to_journal:
            self.loop.call_soon(self.hand_over)
        self._to_journal.append(waiting)

    def hand_over(self) -> None:
        # The requests read in one turn of the loop go to the journal together, once the turn
        # is over: one batch, one fsync. Handed over one by one as they were read, the writer
        # would take each as soon as the loop let go of the GIL (at its next recv or send),
        # and commit batches of one or two: an fsync costs as much CPU as judging a notify.
        handing, self._to_journal = self._to_journal, []
        if not handing:
            return  # (handed over already: the listener is closing)
        try:
            self.journal.append_many([self._journal_entry(waiting) for waiting in handing])
        except JournalError as error:
            for waiting in handing:
                self.not_journaled(waiting.connection, error)
        except Exception:  # noqa: BLE001 - a record that cannot be stored fails itself only
            for waiting in handing:
                try:
                    self.journal.append_many([self._journal_entry(waiting)])
                except JournalError as error:
                    self.not_journaled(waiting.connection, error)
                except Exception as failure:  # noqa: BLE001 - a bug: said once
                    self.internal_error(waiting.connection, failure)

    def _journal_entry(self, waiting: _Waiting) -> tuple[Record, Done]:
        return waiting.record, functools.partial(self._committed_soon, waiting)

    def _committed_soon(self, waiting: _Waiting, record_id: int | None,
                        error: Exception | None) -> None:
        # The writer thread hands commits over in batches: one wake-up of the loop for all of
        # them. The flag is cleared before the queue is emptied, so nothing is left behind.
        self._committed.append((waiting, record_id, error))
        if not self._wake_pending:
            self._wake_pending = True
            try:
                self.loop.call_soon_threadsafe(self._drain_committed)
            except RuntimeError:  # the loop is closed: the listener is stopping
                pass

    def _drain_committed(self) -> None:
        self._wake_pending = False
        committed, answering = self._committed, []
        while committed:
            waiting, record_id, error = committed.popleft()
            connection = waiting.connection
            connection.awaiting_commit, connection.deadline = False, float("inf")
            if error is not None:
                self.not_journaled(connection, self.journal.failure(error))
            elif waiting.outcome.answer.delay:
                self.loop.call_later(waiting.outcome.answer.delay, self._answered,
                                     [(waiting, record_id)])
            else:
                answering.append((waiting, record_id))
        if answering:
            self._answered(answering)

    def _answered(self, answering: list[tuple[_Waiting, int | None]]) -> None:
        """Say the events of these committed requests, let the renderer put them out (one
        flush for all: ``on_events_out``), then answer them. Said before the answers are
        written: whoever has an answer can count on its event (and the terminal line) being
        out already; after it, that was a race."""
        said = []
        for waiting, record_id in answering:
            try:
                if self.on_event is not None:  # (an event nobody hears is not built)
                    record = waiting.record
                    # (a journaled outcome has its event type: only a health check has none)
                    self.emit(waiting.outcome.event_type.of(  # type: ignore[union-attr]
                        record, id=record_id, ms=_ms(waiting.connection.request_started),
                        timings={**record["timings"], "journal_ms": _ms(waiting.committing)}))
                said.append(waiting)
            except Exception as failure:  # noqa: BLE001 - one request's bug, not the batch's
                self.internal_error(waiting.connection, failure)
        self.events_out()
        for waiting in said:
            connection, outcome = waiting.connection, waiting.outcome
            try:
                connection.answer(outcome.answer.status, outcome.answer.body, outcome.close)
                self.answered += 1
                connection.next_request()
            except Exception as failure:  # noqa: BLE001 - one request's bug, not the batch's
                self.internal_error(connection, failure)

    def events_out(self) -> None:
        if self.on_events_out is not None:
            try:
                self.on_events_out()
            except Exception:  # noqa: BLE001 - a broken observer must not break the listener
                pass

    def not_journaled(self, connection: _Connection, error: JournalError) -> None:
        self.emit(NotJournaled(error.code, error.message, error.hint or "",
                               iso_time(self.clock())))
        self.events_out()
        # (said before the answer, as in _answered)
        connection.answer(503, "fail", True)  # what a gateway reads as "not delivered"


@dataclass(slots=True)
class Outcome:
    """What one request comes to: the record to journal (``None``: not journaled — a health
    check), the answer, the type of its event (said once the record is committed, with its id
    and times), and whether the connection closes after the answer."""

    record: Record | None
    answer: _Answer
    event_type: type[Notify] | type[BadRequest] | None
    close: bool

    @property
    def event(self) -> Notify | BadRequest | None:
        """The event, as far as it is known before the commit (no id, no times yet)."""
        if self.event_type is None or self.record is None:
            return None
        return self.event_type.of(self.record)


@dataclass(slots=True)
class _Judged:
    """A notify judged, on its way to its answer (through the shop's handler first, when
    forwarding)."""

    request: Request
    path: str
    query: bytes
    params: dict[str, str]
    source: str  # query | body: where the parameters were read
    close: bool
    verdict: Judgement
    fingerprint: str
    plain: bool  # nothing in params to mask
    masked: dict[str, str]  # params as stored and shown
    seen: Seen  # this trade_no before
    judge_ms: float


@dataclass(slots=True)
class _Unread:
    """A request the reader refused before it was whole (perhaps before it had a head)."""

    client: str
    received_at: float
    body: bytes = b""


@dataclass(slots=True)
class _Waiting:
    """A request handed to the journal: answered once it is committed."""

    connection: _Connection
    outcome: Outcome
    record: Record  # the outcome's (never None: a health check is not journaled)
    committing: float  # perf_counter when it was handed over


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)


class _Connection(asyncio.BufferedProtocol):
    """One client connection: its requests one after another (keep-alive, pipelining in
    order). While a request waits for its commit, later bytes wait in the reader. Bytes are
    received into one buffer per connection (a plain Protocol gets a new 256 KiB bytes object
    for every read, which costs three system calls a request)."""

    transport: asyncio.Transport  # set by connection_made, before anything else runs

    def __init__(self, engine: _Engine) -> None:
        self.engine = engine
        self.reader = RequestReader(engine.max_body)
        self.client = ""
        self.busy = False  # a request is being judged, journaled or answered
        self.closing = False  # answered for the last time: draining, then closed
        self.eof = False
        self.paused = False  # reading paused: bytes wait behind a request in hand
        self.blocked = False  # writing paused: the client does not read its answers
        self._advancing = False
        self.awaiting_commit = False
        self._receiving = memoryview(bytearray(_RECEIVE_BYTES))
        self.deadline = float("inf")
        self.started = self.request_started = time.perf_counter()  # the first byte arrived
        self.received_at = self.request_received_at = 0.0  # (of the request being served)

    # (create_server hands a protocol a socket Transport: a BaseTransport as typeshed has it)
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self.transport = transport
        connections = self.engine.connections
        if len(connections) >= MAX_CONNECTIONS:  # each may hold ~200 KiB unread
            # The idlest connection makes room (a gateway must still get in), else this one.
            idle = [c for c in connections if not c.busy and not c.reader.started
                    and not c.reader.held]
            if not idle:
                self.closing = True
                transport.abort()
                return
            idlest = min(idle, key=lambda c: c.deadline)
            idlest.abort()
            connections.discard(idlest)
        peer = transport.get_extra_info("peername")
        self.client = peer[0] if peer else ""
        self.engine.connections.add(self)
        self.deadline = time.monotonic() + self.engine.read_timeout
        transport.set_write_buffer_limits(high=_WRITE_BUFFER_HIGH)

    def connection_lost(self, exc: Exception | None) -> None:
        self.engine.connections.discard(self)
        self.closing, self.deadline = True, float("inf")

    def get_buffer(self, sizehint: int) -> memoryview:
        return self._receiving

    def buffer_updated(self, nbytes: int) -> None:
        self._received(self._receiving[:nbytes])

    def _received(self, data: memoryview) -> None:
        if self.closing:
            return  # drained: what follows a refusal is not read
        reader = self.reader
        if not reader.started:  # a request begins: it has the whole read deadline
            self.started, self.received_at = time.perf_counter(), self.engine.clock()
            # blank lines do not count (a memoryview equals the bytes it holds)
            if not self.busy and \
                    data[:1] not in (b"\r", b"\n"):  # type: ignore[comparison-overlap]
                self.deadline = time.monotonic() + self.engine.read_timeout
        reader.feed(data)
        if not self.busy and not self.blocked:
            self._advance()
        elif reader.held > _PAUSE_READING_AT and not self.paused:
            self.paused = True
            self.transport.pause_reading()

    def pause_writing(self) -> None:
        # The client does not read its answers: serve it nothing more until it does.
        self.blocked = True

    def resume_writing(self) -> None:
        self.blocked = False
        if not self.busy:
            self._advance()

    def eof_received(self) -> bool:
        self.eof = True
        if self.closing:
            self.transport.close()
        elif not self.busy:
            self._advance()
        return True  # the answer to a request still in hand is written before closing

    def _advance(self) -> None:
        """Serve the whole requests in the buffer, one after another, while each is answered
        at once (a health check); one waiting for its commit stops this until then."""
        if self._advancing:
            return  # called back from inside the loop below: it goes on by itself
        self._advancing = True
        try:
            while not (self.busy or self.closing or self.blocked):
                if not self._serve_next():
                    break
        except Exception as error:  # noqa: BLE001 - a bug: said once, not a traceback
            self.engine.internal_error(self, error)
        finally:
            self._advancing = False

    def _serve_next(self) -> bool:
        """Serve one request; False when none is whole yet."""
        reader, engine = self.reader, self.engine
        try:
            request = reader.next()
        except Refusal as refusal:
            self._start()
            engine.serve_refusal(self, refusal)
            return True
        if request is None:
            if self.eof:
                if reader.started:
                    self._start()
                    engine.serve_refusal(self, reader.stopped(cut=False))
                else:
                    self._end()
            elif reader.needs_continue():
                self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            if self.paused:
                self.paused = False
                self.transport.resume_reading()
            return False
        self._start()
        engine.serve(self, request)
        return True

    def _start(self) -> None:
        self.busy, self.deadline = True, float("inf")
        self.request_started, self.request_received_at = self.started, self.received_at

    def expired(self) -> None:
        """The read deadline passed: refuse a partial request (408), close an idle one; or
        the commit of the request in hand is overdue: 503, and closed."""
        if self.closing or self.transport is None:
            self.abort()
        elif self.awaiting_commit:
            self.awaiting_commit = False
            self.engine.not_journaled(self, JournalError(
                "the journal did not commit within {seconds:g} s", "check the disk",
                code="journal_unwritable", words="journal_commit_late",
                fields={"seconds": _COMMIT_WAIT_SECONDS}))
        elif not self.busy:
            if self.reader.started:
                self._start()
                self.engine.serve_refusal(self, self.reader.stopped(
                    cut=True, timeout=self.engine.read_timeout))
            else:
                self._end()

    def answer(self, status: int, body: str, close: bool) -> None:
        """Write the answer; a connection to be closed is closed once it is written."""
        if self.closing:
            return
        data = body.encode("utf-8", "backslashreplace")  # a refusal may quote a lone surrogate
        head = (f"HTTP/1.1 {status} {_PHRASES.get(status, 'Status')}\r\n"
                f"Content-Type: text/plain; charset=utf-8\r\nContent-Length: {len(data)}\r\n"
                + ("Connection: close\r\n\r\n" if close else "\r\n"))
        self.transport.write(head.encode("latin-1") + data)
        if close:
            self._end()

    def next_request(self) -> None:
        """The request is answered: read the next one (with its own deadline)."""
        if self.closing:
            return
        self.busy = False
        self.deadline = time.monotonic() + self.engine.read_timeout
        self._advance()

    def _end(self) -> None:
        """Close gently: our side is shut once the answer is out, and what the client still
        sends is drained for a moment (closing over unread bytes would reset the connection,
        and the client could lose the answer)."""
        if self.closing:
            return
        self.closing, self.busy = True, True
        self.reader.clear()
        self.deadline = time.monotonic() + _LINGER_SECONDS
        if self.paused:
            self.paused = False
            self.transport.resume_reading()
        if self.eof or not self.transport.can_write_eof():
            self.transport.close()
        else:
            self.transport.write_eof()

    def abort(self) -> None:
        """End the connection now, unsent answers and all (a bug, a client gone quiet, stop)."""
        self.closing, self.deadline = True, float("inf")
        if self.transport is not None:
            self.transport.abort()
