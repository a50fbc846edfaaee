"""What a profile must be before it is saved, and warnings about what will likely go wrong."""

from __future__ import annotations

import re
from pathlib import Path

from ..core.endpoints import normalize_base, site_root
from ..core.errors import InputError, KeyFormatError
from ..core.models import DIALECTS, SANDBOX_NAME, Profile
from ..core.params import url_parts
from ..core.signing import PLACEHOLDER_KEYS, looks_like_md5_key
from ..core.words import Texts
from ..messages import language_of
from .keys import load_key, rsa_key_notes

_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")
MESSAGES = {
    "gateway_page_saved": "the gateway URL names a page, {page}: saved as the site root {root} "
                    "(epay adds submit.php, mapi.php and api.php itself)",
    "named_sandbox": "this profile is named 'sandbox': it replaces the built-in sandbox (the "
                     "local gateway) wherever 'sandbox' is asked for",
    "key_shape": "Epay merchant keys are 32 letters and digits; check this one was copied whole",
    "v2_without_private_key": "a v2 profile signs with a merchant private key; add --private-key",
    "notify_url_query": "notify_url has its own query string: the gateway stores it HTML-escaped "
                        "and the notify then fails verification; put the data in the path or "
                        "'param'",
    "notify_url_private": "notify_url points at {host}, which a gateway on the internet cannot "
                          "reach; use a public address or a tunnel",
    "notify_url_long": "notify_url is longer than 255 characters; gateways cut it silently",
    "the_private_key": "the private key",
    "the_public_key": "the public key",
}
_note = Texts("profiles", MESSAGES)



def check_answer(field_name: str, value: str) -> str:
    """One answer of ``profile add`` checked as soon as it is given (the gateway, the pid and
    the key, in the order they are asked): the value to keep, or an InputError saying why not.
    A pid that is not a number is said before the hidden key is typed, not after."""
    text = value.strip()
    if not text:
        raise InputError("the {field} is empty", "type it, or press Ctrl-C to stop",
                         code="empty_answer", fields={"field": field_name})
    if field_name == "gateway":
        return normalize_base(text)
    if field_name == "pid" and not (text.isascii() and text.isdigit()):
        raise _pid_not_a_number(text)
    if field_name == "key" and text in PLACEHOLDER_KEYS:
        raise KeyFormatError("the key is the example file's placeholder, not a key",
                             "paste your merchant's key from the Epay merchant admin",
                             code="profile_placeholder_key", fields={})
    return text


def _pid_not_a_number(pid: str) -> InputError:
    return InputError("pid {pid!r} is not a number", "the merchant id is digits, e.g. 1000",
                      code="pid_not_a_number", fields={"pid": pid})


def validate_profile(profile: Profile) -> Profile:
    """Reject what cannot work; normalise the gateway to end in '/' (the protocol's base URL)."""
    if not _NAME.fullmatch(profile.name):
        raise InputError("profile name {name!r} is not valid",
                         "use letters, digits, '.', '_' or '-' (at most 64)",
                         code="bad_profile_name", fields={"name": profile.name})
    if profile.dialect not in DIALECTS:
        raise InputError("dialect {dialect!r} is not v1 or v2",
                         "v1 signs with the MD5 key, v2 with RSA keys",
                         code="profile_bad_dialect", fields={"dialect": profile.dialect})
    if profile.key:
        check_answer("key", profile.key)
    gateway = normalize_base(profile.gateway) if profile.gateway else ""
    if profile.pid and not (profile.pid.isascii() and profile.pid.isdigit()):
        raise _pid_not_a_number(profile.pid)
    if profile.lang and language_of(profile.lang) == "en" and profile.lang.strip() != "en":
        raise InputError("lang {lang!r} is not a language epay speaks",
                         "use en (English) or zh (简体中文)", code="bad_profile_lang",
                         fields={"lang": profile.lang})
    for url_field in ("notify_url", "return_url"):
        url = getattr(profile, url_field)
        if url and url_parts(url).scheme not in ("http", "https"):
            raise InputError("{field} {url!r} has no http:// or https://",
                             "gateways need an absolute URL they can reach",
                             code="profile_url_scheme", fields={"field": url_field, "url": url})
    return profile.updated(gateway=gateway)


def prepare_profile(profile: Profile) -> tuple[Profile, list[str]]:
    """A profile ready to save, and warnings about what will likely go wrong with it.

    Key files are stored by absolute path (so the profile works from any folder), and every
    key is loaded now: a bad one is reported when added, not at the first payment.
    """
    original_gateway = profile.gateway
    profile = validate_profile(profile.updated(private_key=_absolute(profile.private_key),
                                               public_key=_absolute(profile.public_key)))
    warnings: list[str] = []
    root, page = site_root(original_gateway)
    if page:
        warnings.append(_note("gateway_page_saved", page=page, root=root))
    if profile.private_key:
        warnings += rsa_key_notes(load_key(profile.private_key, "private"),
                                  _note("the_private_key"))
    if profile.public_key:
        warnings += rsa_key_notes(load_key(profile.public_key, "public"),
                                  _note("the_public_key"))
    if profile.name == SANDBOX_NAME:
        warnings.append(_note("named_sandbox"))
    if profile.key and not looks_like_md5_key(profile.key):
        warnings.append(_note("key_shape"))
    if profile.dialect == "v2" and not profile.private_key:
        warnings.append(_note("v2_without_private_key"))
    if profile.notify_url:
        warnings.extend(notify_url_warnings(profile.notify_url))
    return profile, warnings


def notify_url_warnings(url: str) -> list[str]:
    """What makes gateways fail to deliver, or break the sign of, a notify ."""
    parts = url_parts(url)
    host = (parts.hostname or "").lower()
    found: list[str] = []
    if parts.query:
        found.append(_note("notify_url_query"))
    if host == "localhost" or host.endswith(".local") or _is_private_address(host):
        found.append(_note("notify_url_private", host=host))
    if len(url) > 255:
        found.append(_note("notify_url_long"))
    return found


def _is_private_address(host: str) -> bool:
    import ipaddress

    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_private or address.is_loopback or address.is_link_local


def _absolute(key_source: str) -> str:
    if not key_source:
        return ""
    if "\0" in key_source:
        raise InputError("a key path contains a NUL character", "check the path",
                         code="key_path_nul", fields={})
    try:
        candidate = Path(key_source).expanduser()
        return str(candidate.resolve()) if candidate.is_file() else key_source
    except (RuntimeError, OSError, ValueError):  # ~nosuchuser, a name too long: not a file
        return key_source


