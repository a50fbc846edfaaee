"""The local gateway's HTTP server and its programmatic start (``start_gateway``).

stdlib ``ThreadingHTTPServer``, tuned as DESIGN.md says: a backlog of 128, HTTP/1.1 keep-alive,
Nagle off, daemon threads, request bodies bounded (413 above the limit), a read timeout that
ends slow or stalled requests, and every open connection shut when the gateway closes.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote_to_bytes

from ..core.errors import ConfigError, InputError
from ..core.models import SANDBOX_KEY, SANDBOX_PID
from ..core.notify import DELIVERY_TIMEOUT_SECONDS
from .events import MockEvent, RequestFailed
from .gateway import V2_PID, Gateway, Reply, Request
from .keys import MERCHANT_PRIVATE, PLATFORM_PUBLIC, V2Merchant, key_material
from .notifier import Faults, Notifier, notify_params, parse_faults
from .quirks import MODES, Quirks
from .store import DURABILITIES, GatewayStore, Order

MAX_BODY_BYTES = 1024 * 1024
READ_TIMEOUT_SECONDS = 10.0
MAX_LATENCY_MS = 60_000
MAX_CLOCK_OFFSET_SECONDS = 10 * 365 * 86400
MAX_CONNECTIONS = 512


class PortInUse(ConfigError):
    code = "port_in_use"


class _Server(ThreadingHTTPServer):
    request_queue_size = 128
    daemon_threads = True
    allow_reuse_address = True  # on Linux this only reuses TIME_WAIT: a live gateway still wins

    def __init__(self, address: tuple[str, int], handler: type[_Handler], *,
                 family: int) -> None:
        self.address_family = family
        self.open_connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(address, handler)

    max_connections = MAX_CONNECTIONS

    # A TCP server's request is its connection's socket (typeshed's type also allows a UDP
    # server's (data, socket) pair).
    def process_request(self, request: socket.socket,  # type: ignore[override]
                        client_address: Any) -> None:
        with self.connections_lock:
            crowded = len(self.open_connections) >= self.max_connections
            if not crowded:
                self.open_connections.add(request)
        if crowded:  # a thread per connection: refuse rather than grow without bound
            try:
                request.sendall(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n"
                                b"Connection: close\r\nRetry-After: 1\r\n\r\n")
            except OSError:
                pass
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def shutdown_request(self, request: socket.socket) -> None:  # type: ignore[override]
        with self.connections_lock:
            self.open_connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        with self.connections_lock:
            connections = list(self.open_connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class _BadRequest(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def parse_form(raw: bytes, *, what: str) -> dict[str, str]:
    """A query string or urlencoded body as PHP fills ``$_GET``/``$_POST`` (last one wins);
    the bytes must be UTF-8."""
    params: dict[str, str] = {}
    for piece in raw.split(b"&"):
        if not piece:
            continue
        name, _, value = piece.partition(b"=")
        try:
            key = unquote_to_bytes(name.replace(b"+", b" ")).decode("utf-8")
            text = unquote_to_bytes(value.replace(b"+", b" ")).decode("utf-8")
        except UnicodeDecodeError:
            raise _BadRequest(400, f"{what} is not UTF-8") from None
        if key:
            params[key] = text
    return params


class _Handler(BaseHTTPRequestHandler):
    """One connection. ``handle_one_request`` is replaced by a lean parser: the stdlib's runs
    every request's headers through the email package (~a third of the gateway's time per
    request), and writes status, headers and body in separate sends. Limits stay the
    stdlib's: 64 KiB per line, 100 headers."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    # set per gateway by start_gateway (a subclass each)
    timeout = READ_TIMEOUT_SECONDS
    gateway: Gateway
    body_limit = MAX_BODY_BYTES
    latency = 0.0
    on_error: Callable[[RequestFailed], None] | None = None

    def handle_one_request(self) -> None:
        try:
            self._handle_one()
        except (TimeoutError, ConnectionError):  # stalled or gone: end this connection
            self.close_connection = True

    def _handle_one(self) -> None:
        self.close_connection = True  # until a whole request says otherwise
        line = self.rfile.readline(MAX_LINE + 1)
        if not line:
            return
        parts = line.split()
        if len(line) > MAX_LINE:
            return self._refuse(414, "the request line is too long")
        if len(parts) != 3 or not parts[2].startswith(b"HTTP/1."):
            return self._refuse(400, "not an HTTP/1.x request line")
        method, target, version = (part.decode("latin-1") for part in parts)
        headers: dict[str, str] = {}
        while True:
            header = self.rfile.readline(MAX_LINE + 1)
            if not header:
                return  # the client went away mid-request
            if header in (b"\r\n", b"\n"):
                break
            if len(header) > MAX_LINE or len(headers) >= MAX_HEADERS:
                return self._refuse(431, "too many or too long headers")
            name, colon, value = header.decode("latin-1").partition(":")
            if not colon:
                return self._refuse(400, "a header line has no colon")
            headers[name.strip().lower()] = value.strip()
        connection = headers.get("connection", "").lower()
        keep_alive = connection == "keep-alive" if version == "HTTP/1.0" else connection != "close"
        self.command, self.path, self.request_version = method, target, version
        if method not in ("GET", "POST", "HEAD"):
            return self._refuse(501, f"method {method[:10]} is not served")
        if headers.get("expect", "").lower() == "100-continue":
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        self.close_connection = not keep_alive
        self._serve(headers, head=method == "HEAD")

    def _refuse(self, status: int, message: str) -> None:
        self.close_connection = True
        self._write(Reply(status, self.gateway.json({"code": -1, "msg": message}).body), False)

    def _serve(self, headers: dict[str, str], *, head: bool) -> None:
        try:
            request = self._read(headers)
        except _BadRequest as bad:
            return self._refuse(bad.status, bad.message)
        try:
            reply = self.gateway.handle(request)
        except Exception as error:  # noqa: BLE001 - one broken request must not kill the thread
            if self.on_error is not None:
                self.on_error(RequestFailed(request.path,
                                            f"{type(error).__name__}: {error}"[:300]))
            reply = Reply(500, self.gateway.json({"code": -1, "msg": "系统错误"}).body)
        if self.latency:
            time.sleep(self.latency)
        self._write(reply, head)

    def _read(self, headers: dict[str, str]) -> Request:
        path, _, query = self.path.partition("?")
        query = query.split("#", 1)[0]
        try:
            path = unquote_to_bytes(path).decode("utf-8")
        except UnicodeDecodeError:
            raise _BadRequest(400, "the path is not UTF-8") from None
        if headers.get("transfer-encoding"):
            raise _BadRequest(411, "send a Content-Length (chunked bodies are not taken)")
        length_text = headers.get("content-length", "0") or "0"
        if not (length_text.isascii() and length_text.isdigit()):
            raise _BadRequest(400, "Content-Length is not a number")
        length = int(length_text)
        if length > self.body_limit:
            raise _BadRequest(413, f"the body is over {self.body_limit} bytes")
        raw = self.rfile.read(length) if length else b""
        if len(raw) < length:
            raise _BadRequest(400, "the body ended early")
        form: dict[str, str] = {}
        content_type = headers.get("content-type", "")
        kind = content_type.split(";")[0].strip().lower()
        if self.command == "POST" and raw:
            if kind in ("", "application/x-www-form-urlencoded"):
                form = parse_form(raw, what="the form body")
            elif kind == "multipart/form-data":
                form = _multipart(raw, content_type)
        return Request(self.command, path, parse_form(query.encode("latin-1"),
                                                      what="the query string"), form)

    def _write(self, reply: Reply, head: bool) -> None:
        """Status line, headers and body in one send."""
        lines = [f"HTTP/1.1 {reply.status} {_reason(reply.status)}", "Server: epay-mock",
                 f"Date: {_http_date(self.gateway.clock())}", f"Content-Type: {reply.content_type}",
                 f"Content-Length: {len(reply.body)}"]
        lines.extend(f"{name}: {value}" for name, value in reply.headers.items())
        if self.close_connection:
            lines.append("Connection: close")
        head_bytes = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        self.wfile.write(head_bytes if head else head_bytes + reply.body)


