"""The one error boundary: every failure becomes one line on stderr and a documented exit code."""

from __future__ import annotations

import os
import sys

from ..core.errors import EpayError, ExitCode
from ..env import Environment
from ..render import Output
from .hints import hint_for
from .runtime import Runtime


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point; never returns (always exits with an ``ExitCode``)."""
    sys.exit(run(sys.argv[1:] if argv is None else argv))


def run(argv: list[str], env: Environment | None = None) -> int:
    """Run one command line and return its exit code."""
    env = env or Environment.from_process()
    out = Output(env)
    debug = "--debug" in argv[:1] or env.environ.get("EPAY_DEBUG") == "1"
    if env.stdout is None:
        out.error("standard output is closed", "run epay with its output open (no >&-)")
        return ExitCode.ERROR
    try:
        from typer import Abort

        # typer 0.26-0.28 vendor click as typer._click (pinned in pyproject.toml)
        from typer._click import exceptions as click_errors

        from .app import build_app

        outcome = build_app(argv, env)(args=argv, prog_name="epay", standalone_mode=False,
                                        obj=Runtime(env, out))
        return int(outcome) if isinstance(outcome, int) else ExitCode.OK
    except EpayError as error:
        _trace(debug)
        out.error(error.message, hint_for(error))
        return error.exit_code
    except click_errors.NoArgsIsHelpError as error:
        error.show()
        return ExitCode.OK
    except click_errors.UsageError as error:
        _trace(debug)
        command = error.ctx.command_path if error.ctx else "epay"
        out.error(error.format_message(), f"see '{command} --help'")
        return ExitCode.USAGE
    except click_errors.ClickException as error:
        out.error(error.format_message())
        return error.exit_code
    except Abort:
        out.error("aborted")
        return ExitCode.INTERRUPTED
    except KeyboardInterrupt:
        out.error("interrupted")
        return ExitCode.INTERRUPTED
    except BrokenPipeError:
        # The reader went away (e.g. `| head`); nothing more can be said on stdout.
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - stops the flush-at-exit error
        return ExitCode.ERROR
    except Exception as error:  # noqa: BLE001 - the boundary: no traceback without --debug
        _trace(debug)
        out.error(f"internal error ({type(error).__name__})",
                     "this is a bug in epay; rerun with 'epay --debug …' and report it")
        return ExitCode.ERROR


def _trace(debug: bool) -> None:
    if debug:
        import traceback

        traceback.print_exc()
