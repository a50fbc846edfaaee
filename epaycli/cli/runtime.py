"""What every command is handed by the boundary: the environment and the output bound to it."""

from __future__ import annotations

from dataclasses import dataclass, field

import typer

from ..env import Environment
from ..messages import Messages, choose_language
from ..render import Output


@dataclass
class Runtime:
    env: Environment
    out: Output
    _messages: Messages | None = field(default=None, init=False, repr=False)

    @property
    def messages(self) -> Messages:
        """The language human text is worded in, chosen on first use (EPAY_LANG, LC_ALL,
        LC_MESSAGES, LANG; English where stderr cannot write Chinese)."""
        if self._messages is None:
            encoding = getattr(self.env.stderr, "encoding", None)
            self._messages = Messages(choose_language(self.env.environ, encoding=encoding))
        return self._messages


def runtime(ctx: typer.Context) -> Runtime:
    """The run's ``Runtime`` (set as the root context's ``obj`` by ``cli.main.run``)."""
    found = ctx.obj
    if not isinstance(found, Runtime):  # a command invoked outside ``run`` (a bare typer test)
        env = Environment.from_process()
        found = ctx.obj = Runtime(env, Output(env))
    return found