MAX_LINE = 65536
MAX_HEADERS = 100
_date_cache: tuple[int, str] = (0, "")


def _http_date(moment: float) -> str:
    """The Date header (the gateway's clock, offset or not), made once a second rather than
    once a request."""
    global _date_cache
    now = int(moment)
    if _date_cache[0] != now:
        from email.utils import formatdate

        _date_cache = (now, formatdate(now, usegmt=True))
    return _date_cache[1]


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def _multipart(raw: bytes, content_type: str) -> dict[str, str]:
    """What PHP's $_POST holds for a multipart form (curl posts arrays that way)."""
    from email.parser import BytesParser
    from email.policy import HTTP

    message = BytesParser(policy=HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode("latin-1") + raw)
    form: dict[str, str] = {}
    if not message.is_multipart():
        raise _BadRequest(400, "the multipart body cannot be read")
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not name or part.get_filename():
            continue
        payload = part.get_payload(decode=True)  # bytes, but nothing for a nested message
        try:
            value = payload.decode("utf-8") if isinstance(payload, bytes) else None
        except UnicodeDecodeError:
            value = None
        if value is None:
            raise _BadRequest(400, f"the form field {name!r} is not UTF-8")
        form[str(name)] = value
    return form


@dataclass(repr=False)
class RunningGateway:
    """A started local gateway. ``url`` ends in '/'; ``pid``/``key`` are the V1 sandbox
    merchant's; ``v2`` the V2 merchant's pid, key and RSA keys. Close it (or use ``with``)."""

    url: str
    host: str
    port: int
    pid: str
    key: str
    v2: V2Merchant
    data_dir: Path | None
    keys_created: bool
    quirks: Quirks
    store: GatewayStore
    gateway: Gateway
    _server: _Server
    _thread: threading.Thread
    _notifier: Notifier
    _closed: bool = False

    def __repr__(self) -> str:
        return f"RunningGateway({self.url}, data_dir={self.data_dir})"

    def __enter__(self) -> RunningGateway:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def deliveries(self, *, trade_no: str | None = None,
                   out_trade_no: str | None = None) -> list[dict[str, Any]]:
        """Every notify sent (or dropped), oldest first: trade_no, attempt, copy, at, method,
        url, status, body (first 500 characters), error, delivered, faults, elapsed_ms."""
        if out_trade_no is not None:
            numbers = [o.trade_no for o in self.store.orders_with_number(out_trade_no)]
            return self.store.deliveries(numbers)
        return self.store.deliveries(None if trade_no is None else [trade_no])

    def wait_for_deliveries(self, count: int, *, trade_no: str | None = None,
                            timeout: float = 10.0) -> list[dict[str, Any]]:
        """Wait until at least ``count`` deliveries were made (of ``trade_no``); all of them."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.deliveries(trade_no=trade_no)
            if len(found) >= count or time.monotonic() > deadline:
                return found
            time.sleep(0.01)

    def create_merchant(self, *, refund_api: bool | None = None) -> tuple[str, str]:
        """A new merchant (pid, key); its refund API as a new real merchant's unless given."""
        enabled = self.quirks.refund_api_default if refund_api is None else refund_api
        merchant = self.store.create_merchant(refund_api=enabled, now=int(time.time()))
        return str(merchant.pid), merchant.key

    def serve_until(self, stop: threading.Event) -> None:
        """Block until ``stop`` is set (or the server thread ends)."""
        while not stop.wait(0.2):
            if not self._thread.is_alive():
                return

    def close(self) -> None:
        """Stop serving, end open connections and pending notifies, close the store."""
        if self._closed:
            return
        self._closed = True
        self._server.shutdown()
        self._server.server_close()
        self._server.close_connections()
        self._notifier.close()
        self._thread.join(timeout=5)
        self.store.close()


