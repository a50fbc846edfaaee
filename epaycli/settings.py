"""What a command runs with: the resolved profile, and the keys loaded from it.

Glue between profiles (files, environment) and the pure core; commands call these and never
read key files or the environment themselves.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

from .core.signing import load_private_key, load_public_key, looks_like_md5_key
from .profiles import Resolved, config_path, load_store, read_key_material, resolve

if TYPE_CHECKING:
    from .core.callback import Credentials

def current(profile_name: str | None, flags: Mapping[str, str | None]) -> Resolved:
    """The settings for this run (reads the profiles file once)."""
    store = load_store(config_path(os.environ))
    return resolve(store, profile_name=profile_name, flags=flags, env=os.environ)


def signer_for(resolved: Resolved, params: Mapping[str, str]) -> tuple[str, object]:
    """(MD5 key, RSA private key) to sign with: one is set, the other empty/None.

    ``sign_type`` in the parameters decides. Otherwise the key given most explicitly wins
    (flag > EPAY_* > profile > sandbox); when both come from one profile, its dialect decides.
    A missing RSA key is left for ``sign_params`` to report.
    """
    profile = resolved.profile
    declared = params.get("sign_type", "").upper()
    if declared in ("MD5", "RSA"):
        wants_rsa = declared == "RSA"
    else:
        private_rank, key_rank = _rank(resolved, "private_key"), _rank(resolved, "key")
        wants_rsa = private_rank > key_rank or (private_rank == key_rank > 0
                                                and profile.dialect == "v2")
    if not wants_rsa or not profile.private_key:
        return ("", None) if wants_rsa else (profile.key, None)
    material = read_key_material(profile.private_key, what="merchant private key")
    return "", load_private_key(material, source="the merchant private key")


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


def verifier_for(resolved: Resolved, params: Mapping[str, str]) -> Credentials:
    """The key to check this callback with; the RSA key is loaded only for an RSA callback."""
    from .core.callback import Credentials, sign_type_of
    profile = resolved.profile
    probe = Credentials(key=profile.key, public_key=True if profile.public_key else None)
    if sign_type_of(params, probe) != "RSA" or not profile.public_key:
        return Credentials(key=profile.key)
    material = read_key_material(profile.public_key, what="platform public key")
    return Credentials(key=profile.key,
                       public_key=load_public_key(material, source="the platform public key"))


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
