"""MD5 (V1) and SHA256withRSA (V2) signatures: what signs (``SignType``, ``Md5Key``, ``RsaKeys``),
which one applies (``pick_sign_type``), making and checking signs in constant time, and loading
the RSA keys Epay panels hand out (PEM, or bare base64 DER).

The CLI, the gateway client, the local gateway, the listener and ``trigger`` all sign and verify
through ``sign`` and ``verify`` here."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from enum import StrEnum
from functools import lru_cache
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple

from .canonical import (
    SIGNER_ORDER,
    SORT_ORDERS,
    Blanks,
    SortOrder,
    canonical_string,
    has_blank_values,
    may_look_numeric,
)
from .errors import InputError, KeyFormatError
from .patterns import lazy
from .redact import mask
from .words import Text, Texts

if TYPE_CHECKING:  # cryptography is imported only when an RSA key is really used
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
    from cryptography.hazmat.primitives.asymmetric.rsa import (
        RSAPrivateKey,
        RSAPublicKey,
    )
    from cryptography.hazmat.primitives.hashes import SHA256

MD5_KEY_PATTERN = lazy(r"[0-9A-Za-z]{32}")
MD5_SIGN_PATTERN = lazy(r"[0-9A-Fa-f]{32}")
RSA_SIGN_PATTERN = lazy(r"[A-Za-z0-9+/]{40,}={0,2}")


class SignType(StrEnum):
    """The two signatures Epay uses; the value is what ``sign_type`` carries on the wire."""

    MD5 = "MD5"  # V1: md5(canonical + merchant key)
    RSA = "RSA"  # V2: SHA256withRSA over the canonical string, base64


# sign_type values by their text: an Enum's call costs more than the rest of picking
_SIGN_TYPES = {sign_type.value: sign_type for sign_type in SignType}


class UnknownSignType(InputError):
    code = "unknown_sign_type"


# The key profiles.example.toml ships with: signing with it would fail at the gateway as a bad
# sign, far from the cause.
PLACEHOLDER_KEYS = frozenset({"REPLACE_WITH_YOUR_32_CHARACTER_KEY"})


class Md5Key:
    """A merchant's MD5 key: the shared secret that signs both ways in V1. Immutable, compared
    by value (a plain class: records on every command's path are not dataclasses, see
    ``models``)."""

    __slots__ = ("secret",)
    sign_type: ClassVar[SignType] = SignType.MD5
    secret: str

    def __init__(self, secret: str) -> None:
        if not secret:
            raise KeyFormatError("no merchant key was given", code="missing_md5_key",
                                 words="no_md5_key", fields={})
        if secret.strip() in PLACEHOLDER_KEYS:  # the example file, copied and not filled in
            raise KeyFormatError("the merchant key is the example's placeholder {placeholder!r}, "
                                 "not a key: nothing it signs or checks can match the gateway",
                                 "put your merchant's 32-character key from the Epay merchant "
                                 "admin in its place", code="placeholder_key",
                                 words="placeholder_md5_key",
                                 fields={"placeholder": secret.strip()})
        object.__setattr__(self, "secret", secret)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"Md5Key is immutable: cannot set {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"Md5Key is immutable: cannot delete {name!r}")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Md5Key) and other.secret == self.secret

    def __hash__(self) -> int:
        return hash((Md5Key, self.secret))

    def __repr__(self) -> str:  # a key must not leak through a traceback or a log line
        return f"Md5Key({mask(self.secret)})"


class RsaKeys(NamedTuple):
    """One side's RSA pair as epay holds it: ``private`` signs what this side sends (the
    merchant's requests, or the platform's notifies), ``public`` checks what the other side
    signed. Either may be absent when only one direction is needed."""

    private: RSAPrivateKey | None = None
    public: RSAPublicKey | None = None

    @property
    def sign_type(self) -> SignType:
        return SignType.RSA

    def checking_key(self) -> RSAPublicKey:
        """The public key, which checks signs; an error when this side holds none."""
        if self.public is None:
            raise KeyFormatError("checking an RSA sign needs a public key, and none was given",
                                 code="missing_public_key", words="no_public_key_to_check",
                                 fields={})
        return self.public


Signer = Md5Key | RsaKeys


class Keys(NamedTuple):
    """Every key a run has, so the callback's own sign_type can choose among them."""

    md5: Md5Key | None = None
    rsa: RsaKeys | None = None

    @property
    def preferred(self) -> SignType:
        return SignType.RSA if self.rsa is not None and self.md5 is None else SignType.MD5

    def to_verify(self, sign_type: SignType) -> Signer:
        if sign_type is SignType.MD5:
            if self.md5 is None:
                raise KeyFormatError("this is MD5-signed and no merchant key was given",
                                     code="missing_md5_key", words="no_md5_key_to_verify",
                                     fields={})
            return self.md5
        if self.rsa is None or self.rsa.public is None:
            raise KeyFormatError("this is RSA-signed (V2) and no RSA public key was given",
                                 code="missing_public_key", words="no_public_key_to_verify",
                                 fields={})
        return self.rsa

    def to_sign(self, sign_type: SignType) -> Signer:
        if sign_type is SignType.MD5:
            if self.md5 is None:
                raise KeyFormatError("signing MD5 needs the merchant key, and none was given",
                                     code="missing_md5_key", words="no_md5_key_to_sign",
                                     fields={})
            return self.md5
        if self.rsa is None or self.rsa.private is None:
            raise KeyFormatError("sign_type is RSA but no RSA private key was given",
                                 code="missing_private_key", words="no_private_key_for_rsa",
                                 fields={})
        return self.rsa


