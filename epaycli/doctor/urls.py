"""notify_url and return_url: what a gateway needs to call them (absolute http(s), no query of
their own, not too long) and whether the host is one only this machine or its network can reach
(after resolving the name, within a short timeout)."""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from .findings import Finding, finding

URL_STORED_MAX = 255  # the gateway's column: longer URLs are cut silently
RESOLVE_TIMEOUT_SECONDS = 1.0
CGNAT = ipaddress.ip_network("100.64.0.0/10")


@dataclass(frozen=True)
class Resolution:
    addresses: tuple[str, ...] = ()
    error: str = ""  # why the name did not resolve (empty: it did)


Resolver = Callable[[str, float], Resolution]


def resolve(host: str, timeout: float = RESOLVE_TIMEOUT_SECONDS) -> Resolution:
    """The addresses ``host`` resolves to, asked in a daemon thread so that a slow resolver
    costs at most ``timeout`` seconds (getaddrinfo itself cannot be given a timeout)."""
    result: list[Resolution] = []

    def ask() -> None:
        try:
            infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
        except (OSError, UnicodeError) as error:
            result.append(Resolution(error=_resolver_text(error)))
            return
        result.append(Resolution(tuple(dict.fromkeys(str(info[4][0]) for info in infos))))

    worker = threading.Thread(target=ask, name=f"resolve-{host[:40]}", daemon=True)
    worker.start()
    worker.join(timeout)
    if not result:
        return Resolution(error=f"no answer within {timeout:g} s")
    return result[0]


def _resolver_text(error: Exception) -> str:
    if isinstance(error, socket.gaierror):
        return error.strerror or str(error)
    return str(error) or type(error).__name__


def address_kind(address: str) -> str | None:
    """Why a gateway on the internet cannot call this address, or None when it is public."""
    try:
        ip = ipaddress.ip_address(address.strip("[]").split("%")[0])
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link-local"
    if isinstance(ip, ipaddress.IPv4Address) and ip in CGNAT:
        return "carrier-grade NAT"
    if ip.is_unspecified or ip.is_multicast or ip.is_reserved:
        return "reserved"
    if ip.is_private:
        return "private"
    if not ip.is_global:
        return "reserved"
    return None


def is_literal_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]").split("%")[0])
    except ValueError:
        return False
    return True


def host_kind(host: str, resolver: Resolver | None) -> tuple[str | None, str, str]:
    """(kind, resolved-to, resolver error) for a URL's host. ``resolver`` None: offline — a
    name is judged by itself only."""
    lowered = host.lower().rstrip(".")
    if lowered == "localhost" or lowered.endswith(".localhost"):
        return "loopback", "", ""
    if is_literal_address(lowered):
        return address_kind(lowered), "", ""
    if lowered.endswith((".local", ".lan", ".internal", ".home.arpa")):
        return "a name of the local network", "", ""
    if resolver is None:
        return None, "", ""
    answer = resolver(lowered, RESOLVE_TIMEOUT_SECONDS)
    if answer.error:
        return None, "", answer.error
    for address in answer.addresses:
        kind = address_kind(address)
        if kind is not None:
            return kind, address, ""
    return None, "", ""


def is_local_host(host: str) -> bool:
    """A gateway on this machine or its network (it can call local notify_urls)."""
    kind, _, _ = host_kind(host, None)
    return kind is not None


def check_url(check: str, field_name: str, url: str, *, gateway_local: bool,
              resolver: Resolver | None, required: bool = False) -> list[Finding]:
    """Everything that keeps a gateway from calling ``url`` (or breaks the notify's sign)."""
    if not url:
        return [finding(check, "url_not_set", "fail" if required else "warn", field=field_name)]
    text = url.strip()
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        return [finding(check, "url_scheme", "fail", field=field_name, url=_cut(text))]
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return [finding(check, "url_scheme", "fail", field=field_name, url=_cut(text))]
    found = []
    if parts.query:
        found.append(finding(check, "url_query", "fail", field=field_name,
                             query=_cut(parts.query, 40)))
    if parts.fragment:
        found.append(finding(check, "url_fragment", "fail", field=field_name))
    if len(url) > URL_STORED_MAX:
        found.append(finding(check, "url_too_long", "fail", field=field_name, length=len(url),
                             limit=URL_STORED_MAX))
    kind, address, error = host_kind(parts.hostname, resolver)
    if kind is not None:
        resolved = f", {address}" if address else ""
        found.append(finding(check, "url_local_ok" if gateway_local else "url_local",
                             "warn" if gateway_local else "fail", field=field_name,
                             host=parts.hostname, kind=kind, resolved=resolved))
    elif error:
        found.append(finding(check, "url_unresolved", "warn", field=field_name,
                             host=parts.hostname, reason=error))
    return found or [finding(check, "url_ok", "ok", field=field_name, url=_cut(text, 80))]


def _cut(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[:limit] + "…"
