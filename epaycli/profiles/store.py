"""The profiles file: where it is, reading it, writing it (atomically, 0600, editing the
user's file in place so that their comments and layout stay)."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any, NamedTuple

from ..core.errors import ConfigError, EpayError
from ..core.models import PROFILE_FIELDS, SANDBOX_NAME, SANDBOX_PROFILE, Profile
from ..core.redact import mask
from ..core.words import Text
from ..files import file_name, path_exists, read_limited, user_path

MAX_PROFILES_BYTES = 1024 * 1024
_BOM = b"\xef\xbb\xbf"  # Windows Notepad starts UTF-8 files with it; TOML does not allow it
MESSAGES = {
    "too_open": "the profiles file {path} can be read by other users (mode {mode:03o}), and it "
                "holds merchant keys — make it yours only: chmod 600 {path}",
    "none_yet": "none yet",
}


def config_path(env: Mapping[str, str]) -> Path:
    """``EPAY_CONFIG``, else ``$XDG_CONFIG_HOME/epay/profiles.toml``, else ``~/.config/epay/``."""
    if env.get("EPAY_CONFIG"):
        return user_path(env["EPAY_CONFIG"], what="EPAY_CONFIG", error=ConfigError)
    base = env.get("XDG_CONFIG_HOME") or str(Path(env.get("HOME") or Path.home()) / ".config")
    return user_path(base, what="XDG_CONFIG_HOME", error=ConfigError) / "epay" / "profiles.toml"


class ProfileStore(NamedTuple):
    """The whole file: its profiles by name and which one is the default."""

    profiles: Mapping[str, Profile] = MappingProxyType({})
    default: str | None = None
    warnings: tuple[str, ...] = ()  # about the file itself (who can read it)

    def get(self, name: str) -> Profile:
        if name in self.profiles:
            return self.profiles[name]
        if name == SANDBOX_NAME:
            return SANDBOX_PROFILE
        known = ", ".join(sorted(self.profiles)) or Text("profiles.none_yet", MESSAGES["none_yet"])
        raise ConfigError("no profile named {name!r} (profiles: {known})",
                          "see 'epay profile list', or add it with 'epay profile add'",
                          code="no_such_profile", fields={"name": name, "known": known})

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
    if not path_exists(path) and not path.is_symlink():
        return ProfileStore()
    raw = read_limited(path, limit=MAX_PROFILES_BYTES, what=file_name("profiles_file", path=path),
                       error=ConfigError, too_large_hint=file_name("config_too_large"))
    import tomllib  # ~5 ms: only when there is a file to read

    try:
        document = tomllib.loads(raw.removeprefix(_BOM).decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError("the profiles file {path} is not UTF-8 text", "save it as UTF-8",
                          code="profiles_not_utf8", fields={"path": path}) from None
    except RecursionError:
        raise ConfigError("the profiles file {path} is nested too deeply to read",
                          "profiles are flat tables of text: fix or move the file",
                          code="profiles_too_deep", fields={"path": path}) from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError("the profiles file {path} is not valid TOML ({error})",
                          "fix that line, or move the file away and add profiles again",
                          code="profiles_not_toml", fields={"path": path, "error": error}) from None
    store = _store_from_document(document, path)
    warning = _too_open(path)
    return ProfileStore(store.profiles, store.default, (warning,)) if warning else store


def profile_language(profile_name: str | None, env: Mapping[str, str]) -> str | None:
    """The ``lang`` of the profile this run uses (``--profile``, ``EPAY_PROFILE``, the file's
    default), or None: without a profiles file nothing is read, and a file that cannot be read
    chooses no language (the command that needs the file says what is wrong with it)."""
    try:
        path = config_path(env)
        if not path.exists():
            return None
        store = load_store(path)
        name = profile_name or env.get("EPAY_PROFILE") or store.default
        found = store.profiles.get(name) if name else None
        return found.lang or None if found is not None else None
    except (EpayError, OSError, ValueError):
        return None


def _too_open(path: Path) -> str | None:
    """As ssh says of a private key others can read: the file holds keys."""
    if os.name != "posix":
        return None
    try:
        mode = path.stat().st_mode & 0o777
    except OSError:
        return None
    return Text("profiles.too_open", MESSAGES["too_open"], path=path, mode=mode) \
        if mode & 0o077 else None


def _store_from_document(document: dict[str, Any], path: Path) -> ProfileStore:
    unknown = set(document) - {"default", "profiles"}
    if unknown:
        raise ConfigError("the profiles file {path} has unknown top-level keys: {keys}",
                          "only 'default' and [profiles.NAME] tables belong there",
                          code="profiles_unknown_keys",
                          fields={"path": path, "keys": ", ".join(sorted(unknown))})
    tables = document.get("profiles", {})
    if not isinstance(tables, dict):
        raise ConfigError("'profiles' in {path} is not a table", "write [profiles.NAME] tables",
                          code="profiles_not_a_table", fields={"path": path})
    profiles = {}
    for name, table in tables.items():
        if not isinstance(table, dict):
            raise ConfigError("profile {name!r} in {path} is not a table",
                              "write it as [profiles.{name}]", code="profile_not_a_table",
                              fields={"name": name, "path": path})
        extra = set(table) - set(PROFILE_FIELDS) - {"name"}
        if extra:
            raise ConfigError("profile {name!r} in {path} has unknown fields: {unknown}",
                              "see profiles.example.toml for the field names",
                              code="profile_unknown_fields",
                              fields={"name": name, "path": path, "unknown": ", ".join(
                                  sorted(_shown_name(field) for field in extra))})
        values = {}
        for key, value in table.items():
            if key == "name":
                continue
            if isinstance(value, bool) or not isinstance(value, (str, int)):
                raise ConfigError("field {key!r} of profile {name!r} in {path} is not text",
                                  'write it in quotes: {key} = "…"', code="profile_field_not_text",
                                  fields={"key": key, "name": name, "path": path})
            values[key] = str(value)
        profiles[name] = Profile(name=name, **values)
    default = document.get("default")
    if default is not None and not isinstance(default, str):
        raise ConfigError("'default' in {path} is not a profile name",
                          'write it as default = "NAME"', code="profiles_bad_default",
                          fields={"path": path})
    # A default that names no profile is reported when it is used, not here: a file that
    # cannot load could not be repaired with 'epay profile use'.
    return ProfileStore(profiles, default)


def save_store(path: Path, store: ProfileStore) -> None:
    """Write the file atomically, readable by its owner only (it holds keys). An existing file
    is edited in place (tomlkit): only the values and tables that changed are rewritten, so
    the user's comments, order and layout stay."""
    import tempfile

    path = path.resolve()  # a symlinked profiles file keeps its link; the target is rewritten
    text = _edited_text(path, store)
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
        raise ConfigError("cannot write the profiles file {path}: {reason}",
                          "check the folder's permissions, or set EPAY_CONFIG",
                          code="profiles_unwritable",
                          fields={"path": path, "reason": error.strerror}) from None


