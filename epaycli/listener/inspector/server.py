"""The inspector's small HTTP server, beside the listener (its own threads, its own read-only
journal connections: the listener's loop never waits for it).

Safety, in the order a request meets it:

1. on 127.0.0.1, the Host header must name this server (a page on another site cannot reach
   it through DNS rebinding);
2. on any other address, a random token instead: ``?token=`` once, then a cookie;
3. every state-changing call is a POST carrying the page's CSRF token in ``X-CSRF-Token``
   (a cross-site form cannot set a header; a cross-site script cannot read the page), with a
   bounded JSON body;
4. every response: a Content-Security-Policy that allows only this server's own script and
   style (no inline script, nothing from elsewhere), and every known secret masked.
"""

from __future__ import annotations

import errno
import json
import secrets
import select
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from ...core.errors import ConfigError, EpayError, InputError
from ...core.redact import mask
from ...core.signing import Signer, constant_time_equal
from ...messages import Messages, language_of
from ..journal import JournaledRecord, said_record
from ..replay import build_replay, send_replay
from .view import JournalView, curl_command, parse_filters, parse_id, signed_text, verify_command

if TYPE_CHECKING:
    from ...messages import Language

DEFAULT_PORT = 4041  # ngrok's inspector has 4040
LOOPBACK = "127.0.0.1"
MAX_BODY_BYTES = 64 * 1024
MAX_STREAMS = 8  # live feeds at once (each holds a thread)
LIVE_POLL_SECONDS = 0.5
KEEPALIVE_SECONDS = 10.0
MAX_CHANGES = 64
MAX_FIELD_CHARS = 4096
TOKEN_COOKIE = "epay_inspector"
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
       "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
_STATIC = {"app.js": "text/javascript; charset=utf-8", "app.css": "text/css; charset=utf-8",
           "favicon.svg": "image/svg+xml"}

# Every sentence the server answers with, by id (inspector.<id> in the catalogue). The page's
# own sentences are in static/app.js and index.html (inspector.page.<id>).
MESSAGES = {
    "bad_host": "this inspector answers only to its own address",
    "token_needed": "open the inspector with the URL epay printed (it carries ?token=)",
    "csrf": "missing or wrong X-CSRF-Token: state-changing calls come from the inspector page",
    "not_found": "no such page",
    "method": "this address does not take that method",
    "length_needed": "a POST needs a Content-Length",
    "too_large": "the request body is larger than {limit} bytes",
    "json_needed": "the body must be JSON (Content-Type: application/json)",
    "bad_json": "the body is not a JSON object",
    "bad_changes": "changes must be an object of at most {count} text fields",
    "bad_target": "unknown replay target {target!r}",
    "no_target": "there is nowhere to replay to: start with --to URL",
    "no_signer": "no key to re-sign with: give the profile a key (or private_key for V2)",
    "busy": "too many live pages open (at most {count})",
}


@dataclass
class InspectorConfig:
    """What the inspector serves and may do.

    - ``targets``: where replays may go, by name (``listener``, ``forward``, ``to``): the page
      picks a name, never a URL, so it cannot be turned against another host.
    - ``signer_for``: the signer for a notify's fields when re-signing (``None``: no key).
    - ``key_shown``: the key as the signed string shows it (masked).
    - ``secrets``: text that must never be in a response (masked wherever it appears).
    - ``request_base``: where the copied curl command sends the request again.
    """

    journal: Path
    host: str = LOOPBACK
    port: int | None = None  # None: DEFAULT_PORT, or a free one when it is taken
    targets: dict[str, str] = field(default_factory=dict)
    signer_for: Callable[[Mapping[str, str]], Signer] | None = None
    key_shown: str = "{key}"
    secrets: tuple[str, ...] = ()
    request_base: str | None = None
    now: Callable[[], float] = time.time
    language: str = "en"  # the run's language: the page and the server's words are in it


