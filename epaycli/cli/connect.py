"""What every command that talks to a gateway shares: its options (spelled once), and turning
them — with the profile, EPAY_* and the sandbox — into the ``Merchant`` and client settings."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Annotated, Any, TypeVar, overload

import typer

from ..core.errors import ConfigError
from ..core.models import DIALECTS, Dialect
from ..core.signing import RsaKeys
from ..profiles.keys import profile_keys, signer_for
from ..profiles.resolve import Resolved, current
from .options import KeyOption, ProfileOption
from .runtime import Runtime
from .wording import show_notes

__all__ = ["show_notes"]  # commands take it from here, with the options

if TYPE_CHECKING:
    from ..gateway.calls import Call, Merchant
    from ..gateway.client import GatewayClient, Settings

GatewayOption = Annotated[str | None, typer.Option(
    "--gateway", "-g", metavar="URL",
    help="Gateway base URL (default: EPAY_GATEWAY, the profile, or the sandbox).")]
PidOption = Annotated[str | None, typer.Option("--pid", metavar="N", help="Merchant id (商户ID).")]
PrivateKeyOption = Annotated[str | None, typer.Option(
    "--private-key", metavar="FILE", help="Merchant RSA private key (V2): a file or the key.")]
PublicKeyOption = Annotated[str | None, typer.Option(
    "--public-key", metavar="FILE",
    help="Platform RSA public key (V2), to verify the gateway's answers.")]
DialectOption = Annotated[str | None, typer.Option(
    "--dialect", metavar="v1|v2", help="V1 (MD5, mapi.php/api.php) or V2 (RSA, api/*).")]
NoRewriteOption = Annotated[bool, typer.Option(
    "--no-rewrite", help="V2 on a server without URL rewriting: api.php?s=pay/… .")]
TimeoutOption = Annotated[float, typer.Option(
    "--timeout", metavar="SECONDS", min=0.1, max=600.0,
    help="Seconds for the whole request to the gateway (connect, reads, retries).")]
InsecureOption = Annotated[bool, typer.Option(
    "--insecure", help="Do not verify the gateway's TLS certificate (test gateways only).")]
DryRunOption = Annotated[bool, typer.Option(
    "--dry-run", help="Show the request that would be sent, and send nothing.")]


@dataclass
class Connection:
    """The connection options of one command line."""

    profile: str | None = None
    gateway: str | None = None
    pid: str | None = None
    key: str | None = None
    private_key: str | None = None
    public_key: str | None = None
    dialect: str | None = None
    no_rewrite: bool = False
    timeout: float = 10.0
    insecure: bool = False


_OPTION_TYPES = {
    "profile": ProfileOption, "gateway": GatewayOption, "pid": PidOption, "key": KeyOption,
    "private_key": PrivateKeyOption, "public_key": PublicKeyOption, "dialect": DialectOption,
    "no_rewrite": NoRewriteOption, "timeout": TimeoutOption, "insecure": InsecureOption,
}


RequestTimeoutOption = Annotated[float, typer.Option(
    "--request-timeout", metavar="SECONDS", min=0.1, max=600.0,
    help="Seconds for each poll's whole request to the gateway.")]


Result = TypeVar("Result")
# A command as typer sees it: the parameters are read from its signature at run time.
Command = Callable[..., Result]


@overload
def connection_options(command: Command[Result], *, timeout_flag: str = ...
                       ) -> Command[Result]: ...
@overload
def connection_options(command: None = None, *, timeout_flag: str = ...
                       ) -> Callable[[Command[Result]], Command[Result]]: ...
def connection_options(command: Command[Result] | None = None, *,
                       timeout_flag: str = "--timeout"
                       ) -> Command[Result] | Callable[[Command[Result]], Command[Result]]:
    """Give ``command`` the connection options; it receives them as one ``conn: Connection``.

    typer reads a command's signature: the wrapper shows the command's own parameters followed
    by these, so each option is declared once for every command that talks to a gateway.
    ``timeout_flag="--request-timeout"`` frees ``--timeout`` for a command's own use."""
    if command is None:
        return functools.partial(connection_options, timeout_flag=timeout_flag)
    own = inspect.signature(command, eval_str=True)
    defaults = {f.name: f.default for f in fields(Connection)}
    types = dict(_OPTION_TYPES)
    if timeout_flag != "--timeout":
        types["timeout"] = RequestTimeoutOption
    added = [inspect.Parameter(f"conn_{name}", inspect.Parameter.KEYWORD_ONLY,
                               default=defaults[name], annotation=kind)
             for name, kind in types.items()]
    kept = [p for p in own.parameters.values() if p.name != "conn"]

    @functools.wraps(command)
    def wrapper(*args: object, **kwargs: Any) -> Result:  # typer passes each as annotated
        conn = Connection(**{name: kwargs.pop(f"conn_{name}") for name in types})
        return command(*args, conn=conn, **kwargs)

    # what typer reads the options from (functools.wraps' type does not know the attribute)
    wrapper.__signature__ = own.replace(parameters=kept + added)  # type: ignore[attr-defined]
    return wrapper


