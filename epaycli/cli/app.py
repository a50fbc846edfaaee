"""The ``epay`` typer application: the root options and every command group."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

import typer

from .. import __version__
from .usage import plain_required_arguments

EPILOG = ("Exit codes: 0 ok, 1 error, 2 usage or unreadable input, 3 signature invalid, "
          "4 gateway error, 5 network, 6 config, 7 check failed, 130 interrupted.")


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"epay {__version__}")
        raise typer.Exit()


def _root(
    version: Annotated[bool, typer.Option("--version", callback=_show_version, is_eager=True,
                                          help="Show the version and exit.")] = False,
    debug: Annotated[bool, typer.Option("--debug",
                                        help="Show the full traceback of an error.")] = False,
) -> None:
    """Sign, verify and debug 易支付 (Epay) payments: callbacks, signatures and profiles."""


def _add_sign(app: typer.Typer) -> None:
    from . import sign

    app.command("sign")(sign.sign)


def _add_verify(app: typer.Typer) -> None:
    from . import verify

    app.command("verify")(verify.verify)


def _add_profile(app: typer.Typer) -> None:
    from . import profile

    app.add_typer(profile.app, name="profile")


# In --help order. Each adds one command and imports only that command's module.
COMMANDS: dict[str, Callable[[typer.Typer], None]] = {
    "sign": _add_sign,
    "verify": _add_verify,
    "profile": _add_profile,
}


def build_app(argv: list[str] | None = None) -> typer.Typer:
    """The application; with the command line known, only the command it names is built.

    typer inspects every command's signature when it builds the parser, and each command module
    has imports of its own: a run of `epay sign` need not pay for `epay profile`.
    """
    app = typer.Typer(
        name="epay",
        help="Sign, verify and debug 易支付 (Epay) payments: callbacks, signatures and profiles.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
        context_settings={"help_option_names": ["-h", "--help"]},
        epilog=EPILOG,
    )
    app.callback()(_root)
    plain_required_arguments()
    named = next((arg for arg in argv or [] if not arg.startswith("-")), None)
    for name, add in COMMANDS.items():
        if named not in COMMANDS or name == named:
            add(app)
    return app
