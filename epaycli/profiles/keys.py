"""Keys a profile names: read them (a file path or the key itself), load them as the signers
core uses, and show a profile with its secrets hidden."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Literal, NamedTuple, overload

from ..core.errors import InputError, KeyFormatError
from ..core.models import Dialect, Profile
from ..core.patterns import lazy
from ..core.redact import mask
from ..core.signing import (
    Keys,
    Md5Key,
    RsaKeys,
    Signer,
    SignType,
    UnknownSignType,
    key_text,
    load_private_key,
    load_public_key,
    pick_sign_type,
)
from ..files import file_name, path_exists, read_limited, user_path
from .resolve import Resolved, rank, run_note

if TYPE_CHECKING:  # cryptography is imported only when a key is loaded
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey

MAX_KEY_FILE_BYTES = 64 * 1024
_BARE_BASE64 = lazy(r"[A-Za-z0-9+/=\s]{64,}")


def is_inline_key(value: str) -> bool:
    """A key written out (PEM or bare base64), as opposed to the path of a key file."""
    text = value.strip()
    return text.startswith("-----BEGIN") or bool(_BARE_BASE64.fullmatch(text))


def looks_like_key_path(value: str) -> bool:
    """Short, one line, a path separator or a key-file suffix: safe to print. Anything else
    may be a key pasted in an unexpected form (JSON-escaped, URL-safe base64…) and is not."""
    text = value.strip()
    return (len(text) <= 255 and not any(ch.isspace() for ch in text)
            and not is_inline_key(text)
            and ("/" in text or text.endswith((".pem", ".key", ".der", ".txt"))))


def read_key_material(value: str, *, what: str) -> str:
    """A key given as a file path or as the key itself (PEM or bare base64)."""
    text = value.strip()
    if is_inline_key(text):
        path = Path(text)
        if not path_exists(path):
            return text
    path = user_path(text, what=file_name("key_path", what=what), error=KeyFormatError) \
        if looks_like_key_path(text) else Path(text)
    if not looks_like_key_path(text) and not path_exists(path):
        raise KeyFormatError("{what} is neither a readable file nor a PEM or base64 key "
                             "({length} characters)",
                             "give the path of the key file, or the PEM key itself",
                             code="key_not_file_or_pem", fields={"what": what, "length": len(text)})
    data = read_limited(path, limit=MAX_KEY_FILE_BYTES,
                        what=file_name("key_file", what=what, path=text),
                        error=KeyFormatError, too_large_hint=file_name("key_too_large"))
    return data.decode("utf-8", "replace")


def redacted(profile: Profile) -> dict[str, str]:
    """A profile fit to print: secrets masked; key file paths shown (a path is not a secret)."""
    shown = profile.as_dict()
    for secret in ("key", "ngrok_authtoken"):
        if shown[secret]:
            shown[secret] = mask(shown[secret])
    if shown["smtp"]:
        shown["smtp"] = _smtp_masked(shown["smtp"])
    if shown["private_key"] and not looks_like_key_path(shown["private_key"]):
        shown["private_key"] = "(inline key, hidden)"
    if shown["public_key"] and is_inline_key(shown["public_key"]):
        shown["public_key"] = "(inline public key)"
    return shown


class ProfileKeys(NamedTuple):
    """The keys a profile names, loaded: what every command that signs or checks uses."""

    md5: Md5Key | None = None  # the merchant key (V1, and V2 merchants with MD5 enabled)
    merchant: RsaKeys | None = None  # the merchant's RSA private key: signs requests (V2)
    platform: RsaKeys | None = None  # the platform's RSA public key: checks answers, notifies

    def for_callbacks(self) -> Keys:
        """What a callback or notify is checked with (its own sign_type picks one)."""
        return Keys(md5=self.md5, rsa=self.platform)


def profile_keys(resolved: Resolved, *, private: bool = False, public: bool = False,
                 own_pid_refuses_sandbox_key: bool = False) -> ProfileKeys:
    """The keys of this run's settings. An RSA key is read and parsed only when asked for
    (``private``, ``public``): a command fails only on a key it uses.
    ``own_pid_refuses_sandbox_key``: leave out the built-in sandbox key when the pid is the
    user's own — the key belongs to the sandbox merchant, and a gateway refuses it for others."""
    profile = resolved.profile
    sandbox_key_only = resolved.from_sandbox("key") and not resolved.from_sandbox("pid")
    lend = not (own_pid_refuses_sandbox_key and sandbox_key_only)
    return ProfileKeys(
        md5=Md5Key(profile.key) if profile.key and lend else None,
        merchant=RsaKeys(private=load_key(profile.private_key, "private"))
        if private and profile.private_key else None,
        platform=RsaKeys(public=load_key(profile.public_key, "public"))
        if public and profile.public_key else None)


