"""The one error boundary: every failure becomes one line on stderr and a documented exit code."""

from __future__ import annotations

import os
import sys

from ..core.errors import EpayError, ExitCode
from .hints import hint_for


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point; never returns (always exits with an ``ExitCode``)."""
    sys.exit(run(sys.argv[1:] if argv is None else argv))


def run(argv: list[str]) -> int:
    """Run one command line and return its exit code."""
    from .. import render

    debug = "--debug" in argv[:1] or os.environ.get("EPAY_DEBUG") == "1"
    if sys.stderr is None:
        sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the process
    if sys.stdout is None:
        render.error("standard output is closed", "run epay with its output open (no >&-)")
        return ExitCode.ERROR
    try:
        from typer import Abort

        # typer 0.26-0.28 vendor click as typer._click (pinned in pyproject.toml)
        from typer._click import exceptions as click_errors

        from .app import build_app

        outcome = build_app(argv)(args=argv, prog_name="epay", standalone_mode=False)
        return int(outcome) if isinstance(outcome, int) else ExitCode.OK
    except EpayError as error:
        _trace(debug)
        render.error(error.message, hint_for(error))
        return error.exit_code
    except click_errors.NoArgsIsHelpError as error:
        error.show()
        return ExitCode.OK
    except click_errors.UsageError as error:
        _trace(debug)
        command = error.ctx.command_path if error.ctx else "epay"
        render.error(error.format_message(), f"see '{command} --help'")
        return ExitCode.USAGE
    except click_errors.ClickException as error:
        render.error(error.format_message())
        return error.exit_code
    except Abort:
        render.error("aborted")
        return ExitCode.INTERRUPTED
    except KeyboardInterrupt:
        render.error("interrupted")
        return ExitCode.INTERRUPTED
    except BrokenPipeError:
        # The reader went away (e.g. `| head`); nothing more can be said on stdout.
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - stops the flush-at-exit error
        return ExitCode.ERROR
    except Exception as error:  # noqa: BLE001 - the boundary: no traceback without --debug
        _trace(debug)
        render.error(f"internal error ({type(error).__name__})",
                     "this is a bug in epay; rerun with 'epay --debug …' and report it")
        return ExitCode.ERROR


def _trace(debug: bool) -> None:
    if debug:
        import traceback

        traceback.print_exc()
