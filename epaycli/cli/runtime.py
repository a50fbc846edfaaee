"""What every command is handed by the boundary: the environment and the output bound to it."""

from __future__ import annotations

from collections.abc import Mapping

import typer

from ..env import Environment
from ..messages import Messages, choose_language
from ..render import Output


class Runtime:
    """A plain class: no dataclass machinery on the start-up path (see bench/coldstart.py)."""

    __slots__ = ("_messages", "env", "out", "profile_name")

    def __init__(self, env: Environment, out: Output) -> None:
        self.env, self.out = env, out
        self.profile_name: str | None = None  # the command's --profile, when it has one
        self._messages: Messages | None = None

    @property
    def messages(self) -> Messages:
        """The language human text is worded in, chosen on first use: EPAY_LANG, the profile's
        ``lang``, LC_ALL, LC_MESSAGES, LANG; English where stderr cannot write Chinese."""
        if self._messages is None:
            from ..profiles.store import profile_language  # read once a run words something

            environ = self.env.environ
            profile_lang = None if environ.get("EPAY_LANG", "").strip() else \
                profile_language(self.profile_name, environ)
            encoding = getattr(self.env.stderr, "encoding", None)
            self._messages = Messages(choose_language(environ, profile_lang, encoding=encoding))
        return self._messages


def runtime(ctx: typer.Context) -> Runtime:
    """The run's ``Runtime`` (set as the root context's ``obj`` by ``cli.main.run``).

    Every command starts here, so this is where the output learns the run's secrets: a command
    that takes ``--profile`` uses a merchant's settings, and their keys are masked in all it
    prints; one that takes ``--reveal`` was asked to show them."""
    found = ctx.obj
    if not isinstance(found, Runtime):  # a command invoked outside ``run`` (a bare typer test)
        env = Environment.from_process()
        found = ctx.obj = Runtime(env, Output(env))
    given = {opt: ctx.params.get(param.name or "") for param in ctx.command.params
             for opt in param.opts}
    if "--profile" in given:
        profile, environ = given["--profile"], found.env.environ
        found.profile_name = profile
        found.out.add_secret_source(lambda: configured_secrets(profile, environ))
    if given.get("--reveal"):
        found.out.reveal_secrets()
    return found


def configured_secrets(profile: str | None, environ: Mapping[str, str]) -> list[str]:
    """The secrets of the settings a command runs with (its profile's key and ngrok token;
    the built-in sandbox's key is public)."""
    from ..profiles.resolve import current

    resolved = current(profile, {}, environ)
    found = resolved.profile
    return [found.key * (not resolved.from_sandbox("key")), found.ngrok_authtoken]