class Inspector:
    """A running inspector: ``url`` (with the token when one is needed), ``close()``."""

    def __init__(self, config: InspectorConfig) -> None:
        self.config = config
        language = language_of(config.language) or "en"  # (one epay does not speak: English)
        self.messages = Messages(language)
        self.page_texts = page_texts(language)
        self.view = JournalView(config.journal, self.messages)
        self.token = secrets.token_urlsafe(18) if config.host != LOOPBACK else None
        self.csrf = secrets.token_urlsafe(24)
        self.stopping = threading.Event()
        self.streams = threading.BoundedSemaphore(MAX_STREAMS)
        self._secrets = tuple(s for s in config.secrets if s and len(s) >= 8)
        try:
            self._server = _bind(self, config.host, config.port)
        except BaseException:
            self.view.close()
            raise
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.2},
                                        name="epay-inspector", daemon=True)
        self._thread.start()

    @property
    def base_url(self) -> str:
        host = f"[{self.config.host}]" if ":" in self.config.host else self.config.host
        return f"http://{host}:{self.port}"

    @property
    def url(self) -> str:
        return self.base_url + "/" + (f"?token={self.token}" if self.token else "")

    def allowed_hosts(self) -> set[str]:
        names = {self.config.host, LOOPBACK, "localhost"}
        if ":" in self.config.host:
            names.add(f"[{self.config.host}]")
        return {f"{name}:{self.port}" for name in names}

    def masked(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, mask(secret))
        return text

    def close(self) -> None:
        self.stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)
        self.view.close()

    def __enter__(self) -> Inspector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def start_inspector(config: InspectorConfig) -> Inspector:
    """Start serving at once (on its own thread); raises ``ConfigError`` when it cannot."""
    return Inspector(config)


class _Server(ThreadingHTTPServer):
    inspector: Inspector  # set by _bind, before it serves
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64


def _bind(inspector: Inspector, host: str, port: int | None) -> _Server:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    tries = [DEFAULT_PORT, 0] if port is None else [port]
    for wanted in tries:
        server = _Server.__new__(_Server)
        server.address_family = family
        try:
            _Server.__init__(server, (host, wanted), _Handler, bind_and_activate=True)
        except OSError as error:
            if error.errno == errno.EADDRINUSE and wanted != tries[-1]:
                continue  # the default port is taken: a free one instead
            raise _bind_error(error, host, wanted) from None
        except OverflowError:
            raise InputError("port {port} is out of range", "give a port from 1 to 65535, or 0",
                             code="bad_port", fields={"port": wanted}) from None
        server.inspector = inspector
        return server
    raise AssertionError("unreachable")


def _bind_error(error: OSError, host: str, port: int) -> EpayError:
    if error.errno == errno.EADDRINUSE:
        return ConfigError("the inspector's port {port} on {host} is already in use",
                           "pick another with --inspect-port N (0: a free one)",
                           code="inspector_port_in_use", fields={"port": port, "host": host})
    return InputError("the inspector cannot listen on {host!r} ({reason})",
                      "give an address of this machine, e.g. 127.0.0.1",
                      code="inspector_bad_host",
                      fields={"host": host, "reason": error.strerror or str(error)})


class _Refused(Exception):
    def __init__(self, status: int, message_id: str, **params: object) -> None:
        super().__init__(message_id)
        self.status, self.message_id, self.params = status, message_id, params


