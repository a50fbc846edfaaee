"""Incidents and the channels that announce them.

An incident runs from the first report that crosses a threshold until a report crosses none:
one alert when it opens (listing every threshold crossed), one when it recovers. The open
incident is kept in a small file (0600) so that ``epay monitor --once`` from cron does not
announce it again. Payloads are built without I/O (one function per robot format, as each
platform documents it); the channels send them, retry with back-off, and report a failure
without ever raising it: a broken alert channel never stops the monitor."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote_plus, urlsplit

from ..core.errors import ConfigError, InputError
from ..core.redact import mask
from .figures import Report, format_duration
from .text import say

FORMATS = ("wecom", "dingtalk", "feishu", "slack", "json")
SIGNED_FORMATS = ("dingtalk", "feishu")
STATE_FILE = "monitor-incidents.json"
# The open incident as the state file keeps it: {"id", "since", "breaches"} (JSON).
Incident = dict[str, Any]


# ---- incidents (pure) ----------------------------------------------------------------------

@dataclass(frozen=True)
class Alert:
    state: str  # firing | recovered
    incident: str
    since: float
    report: dict[str, Any]  # the report's --json document
    text: str
    subject: str

    def to_dict(self) -> dict[str, Any]:
        """The ``json`` format: the report's fields plus the incident and its state."""
        return {**self.report, "incident": self.incident, "state": self.state,
                "since": int(self.since)}


@dataclass(frozen=True)
class Scope:
    """Whose figures these are: the incident file keeps one incident per gateway and pid."""

    gateway: str
    pid: str

    @property
    def key(self) -> str:
        return f"{self.gateway}|{self.pid}"

    @property
    def host(self) -> str:
        return urlsplit(self.gateway).netloc or self.gateway


def next_alert(open_incident: Incident | None, report: Report, *, scope: Scope, now: float,
               new_id: Callable[[], str]) -> tuple[Alert | None, Incident | None]:
    """(the alert to send, or None; the incident open after this report, or None)."""
    document = report.to_dict()
    window = format_duration(report.window)
    if report.breaches:
        if open_incident is not None:
            return None, open_incident
        incident: Incident = {"id": new_id(), "since": now,
                    "breaches": [b.figure for b in report.breaches]}
        crossed = "; ".join(b.sentence() for b in report.breaches)
        text = say("alert_firing", pid=scope.pid, host=scope.host, breaches=crossed,
                   window=window)
        subject = say("alert_subject_firing", breaches=crossed)
        return Alert("firing", incident["id"], now, document, text, subject), incident
    if open_incident is None:
        return None, None
    since = float(open_incident.get("since") or now)
    text = say("alert_recovered", pid=scope.pid, host=scope.host, window=window,
               since=time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(since)))
    subject = say("alert_subject_recovered", pid=scope.pid, host=scope.host)
    return Alert("recovered", str(open_incident.get("id") or ""), since, document, text,
                 subject), None


