"""Merchant profiles in TOML: find the file, load it, save it (0600), and resolve the settings a
command runs with: flag > ``EPAY_*`` environment > selected profile > built-in ``sandbox``."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .core.errors import ConfigError, InputError, KeyFormatError
from .core.models import (
    DIALECTS,
    PROFILE_FIELDS,
    SANDBOX_NAME,
    SANDBOX_PROFILE,
    Profile,
)
from .core.params import require_text, url_parts
from .core.redact import mask
from .core.signing import load_private_key, load_public_key, looks_like_md5_key
from .files import read_limited

ENV_FIELDS = {
    "EPAY_GATEWAY": "gateway",
    "EPAY_DIALECT": "dialect",
    "EPAY_PID": "pid",
    "EPAY_KEY": "key",
    "EPAY_PRIVATE_KEY": "private_key",
    "EPAY_PUBLIC_KEY": "public_key",
}
MAX_KEY_FILE_BYTES = 64 * 1024
MAX_PROFILES_BYTES = 1024 * 1024
_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_BARE_BASE64 = re.compile(r"[A-Za-z0-9+/=\s]{64,}")


def config_path(env: Mapping[str, str] = os.environ) -> Path:
    """``EPAY_CONFIG``, else ``$XDG_CONFIG_HOME/epay/profiles.toml``, else ``~/.config/epay/``."""
    if env.get("EPAY_CONFIG"):
        return Path(env["EPAY_CONFIG"]).expanduser()
    base = env.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base).expanduser() / "epay" / "profiles.toml"


@dataclass(frozen=True)
class ProfileStore:
    """The whole file: its profiles by name and which one is the default."""

    profiles: dict[str, Profile] = field(default_factory=dict)
    default: str | None = None

    def get(self, name: str) -> Profile:
        if name in self.profiles:
            return self.profiles[name]
        if name == SANDBOX_NAME:
            return SANDBOX_PROFILE
        known = ", ".join(sorted(self.profiles)) or "none yet"
        raise ConfigError(f"no profile named {name!r} (profiles: {known})",
                          "see 'epay profile list', or add it with 'epay profile add'")

    def with_profile(self, profile: Profile, *, make_default: bool = False) -> ProfileStore:
        profiles = {**self.profiles, profile.name: profile}
        default = profile.name if make_default or not self.default else self.default
        return ProfileStore(profiles, default)

    def without(self, name: str) -> ProfileStore:
        self.get(name)
        profiles = {k: v for k, v in self.profiles.items() if k != name}
        return ProfileStore(profiles, None if self.default == name else self.default)

    def with_default(self, name: str) -> ProfileStore:
        self.get(name)
        return ProfileStore(dict(self.profiles), name)


def load_store(path: Path) -> ProfileStore:
    """The profiles file; a missing file is an empty store, a broken one a ConfigError."""
    if not path.exists() and not path.is_symlink():
        return ProfileStore()
    raw = read_limited(path, limit=MAX_PROFILES_BYTES, what=f"the profiles file {path}",
                       error=ConfigError, too_large_hint="point EPAY_CONFIG at the right file")
    import tomllib  # ~5 ms: only when there is a file to read

    try:
        document = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"the profiles file {path} is not UTF-8 text",
                          "save it as UTF-8") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"the profiles file {path} is not valid TOML ({error})",
                          "fix that line, or move the file away and add profiles again") from None
    return _store_from_document(document, path)


def _store_from_document(document: dict, path: Path) -> ProfileStore:
    unknown = set(document) - {"default", "profiles"}
    if unknown:
        raise ConfigError(f"the profiles file {path} has unknown top-level keys: "
                          f"{', '.join(sorted(unknown))}",
                          "only 'default' and [profiles.NAME] tables belong there")
    tables = document.get("profiles", {})
    if not isinstance(tables, dict):
        raise ConfigError(f"'profiles' in {path} is not a table", "write [profiles.NAME] tables")
    profiles = {}
    for name, table in tables.items():
        if not isinstance(table, dict):
            raise ConfigError(f"profile {name!r} in {path} is not a table",
                              f"write it as [profiles.{name}]")
        extra = set(table) - set(PROFILE_FIELDS) - {"name"}
        if extra:
            raise ConfigError(f"profile {name!r} in {path} has unknown fields: "
                              f"{', '.join(sorted(extra))}",
                              "see profiles.example.toml for the field names")
        values = {}
        for key, value in table.items():
            if key == "name":
                continue
            if isinstance(value, bool) or not isinstance(value, (str, int)):
                raise ConfigError(f"field {key!r} of profile {name!r} in {path} is not text",
                                  f'write it in quotes: {key} = "…"')
            values[key] = str(value)
        profiles[name] = Profile(name=name, **values)
    default = document.get("default")
    if default is not None and not isinstance(default, str):
        raise ConfigError(f"'default' in {path} is not a profile name",
                          'write it as default = "NAME"')
    # A default that names no profile is reported when it is used, not here: a file that
    # cannot load could not be repaired with 'epay profile use'.
    return ProfileStore(profiles, default)


def save_store(path: Path, store: ProfileStore) -> None:
    """Write the file atomically, readable by its owner only (it holds keys)."""
    import tempfile

    import tomli_w

    path = path.resolve()  # a symlinked profiles file keeps its link; the target is rewritten

    document: dict = {}
    if store.default:
        document["default"] = store.default
    document["profiles"] = {
        name: {k: v for k, v in profile.as_dict().items() if v and k != "name"}
        for name, profile in store.profiles.items()
    }
    text = tomli_w.dumps(document)
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        handle, temporary = tempfile.mkstemp(prefix=".profiles-", dir=path.parent)
        try:
            os.fchmod(handle, 0o600)
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                stream.write(text)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    except OSError as error:
        raise ConfigError(f"cannot write the profiles file {path}: {error.strerror}",
                          "check the folder's permissions, or set EPAY_CONFIG") from None


def validate_profile(profile: Profile) -> Profile:
    """Reject what cannot work; normalise the gateway to end in '/' (the protocol's base URL)."""
    if not _NAME.fullmatch(profile.name):
        raise InputError(f"profile name {profile.name!r} is not valid",
                         "use letters, digits, '.', '_' or '-' (at most 64)")
    if profile.dialect not in DIALECTS:
        raise InputError(f"dialect {profile.dialect!r} is not v1 or v2",
                         "v1 signs with the MD5 key, v2 with RSA keys")
    gateway = profile.gateway
    if gateway:
        parts = url_parts(gateway)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise InputError(f"gateway {gateway!r} is not an http(s) URL",
                             "give the site root, e.g. https://pay.example.com/")
        if parts.query or parts.fragment:
            raise InputError(f"gateway {gateway!r} has a query or fragment",
                             "give the site root only, e.g. https://pay.example.com/")
        if not gateway.endswith("/"):
            gateway += "/"
    if profile.pid and not (profile.pid.isascii() and profile.pid.isdigit()):
        raise InputError(f"pid {profile.pid!r} is not a number", "the merchant id is digits, e.g. 1000")
    for url_field in ("notify_url", "return_url"):
        url = getattr(profile, url_field)
        if url and url_parts(url).scheme not in ("http", "https"):
            raise InputError(f"{url_field} {url!r} has no http:// or https://",
                             "gateways need an absolute URL they can reach")
    return profile.updated(gateway=gateway)


def prepare_profile(profile: Profile) -> tuple[Profile, list[str]]:
    """A profile ready to save, and warnings about what will likely go wrong with it.

    Key files are stored by absolute path (so the profile works from any folder), and every
    key is loaded now: a bad one is reported when added, not at the first payment.
    """
    profile = validate_profile(profile.updated(private_key=_absolute(profile.private_key),
                                               public_key=_absolute(profile.public_key)))
    if profile.private_key:
        load_private_key(read_key_material(profile.private_key, what="merchant private key"),
                         source="the merchant private key")
    if profile.public_key:
        load_public_key(read_key_material(profile.public_key, what="platform public key"),
                        source="the platform public key")
    warnings = []
    if profile.key and not looks_like_md5_key(profile.key):
        warnings.append("Epay merchant keys are 32 letters and digits; check this one was "
                        "copied whole")
    if profile.dialect == "v2" and not profile.private_key:
        warnings.append("a v2 profile signs with a merchant private key; add --private-key")
    if profile.notify_url:
        warnings.extend(notify_url_warnings(profile.notify_url))
    return profile, warnings


def notify_url_warnings(url: str) -> list[str]:
    """What makes gateways fail to deliver, or break the sign of, a notify (PROTOCOL §7)."""
    parts = url_parts(url)
    host = (parts.hostname or "").lower()
    found = []
    if parts.query:
        found.append("notify_url has its own query string: the gateway stores it HTML-escaped "
                     "and the notify then fails verification; put the data in the path or 'param'")
    if host == "localhost" or host.endswith(".local") or _is_private_address(host):
        found.append(f"notify_url points at {host}, which a gateway on the internet cannot "
                     "reach; use a public address or a tunnel")
    if len(url) > 255:
        found.append("notify_url is longer than 255 characters; gateways cut it silently")
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
    candidate = Path(key_source).expanduser()
    return str(candidate.resolve()) if candidate.is_file() else key_source


@dataclass(frozen=True)
class Resolved:
    """The settings a command runs with, and where each one came from."""

    profile: Profile
    origins: dict[str, str]

    def from_sandbox(self, field_name: str) -> bool:
        return self.origins.get(field_name) == "built-in sandbox"


def resolve(
    store: ProfileStore,
    *,
    profile_name: str | None = None,
    flags: Mapping[str, str | None] | None = None,
    env: Mapping[str, str] = os.environ,
) -> Resolved:
    """flag > EPAY_* environment > selected profile > built-in sandbox, field by field."""
    name = profile_name or env.get("EPAY_PROFILE") or store.default or SANDBOX_NAME
    if name == store.default and name not in store.profiles and name != SANDBOX_NAME:
        raise ConfigError(f"the default profile {name!r} does not exist",
                          "pick another with 'epay profile use NAME'")
    base = store.get(name)
    origin = "built-in sandbox" if base is SANDBOX_PROFILE else f"profile {name!r}"
    origins = {k: origin for k, v in base.as_dict().items() if v and k != "name"}
    changes: dict[str, str] = {}
    # Surrounding whitespace in a setting is always a copy mistake (a key never has any).
    for variable, field_name in ENV_FIELDS.items():
        if env.get(variable, "").strip():
            changes[field_name] = require_text(env[variable].strip(), variable)
            origins[field_name] = variable
    for field_name, value in (flags or {}).items():
        if value and value.strip():
            changes[field_name] = require_text(value.strip(), f"--{field_name.replace('_', '-')}")
            origins[field_name] = "flag"
    if base is SANDBOX_PROFILE and ("key" in changes or "private_key" in changes):
        # A key of one's own never pairs with the sandbox merchant id.
        if "pid" not in changes:
            changes["pid"] = ""
            origins.pop("pid", None)
    return Resolved(base.updated(**changes), origins)


def is_inline_key(value: str) -> bool:
    """A key written out (PEM or bare base64), as opposed to the path of a key file."""
    text = value.strip()
    return text.startswith("-----BEGIN") or bool(_BARE_BASE64.fullmatch(text))


def looks_like_key_path(value: str) -> bool:
    """Short, one line, a path separator or a key-file suffix: safe to print. Anything else
    may be a key pasted in an unexpected form (JSON-escaped, URL-safe base64…) and is not."""
    text = value.strip()
    return (len(text) <= 255 and not any(ch.isspace() for ch in text)
            and not is_inline_key(text)
            and ("/" in text or text.endswith((".pem", ".key", ".der", ".txt"))))


def read_key_material(value: str, *, what: str) -> str:
    """A key given as a file path or as the key itself (PEM or bare base64)."""
    text = value.strip()
    path = Path(text).expanduser()
    if is_inline_key(text) and not path.exists():
        return text
    if not looks_like_key_path(text) and not path.exists():
        raise KeyFormatError(f"{what} is neither a readable file nor a PEM or base64 key "
                             f"({len(text)} characters)",
                             "give the path of the key file, or the PEM key itself")
    data = read_limited(path, limit=MAX_KEY_FILE_BYTES, what=f"{what} file {text!r}",
                        error=KeyFormatError, too_large_hint="point at the PEM file itself")
    return data.decode("utf-8", "replace")


def redacted(profile: Profile) -> dict[str, str]:
    """A profile fit to print: secrets masked; key file paths shown (a path is not a secret)."""
    shown = profile.as_dict()
    if shown["key"]:
        shown["key"] = mask(shown["key"])
    if shown["private_key"] and not looks_like_key_path(shown["private_key"]):
        shown["private_key"] = "(inline key, hidden)"
    if shown["public_key"] and is_inline_key(shown["public_key"]):
        shown["public_key"] = "(inline public key)"
    return shown
