"""The ``epay`` typer application: the root options and every command group."""

from __future__ import annotations

from typing import Annotated

import typer

from .. import __version__
from . import profile, sign, verify

app = typer.Typer(
    name="epay",
    help="Sign, verify and debug 易支付 (Epay) payments: callbacks, signatures and profiles.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    epilog="Exit codes: 0 ok, 1 error, 2 usage or unreadable input, 3 signature invalid, "
    "4 gateway error, 5 network, 6 config, 7 check failed, 130 interrupted.",
)


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"epay {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[bool, typer.Option("--version", callback=_show_version, is_eager=True,
                                          help="Show the version and exit.")] = False,
    debug: Annotated[bool, typer.Option("--debug",
                                        help="Show the full traceback of an error.")] = False,
) -> None:
    """Sign, verify and debug 易支付 (Epay) payments: callbacks, signatures and profiles."""


app.command("sign")(sign.sign)
app.command("verify")(verify.verify)
app.add_typer(profile.app, name="profile")