def resolve_merchant(run: Runtime, options: Connection) -> tuple[Merchant, Resolved]:
    """The merchant to act as: flag > EPAY_* > profile > sandbox, field by field."""
    from ..gateway.calls import Merchant

    flags = {"gateway": options.gateway, "pid": options.pid, "key": options.key,
             "private_key": options.private_key, "public_key": options.public_key,
             "dialect": options.dialect}
    resolved = current(options.profile, flags, run.env.environ)
    show_notes(run, list(resolved.notes))
    profile = resolved.profile
    if profile.dialect not in DIALECTS:
        raise ConfigError("dialect {dialect!r} is neither v1 nor v2",
                          "use --dialect v1 (MD5) or --dialect v2 (RSA)", code="dialect_not_v1_v2",
                          fields={"dialect": profile.dialect})
    if not profile.gateway:
        raise ConfigError("no gateway URL is configured",
                          "pass --gateway URL, set EPAY_GATEWAY, or add a profile",
                          code="no_gateway_configured", fields={})
    if not profile.pid:
        raise ConfigError("no merchant id (pid) is configured",
                          "pass --pid, set EPAY_PID, or add it to the profile", code="no_pid_configured",
                          fields={})
    dialect = profile.dialect
    keys = profile_keys(resolved, private=dialect == Dialect.V2, own_pid_refuses_sandbox_key=True)
    md5 = keys.md5
    if dialect == Dialect.V2:
        signer = keys.merchant or md5  # a V2 merchant with V1 enabled may sign MD5 (timestamp still sent)
    elif md5 is not None or profile.private_key:
        signer = signer_for(resolved, {})
        dialect = Dialect.V2 if isinstance(signer, RsaKeys) else Dialect.V1
    else:
        signer = None
    platform = profile_keys(resolved, public=True).platform if dialect == Dialect.V2 else None
    merchant = Merchant(gateway=profile.gateway, pid=profile.pid, dialect=dialect, signer=signer,
                        md5=md5, platform=platform, rewrite=not options.no_rewrite)
    return merchant, resolved


def settings_of(options: Connection) -> Settings:
    from ..gateway.client import Settings

    return Settings(timeout=options.timeout, verify_tls=not options.insecure)


def open_client(run: Runtime, options: Connection) -> GatewayClient:
    """The sync client (httpx is imported here, only by commands that send)."""
    from ..gateway.client import GatewayClient

    if options.insecure:
        run.out.status(_text(run, "insecure"), "warn")
    return GatewayClient(settings_of(options), clock=run.env.clock)


def show_dry_run(run: Runtime, planned: Iterable[Call], json_output: bool) -> None:
    """What --dry-run prints: each request that would be sent (method, URL, form, signature)."""
    documents = [call.to_dict() for call in planned]
    if json_output:
        run.out.json_object({"dry_run": True, "requests": documents})
        return
    for document in documents:
        run.out.data(f"{document['method']} {document['url']}")
        for key, value in (document["form"] or {}).items():
            run.out.data(f"  {key}={value}")
        if "signed" in document:
            run.out.data(_text(run, "signed_string", signed=document["signed"]["signed_string"]))
    run.out.status(_text(run, "dry_run"))


MESSAGES = {
    "insecure": "TLS certificate checks are off (--insecure)",
    "signed_string": "  # signed string: {signed}",
    "dry_run": "dry run: nothing was sent",
}


def _text(run: Runtime, message_id: str, /, **fields: object) -> str:
    return run.messages.text(f"connect.{message_id}", MESSAGES[message_id], **fields)
