"""Options shared by several commands, so each is spelled and explained once."""

from __future__ import annotations

from typing import Annotated

import typer

from .completion import complete_profile

ProfileOption = Annotated[
    str | None,
    typer.Option("--profile", "-p", metavar="NAME", autocompletion=complete_profile,
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