def pick_sign_type(params: Mapping[str, str], *, preferred: SignType = SignType.MD5) -> SignType:
    """The one rule for which signature applies: ``sign_type`` as declared; else what the shape
    of a present ``sign`` says (32 hex digits: MD5; long base64: RSA); else ``preferred``."""
    declared = params.get("sign_type", "")
    if declared:
        known = _SIGN_TYPES.get(declared.upper())
        if known is None:
            shown = declared if len(declared) <= 24 else declared[:24] + "…"
            raise UnknownSignType("sign_type {shown!r} is not MD5 or RSA",
                                  "Epay signs with MD5 (V1) or RSA (V2)",
                                  code="unknown_sign_type", fields={"shown": shown})
        return known
    sign = params.get("sign", "")
    if not sign:  # (neither pattern matches nothing; `epay sign` need not compile them)
        return preferred
    if MD5_SIGN_PATTERN.fullmatch(sign):
        return SignType.MD5
    if RSA_SIGN_PATTERN.fullmatch(sign):
        return SignType.RSA
    return preferred


def sign(params: Mapping[str, str], signer: Signer, *, blanks: Blanks = "keep") -> str:
    """The sign of ``params`` (``sign``/``sign_type`` ignored). ``blanks`` picks the MD5 server
    variant for whitespace-only values; RSA always leaves them out."""
    if isinstance(signer, Md5Key):
        return md5_sign(params, signer.secret, blanks=blanks)
    if signer.private is None:
        raise KeyFormatError("signing RSA needs a private key, and none was given",
                             code="missing_private_key", words="no_private_key_to_sign",
                             fields={})
    return rsa_sign(params, signer.private)


class SignMatch(NamedTuple):
    """Which variant of the signed string a genuine sign covers: the PHP sort order, and for
    MD5 whether whitespace-only values were kept (older servers) or dropped (newer ones)."""

    order: SortOrder = SIGNER_ORDER
    blanks: Blanks = "keep"

    @property
    def name(self) -> str:
        return self.order.name + ("" if self.blanks == "keep" else ",blanks-dropped")

    @property
    def default_order(self) -> bool:
        return self.order == SIGNER_ORDER


_DEFAULT_MATCH = SignMatch()


def verify(params: Mapping[str, str], signer: Signer, received: str | None = None) -> bool:
    """Whether ``received`` (default ``params['sign']``) is genuine; constant time."""
    return verify_match(params, signer, received) is not None


def verify_match(params: Mapping[str, str], signer: Signer,
                 received: str | None = None) -> SignMatch | None:
    """Which variant ``received`` (default ``params['sign']``) genuinely signs, or None."""
    if isinstance(signer, Md5Key):
        return md5_match(params, signer.secret, received)
    return rsa_match(params, signer.checking_key(), received)


