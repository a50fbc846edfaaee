"""Does the gateway accept this merchant? One read-only call — V1 ``api.php?act=query`` (pid +
key), V2 ``api/merchant/info`` (signed) — and each refusal named with the catalogue's fix."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from ..core.errors import EpayError, GatewayError, SignatureError
from ..core.signing import Md5Key, RsaKeys
from ..gateway import calls
from ..gateway.calls import Call, Merchant
from ..profiles.resolve import Resolved
from .findings import Finding, finding
from .profile import LoadedKeys

if TYPE_CHECKING:
    from ..gateway.replies import Reply

CHECK = "credentials"
# Catalogue entries (epaycli/catalogue/errors.toml) → the finding that names them.
REFUSALS = {
    "key_wrong": "cred_key_wrong",
    "pid_unknown": "cred_pid_unknown",
    "pid_empty": "cred_pid_unknown",
    "merchant_banned": "cred_banned",
    "merchant_unapproved": "cred_unapproved",
    "merchant_not_verified": "cred_unapproved",
    "rsa_only": "cred_rsa_only",
    "timestamp_skew": "cred_timestamp",
    "timestamp_missing": "cred_timestamp",
    "sign_mismatch": "cred_sign_wrong",
    "merchant_public_key_bad": "cred_sign_wrong",
}


class Sender(Protocol):
    """What the check sends its call through: a ``GatewayClient``."""

    def send(self, call: Call) -> Reply: ...


def merchant_of(resolved: Resolved, keys: LoadedKeys, root: str, *, rewrite: bool) -> Merchant:
    """The merchant the checks act as: the profile's own keys, as loaded by the profile checks.
    The sandbox key is never sent for a pid that is not the sandbox's."""
    profile = resolved.profile
    sandbox_key_only = resolved.from_sandbox("key") and not resolved.from_sandbox("pid")
    md5 = Md5Key(profile.key) if profile.key and not sandbox_key_only else None
    v2 = profile.dialect == "v2"
    signer = RsaKeys(private=keys.private) if v2 and keys.private is not None else md5
    platform = RsaKeys(public=keys.platform) if v2 and keys.platform is not None else None
    return Merchant(gateway=root, pid=profile.pid, dialect="v2" if v2 else "v1", signer=signer,
                    md5=md5, platform=platform, rewrite=rewrite)


def check_credentials(client: Sender, merchant: Merchant, now: int) -> list[Finding]:
    pid = merchant.pid
    if merchant.v2 and merchant.signer is None:
        return [finding(CHECK, "credentials_no_signer", "warn")]
    if not merchant.v2 and merchant.md5 is None:
        return [finding(CHECK, "credentials_no_key", "warn")]
    try:
        call = calls.merchant_info(merchant, now)
        reply = client.send(call)
    except SignatureError as error:
        if error.code == "reply_signature":
            return [finding("profile.platform_key", "platform_key_wrong", "fail")]
        return [finding(CHECK, "cred_timestamp", "fail", said=error.message,
                        fix=error.hint or "")]
    except GatewayError as error:
        return [refusal_finding(error, pid)]
    except EpayError as error:
        return [finding(CHECK, "credentials_error", "warn", reason=error.message,
                        fix=error.hint or "")]
    if not merchant.v2 and str(reply.data.get("active", "1")) in ("0", "False", "false"):
        from ..catalogue.lookup import entry

        return [finding(CHECK, "cred_banned", "fail", pid=pid, said="active: 0",
                        fix=entry("merchant_banned").fix)]
    signer = "RSA private key" if isinstance(merchant.signer, RsaKeys) and merchant.v2 \
        else "MD5 key"
    endpoint = "api/merchant/info" if merchant.v2 else "api.php?act=query"
    return [finding(CHECK, "credentials_ok", "ok", pid=pid, signer=signer, endpoint=endpoint)]


def refusal_finding(error: GatewayError, pid: str) -> Finding:
    """A gateway's refusal, named by its catalogue entry, with the catalogue's fix."""
    from ..catalogue.lookup import Entry

    entry = error.explanation if isinstance(error.explanation, Entry) else None
    code = REFUSALS.get(entry.id, "cred_refused") if entry is not None else "cred_refused"
    said = error.gateway_message or error.message
    fix = (entry.fix if entry is not None else "") or error.hint or ""
    return finding(CHECK, code, "fail", pid=pid, said=said, fix=fix)
