"""How PHP reads and writes things. Every Epay gateway and SDK is PHP, so what PHP does to a
string before it is signed, stored or sent is the protocol: these rules live here, once.

(PHP's ``ksort`` order for numeric-looking names lives in ``ksort.py``.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import quote, quote_plus

if TYPE_CHECKING:  # decimal costs `epay sign` ~1 ms at start-up, and only money needs it
    from decimal import Decimal

# PHP's trim() strips exactly these: space, tab, LF, CR, NUL and vertical tab (not \f).
TRIM_CHARS = " \t\n\r\0\x0b"


def trim(value: str) -> str:
    return value.strip(TRIM_CHARS)


def is_blank(value: str) -> bool:
    """Empty once trimmed as PHP trims: what newer servers leave out of the signed string."""
    return not value.strip(TRIM_CHARS)


def is_empty(value: str) -> bool:
    """PHP's ``empty()`` on a string: ``""`` and ``"0"``. Why ``param=0`` is never notified."""
    return value in ("", "0")


def urlencode(value: str) -> str:
    """PHP ``urlencode``: like ``quote_plus`` but ``~`` is encoded too."""
    return quote_plus(value, safe="").replace("~", "%7E")


def rawurlencode(value: str) -> str:
    """PHP ``rawurlencode`` (RFC 3986; also what JavaScript's encodeURIComponent nearly is)."""
    return quote(value, safe="")


def http_build_query(params) -> str:
    """PHP ``http_build_query`` of a flat array: how gateways write a notify's query string."""
    return "&".join(f"{urlencode(k)}={urlencode(v)}" for k, v in params.items())


def htmlspecialchars(value: str) -> str:
    """PHP 8's ``htmlspecialchars`` defaults (ENT_QUOTES): how Epay servers store text fields."""
    return (
        value.replace("&", "&amp;")
        .replace('"', "&quot;")
        .replace("'", "&#039;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
    )


def addslashes(value: str) -> str:
    """PHP ``addslashes``: a backslash before ``'``, ``"``, ``\\`` and NUL."""
    return (value.replace("\\", "\\\\").replace("'", "\\'").replace('"', '\\"')
            .replace("\0", "\\0"))


def stored_form(value: str) -> str:
    """What a real server stores (and later signs in the notify) for name, param and the URLs:
    ``htmlspecialchars(addslashes(x))``."""
    return htmlspecialchars(addslashes(value))


def float_text(value: Decimal) -> str:
    """What PHP prints for ``(float)$money``: how newer servers send ``money`` (1.00 → 1)."""
    if value == value.to_integral_value():
        return str(int(value))
    return f"{value.normalize():f}"
