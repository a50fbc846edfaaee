"""``epay completion SHELL``: the script that has the shell complete epay's commands."""

from __future__ import annotations

from typing import Annotated

import typer

from ..core.errors import InputError
from .runtime import runtime

# The variable the script sets when it asks epay for completions (typer's protocol, see app.py).
COMPLETE_VAR = "_EPAY_COMPLETE"
SHELLS = ("bash", "zsh", "fish")


def _complete_shell(incomplete: str) -> list[str]:
    return [shell for shell in SHELLS if shell.startswith(incomplete)]


def complete_profile(ctx: typer.Context, incomplete: str) -> list[str]:
    """``--profile``: the profiles of the user's file, and the built-in sandbox. A file that
    cannot be read offers the sandbox only (completion never prints an error)."""
    from ..core.errors import EpayError
    from ..core.models import SANDBOX_NAME
    from ..profiles.store import config_path, load_store

    try:
        names = list(load_store(config_path(runtime(ctx).env.environ)).profiles)
    except EpayError:
        names = []
    return [name for name in dict.fromkeys([*names, SANDBOX_NAME]) if name.startswith(incomplete)]


def complete_error_id(incomplete: str) -> list[str]:
    """``epay errors``: the catalogue's entry ids (an id is also what it looks up)."""
    from ..catalogue.lookup import catalogue

    return [entry.id for entry in catalogue().entries if entry.id.startswith(incomplete)]


def completion(
    ctx: typer.Context,
    shell: Annotated[str | None, typer.Argument(
        metavar="SHELL", help="bash, zsh or fish.", autocompletion=_complete_shell,
    )] = None,
) -> None:
    """Print the shell completion script for bash, zsh or fish.

    Load it at start-up: eval "$(epay completion bash)" in ~/.bashrc, eval "$(epay completion
    zsh)" in ~/.zshrc after compinit, or save it: epay completion fish >
    ~/.config/fish/completions/epay.fish
    """
    if shell not in SHELLS:
        advice = "name one: epay completion bash, epay completion zsh or epay completion fish"
        if shell is None:
            raise InputError("which shell?", advice, code="completion_no_shell", fields={})
        raise InputError("no completion for the shell {shell!r}", advice,
                         code="completion_unknown_shell", fields={"shell": shell})
    # typer.completion re-exports it from a private module, without an __all__ to say so
    from typer.completion import get_completion_script  # type: ignore[attr-defined]

    script = get_completion_script(prog_name="epay", complete_var=COMPLETE_VAR, shell=shell)
    runtime(ctx).out.data(script)
