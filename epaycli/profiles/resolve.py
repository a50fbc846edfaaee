"""Which settings a command runs with: flag > ``EPAY_*`` environment > selected profile >
built-in ``sandbox``, field by field — and what they mean for the run (the expected pid, notes
about the key used)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

from ..core.errors import ConfigError
from ..core.models import SANDBOX_NAME, SANDBOX_PROFILE, Profile
from ..core.params import require_text
from ..core.signing import looks_like_md5_key
from ..core.words import Text, Texts
from .store import ProfileStore, config_path, load_store

ENV_FIELDS = {
    "EPAY_GATEWAY": "gateway",
    "EPAY_DIALECT": "dialect",
    "EPAY_PID": "pid",
    "EPAY_KEY": "key",
    "EPAY_PRIVATE_KEY": "private_key",
    "EPAY_PUBLIC_KEY": "public_key",
}


# A key variable that is set but empty is a script whose variable was never filled: signing
# with some other key instead would be worse than stopping.
SECRET_VARIABLES = ("EPAY_KEY", "EPAY_PRIVATE_KEY", "EPAY_PUBLIC_KEY")
# Profile fields that are defaults for the request `epay sign` builds, when it lacks them.
REQUEST_DEFAULTS = ("type", "notify_url", "return_url")

MESSAGES = {
    "profile_origin": "profile {name!r}",
    "flag_empty": "{flag} is empty",
    "variable_empty": "{variable} is set but empty",
}
_note = Texts("profiles", MESSAGES)
BUILT_IN = "built-in sandbox"  # where a setting came from (origins), when the sandbox gave it


def _empty(what: Text) -> ConfigError:
    """A setting given empty. Its code is empty_setting (the CLI's advice is kept by code), and
    each way of giving one is worded by its own note."""
    return ConfigError("{what}", code="empty_setting", fields={"what": what})


class Resolved(NamedTuple):
    """The settings a command runs with, and where each one came from."""

    profile: Profile
    origins: dict[str, str]
    chosen_by: str = "fallback"  # how the profile was picked: flag, EPAY_PROFILE, default, fallback
    notes: tuple[str, ...] = ()  # what to tell the user about that choice

    def from_sandbox(self, field_name: str) -> bool:
        return self.origins.get(field_name) == BUILT_IN


def resolve(
    store: ProfileStore,
    *,
    profile_name: str | None = None,
    flags: Mapping[str, str | None] | None = None,
    env: Mapping[str, str],
) -> Resolved:
    """flag > EPAY_* environment > selected profile > built-in sandbox, field by field."""
    if profile_name is not None and not profile_name.strip():
        raise _empty(_note("flag_empty", flag="--profile"))
    name = profile_name or env.get("EPAY_PROFILE") or store.default or SANDBOX_NAME
    chosen_by = ("flag" if profile_name else "EPAY_PROFILE" if env.get("EPAY_PROFILE")
                 else "default" if store.default else "fallback")
    notes: tuple[str, ...] = ()
    if name == SANDBOX_NAME and SANDBOX_NAME in store.profiles:
        notes = (run_note("own_sandbox"),)
    if name == store.default and name not in store.profiles and name != SANDBOX_NAME:
        raise ConfigError("the default profile {name!r} does not exist",
                          "pick another with 'epay profile use NAME'",
                          code="default_profile_missing", fields={"name": name})
    base = store.get(name)
    origin: str = Text("profiles.built_in", BUILT_IN) if base is SANDBOX_PROFILE else \
        _note("profile_origin", name=name)
    origins: dict[str, str] = {k: origin for k, v in base.as_dict().items()
                               if v and k != "name"}
    changes: dict[str, str] = {}
    # Surrounding whitespace in a setting is always a copy mistake (a key never has any).
    for variable, field_name in ENV_FIELDS.items():
        if variable in SECRET_VARIABLES and variable in env and not env[variable].strip():
            raise _empty(_note("variable_empty", variable=variable))
        if env.get(variable, "").strip():
            changes[field_name] = require_text(env[variable].strip(), variable)
            origins[field_name] = variable
    for field_name, value in (flags or {}).items():
        if value is not None and not value.strip():
            raise _empty(_note("flag_empty", flag=f"--{field_name.replace('_', '-')}"))
        if value and value.strip():
            changes[field_name] = require_text(value.strip(), f"--{field_name.replace('_', '-')}")
            origins[field_name] = "flag"
    own_key = "key" in changes or "private_key" in changes
    if base is SANDBOX_PROFILE and own_key and "pid" not in changes:
        # A key of one's own never pairs with the sandbox merchant id.
        changes["pid"] = ""
        origins.pop("pid", None)
    return Resolved(base.updated(**changes), origins, chosen_by, notes)


def current(profile_name: str | None, flags: Mapping[str, str | None],
            env: Mapping[str, str], *, as_written: bool = False) -> Resolved:
    """The settings for this run (reads the profiles file once); ``as_written`` keeps a
    gateway URL that names a page as it is (``epay doctor`` names it). What the file's reading
    warned about (a file others can read) comes first among the notes."""
    store = load_store(config_path(env))
    resolved = resolve(store, profile_name=profile_name, flags=flags, env=env)
    if store.warnings:
        resolved = resolved._replace(notes=(*store.warnings, *resolved.notes))
    return resolved if as_written else site_root_of(resolved)


# What a run is told about the settings it uses (``run_notes.<id>``; sign, verify and the
# commands that sign or check with a profile's key print them).
RUN_NOTES = {
    "own_sandbox": "the profile 'sandbox' in your profiles file is used, not the built-in sandbox "
                   "(rename yours to reach the built-in one)",
    "gateway_page": "the gateway URL ({origin}) names a page, {page}: epay uses the site root "
                    "{root} and adds submit.php, mapi.php and api.php itself",
    "sandbox_key_flag": "used the built-in sandbox profile's key (--profile sandbox): pass --key, "
                        "set EPAY_KEY, or run 'epay profile add' for your own merchant",
    "sandbox_key_env": "used the built-in sandbox profile's key (EPAY_PROFILE=sandbox): pass "
                       "--key, set EPAY_KEY, or run 'epay profile add' for your own merchant",
    "sandbox_key_default": "used the built-in sandbox profile's key (the default profile): pass "
                           "--key, set EPAY_KEY, or run 'epay profile add' for your own merchant",
    "sandbox_key": "used the built-in sandbox profile's key (no profile configured): pass --key, "
                   "set EPAY_KEY, or run 'epay profile add' for your own merchant",
    "key_length": "the key ({origin}) is {length} characters; Epay merchant keys are 32 letters "
                  "and digits — check it was copied whole",
    "both_keys_rsa": "both --key and --private-key were given: signed RSA with the private key "
                     "(--key is not used; add sign_type=MD5 to sign with it instead)",
    "both_keys_md5": "both --key and --private-key were given: signed MD5 with --key (the private "
                     "key is not used; add sign_type=RSA to sign with it instead)",
    "weak_rsa_key": "{what} is only {bits} bits; Epay uses 2048-bit RSA keys and a key this short "
                    "can be broken — make a new 2048-bit pair",
}


run_note = Texts("run_notes", RUN_NOTES)


def site_root_of(resolved: Resolved) -> Resolved:
    """A gateway URL that names a page (``…/submit.php``, as the gateway's doc shows it) means
    its site root, wherever it came from (flag, EPAY_GATEWAY, profile): the root, and a note
    that says so."""
    gateway = resolved.profile.gateway
    if ".php" not in gateway.lower():  # names no page: the endpoints are not imported (cold start)
        return resolved
    from ..core.endpoints import site_root

    root, page = site_root(gateway)
    if not page:
        return resolved
    origin = resolved.origins.get("gateway", "")
    shown = "--gateway" if origin == "flag" else origin or "profile"
    note = run_note("gateway_page", origin=shown, page=page, root=root)
    return Resolved(resolved.profile.updated(gateway=root), resolved.origins,
                    resolved.chosen_by, (*resolved.notes, note))


def request_defaults(resolved: Resolved, params: Mapping[str, str]) -> dict[str, str]:
    """The profile's ``type``, ``notify_url`` and ``return_url`` for a request that lacks them
    (only settings of the user's own; the built-in sandbox adds nothing)."""
    profile = resolved.profile
    return {name: getattr(profile, name) for name in REQUEST_DEFAULTS
            if getattr(profile, name) and not params.get(name)
            and not resolved.from_sandbox(name)}


def rank(resolved: Resolved, field_name: str) -> int:
    """How explicitly a setting was given: flag 4, EPAY_* 3, profile 2, sandbox 1, unset 0."""
    origin = resolved.origins.get(field_name) if getattr(resolved.profile, field_name) else None
    if origin is None:
        return 0
    if origin == "flag":
        return 4
    if origin.startswith("EPAY_"):
        return 3
    return 1 if resolved.from_sandbox(field_name) else 2


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
        why = {"flag": "sandbox_key_flag", "EPAY_PROFILE": "sandbox_key_env",
               "default": "sandbox_key_default"}.get(resolved.chosen_by, "sandbox_key")
        return [run_note(why)]
    key = resolved.profile.key
    if key and not looks_like_md5_key(key):
        return [run_note("key_length", origin=resolved.origins.get("key"), length=len(key))]
    return []
