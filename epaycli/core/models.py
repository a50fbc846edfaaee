"""Frozen records shared by the library, the CLI and (later) the servers."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

DIALECTS = ("v1", "v2")
SUCCESS_STATUS = "TRADE_SUCCESS"

# The built-in profile used when nothing is configured: the local gateway (`epay mock`).
# Its key is public on purpose; it signs nothing but sandbox traffic.
SANDBOX_NAME = "sandbox"
SANDBOX_GATEWAY = "http://127.0.0.1:8787/"
SANDBOX_PID = "1000"
SANDBOX_KEY = "SandboxKey0nlyForLocalTests00000"


@dataclass(frozen=True)
class Profile:
    """One merchant account at one gateway. Field names are the TOML keys."""

    name: str
    gateway: str = ""
    dialect: str = "v1"
    pid: str = ""
    key: str = ""
    private_key: str = ""  # merchant RSA private key: a file path or the key itself
    public_key: str = ""  # platform RSA public key: a file path or the key itself
    notify_url: str = ""
    return_url: str = ""
    type: str = ""
    ngrok_authtoken: str = ""  # for `epay listen --tunnel`; a secret, shown masked
    smtp: str = ""  # `epay monitor --alert-email`: smtp://user:password@host:587; password masked

    def updated(self, **changes: str) -> Profile:
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

    def as_dict(self) -> dict[str, str]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


PROFILE_FIELDS = tuple(f.name for f in fields(Profile))

SANDBOX_PROFILE = Profile(
    name=SANDBOX_NAME, gateway=SANDBOX_GATEWAY, dialect="v1", pid=SANDBOX_PID, key=SANDBOX_KEY,
    type="alipay",
)