def signed_string(params: Mapping[str, str], sign_type: SignType, *, blanks: Blanks = "keep",
                  order: SortOrder = SIGNER_ORDER) -> str:
    """The string a sign of this type covers (for MD5, before the key is appended)."""
    return canonical_string(params, blanks="drop" if sign_type is SignType.RSA else blanks,
                            order=order)


def _variants(params: Mapping[str, str], blank_choices: tuple[Blanks, ...],
              skip: SignMatch | None) -> Iterator[tuple[SignMatch, str]]:
    """(match, signed string) for every variant worth trying, each distinct string once.

    Ordinary names have one PHP order, so only the blanks choices remain."""
    orders = SORT_ORDERS if may_look_numeric(params) else (SIGNER_ORDER,)
    seen: set[str] = set()
    for blanks in blank_choices:
        for order in orders:
            match = SignMatch(order, blanks)
            if match == skip:
                continue
            string = canonical_string(params, blanks=blanks, order=order)
            if string not in seen:
                seen.add(string)
                yield match, string


# ---- MD5 (V1) ------------------------------------------------------------------------------


def md5_sign(params: Mapping[str, str], key: str, *, blanks: Blanks = "keep") -> str:
    """The V1 sign: lowercase hex MD5 of the canonical string with the key appended directly."""
    require_md5_key(key)
    return md5_hex(canonical_string(params, blanks=blanks) + key)


# MD5 from the interpreter's own small module when it has one: importing hashlib loads OpenSSL
# (~4 ms, a tenth of what `epay sign` may add to Python's start). Same digest either way.
if TYPE_CHECKING:
    from hashlib import md5 as _md5
else:
    try:
        from _md5 import md5 as _md5
    except ImportError:  # an interpreter built without it
        from hashlib import md5 as _md5


def md5_hex(text: str) -> str:
    return _md5(text.encode("utf-8")).hexdigest()


def md5_verify(params: Mapping[str, str], key: str, sign: str | None = None) -> bool:
    """Whether ``sign`` (default: ``params['sign']``) is genuine under any server variant:
    whitespace-only values kept or dropped, and any PHP version's ``ksort`` order."""
    require_md5_key(key)
    received = params.get("sign", "") if sign is None else sign
    # The hot path, inline: the default variant, and nothing else for ordinary names.
    if constant_time_equal(received, md5_hex(canonical_string(params) + key)):
        return True
    return _md5_other_variant(params, key, received) is not None


def md5_match(params: Mapping[str, str], key: str, sign: str | None = None) -> SignMatch | None:
    """Which variant ``sign`` (default: ``params['sign']``) genuinely signs, or None."""
    require_md5_key(key)
    received = params.get("sign", "") if sign is None else sign
    if constant_time_equal(received, md5_hex(canonical_string(params) + key)):
        return _DEFAULT_MATCH
    return _md5_other_variant(params, key, received)


def _md5_other_variant(params: Mapping[str, str], key: str, received: str) -> SignMatch | None:
    blank_choices: tuple[Blanks, ...] = ("keep", "drop") if has_blank_values(params) else ("keep",)
    if len(blank_choices) == 1 and not may_look_numeric(params):
        return None
    for match, string in _variants(params, blank_choices, skip=_DEFAULT_MATCH):
        # Each comparison is constant time; which variant matched is no secret.
        if constant_time_equal(received, md5_hex(string + key)):
            return match
    return None


def require_md5_key(key: str) -> None:
    if not key:
        raise KeyFormatError("no merchant key was given", code="missing_md5_key",
                             words="no_md5_key", fields={})


def looks_like_md5_key(key: str) -> bool:
    """Epay issues 32 letters and digits; other keys work but usually mean a copy mistake."""
    return bool(MD5_KEY_PATTERN.fullmatch(key))


