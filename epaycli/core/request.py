"""A signed request: the outgoing parameters with ``sign`` and ``sign_type``, laid out for
sending (query string, submit URL) and described as data (``to_dict``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from .canonical import Blanks
from .errors import InputError
from .params import format_query, format_url
from .redact import mask
from .signing import Md5Key, Signer, SignType, pick_sign_type, sign, signed_string


class SignedRequest(NamedTuple):
    """Parameters ready to send: the input fields, then ``sign`` and ``sign_type``."""

    params: dict[str, str]
    sign: str
    sign_type: SignType
    canonical: str
    signed_string: str  # what was hashed, the key shown masked (MD5 appends it)
    added: tuple[str, ...] = ()  # fields epay added (sign_type, timestamp)

    def query(self) -> str:
        return format_query(self.params)

    def url(self, base: str) -> str:
        """``base`` as given, or this dialect's submit page when ``base`` is a site root."""
        from .endpoints import request_target  # (not on `epay sign`'s start-up path)

        return format_url(request_target(base, self.sign_type), self.params)

    def to_dict(self, base: str | None = None) -> dict[str, Any]:
        """The ``--json`` shape; ``url`` is there when a base URL is known."""
        document = {
            "sign": self.sign,
            "sign_type": str(self.sign_type),
            "canonical": self.canonical,
            "signed_string": self.signed_string,
            "added": list(self.added),
            "params": dict(self.params),
            "query": self.query(),
        }
        if base:
            document["url"] = self.url(base)
        return document


def sign_request(
    params: Mapping[str, str],
    signer: Signer,
    *,
    now: int | None = None,
    blanks: Blanks = "keep",
) -> SignedRequest:
    """Sign ``params`` with ``signer`` (a V2 request also gets a timestamp when ``now`` is given).

    An existing ``sign`` in the input is replaced; ``sign_type`` is added when missing.
    ``blanks`` picks the MD5 server variant for whitespace-only values (RSA always drops them).
    """
    sign_type = signer.sign_type
    if params.get("sign_type") and pick_sign_type(params) is not sign_type:
        raise InputError("sign_type says {declared} but the key given signs {sign_type}",
                         "leave sign_type out and epay adds the right one",
                         code="sign_type_conflict",
                         fields={"declared": params["sign_type"], "sign_type": str(sign_type)})
    fields = {k: v for k, v in params.items() if k != "sign"}
    added = []
    if sign_type is SignType.RSA and "timestamp" not in fields and now is not None:
        fields["timestamp"] = str(now)
        added.append("timestamp")
    signature = sign(fields, signer, blanks=blanks)
    canonical = signed_string(fields, sign_type, blanks=blanks)
    shown = canonical + mask(signer.secret) if isinstance(signer, Md5Key) else canonical
    sent = dict(fields)
    sent["sign"] = signature
    if "sign_type" in sent:
        sent["sign_type"] = sent.pop("sign_type")  # keep the SDK's layout: sign, then sign_type
    else:
        added.append("sign_type")
        sent["sign_type"] = str(sign_type)
    return SignedRequest(sent, signature, sign_type, canonical, shown, tuple(added))
