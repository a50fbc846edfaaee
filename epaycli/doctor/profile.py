"""Offline checks of a profile: complete for its dialect, the MD5 key's shape, the RSA keys
(readable, strong enough, the pair matching, the platform key really the platform's)."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, overload

from ..core.errors import EpayError
from ..core.models import DIALECTS, SANDBOX_KEY
from ..core.redact import mask
from ..core.signing import looks_like_md5_key
from ..profiles.keys import MIN_RSA_BITS, load_key
from ..profiles.resolve import Resolved
from .findings import Finding, finding

if TYPE_CHECKING:  # cryptography is imported only when a key is loaded
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey

QUOTES = "'\"`“”‘’「」『』"
# What people paste in front of the key from a panel, a mail or a config file.
KEY_LABELS = ("key=", "key:", "key：", "key =", "md5key=", "merchant_key=", "商户密钥:",
              "商户密钥：", "密钥:", "密钥：")


@dataclass
class LoadedKeys:
    """The RSA keys the profile names, as loaded (None: not given or not readable)."""

    private: RSAPrivateKey | None = None
    platform: RSAPublicKey | None = None
    problems: list[str] = field(default_factory=list)


def check_completeness(resolved: Resolved) -> Finding:
    profile = resolved.profile
    if profile.dialect not in DIALECTS:
        return finding("profile.complete", "profile_dialect", "fail", dialect=profile.dialect)
    needed = ["gateway", "pid"] + (["private_key"] if profile.dialect == "v2" else ["key"])
    given = profile.as_dict()
    missing = [name for name in needed if not given[name]]
    if missing:
        return finding("profile.complete", "profile_missing", "fail", profile=profile.name,
                       dialect=profile.dialect, missing=", ".join(missing),
                       upper=missing[0].upper(), option=missing[0].replace("_", "-"))
    return finding("profile.complete", "profile_complete", "ok", profile=profile.name,
                   dialect=profile.dialect, fields=", ".join(needed))


def check_key_shape(key: str) -> Finding | None:
    """The merchant MD5 key as pasted: each way it is commonly broken, named."""
    if not key:
        return None
    check = "profile.key"
    lowered = key.strip().lower()
    for label in KEY_LABELS:
        if lowered.startswith(label):
            return finding(check, "key_prefix", "fail", prefix=key.strip()[:len(label)])
    spaces = [i for i, ch in enumerate(key) if ch.isspace()]
    if spaces:
        inside = any(0 < i < len(key) - 1 and key[:i].strip() and key[i:].strip() for i in spaces)
        where = "inside it" if inside else "at its start or end"
        return finding(check, "key_whitespace", "fail", where=where)
    if any(ch in QUOTES for ch in key):
        return finding(check, "key_quotes", "fail")
    wide = sorted({ch for ch in key if unicodedata.east_asian_width(ch) in ("F", "W")})
    if wide:
        return finding(check, "key_fullwidth", "fail", characters=" ".join(wide[:5]))
    if key == SANDBOX_KEY:
        return finding(check, "key_sandbox", "warn")
    if not looks_like_md5_key(key):
        return finding(check, "key_unusual", "warn", length=len(key), masked=mask(key))
    return finding(check, "key_ok", "ok", masked=mask(key))


def _bits(key: RSAPrivateKey | RSAPublicKey) -> int:
    return key.key_size


def _weak(check: str, key: RSAPrivateKey | RSAPublicKey, what: str) -> Finding | None:
    bits = _bits(key)
    if bits < MIN_RSA_BITS:
        return finding(check, "rsa_weak", "warn", what=what, bits=bits)
    return None


def check_rsa_keys(resolved: Resolved, merchant_public_key: str | None,
                   keys: LoadedKeys) -> list[Finding]:
    """V2: the merchant private key, the pair (when the uploaded public key is given), and the
    platform public key. Loaded keys are kept in ``keys`` for the checks that sign."""
    profile = resolved.profile
    found: list[Finding] = []
    if profile.private_key:
        keys.private = _load(found, "profile.private_key", profile.private_key, "private")
    if keys.private is not None:
        found.append(_weak("profile.private_key", keys.private, "merchant private key")
                     or finding("profile.private_key", "private_key_ok", "ok",
                                bits=_bits(keys.private)))
        if merchant_public_key:
            found.append(_check_pair(keys.private, merchant_public_key))
    if profile.public_key:
        keys.platform = _load(found, "profile.platform_key", profile.public_key, "public")
    if keys.platform is not None:
        if keys.private is not None and _same_key(keys.private.public_key(), keys.platform):
            found.append(finding("profile.platform_key", "platform_key_is_merchant", "fail"))
        else:
            found.append(_weak("profile.platform_key", keys.platform, "platform public key")
                         or finding("profile.platform_key", "platform_key_ok", "ok",
                                    bits=_bits(keys.platform)))
    elif not profile.public_key and profile.dialect == "v2":
        found.append(finding("profile.platform_key", "platform_key_missing", "fail"))
    return found


@overload
def _load(found: list[Finding], check: str, source: str,
          kind: Literal["private"]) -> RSAPrivateKey | None: ...


@overload
def _load(found: list[Finding], check: str, source: str,
          kind: Literal["public"]) -> RSAPublicKey | None: ...


def _load(found: list[Finding], check: str, source: str,
          kind: Literal["private", "public"]) -> RSAPrivateKey | RSAPublicKey | None:
    """The key ``source`` names, or None with the reason added to ``found``."""
    try:
        return load_key(source, kind)
    except EpayError as error:
        code = "private_key_bad" if kind == "private" else "platform_key_bad"
        found.append(finding(check, code, "fail", reason=error.message))
        return None


def _check_pair(private: RSAPrivateKey, source: str) -> Finding:
    try:
        public = load_key(source, "public", what="merchant public key")
    except EpayError as error:
        return finding("profile.key_pair", "merchant_public_key_bad", "fail", reason=error.message)
    if _same_key(private.public_key(), public):
        return finding("profile.key_pair", "key_pair_ok", "ok")
    return finding("profile.key_pair", "key_pair_mismatch", "fail", source="given")


def _same_key(first: RSAPublicKey, second: RSAPublicKey) -> bool:
    return first.public_numbers() == second.public_numbers()


def check_profile(resolved: Resolved, merchant_public_key: str | None = None
                  ) -> tuple[list[Finding], LoadedKeys]:
    """Every offline check of the profile, and the keys it loaded."""
    keys = LoadedKeys()
    found = [check_completeness(resolved)]
    shape = check_key_shape(resolved.profile.key)
    if shape is not None:
        found.append(shape)
    found.extend(check_rsa_keys(resolved, merchant_public_key, keys))
    return found, keys
