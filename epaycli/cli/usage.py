"""Help text as people read it, drawn with click's public hooks only: a required argument is
``NAME`` in a usage line, not typer's ``{NAME}`` (braces read as a placeholder to fill in, or
as shell brace expansion), and a command is listed by its whole first sentence."""

from __future__ import annotations

from ..core.patterns import lazy

_BRACED = lazy(r"\{([^{}\s]+)\}")


def plain_usage(pieces: str) -> str:
    """``[OPTIONS] {URL}`` → ``[OPTIONS] URL``."""
    return _BRACED.sub(r"\1", pieces)


def first_sentence(text: str) -> str:
    """The first sentence of the first paragraph, on one line (click would cut it to fit)."""
    words = text.split("\n\n", 1)[0].split()
    if words and words[0] == "\b":  # click's "do not rewrap" marker
        words = words[1:]
    end = next((index for index, word in enumerate(words) if word.endswith(".")), len(words))
    return " ".join(words[:end + 1])
