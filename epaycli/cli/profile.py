"""``epay profile``: merchant profiles in TOML (keys masked in every output)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Annotated

import typer

from ..core.errors import EpayError, InputError
from ..core.models import SANDBOX_NAME, SANDBOX_PROFILE, Profile
from ..profiles.keys import redacted
from ..profiles.store import ProfileStore, config_path, load_store, save_store
from ..profiles.validate import check_answer, prepare_profile
from .options import JsonOption
from .runtime import Runtime, runtime
from .wording import show_fields, show_table

if TYPE_CHECKING:
    from pathlib import Path

app = typer.Typer(help="Manage merchant profiles (gateway, pid, keys).", no_args_is_help=True)

REQUIRED_PROMPTS = (("gateway", "ask_gateway", False), ("pid", "ask_pid", False),
                    ("key", "ask_key", True))
MESSAGES = {
    "saved": "saved profile {name!r} to {path}",
    "saved_default": "saved profile {name!r} (default) to {path}",
    "warning": "warning: {warning}",
    "none_yet": "no profiles yet: commands use the built-in sandbox profile. Add yours with "
                "'epay profile add NAME --gateway URL --pid N --key KEY'",
    "sandbox_note": "built-in; points at the local gateway (epay mock)",
    "default_now": "default profile is now {name!r}",
    "removed": "removed profile {name!r}",
    "no_default": "there is no default profile now: pick one with 'epay profile use NAME'",
    "ask_gateway": "Gateway base URL (e.g. https://pay.example.com/)",
    "ask_pid": "Merchant id (商户ID)",
    "ask_key": "Merchant key (商户密钥)",
    "answer_problem": "  {problem}",
}


def _text(run: Runtime, message_id: str, /, **fields: object) -> str:
    return run.messages.text(f"profile.{message_id}", MESSAGES[message_id], **fields)


@app.command("add")
def add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(metavar="NAME", help="Profile name, e.g. shop")],
    gateway: Annotated[str | None, typer.Option(
        "--gateway", metavar="URL",
        help="Gateway site root (网关地址), e.g. https://pay.example.com/")] = None,
    pid: Annotated[str | None, typer.Option(
        "--pid", metavar="N", help="Merchant id (商户ID).")] = None,
    key: Annotated[str | None, typer.Option("--key", metavar="KEY", help="Merchant MD5 key.")] = None,
    dialect: Annotated[str, typer.Option(
        "--dialect", metavar="v1|v2",
        help="v1 signs MD5 with the key; v2 RSA with the keys below.")] = "v1",
    private_key: Annotated[str | None, typer.Option(
        "--private-key", metavar="FILE", help="Merchant RSA private key (V2): path or key.")] = None,
    public_key: Annotated[str | None, typer.Option(
        "--public-key", metavar="FILE", help="Platform RSA public key (V2): path or key.")] = None,
    notify_url: Annotated[str | None, typer.Option(
        "--notify-url", metavar="URL",
        help="Default notify_url for 'epay sign' (异步通知地址).")] = None,
    return_url: Annotated[str | None, typer.Option(
        "--return-url", metavar="URL",
        help="Default return_url for 'epay sign' (跳转地址).")] = None,
    payment_type: Annotated[str | None, typer.Option("--type", metavar="T",
                                                      help="Default type for 'epay sign', e.g. alipay.")] = None,
    ngrok_authtoken: Annotated[str | None, typer.Option(
        "--ngrok-authtoken", metavar="TOKEN",
        help="ngrok authtoken for 'epay listen --tunnel' (stored, shown masked).")] = None,
    smtp: Annotated[str | None, typer.Option(
        "--smtp", metavar="URL", help="SMTP server for 'epay monitor --alert-email': "
                                      "smtp://user:password@host:587 (password shown masked).")] = None,
    lang: Annotated[str | None, typer.Option(
        "--lang", metavar="en|zh",
        help="The language epay speaks with this profile (EPAY_LANG overrides it).")] = None,
    default: Annotated[bool, typer.Option("--default", help="Make it the default profile.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Replace a profile of that name.")] = False,
) -> None:
    """Add a profile: non-interactively with flags, or answer prompts (key hidden) on a terminal."""
    run = runtime(ctx)
    path = config_path(run.env.environ)
    store = _load(run, path)
    if name in store.profiles and not force:
        raise InputError("profile {name!r} already exists", "pass --force to replace it",
                         code="profile_exists", fields={"name": name})
    values = {"gateway": gateway, "pid": pid, "key": key}
    _ask_missing(values, run, rsa=bool(private_key))
    profile, warnings = prepare_profile(Profile(
        name=name, gateway=values["gateway"] or "", dialect=dialect, pid=values["pid"] or "",
        key=values["key"] or "", private_key=private_key or "", public_key=public_key or "",
        notify_url=notify_url or "", return_url=return_url or "", type=payment_type or "",
        ngrok_authtoken=(ngrok_authtoken or "").strip(), smtp=(smtp or "").strip(),
        lang=(lang or "").strip(),
    ))
    _warn(run, warnings)
    store = store.with_profile(profile, make_default=default)
    save_store(path, store)
    run.out.status(_text(run, "saved_default" if store.default == name else "saved", name=name,
                         path=path), "ok")


def _warn(run: Runtime, warnings: Iterable[str]) -> None:
    for warning in warnings:
        run.out.status(_text(run, "warning", warning=run.messages.say(warning)), "warn")


def _load(run: Runtime, path: Path) -> ProfileStore:
    """The profiles file, and what to know about it (others can read it) said on stderr."""
    store = load_store(path)
    _warn(run, store.warnings)
    return store


def _ask_missing(values: dict[str, str | None], run: Runtime, *, rsa: bool) -> None:
    """Ask for what the flags left out, on a terminal, each answer checked as it is given
    (asked again when wrong); a value given as a flag is checked before anything is asked."""
    missing = [field for field, _, _ in REQUIRED_PROMPTS
               if not values[field] and not (field == "key" and rsa)]
    if not missing:
        return
    env = run.env
    if not env.is_terminal(env.stdin):
        flags = ", ".join(f"--{field}" for field in missing)
        raise InputError("missing {flags}", "give them as flags, or run this on a terminal to be "
                         "asked", code="profile_flags_missing", fields={"flags": flags})
    for field in ("gateway", "pid"):
        given = values[field]
        if given:
            check_answer(field, given)
    for field, question, secret in REQUIRED_PROMPTS:
        while field in missing and not values[field]:
            answer = typer.prompt(_text(run, question), hide_input=secret, default="",
                                  show_default=False)
            try:
                values[field] = check_answer(field, answer)
            except EpayError as error:  # said at once; the question is asked again
                run.out.status(_text(run, "answer_problem", problem=_said(run, error)), "warn")


@app.command("list")
def list_profiles(ctx: typer.Context, json_output: JsonOption = False) -> None:
    """List profiles; * marks the default."""
    run = runtime(ctx)
    store = _load(run, config_path(run.env.environ))
    rows = [{**redacted(p), "default": "*" if name == store.default else ""}
            for name, p in store.profiles.items()]
    if json_output:
        run.out.json_object({"default": store.default, "profiles": rows})
        return
    if not rows:
        run.out.status(_text(run, "none_yet"))
        return
    show_table(run, rows, ["default", "name", "gateway", "dialect", "pid", "key"], "profile")


@app.command("show")
def show(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Argument(metavar="[NAME]", help="Profile (default: the default one)")] = None,
    reveal: Annotated[bool, typer.Option("--reveal", help="Show the key unmasked.")] = False,
    json_output: JsonOption = False,
) -> None:
    """Show one profile, keys masked (--reveal shows them)."""
    run = runtime(ctx)
    store = _load(run, config_path(run.env.environ))
    chosen = name or run.env.environ.get("EPAY_PROFILE") or store.default or SANDBOX_NAME
    profile = store.get(chosen)
    shown = profile.as_dict() if reveal else redacted(profile)
    if profile is SANDBOX_PROFILE:
        shown["note"] = MESSAGES["sandbox_note"]
    if json_output:
        run.out.json_object(shown)
        return
    if "note" in shown:
        shown["note"] = _text(run, "sandbox_note")
    show_fields(run, [(k, v) for k, v in shown.items() if v], "profile")


@app.command("use")
def use(ctx: typer.Context, name: Annotated[str, typer.Argument(metavar="NAME", help="Profile to make the default")]) -> None:
    """Make a profile the default."""
    run = runtime(ctx)
    path = config_path(run.env.environ)
    save_store(path, _load(run, path).with_default(name))
    run.out.status(_text(run, "default_now", name=name), "ok")


@app.command("remove")
def remove(ctx: typer.Context, name: Annotated[str, typer.Argument(metavar="NAME", help="Profile to remove")]) -> None:
    """Remove a profile."""
    run = runtime(ctx)
    path = config_path(run.env.environ)
    store = _load(run, path)
    if name not in store.profiles:
        store.get(name)  # raises the "no such profile" error with the list of names
        raise InputError("{name!r} is built in and cannot be removed", "nothing to do",
                         code="profile_built_in", fields={"name": name})
    updated = store.without(name)
    save_store(path, updated)
    run.out.status(_text(run, "removed", name=name), "ok")
    if store.default == name:
        run.out.status(_text(run, "no_default"), "warn")


@app.command("path")
def path(ctx: typer.Context, json_output: JsonOption = False) -> None:
    """Print where the profiles file is (EPAY_CONFIG overrides it)."""
    run = runtime(ctx)
    where = config_path(run.env.environ)
    if json_output:
        run.out.json_object({"path": str(where), "exists": where.exists()})
    else:
        run.out.data(str(where))


def _said(run: Runtime, error: EpayError) -> str:
    """An answer's problem, as the error line would say it (message — advice)."""
    from .hints import words_for

    message, hint = words_for(error, run.messages)
    return f"{message} — {hint}" if hint else message
