"""Keys never show whole: not on screen, not in logs, exceptions, journals or JSON.

Everything that displays or stores text a key could be in goes through here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from .patterns import lazy

# (compiled on first use: most commands never look for a key in their output)
# What a secret looks like when it turns up where it should not: an MD5 merchant key
# (32 letters and digits) or a run of base64 as long as an RSA key's.
_KEY_SHAPED = lazy(
    r"(?<![A-Za-z0-9])[A-Za-z0-9]{32}(?![A-Za-z0-9])|[A-Za-z0-9+/]{100,}={0,2}"
)
_HEX32 = lazy(r"[0-9a-fA-F]{32}")
# Parameter names under which a misconfigured sender may put a key.
SECRET_NAMES = frozenset({"key", "merchant_key", "private_key", "secret", "apikey", "api_key"})


# Characters a terminal acts on instead of showing (ESC starts colour/cursor sequences, BEL
# rings, CR overwrites the line): C0 except tab and newline, DEL, and the C1 range.
_CONTROLS = lazy(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_ASCII_CONTROLS = bytes([*range(0x09), *range(0x0b, 0x20), 0x7f])


def escape_controls(text: str) -> str:
    """``text`` with every control character written out (``\\x1b``), so pasted input can be
    shown without moving the cursor, changing colours or ringing the bell."""
    # Most text is cleared at C speed before the regex looks (the listener prints a line a
    # notify): ASCII by deleting its controls from a copy, the rest by isprintable() (False
    # for every control, and for tab, newline and some spaces: those go on to the regex).
    if text.isascii():
        raw = text.encode("ascii")
        if len(raw.translate(None, _ASCII_CONTROLS)) == len(raw):
            return text
    elif text.isprintable():
        return text
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


def key_shaped_in(text: str) -> list[str]:
    """What ``mask_key_shaped`` would mask in ``text`` (to mask the runs of it quoted
    elsewhere, e.g. in the hint after a message)."""
    return [found for found in _KEY_SHAPED.findall(text) if not _HEX32.fullmatch(found)]


def has_key_shaped(text: str) -> bool:
    """Whether ``mask_key_shaped`` has anything to look at in ``text`` (a quick test first)."""
    # (both shapes are 32 characters at the least: a path or a short header is cleared here)
    return len(text) >= 32 and _KEY_SHAPED.search(text) is not None


# A run of this many characters of a key, anywhere, is masked: a message cut to 30 characters
# must not quote 26 of them. Shorter runs say nothing usable about a 32-character key.
FRAGMENT = 8
# The secret's blocks of _BLOCK characters, one every _STRIDE: any run of
# _BLOCK + _STRIDE − 1 = FRAGMENT of its characters holds one whole block. Six searches for a
# 32-character key; four-character blocks still rarely turn up by chance in a notify.
_BLOCK = 4
_STRIDE = FRAGMENT - _BLOCK + 1
# Keys and tokens (MD5 keys, ngrok authtokens) are masked in runs too; a PEM, or a file path
# given where a key may be, only whole.
_FRAGMENTED = lazy(r"[A-Za-z0-9_]{16,128}")


def scrub_text(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every secret masked: whole (``89un…UJ8i``), and any run of ``FRAGMENT`` or
    more of its characters (a key cut short by a message or a hint) masked as the whole key."""
    for secret in secrets:
        if not secret or len(secret) < 8:
            continue
        if secret in text:
            text = text.replace(secret, mask(secret))
        if _FRAGMENTED.fullmatch(secret):
            text = _mask_fragments(text, secret)
    return text


def _mask_fragments(text: str, secret: str) -> str:
    """Find runs of ``secret`` in ``text`` from its aligned blocks (a few ``in`` tests, no
    loop over the text), grow each to its full length, and mask those long enough."""
    spans: list[tuple[int, int]] = []
    for offset in range(0, len(secret) - _BLOCK + 1, _STRIDE):
        block = secret[offset:offset + _BLOCK]
        start = text.find(block)
        while start != -1:
            left, right, at = start, start + _BLOCK, offset
            while left > 0 and at > 0 and text[left - 1] == secret[at - 1]:
                left, at = left - 1, at - 1
            end_at = offset + _BLOCK
            while right < len(text) and end_at < len(secret) and text[right] == secret[end_at]:
                right, end_at = right + 1, end_at + 1
            if right - left >= FRAGMENT:
                spans.append((left, right))
            start = text.find(block, start + 1)
    if not spans:
        return text
    pieces, position = [], 0
    for left, right in sorted(spans):
        if right <= position:
            continue
        pieces += [text[position:max(left, position)], mask(secret)]
        position = right
    return "".join(pieces) + text[position:]


def scrub(value: Any, secrets: Iterable[str]) -> Any:
    """``value`` (text, or dicts and lists of it) with every known secret masked, whole or in
    runs of ``FRAGMENT`` characters."""
    known = [s for s in secrets if s and len(s) >= 8]
    if not known:
        return value

    def walk(item: Any) -> Any:
        if isinstance(item, str):
            return scrub_text(item, known)
        if isinstance(item, Mapping):
            return {k: walk(v) for k, v in item.items()}
        if isinstance(item, (list, tuple)):
            return [walk(v) for v in item]
        return item

    return walk(value)


def redact_params(params: Mapping[str, str]) -> dict[str, str]:
    """Received parameters fit to store or print: a field named like a key is masked."""
    return {k: mask(v) if k.lower() in SECRET_NAMES else v for k, v in params.items()}
