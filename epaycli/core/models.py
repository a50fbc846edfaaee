"""Frozen records shared by the library, the CLI and (later) the servers.

Records on the path of every command are ``NamedTuple``s, not dataclasses: a dataclass compiles
its methods when its module is imported (~0.8 ms each), and ``epay sign`` would define a dozen."""

from __future__ import annotations

from enum import StrEnum
from typing import NamedTuple


class Dialect(StrEnum):
    """The two protocols an Epay gateway speaks; the value is what profiles and --dialect say.
    A member equals its string, so a profile's text compares with it directly."""

    V1 = "v1"  # MD5: submit.php, mapi.php, api.php
    V2 = "v2"  # RSA (SHA256withRSA): api/pay/*, api/merchant/*


DIALECTS = tuple(Dialect)
SUCCESS_STATUS = "TRADE_SUCCESS"

# The built-in profile used when nothing is configured: the local gateway (`epay mock`).
# Its key is public on purpose; it signs nothing but sandbox traffic.
SANDBOX_NAME = "sandbox"
SANDBOX_GATEWAY = "http://127.0.0.1:8787/"
SANDBOX_PID = "1000"
SANDBOX_KEY = "SandboxKey0nlyForLocalTests00000"


class Profile(NamedTuple):
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
    lang: str = ""  # en or zh: the language epay speaks with this profile (EPAY_LANG first)

    def updated(self, **changes: str | None) -> Profile:
        return self._replace(**{k: v for k, v in changes.items() if v is not None})

    def as_dict(self) -> dict[str, str]:
        return self._asdict()


PROFILE_FIELDS = Profile._fields

SANDBOX_PROFILE = Profile(
    name=SANDBOX_NAME, gateway=SANDBOX_GATEWAY, dialect="v1", pid=SANDBOX_PID, key=SANDBOX_KEY,
    type="alipay",
)