def constant_time_equal(received: str, expected: str) -> bool:
    # hmac.compare_digest's own constant-time routine, without importing hmac: that loads
    # OpenSSL's hashlib, a third of `epay verify`'s start beyond typer (see _md5 below)
    from _operator import _compare_digest

    return _compare_digest(
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
    """Whether ``sign`` (default: ``params['sign']``) is genuine in any PHP ``ksort`` order."""
    return rsa_match(params, public_key, sign) is not None


def rsa_match(params: Mapping[str, str], public_key: RSAPublicKey,
              sign: str | None = None) -> SignMatch | None:
    """Which PHP order ``sign`` genuinely signs (RSA always drops blanks), or None."""
    received = params.get("sign", "") if sign is None else sign
    for match, string in _variants(params, ("drop",), skip=None):
        if rsa_verify_message(string, received, public_key):
            return match
    return None


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
def _pkcs1_sha256() -> tuple[PKCS1v15, SHA256, type[InvalidSignature]]:
    """(padding, hash, InvalidSignature), imported once: cryptography is slow to import and
    the MD5 path never needs it."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    return padding.PKCS1v15(), hashes.SHA256(), InvalidSignature


# How keys are named in errors (``keys.<id>``), and what each kind must be.
KEY_TEXTS = {
    "private": "the private key",
    "public": "the public key",
    "merchant_private": "the merchant private key",
    "platform_public": "the platform public key",
    "platform_private": "the platform private key",
    "wanted_private": "an RSA private key (PKCS#8 or PKCS#1, PEM or bare base64)",
    "wanted_public": "an RSA public key (SPKI, PEM or bare base64)",
}


key_text = Texts("keys", KEY_TEXTS)


def load_private_key(material: str | bytes, *, source: str | None = None) -> RSAPrivateKey:
    """An RSA private key from PEM (PKCS#8 or PKCS#1) or bare base64 PKCS#8/PKCS#1 DER."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

    source = source or key_text("private")
    key = _load_key(
        material,
        source=source,
        pem_loader=lambda data: serialization.load_pem_private_key(data, password=None),
        der_loader=lambda data: serialization.load_der_private_key(data, password=None),
        wanted=key_text("wanted_private"),
    )
    if not isinstance(key, RSAPrivateKey):
        raise KeyFormatError("{source} is not an RSA key", "Epay V2 uses 2048-bit RSA keys",
                             code="bad_key", words="not_an_rsa_key", fields={"source": source})
    return key


def load_public_key(material: str | bytes, *, source: str | None = None) -> RSAPublicKey:
    """An RSA public key from PEM or bare base64 SPKI (or PKCS#1) DER."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

    source = source or key_text("public")
    key = _load_key(
        material,
        source=source,
        pem_loader=serialization.load_pem_public_key,
        der_loader=serialization.load_der_public_key,
        wanted=key_text("wanted_public"),
    )
    if not isinstance(key, RSAPublicKey):
        raise KeyFormatError("{source} is not an RSA key", "Epay V2 uses 2048-bit RSA keys",
                             code="bad_key", words="not_an_rsa_key", fields={"source": source})
    return key


def _load_key(material: str | bytes, *, source: str, pem_loader: Callable[[bytes], object],
              der_loader: Callable[[bytes], object], wanted: Text) -> object:
    """Try PEM, then bare base64 DER (cryptography reads PKCS#8, SPKI and PKCS#1 alike)."""
    import base64
    import binascii

    text = material.decode("utf-8", "replace") if isinstance(material, bytes) else material
    text = text.strip().lstrip("\ufeff")
    fields = {"source": source, "wanted": wanted}
    if not text:
        raise KeyFormatError("{source} is empty", "expected {wanted}", code="bad_key",
                             words="empty_key", fields=fields)
    if "-----BEGIN" in text:
        if "PRIVATE KEY" in text and wanted.id == "keys.wanted_public":
            raise KeyFormatError(
                "{source} is a private key where a public key is needed",
                "use the platform public key (平台公钥) shown in the gateway's panel",
                code="bad_key", words="private_key_for_public", fields=fields,
            )
        try:
            return pem_loader(text.encode("ascii", "replace"))
        except (ValueError, TypeError):
            raise KeyFormatError(
                "{source} is PEM but not {wanted}", "check you copied it whole",
                code="bad_key", words="pem_not_key", fields=fields,
            ) from None
    try:
        der = base64.b64decode(re.sub(r"\s+", "", text), validate=True)
        return der_loader(der)
    except (binascii.Error, ValueError, TypeError):
        raise KeyFormatError(
            "{source} could not be read as {wanted}", "check you copied it whole",
            code="bad_key", words="unreadable_key", fields=fields,
        ) from None
