"""Options shared by several commands, so each is spelled and explained once."""

from __future__ import annotations

from typing import Annotated

import typer


def _complete_profile(ctx: typer.Context, incomplete: str) -> list[str]:
    # The completions module is imported only when the shell asks (start-up of every command).
    from .completion import complete_profile

    return complete_profile(ctx, incomplete)


ProfileOption = Annotated[
    str | None,
    typer.Option("--profile", "-p", metavar="NAME", autocompletion=_complete_profile,
                 help="Profile to use (default: EPAY_PROFILE, the file's default, or sandbox)."),
]
KeyOption = Annotated[
    str | None,
    typer.Option("--key", "-k", metavar="KEY",
                 help="Merchant MD5 key. Prefer a profile or EPAY_KEY: flags land in shell history."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]
NowOption = Annotated[
    int | None,
    typer.Option("--now", metavar="UNIX", help="Pin the clock (Unix seconds), for tests and replays."),
]
