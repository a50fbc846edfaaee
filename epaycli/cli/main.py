"""The one error boundary: every failure becomes one line on stderr and a documented exit code."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from ..core.errors import ConfigError, EpayError, ExitCode
from ..core.redact import key_shaped_in, mask_key_shaped, scrub_text
from ..env import Environment
from ..messages import Messages
from ..render import Output, cannot_encode, cannot_write
from .runtime import Runtime

if TYPE_CHECKING:  # (typer is imported by the run, not by this module: see run)
    import typer
    from typer import TyperException

# Options whose value is a secret: never echoed, even inside another error's text.
SECRET_OPTIONS = ("--key", "-k", "--private-key", "--platform-key", "--sign-with",
                  "--ngrok-authtoken", "--alert-secret")
SECRET_VARIABLES = ("EPAY_KEY", "EPAY_PRIVATE_KEY", "NGROK_AUTHTOKEN", "EPAY_ALERT_SECRET",
                    "EPAY_SMTP_PASSWORD", "EPAY_SMTP")


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point; never returns (always exits with an ``ExitCode``)."""
    code = run(sys.argv[1:] if argv is None else argv)
    _release_stdout()
    sys.exit(code)


def run(argv: list[str], env: Environment | None = None) -> int:
    """Run one command line and return its exit code."""
    env = env or Environment.from_process()
    out = _BoundaryOutput(env, secrets=_secrets_in(argv, env.environ))
    runtime = out.runtime = Runtime(env, out)
    # --debug is a root option, but people add it at the end of the line they are debugging.
    debug = "--debug" in _options_part(argv) or env.environ.get("EPAY_DEBUG") == "1"
    argv = _without_debug(argv)
    if env.stdout is None:
        out.error(out.words("boundary.stdout_closed", "standard output is closed"),
                  out.words("boundary.stdout_closed_fix",
                            "run epay with its output open (no >&-)"))
        return ExitCode.ERROR
    app = None
    try:
        from typer import Abort, TyperException

        from .app import build_app

        app = build_app(argv, env, listing=True)
        outcome = app(args=argv, prog_name="epay", standalone_mode=False, obj=runtime)
        if outcome == ExitCode.INTERRUPTED:  # typer's own answer to Ctrl-C: Exit(130), silent
            out.error(out.words("boundary.interrupted", "interrupted"))
        return int(outcome) if isinstance(outcome, int) else ExitCode.OK
    except EpayError as error:
        if isinstance(error, ConfigError):  # settings that cannot be read hold no secret to
            out.forget_secret_sources()     # learn: reading them again would only wait again
        from .hints import words_for  # the advice table: only a failed run reads it

        _trace(debug, out)
        out.error(*words_for(error, out.messages))
        return error.exit_code
    except TyperException as error:  # click's exceptions; typer names only their base
        return _parser_failure(error, out, debug, app, argv)
    except Abort:
        out.error(out.words("boundary.aborted", "aborted"))
        return ExitCode.INTERRUPTED
    except KeyboardInterrupt:
        out.error(out.words("boundary.interrupted", "interrupted"))
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
        out.error(out.words("boundary.too_deep", "the input is nested too deeply to read"),
                  out.words("boundary.too_deep_fix",
                            "callbacks and profiles are flat: check what was pasted or loaded"))
        return ExitCode.USAGE
    except Exception as error:  # noqa: BLE001 - the boundary: no traceback without --debug
        _trace(debug, out)
        out.error(out.words("boundary.internal_error", "internal error ({kind})",
                            kind=type(error).__name__),
                  out.words("boundary.internal_error_fix",
                            "this is a bug in epay; rerun with 'epay --debug …' and report it"))
        return ExitCode.ERROR


class _BoundaryOutput(Output):
    """The run's Output. Everything it prints has the run's secrets masked (``Output``: those of
    the command line and environment from the start, the profile's once a command names it);
    an error line also has anything shaped like a key masked — and every run of such a key
    that its hint quotes (a key typed where a parameter belongs, or echoed by a gateway, must
    not land in a CI log)."""

    runtime: Runtime | None = None

    @property
    def messages(self) -> Messages:
        """The run's language; English when even choosing one fails (an error is on its way
        out, and must not be lost to a second one)."""
        try:
            if self.runtime is not None:
                return self.runtime.messages
        except Exception:  # noqa: BLE001 - the boundary's own words never fail
            pass
        return Messages("en")

    def words(self, message_id: str, english: str, /, **fields: object) -> str:
        return self.messages.text(message_id, english, **fields)

    def error(self, message: str, hint: str | None = None, *, label: str = "error") -> None:
        message, hint = self.clean(message), hint and self.clean(hint)
        shaped = key_shaped_in(f"{message} {hint or ''}")
        super().error(mask_key_shaped(scrub_text(message, shaped)),
                      hint and mask_key_shaped(scrub_text(hint, shaped)),
                      label=self.words("boundary.error_label", label) if label == "error"
                      else label)

    def trace(self, text: str) -> None:
        """A --debug traceback: the frames as they are, any key in them masked."""
        try:
            self.env.stderr.write(mask_key_shaped(self.clean(text)))
            self.env.stderr.flush()
        except (OSError, UnicodeEncodeError):
            pass


def _parser_failure(error: TyperException, out: _BoundaryOutput, debug: bool,
                    app: typer.Typer | None, argv: list[str]) -> int:
    """What click raised: help asked for by naming a group alone, a usage error (exit 2, click's
    own code for one), or another of click's failures."""
    ctx = getattr(error, "ctx", None)
    if error.exit_code != ExitCode.USAGE:
        out.error(_click_message(error, out.messages))
        return int(error.exit_code)
    if ctx is not None and _names_only(ctx, argv):  # no_args_is_help: click shows the help
        # (every click exception shows itself; typer's public name is only their base's)
        return _output_guarded(out, debug, error.show)  # type: ignore[attr-defined]
    _trace(debug, out)
    command = ctx.command_path if ctx else _command_path(app, argv)
    out.error(_click_message(error, out.messages),
              out.words("boundary.see_help", "see '{command} --help'", command=command))
    return ExitCode.USAGE


def _click_message(error: TyperException, messages: Messages) -> str:
    """Click's message, in the run's language (click itself writes only English)."""
    if messages.language == "en":
        return error.format_message()
    from .click_words import say_click

    return say_click(error.format_message(), messages)


def _names_only(ctx: typer.Context, argv: list[str]) -> bool:
    """The command line is this group's path and nothing more, and the group answers that
    with its help."""
    return bool(ctx.command.no_args_is_help) and len(ctx.command_path.split()) == len(argv) + 1


def _output_guarded(out: _BoundaryOutput, debug: bool, show: Callable[[], object]) -> int:
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


def _command_path(app: typer.Typer | None, argv: list[str]) -> str:
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


def _secrets_in(argv: list[str], environ: Mapping[str, str]) -> list[str]:
    found = [environ.get(name, "").strip() for name in SECRET_VARIABLES]
    for index, arg in enumerate(argv):
        if arg in SECRET_OPTIONS and index + 1 < len(argv):
            found.append(argv[index + 1].strip())
        for option in SECRET_OPTIONS:
            if arg.startswith(option + "=") and option.startswith("--"):
                found.append(arg[len(option) + 1:].strip())
    # A key option may name the file holding the key: the path is no secret, and masking it
    # would garble every message about that file.
    return [secret for secret in found if secret and not _names_a_file(secret)]


def _names_a_file(value: str) -> bool:
    try:
        return len(value) < 4096 and "\n" not in value and os.path.isfile(value)
    except (OSError, ValueError):
        return False


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