class IncidentFile:
    """The open incidents, by scope, in ``$XDG_STATE_HOME/epay/monitor-incidents.json``."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def read(self, scope: Scope) -> Incident | None:
        try:
            document = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            return None  # unreadable: start afresh rather than never alert again
        found = document.get(scope.key) if isinstance(document, dict) else None
        return found if isinstance(found, dict) else None

    def write(self, scope: Scope, incident: Incident | None) -> None:
        try:
            document = json.loads(self.path.read_text(encoding="utf-8"))
            if not isinstance(document, dict):
                document = {}
        except (OSError, ValueError):
            document = {}
        if incident is None:
            document.pop(scope.key, None)
        else:
            document[scope.key] = incident
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            temporary = self.path.with_name(self.path.name + f".{os.getpid()}.tmp")
            descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                json.dump(document, handle)
            os.replace(temporary, self.path)
        except OSError as error:
            raise ConfigError(say("state_unwritable", path=self.path,
                                  reason=error.strerror or error), say("state_hint"),
                              code="monitor_state_unwritable") from None


def new_incident_id() -> str:
    return time.strftime("%Y%m%d-%H%M%S", time.gmtime()) + "-" + secrets.token_hex(2)


# ---- payloads (pure) -----------------------------------------------------------------------

def payload(alert: Alert, fmt: str, *, secret: str = "", now: float | None = None
            ) -> tuple[dict[str, object], dict[str, str]]:
    """(the JSON body, extra query parameters) for a robot of format ``fmt``."""
    body: dict[str, object]
    if fmt == "wecom":
        return {"msgtype": "text", "text": {"content": alert.text, "mentioned_list": [],
                                            "mentioned_mobile_list": []}}, {}
    if fmt == "dingtalk":
        body = {"msgtype": "text", "text": {"content": alert.text},
                "at": {"atMobiles": [], "isAtAll": False}}
        return body, dingtalk_signature(secret, now) if secret else {}
    if fmt == "feishu":
        body = {"msg_type": "text", "content": {"text": alert.text}}
        return ({**feishu_signature(secret, now), **body} if secret else body), {}
    if fmt == "slack":
        return {"text": alert.text}, {}
    return alert.to_dict(), {}


def dingtalk_signature(secret: str, now: float | None) -> dict[str, str]:
    """加签: timestamp in milliseconds, sign = base64(HMAC-SHA256(secret, ts + "\\n" + secret))
    (URL-encoded by whoever builds the query)."""
    stamp = str(int((time.time() if now is None else now) * 1000))
    digest = hmac.new(secret.encode(), f"{stamp}\n{secret}".encode(), hashlib.sha256).digest()
    return {"timestamp": stamp, "sign": base64.b64encode(digest).decode()}


def feishu_signature(secret: str, now: float | None) -> dict[str, str]:
    """签名校验: timestamp in seconds, sign = base64(HMAC-SHA256(key = ts + "\\n" + secret,
    message = empty)); both go in the body."""
    stamp = str(int(time.time() if now is None else now))
    digest = hmac.new(f"{stamp}\n{secret}".encode(), b"", hashlib.sha256).digest()
    return {"timestamp": stamp, "sign": base64.b64encode(digest).decode()}


def robot_refusal(fmt: str, status: int, body: bytes) -> str | None:
    """Why a robot did not take the message, or None when it did (robots answer errors with
    HTTP 200 and a non-zero errcode / code)."""
    if not 200 <= status < 300:
        return say("webhook_status", status=status)
    if fmt in ("wecom", "dingtalk", "feishu"):
        try:
            document = json.loads(body.decode("utf-8", "replace") or "{}")
        except ValueError:
            return say("webhook_status", status=status)
        if not isinstance(document, dict):
            return say("webhook_status", status=status)
        for name in ("errcode", "code", "StatusCode"):
            if name in document and document[name] not in (0, "0"):
                message = document.get("errmsg") or document.get("msg") or \
                    document.get("StatusMessage") or ""
                return say("webhook_errcode", code=document[name], message=message)
    return None


def shown_url(url: str) -> str:
    """A webhook URL carries its credential (key=, access_token=, the hook's path): shown
    masked."""
    split = urlsplit(url)
    path, _, tail = split.path.rpartition("/")
    query = "&".join(f"{k}={mask(v)}" for k, _, v in
                     (part.partition("=") for part in split.query.split("&") if part))
    return f"{split.scheme}://{split.netloc}{path}/{mask(tail) if tail else ''}" + \
        (f"?{query}" if query else "")


# ---- channels (I/O) ------------------------------------------------------------------------

class DeliveryFailed(Exception):
    pass


class Channel(Protocol):
    """Where an alert goes (a webhook, an e-mail, a command): ``send`` raises
    ``DeliveryFailed`` when it could not."""

    @property
    def name(self) -> str: ...

    def send(self, alert: Alert) -> None: ...


@dataclass
class Webhook:
    url: str
    fmt: str
    secret: str = ""
    timeout: float = 5.0
    verify_tls: bool = True

    @property
    def name(self) -> str:
        return f"{self.fmt} webhook {shown_url(self.url)}"

    def send(self, alert: Alert) -> None:
        import httpx

        body, extra = payload(alert, self.fmt, secret=self.secret)
        url = self.url
        if extra:
            url += ("&" if "?" in url else "?") + "&".join(
                f"{k}={quote_plus(v)}" for k, v in extra.items())
        try:
            with httpx.Client(timeout=self.timeout, verify=self.verify_tls, trust_env=False,
                              follow_redirects=False) as client:
                response = client.post(url, content=json.dumps(body, ensure_ascii=False).encode(),
                                       headers={"Content-Type": "application/json"})
        except httpx.HTTPError as error:
            raise DeliveryFailed(say("webhook_unreachable", url=shown_url(self.url),
                                     reason=type(error).__name__)) from None
        refusal = robot_refusal(self.fmt, response.status_code, response.content[:65536])
        if refusal:
            raise DeliveryFailed(refusal)


@dataclass
class Smtp:
    host: str = "localhost"
    port: int = 0  # 0: 587 with STARTTLS, 465 with TLS, 25 without
    security: str = "starttls"  # starttls | tls | none
    user: str = ""
    password: str = field(default="", repr=False)
    sender: str = ""
    timeout: float = 10.0

    @property
    def chosen_port(self) -> int:
        return self.port or {"starttls": 587, "tls": 465}.get(self.security, 25)

    @classmethod
    def from_url(cls, url: str) -> Smtp:
        """``smtp://user:password@host:587`` (STARTTLS), ``smtps://…`` (implicit TLS),
        ``smtp+plain://…`` (none); ``?from=ADDR`` sets the sender. '' gives the defaults."""
        if not url:
            return cls()
        from urllib.parse import parse_qs, unquote

        split = urlsplit(url.strip())
        security = _SMTP_SCHEMES.get(split.scheme.lower())
        try:
            port = split.port or 0
        except ValueError:
            port = -1
        if security is None or not split.hostname or port < 0:
            raise ConfigError(say("smtp_url_invalid", url=_without_password(url)),
                              say("smtp_url_hint"), code="bad_smtp_url")
        sender = parse_qs(split.query).get("from", [""])[0]
        return cls(split.hostname, port, security, unquote(split.username or ""),
                   unquote(split.password or ""), sender)

    def overridden(self, *, host: str | None = None, port: int | None = None,
                   security: str | None = None, user: str | None = None,
                   password: str | None = None, sender: str | None = None) -> Smtp:
        """These settings with the flags that were given (not None) instead."""
        from dataclasses import replace

        return replace(
            self, host=self.host if host is None else host,
            port=self.port if port is None else port,
            security=self.security if security is None else security,
            user=self.user if user is None else user,
            password=self.password if password is None else password,
            sender=self.sender if sender is None else sender)


_SMTP_SCHEMES = {"smtp": "starttls", "smtps": "tls", "smtp+plain": "none"}


def _without_password(url: str) -> str:
    split = urlsplit(url)
    if split.password:
        return url.replace(":" + split.password + "@", ":…@", 1)
    return url


@dataclass
class Email:
    to: str
    smtp: Smtp

    @property
    def name(self) -> str:
        return f"e-mail to {self.to}"

    def send(self, alert: Alert) -> None:
        import smtplib
        import ssl
        from email.message import EmailMessage

        message = EmailMessage()
        message["Subject"] = alert.subject
        message["From"] = self.smtp.sender or self.smtp.user or f"epay@{self.smtp.host}"
        message["To"] = self.to
        message.set_content(alert.text + "\n\n" + json.dumps(alert.to_dict(), indent=2,
                                                              ensure_ascii=False) + "\n")
        smtp, port = self.smtp, self.smtp.chosen_port
        server: smtplib.SMTP
        try:
            if smtp.security == "tls":
                server = smtplib.SMTP_SSL(smtp.host, port, timeout=smtp.timeout,
                                          context=ssl.create_default_context())
            else:
                server = smtplib.SMTP(smtp.host, port, timeout=smtp.timeout)
            with server:
                if smtp.security == "starttls":
                    server.starttls(context=ssl.create_default_context())
                if smtp.user:
                    server.login(smtp.user, smtp.password)
                server.send_message(message)
        except (OSError, smtplib.SMTPException) as error:
            reason = str(error).replace(smtp.password, mask(smtp.password)) if smtp.password \
                else str(error)
            raise DeliveryFailed(say("smtp_failed", host=smtp.host, port=port,
                                     reason=reason or type(error).__name__)) from None


@dataclass
class Command:
    command: str
    timeout: float = 30.0

    @property
    def name(self) -> str:
        return f"command {self.command.split()[0] if self.command.split() else ''!r}"

    def send(self, alert: Alert) -> None:
        import subprocess

        try:
            done = subprocess.run(self.command, shell=True, input=json.dumps(alert.to_dict()),
                                  text=True, capture_output=True, timeout=self.timeout)
        except subprocess.TimeoutExpired:
            raise DeliveryFailed(say("command_timeout", seconds=f"{self.timeout:g}")) from None
        except OSError as error:
            raise DeliveryFailed(say("command_missing", reason=error.strerror)) from None
        if done.returncode != 0:
            raise DeliveryFailed(say("command_failed", code=done.returncode,
                                     stderr=" ".join(done.stderr.split())[:200]))


def validate_channels(*, webhook: str | None, fmt: str | None, secret: str,
                      email: str | None) -> None:
    """Refuse alert options that cannot work, before the first interval."""
    if (webhook and urlsplit(webhook).scheme not in ("http", "https")) or \
            (webhook and not urlsplit(webhook).netloc):
        raise InputError(say("alert_webhook_invalid", url=shown_url(webhook)),
                         say("alert_webhook_hint"), code="bad_alert_options")
    if secret and (fmt or "json") not in SIGNED_FORMATS:
        raise InputError(say("alert_secret_needs_signing"), say("alert_secret_hint"),
                         code="bad_alert_options")
    if email is not None and ("@" not in email or any(c.isspace() for c in email)):
        raise InputError(say("alert_email_invalid", address=email), say("alert_email_hint"),
                         code="bad_alert_options")


@dataclass
class Dispatcher:
    """Sends each alert through every channel at once; a channel is tried ``attempts`` times
    with back-off, and its failure is reported through ``report`` (never raised)."""

    channels: list[Channel]
    report: Callable[[str, str], None]  # (message, style)
    attempts: int = 3
    backoff: float = 0.5
    sleep: Callable[[float], None] = time.sleep

    def send(self, alert: Alert) -> dict[str, bool]:
        outcome: dict[str, bool] = {}
        threads = [threading.Thread(target=self._deliver, args=(channel, alert, outcome),
                                    daemon=True) for channel in self.channels]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return outcome

    def _deliver(self, channel: Channel, alert: Alert, outcome: dict[str, bool]) -> None:
        for attempt in range(1, self.attempts + 1):
            try:
                channel.send(alert)
            except DeliveryFailed as failure:
                self.report(say("alert_failed", channel=channel.name, attempt=attempt,
                                attempts=self.attempts, reason=failure), "warn")
            except Exception as error:  # noqa: BLE001 - a channel's bug must not stop the monitor
                self.report(say("alert_failed", channel=channel.name, attempt=attempt,
                                attempts=self.attempts, reason=type(error).__name__), "warn")
            else:
                self.report(say("alert_sent", state=alert.state, channel=channel.name), "dim")
                outcome[channel.name] = True
                return
            if attempt < self.attempts:
                self.sleep(self.backoff * 2 ** (attempt - 1))
        self.report(say("alert_given_up", channel=channel.name, attempts=self.attempts), "bad")
        outcome[channel.name] = False


_ROBOT_HOSTS = {"qyapi.weixin.qq.com": "wecom", "oapi.dingtalk.com": "dingtalk",
                "open.feishu.cn": "feishu", "open.larksuite.com": "feishu",
                "hooks.slack.com": "slack"}


def guess_format(url: str) -> str:
    """The robot format a webhook URL's host documents (``json`` for any other host)."""
    return _ROBOT_HOSTS.get((urlsplit(url).hostname or "").lower(), "json")


def build_channels(*, webhook: str | None, fmt: str | None, secret: str, email: str | None,
                   smtp: Smtp, command: str | None, verify_tls: bool = True) -> list[Channel]:
    """The channels the alert options name, checked first (one-line errors, exit 2)."""
    if fmt and not webhook:
        raise InputError(say("alert_format_needs_webhook", format=fmt), say("alert_format_hint"),
                         code="bad_alert_options")
    validate_channels(webhook=webhook, fmt=fmt or (guess_format(webhook) if webhook else None),
                      secret=secret, email=email)
    channels: list[Channel] = []
    if webhook:
        channels.append(Webhook(webhook, fmt or guess_format(webhook), secret,
                                verify_tls=verify_tls))
    if email:
        channels.append(Email(email, smtp))
    if command:
        channels.append(Command(command))
    return channels
