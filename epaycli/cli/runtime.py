"""What every command is handed by the boundary: the environment and the output bound to it."""

from __future__ import annotations

from typing import NamedTuple

import typer

from ..env import Environment
from ..render import Output


class Runtime(NamedTuple):
    env: Environment
    out: Output


def runtime(ctx: typer.Context) -> Runtime:
    """The run's ``Runtime`` (set as the root context's ``obj`` by ``cli.main.run``)."""
    found = ctx.obj
    if not isinstance(found, Runtime):  # a command invoked outside ``run`` (a bare typer test)
        env = Environment.from_process()
        found = ctx.obj = Runtime(env, Output(env))
    return found
