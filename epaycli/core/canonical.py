"""The string an Epay signature covers (PROTOCOL.md §2), with the server variants explicit."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from .php import TRIM_CHARS, is_blank

# Whitespace-only values: the official V1 SDK and older servers sign them ("keep"); newer
# servers and every RSA signer leave them out ("drop"), as PHP's trim() would empty them.
Blanks = Literal["keep", "drop"]

UNSIGNED_FIELDS = frozenset({"sign", "sign_type"})


def blank_fields(params: Mapping[str, str]) -> list[str]:
    """Names whose value is whitespace-only: where the two server variants sign differently."""
    return [name for name, value in params.items() if value and is_blank(value)]


def has_blank_values(params: Mapping[str, str]) -> bool:
    return any(value and is_blank(value) for value in params.values())


def signed_fields(params: Mapping[str, str], *, blanks: Blanks = "keep") -> list[tuple[str, str]]:
    """The (name, value) pairs a signature covers, in signing (byte) order."""
    # Two tight comprehensions rather than one with a flag: this runs on every verify.
    if blanks == "keep":
        return [(name, value) for name in sorted(params)
                if (value := params[name]) != "" and name not in UNSIGNED_FIELDS]
    return [(name, value) for name in sorted(params)
            if (value := params[name]).strip(TRIM_CHARS) and name not in UNSIGNED_FIELDS]


def join_fields(fields: list[tuple[str, str]]) -> str:
    """``k1=v1&k2=v2`` with raw values: no URL-encoding, no escaping."""
    return "&".join([f"{name}={value}" for name, value in fields])


def canonical_string(params: Mapping[str, str], *, blanks: Blanks = "keep") -> str:
    """The signed string without the key: sorted, raw, ``sign``/``sign_type``/empties left out."""
    return join_fields(signed_fields(params, blanks=blanks))
