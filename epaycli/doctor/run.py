"""``epay doctor`` as one call: the profile's checks offline, then — unless offline — the
gateway's (DNS, TLS, what answers, credentials, clock, latency) and the notify_url's probe.
A check that cannot run because an earlier one failed (no DNS, bad TLS, nothing answers) is left
out rather than reported twice."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from .. import __version__
from ..core.signing import Md5Key
from ..messages import Messages
from ..profiles.resolve import Resolved
from .credentials import check_credentials, merchant_of
from .findings import Finding, Report, finding
from .messages import MESSAGES
from .probe import listener_answers, probe_notify_url
from .profile import LoadedKeys, check_profile
from .site import (
    LATENCY_SAMPLES,
    Probe,
    check_clock,
    check_dialects,
    check_dns,
    check_gateway_url,
    check_latency,
    check_tls,
    detect_dialects,
    epay_at_site_root,
)
from .urls import Resolver, check_url, resolve

DEFAULT_TIMEOUT_SECONDS = 5.0
SYMBOLS = {"ok": "✓", "warn": "!", "fail": "✗"}
STYLES = {"ok": "ok", "warn": "warn", "fail": "bad"}


@dataclass(frozen=True)
class DoctorRequest:
    resolved: Resolved
    offline: bool = False
    probe: bool = False  # send test notifies to the notify_url even when no listener answers
    merchant_public_key: str | None = None
    timeout: float = DEFAULT_TIMEOUT_SECONDS
    probe_timeout: float = 5.0
    clock: Callable[[], float] = time.time
    resolver: Resolver = field(default=resolve)


def run_doctor(request: DoctorRequest) -> Report:
    resolved = request.resolved
    profile = resolved.profile
    report = Report()
    found, keys = check_profile(resolved, request.merchant_public_key)
    report.extend(found)
    found, site = check_gateway_url(profile.gateway)
    report.extend(found)
    resolver = None if request.offline else request.resolver
    urls: list[Finding] = []
    for field_name, url in (("notify_url", profile.notify_url),
                            ("return_url", profile.return_url)):
        urls.extend(check_url(field_name, field_name, url,
                              gateway_local=site.local, resolver=resolver))
    if request.offline or site.root is None:
        report.extend(urls)
        return report
    gateway_findings, samples_done = _gateway_checks(request, site.root, keys)
    report.extend(gateway_findings)
    report.extend(urls)
    if samples_done is not None:
        report.extend(samples_done)
    notify_url = profile.notify_url
    if notify_url and not any(f.id == "notify_url" and f.code == "url_scheme" for f in urls) and \
            (request.probe or listener_answers(notify_url)):
        md5 = _md5_of(resolved)
        report.extend(probe_notify_url(notify_url, pid=profile.pid, md5=md5,
                                       merchant_private=keys.private,
                                       now=int(request.clock()),
                                       timeout=request.probe_timeout))
    return report


def _md5_of(resolved: Resolved) -> Md5Key | None:
    key = resolved.profile.key
    return Md5Key(key) if key and resolved.profile.dialect == "v1" else None


def _gateway_checks(request: DoctorRequest, root: str, keys: LoadedKeys
                    ) -> tuple[list[Finding], list[Finding] | None]:
    """(the gateway's checks at the site ``root``, the clock and latency findings — None when
    nothing answered)."""
    found: list[Finding] = []
    parts = urlsplit(root)
    host = parts.hostname or ""
    dns = check_dns(host, request.resolver)
    found.append(dns)
    if dns.status == "fail":
        return found, None
    if parts.scheme == "https":
        tls = check_tls(host, parts.port or 443, now=request.clock(), timeout=request.timeout)
        found.append(tls)
        if tls.status == "fail":
            return found, None
    import httpx

    profile = request.resolved.profile
    headers = {"User-Agent": f"epay/{__version__} doctor", "Accept": "*/*"}
    with httpx.Client(timeout=request.timeout, follow_redirects=False, trust_env=False,
                      headers=headers) as http:
        probe = Probe(root, http, request.clock)
        try:
            dialects, seen = detect_dialects(probe)
        except httpx.HTTPError as error:
            reason = " ".join((str(error) or type(error).__name__).split())[:120]
            found.append(finding("gateway.reachable", "unreachable", "fail", gateway=root,
                                 reason=reason))
            return found, None
        found.append(finding("gateway.reachable", "reachable_ok", "ok", gateway=root,
                             status=probe.last_status))
        at_root = not dialects.any and epay_at_site_root(probe)
        found.extend(check_dialects(dialects, seen, gateway=root, dialect=profile.dialect,
                                    epay_at_site_root=at_root))
        speaks = dialects.v2 if profile.dialect == "v2" else dialects.v1
        if speaks and profile.pid:
            found.extend(_credentials(request, root, keys, rewrite=dialects.v2_rewrite
                                      or not dialects.v2_plain))
        try:
            while len(probe.samples) < LATENCY_SAMPLES:
                probe.send("GET", "api.php")
        except httpx.HTTPError:
            pass
    timing = [check_clock(probe.samples, v2=profile.dialect == "v2"),
              check_latency(probe.samples)]
    return found, timing


def _credentials(request: DoctorRequest, root: str, keys: LoadedKeys, *,
                 rewrite: bool) -> list[Finding]:
    from ..gateway.client import GatewayClient, Settings

    merchant = merchant_of(request.resolved, keys, root, rewrite=rewrite)
    settings = Settings(timeout=request.timeout, retries=0)
    with GatewayClient(settings, clock=request.clock) as client:
        return check_credentials(client, merchant, int(request.clock()))


def text_lines(report: Report, messages: Messages | None = None) -> list[tuple[str, str]]:
    """The report for people: one line per check (✓ / ! / ✗), the fix under each ✗ and !, and
    a summary. Lines come with their style (ok, warn, bad)."""
    messages = messages or Messages()
    lines = []
    for item in report.findings:
        lines.append((f"{SYMBOLS[item.status]} {item.id}: {item.message}", STYLES[item.status]))
        if item.status != "ok" and item.fix:
            lines.append((messages.text("doctor.fix_line.message", MESSAGES["fix_line"][0],
                                        fix=item.fix), ""))
    passed = len(report.findings) - len(report.failed) - len(report.warnings)
    summary = messages.text("doctor.summary.message", MESSAGES["summary"][0],
                            failed=len(report.failed), warnings=len(report.warnings),
                            passed=passed)
    lines.append((summary, "bad" if report.failed else "warn" if report.warnings else "ok"))
    return lines
