"""The one error boundary: every failure becomes one line on stderr and a documented exit code."""

from __future__ import annotations

import os
import sys

from ..core.errors import EpayError, ExitCode
from ..core.redact import mask_key_shaped, scrub
from ..env import Environment
from ..render import Output, cannot_encode, cannot_write
from .hints import hint_for
from .runtime import Runtime

# Options whose value is a secret: never echoed, even inside another error's text.
SECRET_OPTIONS = ("--key", "-k", "--private-key", "--alert-secret")
SECRET_VARIABLES = ("EPAY_KEY", "EPAY_PRIVATE_KEY", "EPAY_ALERT_SECRET", "EPAY_SMTP_PASSWORD",
                    "EPAY_SMTP")


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point; never returns (always exits with an ``ExitCode``)."""
    code = run(sys.argv[1:] if argv is None else argv)
    _release_stdout()
    sys.exit(code)


def run(argv: list[str], env: Environment | None = None) -> int:
    """Run one command line and return its exit code."""
    env = env or Environment.from_process()
    out = _BoundaryOutput(env, secrets=_secrets_in(argv, env.environ))
    # --debug is a root option, but people add it at the end of the line they are debugging.
    debug = "--debug" in _options_part(argv) or env.environ.get("EPAY_DEBUG") == "1"
    argv = _without_debug(argv)
    if env.stdout is None:
        out.error("standard output is closed", "run epay with its output open (no >&-)")
        return ExitCode.ERROR
    app = None
    try:
        from typer import Abort

        # typer 0.26-0.28 vendor click as typer._click (pinned in pyproject.toml)
        from typer._click import exceptions as click_errors

        from .app import build_app

        app = build_app(argv, env)
        outcome = app(args=argv, prog_name="epay", standalone_mode=False, obj=Runtime(env, out))
        return int(outcome) if isinstance(outcome, int) else ExitCode.OK
    except EpayError as error:
        _trace(debug, out)
        out.error(error.message, hint_for(error))
        return error.exit_code
    except click_errors.NoArgsIsHelpError as error:
        return _output_guarded(out, debug, error.show)
    except click_errors.UsageError as error:
        _trace(debug, out)
        command = error.ctx.command_path if error.ctx else _command_path(app, argv)
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
    except UnicodeEncodeError as error:  # click writing help or a prompt to an ASCII terminal
        _trace(debug, out)
        failure = cannot_encode(error, env.stdout)
        out.error(failure.message, failure.hint)
        return failure.exit_code
    except OSError as error:  # click writing help into a full disk or a closed pipe
        _trace(debug, out)
        failure = cannot_write(error, is_stdout=True)
        out.error(failure.message, failure.hint)
        return failure.exit_code
    except SystemExit as exiting:  # typer's own answer to a closed pipe (EPIPE): sys.exit(1)
        if exiting.code in (0, None):
            return ExitCode.OK
        failure = cannot_write(BrokenPipeError(32, "Broken pipe"), is_stdout=True)
        out.error(failure.message, failure.hint)
        return failure.exit_code
    except RecursionError:  # nesting deep enough to exhaust the parser (JSON, TOML…)
        _trace(debug, out)
        out.error("the input is nested too deeply to read",
                  "callbacks and profiles are flat: check what was pasted or loaded")
        return ExitCode.USAGE
    except Exception as error:  # noqa: BLE001 - the boundary: no traceback without --debug
        _trace(debug, out)
        out.error(f"internal error ({type(error).__name__})",
                  "this is a bug in epay; rerun with 'epay --debug …' and report it")
        return ExitCode.ERROR


class _BoundaryOutput(Output):
    """The run's Output; every error line it prints is cleaned at the boundary: the secrets of
    this command line masked, and anything else shaped like a key too (a key typed where a
    parameter belongs must not land in a CI log)."""

    def __init__(self, env: Environment, *, secrets: list[str]) -> None:
        super().__init__(env)
        self._secrets = secrets

    def clean(self, text: str) -> str:
        return mask_key_shaped(scrub(text, self._secrets)) if text else text

    def error(self, message: str, hint: str | None = None) -> None:
        super().error(self.clean(message), hint and self.clean(hint))

    def trace(self, text: str) -> None:
        """A --debug traceback: the frames as they are, any key in them masked."""
        try:
            self.env.stderr.write(self.clean(text))
            self.env.stderr.flush()
        except (OSError, UnicodeEncodeError):
            pass


def _output_guarded(out: _BoundaryOutput, debug: bool, show) -> int:
    try:
        show()
    except UnicodeEncodeError as error:
        _trace(debug, out)
        failure = cannot_encode(error, out.env.stdout)
    except OSError as error:
        _trace(debug, out)
        failure = cannot_write(error, is_stdout=True)
    else:
        return ExitCode.OK
    out.error(failure.message, failure.hint)
    return failure.exit_code


def _command_path(app, argv: list[str]) -> str:
    """``epay order list`` for ``order list --limit``: click's parser names no context when an
    option lacks its value, and the help to see is still the command's own."""
    if app is None:
        return "epay"
    from typer.main import get_command

    command, path = get_command(app), ["epay"]
    for word in argv:
        sub = getattr(command, "commands", {}).get(word)
        if sub is None:
            break
        command, path = sub, [*path, word]
    return " ".join(path)


def _options_part(argv: list[str]) -> list[str]:
    """The arguments before a ``--`` (after it everything is a value)."""
    return argv[: argv.index("--")] if "--" in argv else argv


def _without_debug(argv: list[str]) -> list[str]:
    head = _options_part(argv)
    return [arg for arg in head if arg != "--debug"] + argv[len(head):]


def _secrets_in(argv: list[str], environ) -> list[str]:
    found = [environ.get(name, "").strip() for name in SECRET_VARIABLES]
    for index, arg in enumerate(argv):
        if arg in SECRET_OPTIONS and index + 1 < len(argv):
            found.append(argv[index + 1].strip())
        for option in SECRET_OPTIONS:
            if arg.startswith(option + "=") and option.startswith("--"):
                found.append(arg[len(option) + 1:].strip())
    return [secret for secret in found if secret]


def _release_stdout() -> None:
    """A stdout that failed (full disk, closed pipe) would fail again when Python flushes it at
    exit and turn the exit code into 120: point it at /dev/null once the run is over."""
    try:
        sys.stdout.flush()
    except (OSError, ValueError, AttributeError):
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except (OSError, ValueError, AttributeError):
            pass


def _trace(debug: bool, out: _BoundaryOutput) -> None:
    if debug:
        import traceback

        out.trace(traceback.format_exc())
