"""The gateway as seen from here: its URL (offline), DNS, TLS certificate, whether it answers
and as which Epay dialect(s), the clock in its Date header, and how fast it answers."""

from __future__ import annotations

import datetime
import socket
import ssl
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

from ..catalogue.lookup import normalize
from .findings import Finding, finding
from .urls import Resolver, is_literal_address, is_local_host

if TYPE_CHECKING:  # httpx and cryptography are imported only when the checks run
    import httpx
    from cryptography.x509 import Certificate

LATENCY_LIMIT_MS = 500  # the guide's figure for a healthy gateway
LATENCY_SAMPLES = 5
CLOCK_WINDOW_SECONDS = 300  # V2 refuses a timestamp further off than this
CLOCK_FINE_SECONDS = 60
TLS_WARN_DAYS = 14
DNS_TIMEOUT_SECONDS = 3.0
_NO_ACT = normalize("No Act!")


@dataclass(frozen=True)
class SiteUrl:
    """The gateway URL as configured and the site root the network checks use."""

    given: str
    root: str | None  # None: nothing usable

    @property
    def host(self) -> str:
        return urlsplit(self.root or "").hostname or ""

    @property
    def local(self) -> bool:
        return bool(self.root) and is_local_host(self.host)


def check_gateway_url(gateway: str) -> tuple[list[Finding], SiteUrl]:
    check = "gateway.url"
    if not gateway:
        return [finding(check, "gateway_missing", "fail")], SiteUrl(gateway, None)
    text = gateway.strip()
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        return [finding(check, "gateway_scheme", "fail", gateway=text)], SiteUrl(gateway, None)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return [finding(check, "gateway_scheme", "fail", gateway=text)], SiteUrl(gateway, None)
    segments = parts.path.split("/")
    page = next((i for i, s in enumerate(segments) if s.lower().endswith(".php")), None)
    path = "/".join(segments[:page]) + "/" if page is not None else parts.path
    root = urlunsplit((parts.scheme, parts.netloc, path if path.endswith("/") else path + "/",
                       "", ""))
    site = SiteUrl(gateway, root)
    if page is not None:
        return [finding(check, "gateway_php_page", "warn", gateway=text,
                        page=segments[page], root=root)], site
    if parts.query or parts.fragment:
        return [finding(check, "gateway_query", "fail", gateway=text, root=root)], site
    if parts.scheme == "http" and not site.local:
        return [finding(check, "gateway_plain_http", "warn", gateway=text)], site
    return [finding(check, "gateway_url_ok", "ok", gateway=root)], site


def check_dns(host: str, resolver: Resolver) -> Finding:
    if is_literal_address(host):
        return finding("gateway.dns", "dns_literal", "ok", host=host)
    answer = resolver(host, DNS_TIMEOUT_SECONDS)
    if answer.error:
        return finding("gateway.dns", "dns_failed", "fail", host=host, reason=answer.error)
    shown = ", ".join(answer.addresses[:3]) + (" …" if len(answer.addresses) > 3 else "")
    return finding("gateway.dns", "dns_ok", "ok", host=host, addresses=shown)


# ---- TLS --------------------------------------------------------------------------------------