def start_gateway(port: int = 0, data_dir: str | Path | None = None, time_scale: float = 1.0,
                  latency_ms: float = 0, quirks: str = "real",
                  faults: Iterable[str] | Faults = (),
                  host: str = "127.0.0.1", *, read_timeout: float = READ_TIMEOUT_SECONDS,
                  body_limit: int = MAX_BODY_BYTES,
                  on_event: Callable[[MockEvent], None] | None = None,
                  clock: Callable[[], float] = time.time,
                  notify_timeout: float = DELIVERY_TIMEOUT_SECONDS,
                  durability: str = "commit",
                  max_connections: int = MAX_CONNECTIONS,
                  clock_offset: float = 0) -> RunningGateway:
    """Start a local Epay gateway on ``host:port`` (0: a free port) in background threads.

    ``data_dir=None`` keeps everything in memory (keys included); a directory keeps the
    database and the V2 keys there, so a restart loses nothing. ``time_scale`` multiplies the
    notify retry schedule; ``latency_ms`` delays every answer; ``quirks`` is ``real`` or
    ``clean``; ``faults`` apply to every notify (see ``notifier``). ``on_event`` receives the
    events of ``mock.events`` (a ``NotifyAttempt`` per notify sent, a ``RequestFailed`` per
    request that broke) from the gateway's threads. ``read_timeout``,
    ``body_limit`` and ``notify_timeout`` (5 s, as real servers) exist for tests.
    ``durability`` (on disk): ``commit`` (every order committed before the answer; survives
    the gateway being killed) or ``fsync`` (synced to disk before the answer; survives a power
    cut; concurrent orders share an fsync) — see ``store``. ``clock_offset`` (seconds) puts the
    gateway's clock ahead (or, negative, behind): its Date header, V2 timestamp window and
    answers' timestamps, as a gateway whose server clock is wrong."""
    if quirks not in MODES:
        raise InputError("quirks must be real or clean, not {quirks!r}", code="bad_quirks",
                         fields={"quirks": quirks})
    if not 0 < time_scale <= 1000:
        raise InputError("time scale {scale:g} is not above 0 (and at most 1000)",
                         "0.001 makes the 55-minute retry come after 3.3 s", code="bad_time_scale",
                         fields={"scale": time_scale})
    if not 0 <= latency_ms <= MAX_LATENCY_MS:
        raise InputError("latency {latency:g} ms is not between 0 and {limit}",
                         code="bad_latency", fields={"latency": latency_ms, "limit": MAX_LATENCY_MS})
    if not abs(clock_offset) <= MAX_CLOCK_OFFSET_SECONDS:
        raise InputError("clock offset {offset:g} s is beyond ±{limit} s", code="bad_clock_offset",
                         fields={"offset": clock_offset, "limit": MAX_CLOCK_OFFSET_SECONDS})
    if clock_offset:
        base_clock = clock

        def clock() -> float:
            return base_clock() + clock_offset

    if durability not in DURABILITIES:
        raise InputError("durability must be commit or fsync, not {durability!r}",
                         code="bad_durability", fields={"durability": durability})
    if not 0 <= port <= 65535:
        raise InputError("port {port} is out of range", "give a port from 1 to 65535, or 0",
                         code="bad_port", fields={"port": port})
    chosen_faults = parse_faults(faults) if not isinstance(faults, Faults) else faults
    behaviour = Quirks.named(quirks)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    handler: type[_Handler] = type("GatewayHandler", (_Handler,), {"timeout": read_timeout,
                                                   "body_limit": body_limit,
                                                   "latency": latency_ms / 1000,
                                                   "on_error": staticmethod(on_event)
                                                   if on_event else None})
    try:
        server = _Server((host, port), handler, family=family)
        server.max_connections = max_connections
    except OSError as error:
        if error.errno in (98, 48, 10048):  # EADDRINUSE on Linux, macOS, Windows
            raise PortInUse("port {port} on {host} is already in use",
                            "pick another port, or port 0 for a free one", code="port_in_use",
                            fields={"port": port, "host": host}) from None
        raise ConfigError("cannot listen on {host}:{port} ({reason})",
                          "pick another host or port", code="cannot_listen",
                          fields={"host": host, "port": port,
                                  "reason": error.strerror or str(error)}) from None
    try:
        bound_port = server.server_address[1]
        shown_host = f"[{host}]" if family == socket.AF_INET6 else host
        if host in ("0.0.0.0", "::", ""):
            shown_host = "127.0.0.1"
        url = f"http://{shown_host}:{bound_port}/"
        folder = None if data_dir is None else Path(data_dir).expanduser()
        try:
            material = key_material(folder)
            store = GatewayStore(folder, durability=durability)
        except OSError as error:  # a file where the folder should be, no permission, …
            raise ConfigError("cannot keep the gateway's data in {folder} ({reason})",
                              code="bad_data_dir", fields={"folder": str(folder),
                                                           "reason": error.strerror or str(error)}
                              ) from None
    except BaseException:
        server.server_close()
        raise
    try:
        gateway = Gateway(store, quirks=behaviour, base_url=url,
                          platform_private_pem=material.platform_private_pem,
                          platform_public_pem=material.platform_public_pem,
                          merchant_public_pem=material.merchant_public_pem, clock=clock)

        def build(order: Order, order_faults: Faults, now: int) -> dict[str, str]:
            return notify_params(order, gateway.stored_merchant(order.pid), quirks=behaviour,
                                 platform_private=gateway.platform_private, now=now,
                                 faults=order_faults)

        notifier = Notifier(store, build, time_scale=time_scale, faults=chosen_faults,
                            on_event=on_event, clock=clock, delivery_timeout=notify_timeout)
        gateway.notifier = notifier
        handler.gateway = gateway
        notifier.start()
    except BaseException:
        server.server_close()
        store.close()
        raise
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              name=f"epay-mock-{bound_port}", daemon=True)
    thread.start()
    v2 = V2Merchant(
        pid=V2_PID, key=gateway.v2_merchant.key,
        merchant_private_pem=material.merchant_private_pem,
        merchant_public_pem=material.merchant_public_pem,
        platform_public_pem=material.platform_public_pem,
        merchant_private_path=material.paths.get(MERCHANT_PRIVATE),
        platform_public_path=material.paths.get(PLATFORM_PUBLIC))
    return RunningGateway(url=url, host=host, port=bound_port, pid=SANDBOX_PID, key=SANDBOX_KEY,
                          v2=v2, data_dir=folder, keys_created=material.created,
                          quirks=behaviour, store=store, gateway=gateway, _server=server,
                          _thread=thread, _notifier=notifier)