class _Handler(BaseHTTPRequestHandler):
    server_version = "epay-inspector"
    sys_version = ""
    protocol_version = "HTTP/1.1"
    timeout = 30  # a client that stops sending mid-request is dropped
    server: _Server  # (the one it was made for: _bind's)

    @property
    def inspector(self) -> Inspector:
        return self.server.inspector

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the listener's terminal is for notifies

    # ---- dispatch ----------------------------------------------------------------------------

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_HEAD(self) -> None:
        self._refuse(405, "method")

    do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_HEAD

    def _dispatch(self, method: str) -> None:
        self._body_read = method != "POST"
        try:
            self._check_host()
            parts = urlsplit(self.path)
            query = dict(parse_qsl(parts.query, keep_blank_values=True))
            if self._token_redirect(method, parts.path, query):
                return
            if method == "POST":
                self._post(parts.path)
            else:
                self._get(parts.path, query)
        except _Refused as refused:
            self._refuse(refused.status, refused.message_id, **refused.params)
        except EpayError as error:
            status = 404 if error.code == "no_such_event" else 400 \
                if isinstance(error, InputError) else 502 if error.code.startswith("replay") \
                else 500
            if not self._body_read:
                self.close_connection = True
            message, hint = self.inspector.messages.say_error(error)
            self._json({"error": {"code": error.code, "message": message, "hint": hint}},
                       status)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _check_host(self) -> None:
        # With a token (another address: reached by names and addresses epay cannot know),
        # the token's cookie does this work: a rebound name never carries it.
        inspector = self.inspector
        if inspector.token is None and self.headers.get("Host", "") not in \
                inspector.allowed_hosts():
            raise _Refused(403, "bad_host")

    def _token_redirect(self, method: str, path: str, query: dict[str, str]) -> bool:
        """Off the default address: the token once in the URL (then a cookie, and a redirect
        that drops it from the address bar), or the cookie; nothing without either."""
        token = self.inspector.token
        if token is None:
            return False
        given = query.get("token")
        if method == "GET" and given is not None and constant_time_equal(given, token):
            self.send_response(303)
            self.send_header("Location", path or "/")
            self.send_header("Set-Cookie", f"{TOKEN_COOKIE}={token}; HttpOnly; SameSite=Strict; "
                                           "Path=/")
            self._common_headers()
            self.send_header("Content-Length", "0")
            self.end_headers()
            return True
        if not constant_time_equal(self._cookie(TOKEN_COOKIE) or "", token):
            raise _Refused(401, "token_needed")
        return False

    def _cookie(self, name: str) -> str | None:
        from http.cookies import CookieError, SimpleCookie

        jar = SimpleCookie()
        try:
            jar.load(self.headers.get("Cookie", ""))
        except CookieError:
            return None
        return jar[name].value if name in jar else None

    def _get(self, path: str, query: dict[str, str]) -> None:
        inspector = self.inspector
        if path == "/":
            self._page()
        elif path.startswith("/static/") and path[8:] in _STATIC:
            self._static(path[8:])
        elif path == "/api/info":
            config = inspector.config
            self._json({"journal": str(config.journal),
                        "targets": [{"name": name, "url": url}
                                    for name, url in config.targets.items()],
                        "can_resign": config.signer_for is not None,
                        "latest_id": inspector.view.latest_id(),
                        "language": inspector.messages.language,
                        "messages": inspector.page_texts})
        elif path == "/api/requests":
            filters = parse_filters(query)
            limit = parse_id(query.get("limit"), "limit") or 100
            self._json(inspector.view.page(filters, before=parse_id(query.get("before"), "before"),
                                           after=parse_id(query.get("after"), "after"),
                                           limit=limit))
        elif path.startswith("/api/requests/"):
            self._json(self._detail(parse_id(path[len("/api/requests/"):])))
        elif path == "/api/live":
            self._live(parse_id(query.get("after"), "after"))
        else:
            raise _Refused(404, "not_found")

    def _post(self, path: str) -> None:
        inspector = self.inspector
        sent = self.headers.get("X-CSRF-Token") or ""
        if not constant_time_equal(sent, inspector.csrf):
            raise _Refused(403, "csrf")
        body = self._json_body()
        prefix, suffix = "/api/requests/", "/replay"
        if path.startswith(prefix) and path.endswith(suffix):
            record_id = parse_id(path[len(prefix):-len(suffix)])
            self._json(self._replay(record_id, body))
        else:
            raise _Refused(404, "not_found")

    # ---- endpoints -----------------------------------------------------------------------------

    def _page(self) -> None:
        page = _asset("index.html").decode("utf-8").replace("{{csrf}}", self.inspector.csrf)
        if self.inspector.messages.language == "zh":
            page = page.replace('<html lang="en">', '<html lang="zh-CN">', 1)
        self._send(200, page.encode("utf-8"), "text/html; charset=utf-8")

    def _static(self, name: str) -> None:
        self._send(200, _asset(name), _STATIC[name])

    def _detail(self, record_id: int | None) -> JournaledRecord:
        inspector = self.inspector
        if record_id is None:
            raise InputError("{name}={text!r} is not a request id", "ids are whole numbers",
                             code="bad_id", fields={"name": "id", "text": ""})
        record = said_record(inspector.view.detail(record_id), inspector.messages)
        config = inspector.config
        record["signed_text"] = signed_text(record.get("params"), config.key_shown)
        record["curl"] = curl_command(record, config.request_base)
        record["verify_command"] = verify_command(record)
        return record

    def _replay(self, record_id: int | None, body: dict[str, object]) -> dict[str, object]:
        """Through the same code as ``epay events replay``: build_replay, then send_replay."""
        config = self.inspector.config
        if record_id is None:
            raise InputError("{name}={text!r} is not a request id", "ids are whole numbers",
                             code="bad_id", fields={"name": "id", "text": ""})
        record = self.inspector.view.detail(record_id)
        if not config.targets:
            raise _Refused(400, "no_target")
        target = body.get("target") or next(iter(config.targets))
        if not isinstance(target, str) or target not in config.targets:
            raise _Refused(400, "bad_target", target=str(target)[:40])
        changes = body.get("changes") or {}
        if not isinstance(changes, dict) or len(changes) > MAX_CHANGES or not all(
                isinstance(k, str) and isinstance(v, str) and 0 < len(k) <= 64
                and len(v) <= MAX_FIELD_CHARS for k, v in changes.items()):
            raise _Refused(400, "bad_changes", count=MAX_CHANGES)
        signer = None
        if body.get("resign"):
            if config.signer_for is None:
                raise _Refused(400, "no_signer")
            signer = config.signer_for(record.get("params") or {})
        request = build_replay(record, config.targets[target], changes=changes or None,
                               signer=signer, now=int(config.now()))
        result = send_replay(request)
        return {"target": target, "sent": request.to_dict(), "answer": result.to_dict()}

    def _live(self, after: int | None) -> None:
        """Server-sent events: the rows newer than ``after`` as they are journaled (polled on
        the id, an indexed lookup: nothing when nothing is new)."""
        inspector = self.inspector
        if not inspector.streams.acquire(blocking=False):
            raise _Refused(503, "busy", count=MAX_STREAMS)
        try:
            last = inspector.view.latest_id() if after is None else after
            self.send_response(200)
            self._common_headers()
            self.send_header("Content-Type", "text/event-stream; charset=utf-8")
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            self.wfile.write(f"retry: 1000\nevent: hello\ndata: {json.dumps({'latest_id': last})}"
                             "\n\n".encode())
            self.wfile.flush()
            quiet_since = time.monotonic()
            while not inspector.stopping.is_set() and not self._page_gone(LIVE_POLL_SECONDS):
                rows, newest = inspector.view.newer_than(last)
                if rows:
                    skipped = newest - last - len(rows)
                    data = inspector.masked(json.dumps(
                        {"rows": rows, "latest_id": newest, "skipped": max(skipped, 0)},
                        ensure_ascii=False))
                    self.wfile.write(f"event: rows\ndata: {data}\n\n".encode())
                    last, quiet_since = newest, time.monotonic()
                elif time.monotonic() - quiet_since >= KEEPALIVE_SECONDS:
                    self.wfile.write(b": keep-alive\n\n")  # finds a page that went away
                    quiet_since = time.monotonic()
                else:
                    continue
                self.wfile.flush()
        finally:
            inspector.streams.release()

    def _page_gone(self, timeout: float) -> bool:
        """Wait up to ``timeout``; whether the page closed its end meanwhile (a closed page
        frees its feed at once, not at the next write)."""
        readable, _, _ = select.select([self.connection], [], [], timeout)
        if not readable:
            return False
        try:
            return not self.connection.recv(4096)  # a page sends nothing more on a feed
        except OSError:
            return True

    # ---- the wire ------------------------------------------------------------------------------

    def _json_body(self) -> dict[str, object]:
        length_text = self.headers.get("Content-Length")
        if length_text is None or not length_text.isdigit():
            self.close_connection = True
            raise _Refused(411, "length_needed")
        length = int(length_text)
        if length > MAX_BODY_BYTES:
            self.close_connection = True  # the body is never read
            raise _Refused(413, "too_large", limit=MAX_BODY_BYTES)
        content_type = self.headers.get("Content-Type", "").split(";")[0].strip().lower()
        raw = self.rfile.read(length)
        self._body_read = True
        if content_type != "application/json":
            raise _Refused(415, "json_needed")
        try:
            body: object = json.loads(raw.decode("utf-8")) if raw else {}
        except (UnicodeDecodeError, ValueError):
            raise _Refused(400, "bad_json") from None
        if not isinstance(body, dict):
            raise _Refused(400, "bad_json")
        return body

    def _common_headers(self) -> None:
        self.send_header("Content-Security-Policy", CSP)
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("X-Frame-Options", "DENY")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("Cache-Control", "no-store")

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self._common_headers()
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def _json(self, value: object, status: int = 200) -> None:
        text = self.inspector.masked(json.dumps(value, ensure_ascii=False))
        self._send(status, text.encode("utf-8"), "application/json; charset=utf-8")

    def _refuse(self, status: int, message_id: str, **params: object) -> None:
        if not getattr(self, "_body_read", True):
            self.close_connection = True  # its unread body must not be taken for a request
        message = self.inspector.messages.text(f"inspector.{message_id}", MESSAGES[message_id],
                                               **params)
        self._json({"error": {"code": message_id, "message": message}}, status)


def page_texts(language: Language) -> dict[str, str]:
    """The page's sentences in ``language`` by id (app.js and index.html keep the English)."""
    if language == "en":
        return {}
    from ...messages import load_catalogue

    prefix = "inspector.page."
    return {key.removeprefix(prefix): text for key, text in load_catalogue(language).items()
            if key.startswith(prefix)}


def _asset(name: str) -> bytes:
    return resources.files(__package__).joinpath("static", name).read_bytes()
