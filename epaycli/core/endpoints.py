"""Where each request goes: the V1 pages (submit.php, mapi.php, api.php acts) and the V2 routes
(api/pay/*, api/merchant/*), one table per dialect, from the gateway's base URL."""

from __future__ import annotations

import re

from .errors import InputError
from .params import url_parts
from .signing import SignType

# V1 (MD5)
SUBMIT = "submit.php"  # browser redirect payment (GET or POST)
MAPI = "mapi.php"  # server-to-server payment (POST on newer servers)
API = "api.php"  # merchant queries with pid + key; ?act=…
API_ACTS = ("query", "settle", "order", "orders", "refund")
POST_ACTS = frozenset({"refund"})  # refund reads a POST body; every other act the query string

# V2 (RSA): api/<route>, or api.php?s=<route> on servers without URL rewriting.
V2_ROUTES = ("pay/submit", "pay/create", "pay/query", "pay/refund", "pay/refundquery",
             "pay/close", "merchant/info", "merchant/orders")

SUCCESS_CODE = {"v1": 1, "v1_refund": 0, "v2": 0}


def site_root(url: str) -> tuple[str, str]:
    """``url`` without a trailing PHP page, and the page taken off (``''`` when none): the
    gateway's own doc shows ``http://host/submit.php`` or ``…/mapi.php``, but epay needs the
    site root and adds the page itself (``http://host/submit.php/api.php`` is not the API)."""
    text = url.strip()
    parts = url_parts(text)
    found = _PAGE.search(parts.path)
    if not found or parts.query or parts.fragment or not text.endswith(parts.path):
        return text, ""
    root = text[:len(text) - len(parts.path)] + parts.path[:found.start()]
    return root + "/", found.group(1)


_PAGE = re.compile(r"/([^/]+\.php)/?$", re.IGNORECASE)


def normalize_base(url: str) -> str:
    """A gateway's base URL: absolute http(s), no query or fragment, no PHP page, ending in
    '/'."""
    url = site_root(url)[0]
    parts = url_parts(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InputError("gateway {url!r} is not an http(s) URL",
                         "give the site root, e.g. https://pay.example.com/",
                         code="bad_gateway_url", words="gateway_not_http", fields={"url": url})
    if parts.query or parts.fragment:
        raise InputError("gateway {url!r} has a query or fragment",
                         "give the site root only, e.g. https://pay.example.com/",
                         code="bad_gateway_url", words="gateway_has_query", fields={"url": url})
    base = url.strip()
    return base if base.endswith("/") else base + "/"


def request_target(url: str, sign_type: SignType) -> str:
    """Where a signed request goes: a site root (``https://pay.example.com`` with or without its
    '/', or a folder ending in '/') gets this dialect's submit page; a page URL is used as given.
    Anything but an absolute http(s) URL is refused."""
    text = url.strip()
    parts = url_parts(text)
    if parts.scheme not in ("http", "https") or not parts.netloc or any(c.isspace() for c in text):
        shown = text if len(text) <= 60 else text[:60] + "…"
        raise InputError("{url!r} is not an http(s) URL",
                         "give the gateway's site root, e.g. https://pay.example.com/",
                         code="bad_request_url", fields={"url": shown})
    if not parts.query and not parts.fragment and (parts.path == "" or parts.path.endswith("/")):
        return submit_url(text, sign_type)
    return text


def v1_url(base: str, page: str, act: str | None = None) -> str:
    url = normalize_base(base) + page
    return f"{url}?act={act}" if act else url


def v2_url(base: str, route: str, *, rewrite: bool = True) -> str:
    if route not in V2_ROUTES:
        raise InputError("{route!r} is not a V2 route", "{routes}", code="unknown_v2_route",
                         fields={"route": route, "routes": ", ".join(V2_ROUTES)})
    base = normalize_base(base)
    return f"{base}api/{route}" if rewrite else f"{base}api.php?s={route}"


def submit_url(base: str, sign_type: SignType) -> str:
    """The browser payment page for this dialect."""
    return v2_url(base, "pay/submit") if sign_type is SignType.RSA else v1_url(base, SUBMIT)


def route_of(path: str, query_s: str | None = None) -> str | None:
    """The V2 route a request path names (``/api/pay/create`` or ``/api.php?s=pay/create``)."""
    trimmed = path.lstrip("/")
    if trimmed.startswith("api/"):
        route = trimmed[4:].rstrip("/")
    elif trimmed == API and query_s:
        route = query_s.strip("/")
    else:
        return None
    return route if route in V2_ROUTES else None
