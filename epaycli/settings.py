"""What a command runs with: the resolved profile, and the keys loaded from it.

Glue between profiles (files, environment) and the pure core; commands call these and never
read key files or the environment themselves.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from .core.signing import (
    Keys,
    Md5Key,
    RsaKeys,
    Signer,
    SignType,
    UnknownSignType,
    load_private_key,
    load_public_key,
    looks_like_md5_key,
    pick_sign_type,
)
from .profiles import Resolved, config_path, load_store, read_key_material, resolve

def current(profile_name: str | None, flags: Mapping[str, str | None]) -> Resolved:
    """The settings for this run (reads the profiles file once)."""
    store = load_store(config_path(os.environ))
    return resolve(store, profile_name=profile_name, flags=flags, env=os.environ)


def signer_for(resolved: Resolved, params: Mapping[str, str]) -> Signer:
    """What signs these parameters: ``sign_type`` in them decides; otherwise the key given most
    explicitly (flag > EPAY_* > profile > sandbox), and when both come from one profile, its
    dialect. Only the key that signs is loaded."""
    profile = resolved.profile
    private_rank, key_rank = _rank(resolved, "private_key"), _rank(resolved, "key")
    rsa_first = private_rank > key_rank or (private_rank == key_rank > 0 and profile.dialect == "v2")
    wanted = pick_sign_type({k: v for k, v in params.items() if k != "sign"},
                            preferred=SignType.RSA if rsa_first else SignType.MD5)
    if wanted is SignType.RSA:
        private = load_key(profile.private_key, "private") if profile.private_key else None
        return Keys(rsa=RsaKeys(private=private) if private else None).to_sign(wanted)
    return Keys(md5=Md5Key(profile.key) if profile.key else None).to_sign(wanted)


def _rank(resolved: Resolved, field_name: str) -> int:
    """How explicitly a setting was given: flag 4, EPAY_* 3, profile 2, sandbox 1, unset 0."""
    origin = resolved.origins.get(field_name) if getattr(resolved.profile, field_name) else None
    if origin is None:
        return 0
    if origin == "flag":
        return 4
    if origin.startswith("EPAY_"):
        return 3
    return 1 if resolved.from_sandbox(field_name) else 2


def verifier_for(resolved: Resolved, params: Mapping[str, str]) -> Keys:
    """The keys to check this callback with; the RSA key is loaded only for an RSA callback."""
    profile = resolved.profile
    md5 = Md5Key(profile.key) if profile.key else None
    preferred = SignType.RSA if profile.public_key and not profile.key else SignType.MD5
    try:
        rsa_callback = pick_sign_type(params, preferred=preferred) is SignType.RSA
    except UnknownSignType:
        rsa_callback = False  # check_callback reports it
    if not rsa_callback or not profile.public_key:
        return Keys(md5=md5)
    return Keys(md5=md5, rsa=RsaKeys(public=load_key(profile.public_key, "public")))


def load_key(source: str, kind: str):
    """The merchant private key or the platform public key a profile names (file or inline)."""
    if kind == "private":
        material = read_key_material(source, what="merchant private key")
        return load_private_key(material, source="the merchant private key")
    material = read_key_material(source, what="platform public key")
    return load_public_key(material, source="the platform public key")


def expected_pid(resolved: Resolved) -> str | None:
    """The merchant id to hold callbacks to: only one the user configured, never the sandbox's."""
    if not resolved.profile.pid or resolved.from_sandbox("pid"):
        return None
    return resolved.profile.pid


def key_notes(resolved: Resolved, *, uses_md5_key: bool) -> list[str]:
    """What to know about the MD5 key a run used: the sandbox's, or not shaped like Epay's."""
    if not uses_md5_key:
        return []
    if resolved.from_sandbox("key"):
        return ["used the built-in sandbox profile's key (no profile configured): pass --key, "
                "set EPAY_KEY, or run 'epay profile add' for your own merchant"]
    key = resolved.profile.key
    if key and not looks_like_md5_key(key):
        return [f"the key ({resolved.origins.get('key')}) is {len(key)} characters; Epay merchant "
                "keys are 32 letters and digits — check it was copied whole"]
    return []
