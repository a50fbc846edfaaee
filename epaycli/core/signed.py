"""Sign a set of outgoing parameters the way an Epay merchant must, and lay them out for
sending: the query string, or the full submit URL."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from .canonical import Blanks, canonical_string
from .errors import InputError, KeyFormatError
from .params import format_query
from .signing import md5_sign, rsa_sign


@dataclass(frozen=True)
class SignedParams:
    """Parameters ready to send: the input fields, then ``sign`` and ``sign_type``."""

    params: dict[str, str]
    sign: str
    sign_type: str
    canonical: str
    added: tuple[str, ...] = field(default=())  # fields epay added (sign_type, timestamp)

    def query(self) -> str:
        return format_query(self.params)

    def url(self, base: str) -> str:
        """``base`` as given, or the submit endpoint when ``base`` is a site root ending in '/'."""
        if base.endswith("/"):
            base += "api/pay/submit" if self.sign_type == "RSA" else "submit.php"
        joiner = "&" if "?" in base else "?"
        return f"{base}{joiner}{self.query()}"


def sign_params(
    params: Mapping[str, str],
    *,
    key: str = "",
    private_key=None,
    now: int | None = None,
    blanks: Blanks = "keep",
) -> SignedParams:
    """MD5 with ``key``, or RSA with ``private_key`` (a V2 request also gets a timestamp).

    An existing ``sign`` in the input is replaced; ``sign_type`` is added when missing.
    ``blanks`` picks the MD5 server variant for whitespace-only values (RSA always drops them).
    """
    declared = params.get("sign_type", "").upper()
    use_rsa = declared == "RSA" or (private_key is not None and declared != "MD5")
    if declared and declared not in ("MD5", "RSA"):
        raise InputError(f"sign_type {params['sign_type']!r} is not MD5 or RSA",
                         "leave sign_type out and epay adds the right one")
    if use_rsa and private_key is None:
        raise KeyFormatError("sign_type is RSA but no merchant private key was given",
                             "pass --private-key FILE (商户私钥), or add it to the profile")
    fields = {k: v for k, v in params.items() if k != "sign"}
    added = []
    if use_rsa and "timestamp" not in fields and now is not None:
        fields["timestamp"] = str(now)
        added.append("timestamp")
    sign_type = "RSA" if use_rsa else "MD5"
    if use_rsa:
        sign = rsa_sign(fields, private_key)
        canonical = canonical_string(fields, blanks="drop")
    else:
        sign = md5_sign(fields, key, blanks=blanks)
        canonical = canonical_string(fields, blanks=blanks)
    sent = dict(fields)
    sent["sign"] = sign
    if "sign_type" in sent:
        sent["sign_type"] = sent.pop("sign_type")  # keep the SDK's layout: sign, then sign_type
    else:
        added.append("sign_type")
        sent["sign_type"] = sign_type
    return SignedParams(sent, sign, sign_type, canonical, tuple(added))
