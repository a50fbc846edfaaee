"""The V2 key pairs of the local gateway: the merchant's (it signs requests) and the platform's
(it signs responses and notifies). Made on first start and kept in the data dir, files 0600;
in memory when there is no data dir."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from ..core.redact import mask
from ..core.signing import RsaKeys, load_private_key, load_public_key

MERCHANT_PRIVATE = "v2-merchant-private.pem"
MERCHANT_PUBLIC = "v2-merchant-public.pem"
PLATFORM_PRIVATE = "v2-platform-private.pem"
PLATFORM_PUBLIC = "v2-platform-public.pem"


@dataclass(frozen=True, repr=False)
class V2Merchant:
    """What a V2 client needs to talk to the local gateway: pid, its MD5 key (api.php and the
    sandbox pay call take it), the merchant private key and the platform public key. The paths
    are None in memory."""

    pid: str
    key: str
    merchant_private_pem: str
    merchant_public_pem: str
    platform_public_pem: str
    merchant_private_path: Path | None = None
    platform_public_path: Path | None = None

    def client_keys(self) -> RsaKeys:
        """The keys a merchant's client signs with and checks the gateway's answers with."""
        return RsaKeys(private=load_private_key(self.merchant_private_pem),
                       public=load_public_key(self.platform_public_pem))

    def __repr__(self) -> str:
        return (f"V2Merchant(pid={self.pid}, key={mask(self.key)}, "
                f"private_key={self.merchant_private_path or '<in memory>'})")


@dataclass(frozen=True, repr=False)
class KeyMaterial:
    merchant_private_pem: str
    merchant_public_pem: str
    platform_private_pem: str
    platform_public_pem: str
    created: bool  # made on this start (first start of a data dir, or in memory)
    paths: dict[str, Path | None]

    def __repr__(self) -> str:
        return f"KeyMaterial(created={self.created})"


def _new_pair() -> tuple[str, str]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode("ascii")
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode("ascii")
    return private, public


@lru_cache(maxsize=1)
def _memory_pairs() -> tuple[tuple[str, str], tuple[str, str]]:
    """In-memory gateways of one process share their throwaway keys: making two 2048-bit
    pairs costs ~0.3 s, and tests start many gateways."""
    return _new_pair(), _new_pair()


def _write_private(path: Path, text: str) -> None:
    """Written 0600 from the first byte, atomically (a half-written key is never left)."""
    temporary = path.with_name(path.name + ".tmp")
    handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(handle, "w", encoding="ascii") as stream:
            stream.write(text)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def key_material(data_dir: Path | None) -> KeyMaterial:
    """The four keys: read from ``data_dir``, made (and written) when they are not there yet."""
    names = (MERCHANT_PRIVATE, MERCHANT_PUBLIC, PLATFORM_PRIVATE, PLATFORM_PUBLIC)
    if data_dir is None:
        merchant, platform = _memory_pairs()
        return KeyMaterial(merchant[0], merchant[1], platform[0], platform[1], True,
                           dict.fromkeys(names))
    data_dir = Path(data_dir)
    paths = {name: data_dir / name for name in names}
    if all(path.exists() for path in paths.values()):
        merchant_private, merchant_public, platform_private, platform_public = (
            paths[name].read_text(encoding="ascii") for name in names)
        load_private_key(merchant_private, source=str(paths[MERCHANT_PRIVATE]))
        load_private_key(platform_private, source=str(paths[PLATFORM_PRIVATE]))
        return KeyMaterial(merchant_private, merchant_public, platform_private, platform_public,
                           False, {**paths})
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    merchant, platform = _new_pair(), _new_pair()
    for name, text in zip(names, (*merchant, *platform)):
        _write_private(paths[name], text)
    return KeyMaterial(*merchant, *platform, True, {**paths})
