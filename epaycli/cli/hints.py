"""What the CLI advises for each error code core raises: core never names a flag, the CLI does."""

from __future__ import annotations

from ..core.errors import EpayError

HINTS = {
    "missing_md5_key": "pass --key, set EPAY_KEY, or add a profile with 'epay profile add'",
    "missing_private_key": "pass --private-key FILE (商户私钥), or add it to the profile",
    "missing_public_key": "pass --public-key FILE (平台公钥), or add it to the profile",
    "unknown_sign_type": "leave sign_type out (epay adds it) or write MD5 or RSA",
    "sign_type_conflict": "leave sign_type out and epay adds the one its key signs",
    "port_in_use": "stop the other one, or pick another with 'epay mock --port N' (0: any free one)",
    "unknown_fault": "faults are duplicate, delayed[=S], dropped, tampered-money, "
                     "bad-signature, post",
    "bad_gateway_url": "give the site root, e.g. https://pay.example.com/ (--gateway, "
                       "EPAY_GATEWAY or the profile's gateway)",
    "bad_request_url": "give the site root, e.g. --url https://pay.example.com/",
    "empty_setting": "give a value, or leave the flag/variable out (an unset shell variable?)",
}


def hint_for(error: EpayError) -> str | None:
    """The CLI's words for this error: its code's advice, else the hint it carries."""
    return HINTS.get(error.code) or error.hint
