"""Keys never show whole: not on screen, not in logs, exceptions, journals or JSON.

Everything that displays or stores text a key could be in goes through here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

# What a secret looks like when it turns up where it should not: an MD5 merchant key
# (32 letters and digits) or a run of base64 as long as an RSA key's.
_KEY_SHAPED = re.compile(
    r"(?<![A-Za-z0-9])[A-Za-z0-9]{32}(?![A-Za-z0-9])|[A-Za-z0-9+/]{100,}={0,2}"
)
_HEX32 = re.compile(r"[0-9a-fA-F]{32}")
# Parameter names under which a misconfigured sender may put a key.
SECRET_NAMES = frozenset({"key", "merchant_key", "private_key", "secret", "apikey", "api_key"})


# Characters a terminal acts on instead of showing (ESC starts colour/cursor sequences, BEL
# rings, CR overwrites the line): C0 except tab and newline, DEL, and the C1 range.
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def escape_controls(text: str) -> str:
    """``text`` with every control character written out (``\\x1b``), so pasted input can be
    shown without moving the cursor, changing colours or ringing the bell."""
    if not _CONTROLS.search(text):
        return text
    return _CONTROLS.sub(lambda m: f"\\x{ord(m.group(0)):02x}", text)


def mask(secret: str) -> str:
    """``89un…UJ8i``: enough to tell keys apart, never enough to use one."""
    if not secret:
        return ""
    if len(secret) < 16:
        return "…"
    return f"{secret[:4]}…{secret[-4:]}"


def mask_key_shaped(text: str, *, keep: Iterable[str] = ()) -> str:
    """Mask anything in ``text`` shaped like a key. Hex of 32 digits is kept (it is an MD5 sign,
    which is public), and so is anything in ``keep``."""
    kept = set(keep)

    def replace(match: re.Match[str]) -> str:
        found: str = match.group(0)
        if found in kept or _HEX32.fullmatch(found):
            return found
        return mask(found)

    return _KEY_SHAPED.sub(replace, text)


def has_key_shaped(text: str) -> bool:
    """Whether ``mask_key_shaped`` has anything to look at in ``text`` (a quick test first)."""
    return _KEY_SHAPED.search(text) is not None


def scrub(value: Any, secrets: Iterable[str]) -> Any:
    """``value`` (text, or dicts and lists of it) with every known secret masked."""
    known = [s for s in secrets if s and len(s) >= 8]
    if not known:
        return value

    def walk(item: Any) -> Any:
        if isinstance(item, str):
            for secret in known:
                item = item.replace(secret, mask(secret))
            return item
        if isinstance(item, Mapping):
            return {k: walk(v) for k, v in item.items()}
        if isinstance(item, (list, tuple)):
            return [walk(v) for v in item]
        return item

    return walk(value)


def redact_params(params: Mapping[str, str]) -> dict[str, str]:
    """Received parameters fit to store or print: a field named like a key is masked."""
    return {k: mask(v) if k.lower() in SECRET_NAMES else v for k, v in params.items()}
