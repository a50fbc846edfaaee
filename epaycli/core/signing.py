"""MD5 (V1) and SHA256withRSA (V2) signatures: make them, check them in constant time, and
load the RSA keys Epay panels hand out (PEM, or bare base64 DER)."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from functools import lru_cache
from typing import TYPE_CHECKING

from .canonical import Blanks, canonical_string, has_blank_values
from .errors import KeyFormatError

if TYPE_CHECKING:  # cryptography is imported only when an RSA key is really used
    from cryptography.hazmat.primitives.asymmetric.rsa import (
        RSAPrivateKey,
        RSAPublicKey,
    )

MD5_KEY_PATTERN = re.compile(r"[0-9A-Za-z]{32}")
MISSING_KEY_HINT = "pass --key, set EPAY_KEY, or add a profile with 'epay profile add'"


# ---- MD5 (V1) ------------------------------------------------------------------------------


def md5_sign(params: Mapping[str, str], key: str, *, blanks: Blanks = "keep") -> str:
    """The V1 sign: lowercase hex MD5 of the canonical string with the key appended directly."""
    require_md5_key(key)
    return md5_hex(canonical_string(params, blanks=blanks) + key)


def md5_hex(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest()


def md5_verify(params: Mapping[str, str], key: str, sign: str | None = None) -> bool:
    """Whether ``sign`` (default: ``params['sign']``) is genuine under either server variant."""
    require_md5_key(key)
    received = params.get("sign", "") if sign is None else sign
    expected = md5_hex(canonical_string(params, blanks="keep") + key)
    if constant_time_equal(received, expected):
        return True
    if has_blank_values(params):
        trimmed = md5_hex(canonical_string(params, blanks="drop") + key)
        return constant_time_equal(received, trimmed)
    return False


def require_md5_key(key: str) -> None:
    if not key:
        raise KeyFormatError("no merchant key was given", MISSING_KEY_HINT)


def looks_like_md5_key(key: str) -> bool:
    """Epay issues 32 letters and digits; other keys work but usually mean a copy mistake."""
    return bool(MD5_KEY_PATTERN.fullmatch(key))


def constant_time_equal(received: str, expected: str) -> bool:
    return hmac.compare_digest(
        received.encode("utf-8", "surrogatepass"), expected.encode("utf-8", "surrogatepass")
    )


# ---- RSA (V2) ------------------------------------------------------------------------------


def rsa_sign(params: Mapping[str, str], private_key: RSAPrivateKey) -> str:
    """base64(RSA-PKCS#1-v1.5(SHA-256(canonical))), whitespace-only values left out."""
    import base64

    scheme, digest, _ = _pkcs1_sha256()
    message = canonical_string(params, blanks="drop").encode("utf-8")
    return base64.b64encode(private_key.sign(message, scheme, digest)).decode("ascii")


def rsa_verify(params: Mapping[str, str], public_key: RSAPublicKey, sign: str | None = None) -> bool:
    received = params.get("sign", "") if sign is None else sign
    return rsa_verify_message(canonical_string(params, blanks="drop"), received, public_key)


def rsa_verify_message(message: str, sign: str, public_key: RSAPublicKey) -> bool:
    """Whether ``sign`` signs ``message``; a malformed sign is simply not genuine."""
    import base64
    import binascii

    scheme, digest, invalid_signature = _pkcs1_sha256()
    try:
        signature = base64.b64decode(sign, validate=True)
    except (binascii.Error, ValueError):
        return False
    try:
        public_key.verify(signature, message.encode("utf-8"), scheme, digest)
    except invalid_signature:
        return False
    return True


@lru_cache(maxsize=1)
def _pkcs1_sha256():
    """(padding, hash, InvalidSignature), imported once: cryptography is slow to import and
    the MD5 path never needs it."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    return padding.PKCS1v15(), hashes.SHA256(), InvalidSignature


def load_private_key(material: str | bytes, *, source: str = "the private key") -> RSAPrivateKey:
    """An RSA private key from PEM (PKCS#8 or PKCS#1) or bare base64 PKCS#8/PKCS#1 DER."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

    key = _load_key(
        material,
        source=source,
        pem_loader=lambda data: serialization.load_pem_private_key(data, password=None),
        der_loader=lambda data: serialization.load_der_private_key(data, password=None),
        wanted="an RSA private key (PKCS#8 or PKCS#1, PEM or bare base64)",
    )
    if not isinstance(key, RSAPrivateKey):
        raise KeyFormatError(f"{source} is not an RSA key", "Epay V2 uses 2048-bit RSA keys")
    return key


def load_public_key(material: str | bytes, *, source: str = "the public key") -> RSAPublicKey:
    """An RSA public key from PEM or bare base64 SPKI (or PKCS#1) DER."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

    key = _load_key(
        material,
        source=source,
        pem_loader=serialization.load_pem_public_key,
        der_loader=serialization.load_der_public_key,
        wanted="an RSA public key (SPKI, PEM or bare base64)",
    )
    if not isinstance(key, RSAPublicKey):
        raise KeyFormatError(f"{source} is not an RSA key", "Epay V2 uses 2048-bit RSA keys")
    return key


def _load_key(material, *, source, pem_loader, der_loader, wanted):
    """Try PEM, then bare base64 DER (cryptography reads PKCS#8, SPKI and PKCS#1 alike)."""
    import base64
    import binascii

    text = material.decode("utf-8", "replace") if isinstance(material, bytes) else material
    text = text.strip().lstrip("\ufeff")
    if not text:
        raise KeyFormatError(f"{source} is empty", f"expected {wanted}")
    if "-----BEGIN" in text:
        if "PRIVATE KEY" in text and "public" in wanted:
            raise KeyFormatError(
                f"{source} is a private key where a public key is needed",
                "use the platform public key (平台公钥) shown in the gateway's panel",
            )
        try:
            return pem_loader(text.encode("ascii", "replace"))
        except (ValueError, TypeError):
            raise KeyFormatError(
                f"{source} is PEM but not {wanted}", "check you copied it whole"
            ) from None
    try:
        der = base64.b64decode(re.sub(r"\s+", "", text), validate=True)
        return der_loader(der)
    except (binascii.Error, ValueError, TypeError):
        raise KeyFormatError(
            f"{source} could not be read as {wanted}", "check you copied it whole"
        ) from None