def _edited_text(path: Path, store: ProfileStore) -> str:
    """The file's text with ``store`` written into it: the default, each profile's fields
    (an emptied field removed), profiles no longer in the store removed, new ones appended."""
    import tomlkit

    try:
        raw = path.read_bytes().removeprefix(_BOM).decode("utf-8")
        document = tomlkit.parse(raw)
    except FileNotFoundError:
        document = tomlkit.document()
    except (OSError, UnicodeDecodeError, tomlkit.exceptions.ParseError) as error:
        # load_store read it a moment ago: it changed in between
        raise ConfigError("the profiles file {path} cannot be edited ({error})",
                          "run the command again", code="profiles_changed",
                          fields={"path": path, "error": error}) from None
    if store.default:
        document["default"] = store.default
    elif "default" in document:
        del document["default"]
    if "profiles" not in document:
        document.add("profiles", tomlkit.table(is_super_table=True))
    tables = document["profiles"]
    for name in [name for name in tables if name not in store.profiles]:
        del tables[name]
    for name, profile in store.profiles.items():
        wanted = {k: v for k, v in profile.as_dict().items() if v and k != "name"}
        if name not in tables:
            table = tomlkit.table()
            for key, value in wanted.items():
                table.add(key, value)
            tables.add(name, table)
            continue
        table = tables[name]
        for key in [key for key in table if key not in wanted]:
            del table[key]
        for key, value in wanted.items():
            if table.get(key) != value:
                table[key] = value
    return tomlkit.dumps(document)


# A field name no profile has may be a key pasted over a line (`89unJUB8…` instead of `key =`):
# a long run of letters and digits in it is masked before it is quoted.
_KEY_RUN = re.compile(r"[A-Za-z0-9]{16,}")


def _shown_name(name: str) -> str:
    return _KEY_RUN.sub(lambda found: mask(found.group()), name)
