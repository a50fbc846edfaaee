"""Usage lines as people read them: a required argument is ``NAME``, not typer's ``{NAME}``
(braces read as a placeholder to fill in, or as shell brace expansion)."""

from __future__ import annotations

from typer.core import TyperArgument

_typer_metavar = TyperArgument.make_metavar


def _metavar(self, ctx, *, usage: bool = False) -> str:
    text = _typer_metavar(self, ctx, usage=usage)
    if usage and self.required and text.startswith("{") and text.endswith("}"):
        return text[1:-1]
    return text


def plain_required_arguments() -> None:
    TyperArgument.make_metavar = _metavar