def notify_keys(resolved: Resolved) -> Keys:
    """Every key notifies may be checked with, loaded once (a listener checks thousands)."""
    keys = profile_keys(resolved, public=True).for_callbacks()
    if keys.md5 is None and keys.rsa is None:
        raise InputError("no key to check notifies with",
                         "pass --key, set EPAY_KEY, or give the profile a key or public_key",
                         code="no_notify_key", fields={})
    return keys


def _smtp_masked(url: str) -> str:
    """The SMTP URL with its password masked (host, port and user are not secrets)."""
    head, at, tail = url.rpartition("@")
    scheme, _, credentials = head.rpartition("//")
    user, colon, password = credentials.partition(":")
    if not at or not colon:
        return url
    return f"{scheme}//{user}:{mask(password) or '…'}@{tail}"


def signer_for(resolved: Resolved, params: Mapping[str, str]) -> Signer:
    """What signs these parameters: ``sign_type`` in them decides; otherwise the key given most
    explicitly (flag > EPAY_* > profile > sandbox), and when both come from one profile, its
    dialect. Only the key that signs is loaded."""
    profile = resolved.profile
    private_rank, key_rank = rank(resolved, "private_key"), rank(resolved, "key")
    rsa_first = private_rank > key_rank or (private_rank == key_rank > 0 and profile.dialect == Dialect.V2)
    wanted = pick_sign_type({k: v for k, v in params.items() if k != "sign"},
                            preferred=SignType.RSA if rsa_first else SignType.MD5)
    keys = profile_keys(resolved, private=wanted is SignType.RSA)
    return Keys(md5=keys.md5, rsa=keys.merchant).to_sign(wanted)


MIN_RSA_BITS = 2048


def signer_notes(resolved: Resolved, signer: Signer) -> list[str]:
    """What to know about the key that signed: which one, when two were given; a weak RSA key."""
    notes: list[str] = []
    if resolved.origins.get("key") == "flag" and resolved.origins.get("private_key") == "flag":
        if signer.sign_type is SignType.RSA:
            notes.append(run_note("both_keys_rsa"))
        else:
            notes.append(run_note("both_keys_md5"))
    if isinstance(signer, RsaKeys) and signer.private is not None:
        notes.extend(rsa_key_notes(signer.private, key_text("merchant_private")))
    return notes


def rsa_key_notes(key: RSAPrivateKey | RSAPublicKey, what: str) -> list[str]:
    """A key shorter than Epay's 2048 bits signs, but is weak and may be refused."""
    bits = getattr(key, "key_size", MIN_RSA_BITS)
    if bits < MIN_RSA_BITS:
        return [run_note("weak_rsa_key", what=what, bits=bits)]
    return []


def verifier_for(resolved: Resolved, params: Mapping[str, str]) -> Keys:
    """The keys to check this callback with; the RSA key is loaded only for an RSA callback."""
    profile = resolved.profile
    preferred = SignType.RSA if profile.public_key and not profile.key else SignType.MD5
    try:
        rsa_callback = pick_sign_type(params, preferred=preferred) is SignType.RSA
    except UnknownSignType:
        rsa_callback = False  # check_callback reports it
    return profile_keys(resolved, public=rsa_callback).for_callbacks()


@overload
def load_key(source: str, kind: Literal["private"], *,
             what: str | None = None) -> RSAPrivateKey: ...


@overload
def load_key(source: str, kind: Literal["public"], *,
             what: str | None = None) -> RSAPublicKey: ...


def load_key(source: str, kind: Literal["private", "public"], *,
             what: str | None = None) -> RSAPrivateKey | RSAPublicKey:
    """The merchant private key (``kind="private"``) or the platform public key (``"public"``)
    a profile names: a file path, or the key itself. ``what`` names it in errors when it is
    another key (the platform private key ``epay trigger`` signs notifies with)."""
    what = what or ("merchant private key" if kind == "private" else "platform public key")
    named = _KEY_TEXT_IDS.get(what)
    material = read_key_material(source, what=file_name(_FILE_NAME_IDS[what])
                                 if what in _FILE_NAME_IDS else what)
    source = key_text(named) if named else f"the {what}"
    if kind == "private":
        return load_private_key(material, source=source)
    return load_public_key(material, source=source)


# The keys errors name, as core words them (``keys.<id>``: said in the run's language).
_KEY_TEXT_IDS = {"merchant private key": "merchant_private",
                 "platform public key": "platform_public",
                 "platform private key": "platform_private"}
# … and as their files are named (``files.<id>``).
_FILE_NAME_IDS = {**_KEY_TEXT_IDS, "key given to --sign-with": "sign_with"}