def check_tls(host: str, port: int, *, now: float, timeout: float,
              context: ssl.SSLContext | None = None) -> Finding:
    """The certificate as a verifying client sees it; when verification fails, the certificate
    is fetched again unverified and read, to say exactly why (expired, another host's…)."""
    check = "gateway.tls"
    context = context or ssl.create_default_context()
    try:
        der = _peer_certificate(host, port, context, timeout)
    except ssl.SSLCertVerificationError as error:
        return _why_untrusted(host, port, error, now=now, timeout=timeout)
    except (ssl.SSLError, OSError) as error:
        return finding(check, "tls_failed", "fail", host=host, reason=_short(error))
    days = int((_not_after(der) - now) // 86400)
    if days < TLS_WARN_DAYS:
        return finding(check, "tls_expiring", "warn", host=host, days=days)
    return finding(check, "tls_ok", "ok", host=host, days=days)


def _peer_certificate(host: str, port: int, context: ssl.SSLContext, timeout: float) -> bytes:
    with socket.create_connection((host, port), timeout=timeout) as raw:
        with context.wrap_socket(raw, server_hostname=host) as tls:
            return tls.getpeercert(binary_form=True) or b""


def _why_untrusted(host: str, port: int, error: ssl.SSLCertVerificationError, *,
                   now: float, timeout: float) -> Finding:
    from cryptography import x509

    check = "gateway.tls"
    loose = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    loose.check_hostname = False
    loose.verify_mode = ssl.CERT_NONE
    try:
        der = _peer_certificate(host, port, loose, timeout)
        certificate = x509.load_der_x509_certificate(der)
    except (ssl.SSLError, OSError, ValueError):
        return finding(check, "tls_untrusted", "fail", host=host, reason=_verify_text(error))
    after = certificate.not_valid_after_utc.timestamp()
    before = certificate.not_valid_before_utc.timestamp()
    if after < now:
        return finding(check, "tls_expired", "fail", host=host, days=int((now - after) // 86400),
                       date=certificate.not_valid_after_utc.date().isoformat())
    if before > now:
        return finding(check, "tls_not_yet_valid", "fail", host=host,
                       date=certificate.not_valid_before_utc.date().isoformat())
    names = _names(certificate)
    if names and not any(_matches(name, host) for name in names):
        return finding(check, "tls_wrong_host", "fail", host=host, names=", ".join(names[:4]))
    if certificate.issuer == certificate.subject:
        return finding(check, "tls_self_signed", "fail", host=host)
    return finding(check, "tls_untrusted", "fail", host=host, reason=_verify_text(error))


def _names(certificate: Certificate) -> list[str]:
    from cryptography import x509

    try:
        alternative = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        common = certificate.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
        return [str(attribute.value) for attribute in common]
    names = alternative.value.get_values_for_type(x509.DNSName)
    addresses = alternative.value.get_values_for_type(x509.IPAddress)
    return [*names, *(str(a) for a in addresses)]


def _matches(pattern: str, host: str) -> bool:
    pattern, host = pattern.lower().rstrip("."), host.lower().rstrip(".")
    if pattern.startswith("*."):
        head, _, rest = host.partition(".")
        return bool(head) and rest == pattern[2:]
    return pattern == host


def _not_after(der: bytes) -> float:
    from cryptography import x509

    return x509.load_der_x509_certificate(der).not_valid_after_utc.timestamp()


def _verify_text(error: ssl.SSLCertVerificationError) -> str:
    return error.verify_message or _short(error)


def _short(error: Exception, limit: int = 100) -> str:
    text = " ".join((str(error) or type(error).__name__).split())
    return text if len(text) <= limit else text[:limit] + "…"


# ---- what answers -----------------------------------------------------------------------------


@dataclass
class Sample:
    """One exchange with the gateway: how long it took and what its Date header said."""

    seconds: float
    skew: float | None  # the gateway's Date minus this clock, in seconds (None: no Date)


@dataclass
class Probe:
    """Requests to one gateway through one connection pool; every answer is also a sample of
    latency and clock."""

    root: str
    http: httpx.Client
    clock: Callable[[], float]
    samples: list[Sample] = field(default_factory=list)
    last_status: int = 0

    def send(self, method: str, path: str, *,
             data: dict[str, str] | None = None) -> httpx.Response:
        started = time.perf_counter()
        response = self.http.request(method, self.root + path, data=data)
        elapsed = time.perf_counter() - started
        self.samples.append(Sample(elapsed, _skew(response.headers.get("date"), self.clock())))
        self.last_status = response.status_code
        return response


def _skew(date: str | None, now: float) -> float | None:
    if not date:
        return None
    try:
        moment = parsedate_to_datetime(date)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    return moment.timestamp() - now


@dataclass(frozen=True)
class Dialects:
    v1: bool
    v2_rewrite: bool
    v2_plain: bool

    @property
    def any(self) -> bool:
        return self.v1 or self.v2_rewrite or self.v2_plain

    @property
    def v2(self) -> bool:
        return self.v2_rewrite or self.v2_plain

    def describe(self) -> str:
        spoken = []
        if self.v1:
            spoken.append("V1 (api.php, MD5)")
        if self.v2_rewrite:
            spoken.append("V2 (api/pay/*, RSA)")
        elif self.v2_plain:
            spoken.append("V2 without URL rewriting (api.php?s=pay/*, RSA)")
        return ", ".join(spoken) or "none"


def _epay_code(response: httpx.Response) -> tuple[bool, str]:
    """Whether an answer is Epay's JSON ``{"code": …}``, and its message."""
    import json

    text = response.content[:65536].decode("utf-8", "replace").lstrip("\ufeff").strip()
    start = text.find("{")
    if start < 0:
        return False, ""
    try:
        document, _ = json.JSONDecoder().raw_decode(text[start:])
    except ValueError:
        return False, ""
    if not isinstance(document, dict) or "code" not in document:
        return False, ""
    return True, str(document.get("msg") or "")


def detect_dialects(probe: Probe) -> tuple[Dialects, str]:
    """Ask each dialect's front door with no parameters: an Epay answers its own JSON error
    (V1 api.php: 'No Act!'; V2: 'no parameters'). Returns what answered and what was seen."""
    v1_answer = probe.send("GET", "api.php")
    v1, _ = _epay_code(v1_answer)
    rewrite_answer = probe.send("POST", "api/merchant/info", data={})
    rewrite, said = _epay_code(rewrite_answer)
    rewrite = rewrite and normalize(said) != _NO_ACT
    plain = False
    if not rewrite:
        plain_answer = probe.send("POST", "api.php?s=merchant/info", data={})
        plain, said = _epay_code(plain_answer)
        plain = plain and normalize(said) != _NO_ACT  # a V1-only api.php ignores s=
    content_type = v1_answer.headers.get("content-type", "?").split(";")[0]
    seen = f"api.php: HTTP {v1_answer.status_code} {content_type}"
    return Dialects(v1, rewrite, plain), seen


def check_dialects(dialects: Dialects, seen: str, *, gateway: str, dialect: str,
                   epay_at_site_root: bool = False) -> list[Finding]:
    check = "gateway.epay"
    if not dialects.any and epay_at_site_root:
        root = urlunsplit(urlsplit(gateway)[:2] + ("/", "", ""))
        return [finding("gateway.url", "gateway_wrong_path", "fail", gateway=gateway, root=root)]
    if not dialects.any:
        return [finding(check, "not_epay", "fail", gateway=gateway, seen=seen)]
    found = [finding(check, "epay_ok", "ok", dialects=dialects.describe())]
    if (dialect == "v2" and not dialects.v2) or (dialect == "v1" and not dialects.v1):
        found.append(finding(check, "epay_dialect_missing", "fail", dialect=dialect,
                             dialects=dialects.describe()))
    elif dialect == "v2" and dialects.v2_plain:
        found.append(finding(check, "epay_rewrite_off", "warn"))
    return found


def epay_at_site_root(probe: Probe) -> bool:
    """Whether the host's site root answers as Epay when the configured folder does not."""
    parts = urlsplit(probe.root)
    if parts.path in ("", "/"):
        return False
    root = urlunsplit((parts.scheme, parts.netloc, "/", "", ""))
    return _epay_code(probe.http.get(root + "api.php"))[0]


def check_clock(samples: list[Sample], *, v2: bool) -> Finding:
    skews = [s.skew for s in samples if s.skew is not None]
    if not skews:
        return finding("clock", "clock_unknown", "warn")
    skew = statistics.median(skews)
    shown = abs(round(skew))
    direction = "behind" if skew > 0 else "ahead of"
    if shown > CLOCK_WINDOW_SECONDS:
        return finding("clock", "clock_skew", "fail" if v2 else "warn", skew=shown,
                       direction=direction, limit=CLOCK_WINDOW_SECONDS)
    if shown > CLOCK_FINE_SECONDS:
        return finding("clock", "clock_skew_small", "warn", skew=shown, direction=direction)
    return finding("clock", "clock_ok", "ok", skew=shown)


def check_latency(samples: list[Sample]) -> Finding:
    times = [s.seconds * 1000 for s in samples]
    median = round(statistics.median(times))
    values = {"median": median, "samples": len(times), "max": round(max(times)),
              "limit": LATENCY_LIMIT_MS}
    if median > LATENCY_LIMIT_MS:
        return finding("latency", "latency_slow", "warn", **values)
    return finding("latency", "latency_ok", "ok", **values)
