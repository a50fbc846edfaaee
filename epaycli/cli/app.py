"""The ``epay`` typer application: the root options and every command group."""

# No `from __future__ import annotations`: typer reads the root options' annotations at every
# start, and strings would be compiled each time (see cli/sign.py).
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Annotated, Any

import typer
from typer.completion import completion_init  # type: ignore[attr-defined]  # (public; no __all__)
from typer.core import TyperGroup

from .. import __version__
from ..core.patterns import lazy
from ..env import Environment
from ..messages import choose_language

EPILOG = ("Exit codes: 0 ok, 1 error, 2 usage or unreadable input, 3 signature invalid, "
          "4 gateway error, 5 network, 6 config, 7 check failed, 130 interrupted.")


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"epay {__version__}")
        raise typer.Exit()


def _root(
    version: Annotated[bool, typer.Option("--version", callback=_show_version, is_eager=True,
                                          help="Show the version and exit.")] = False,
    debug: Annotated[bool, typer.Option("--debug",
                                        help="Show the full traceback of an error.")] = False,
) -> None:
    """易支付 (Epay) payments from the terminal: sign and verify callbacks, talk to a gateway,
    run a local one, receive and test notifies."""


def _add_sign(app: typer.Typer) -> None:
    from . import sign

    app.command("sign")(sign.sign)


def _add_verify(app: typer.Typer) -> None:
    from . import verify

    app.command("verify")(verify.verify)


def _add_profile(app: typer.Typer) -> None:
    from . import profile

    app.add_typer(profile.app, name="profile")


def _add_listen(app: typer.Typer) -> None:
    from . import listen

    app.command("listen")(listen.listen)


def _add_events(app: typer.Typer) -> None:
    from . import events

    app.add_typer(events.app, name="events")


def _add_order(app: typer.Typer) -> None:
    from . import order

    app.add_typer(order.app, name="order")


def _add_merchant(app: typer.Typer) -> None:
    from . import merchant

    app.add_typer(merchant.app, name="merchant")


def _add_errors(app: typer.Typer) -> None:
    from . import catalogue

    app.command("errors", context_settings={"ignore_unknown_options": True})(catalogue.errors)


def _add_trigger(app: typer.Typer) -> None:
    from . import trigger

    app.add_typer(trigger.app, name="trigger")


def _add_check(app: typer.Typer) -> None:
    from . import check

    app.add_typer(check.app, name="check")


def _add_mock(app: typer.Typer) -> None:
    from . import mock

    app.command("mock")(mock.mock)


def _add_demo(app: typer.Typer) -> None:
    from . import demo

    app.command("demo")(demo.demo)


def _add_doctor(app: typer.Typer) -> None:
    from . import doctor

    app.add_typer(doctor.app, name="doctor")


def _add_monitor(app: typer.Typer) -> None:
    from . import monitor

    app.command("monitor")(monitor.monitor)


def _add_reconcile(app: typer.Typer) -> None:
    from . import monitor

    app.command("reconcile")(monitor.reconcile)


def _add_completion(app: typer.Typer) -> None:
    from . import completion

    app.command("completion")(completion.completion)


# In --help order. Each adds one command and imports only that command's module.
COMMANDS: dict[str, Callable[[typer.Typer], None]] = {
    "sign": _add_sign,
    "verify": _add_verify,
    "errors": _add_errors,
    "order": _add_order,
    "merchant": _add_merchant,
    "listen": _add_listen,
    "events": _add_events,
    "profile": _add_profile,
    "trigger": _add_trigger,
    "check": _add_check,
    "mock": _add_mock,
    "demo": _add_demo,
    "doctor": _add_doctor,
    "monitor": _add_monitor,
    "reconcile": _add_reconcile,
    "completion": _add_completion,
}


# What `epay --help` says of each command (its help's first sentence), so that the list is
# shown without importing the sixteen command modules: together they cost twice what typer
# does. A test holds each line to the command's own help. Groups are listed after commands.
LISTED = {
    "sign": "Sign parameters (MD5 with the merchant key, or RSA with --private-key).",
    "verify": "Verify a pasted notify or return callback; exit 0 if genuine, 3 if not.",
    "errors": "Explain an Epay error: meaning (中文 + English), likely cause and fix.",
    "listen": "Receive notifies: verify each one, journal it before answering, print one "
              "line each.",
    "mock": "Run a local Epay gateway (V1 + V2, cashier, notifies) until Ctrl+C or SIGTERM.",
    "demo": "Run a whole payment on a local gateway: create, pay, notify, query, refund.",
    "monitor": "Watch a live integration: success rate, response time, abnormal orders; "
               "alert on a breach.",
    "reconcile": "Compare the shop's orders with the gateway's: paid but not credited, "
                 "credited but not paid, amounts that differ, orders the gateway does not know.",
    "completion": "Print the shell completion script for bash, zsh or fish.",
}
LISTED_GROUPS = {
    "order": "Create, query, list, refund and wait for orders at the gateway.",
    "merchant": "The merchant account at the gateway: info and settlements.",
    "events": "What epay listen journaled: list, show and replay requests.",
    "profile": "Manage merchant profiles (gateway, pid, keys).",
    "trigger": "Send a signed notify to a shop's handler, as a gateway would.",
    "check": "Grade a shop's notify handler (exit 7 when a case fails).",
    "doctor": "Check the profile, gateway, key, notify_url and clock (exit 7 when a check "
              "fails); 'doctor request' lints a payment request.",
}


def _list_commands(app: typer.Typer) -> None:
    """Every command by name and summary only: enough for the root's help, which is all a
    command line naming no command can show (``--help``, ``--version``, nothing at all)."""
    for name, summary in LISTED.items():
        app.command(name, help=summary)(_listed_only)
    for name, summary in LISTED_GROUPS.items():
        app.add_typer(typer.Typer(help=summary), name=name)


def _listed_only() -> None:  # never run: a command line that names a command builds it whole
    raise RuntimeError("a listed command was run")


def _lists_only(named: str | None, env: Environment, chinese: bool) -> bool:
    """The command line names no command, so its run only shows the list (not in Chinese,
    whose help is looked up by each command's whole help; not when the shell asks for
    completions, which need every command's options)."""
    return named is None and not chinese and "_EPAY_COMPLETE" not in env.environ


# Help text as people read it, drawn with click's public hooks only: a required argument is
# ``NAME`` in a usage line, not typer's ``{NAME}`` (braces read as a placeholder to fill in, or
# as shell brace expansion), and a command is listed by its whole first sentence.
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


# Plain help wraps with textwrap, which breaks "--private-key" after its hyphen. The help text
# goes in with U+2011 (a hyphen textwrap does not break at) and comes out with "-" again.
_UNBROKEN_HYPHEN = "\u2011"


# click's HelpFormatter, which typer does not export: reached through its public Context (a class
# attribute, which mypy does not take for a base class)
class _HelpFormatter(typer.Context.formatter_class):  # type: ignore[misc,valid-type]
    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        super().write_usage(prog, plain_usage(args), prefix)

    def write_text(self, text: str) -> None:
        start = len(self.buffer)
        super().write_text(text.replace("-", _UNBROKEN_HYPHEN))
        self._restore_hyphens(start)

    def write_dl(self, rows: Sequence[tuple[str, str]], *args: int, **kwargs: int) -> None:
        start = len(self.buffer)
        super().write_dl([(first, second.replace("-", _UNBROKEN_HYPHEN)) for first, second in rows],
                         *args, **kwargs)
        self._restore_hyphens(start)

    def _restore_hyphens(self, start: int) -> None:
        self.buffer[start:] = [part.replace(_UNBROKEN_HYPHEN, "-") for part in self.buffer[start:]]


class _HelpContext(typer.Context):
    formatter_class = _HelpFormatter


class _EpayGroup(TyperGroup):
    """The root group. Made once the whole tree is built, it gives every command under it (those
    added to COMMANDS later too) help that lists a command by its whole first sentence — click
    cuts it to fit the line ("…, or RSA with...") — and never breaks a word at a hyphen.
    A command that states its own short help keeps it."""

    context_class = _HelpContext
    help_table: Mapping[str, str] | None = None  # Chinese help (see localize.chinese_group)

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        if self.help_table is None:
            _whole_help(self.commands.values())
        else:
            from .localize import translate_commands

            translate_commands([self], self.help_table)


def _whole_help(commands: Iterable[Any]) -> None:  # click commands and groups
    for command in commands:
        command.context_class = _HelpContext
        if not command.short_help and command.help:
            command.short_help = first_sentence(command.help)
        _whole_help(getattr(command, "commands", {}).values())


def _help_language(argv: list[str], env: Environment) -> str:
    """The language of --help: EPAY_LANG, the profile's ``lang`` (read only when help is
    asked for, so a command's run is not slowed), then the locale."""
    environ, profile_lang = env.environ, None
    if not environ.get("EPAY_LANG", "").strip() and (not argv or "--help" in argv or "-h" in argv):
        from ..profiles.store import profile_language

        named = next((argv[i + 1] for i, arg in enumerate(argv[:-1])
                      if arg in ("--profile", "-p")), None)
        profile_lang = profile_language(named, environ)
    return choose_language(environ, profile_lang, encoding=getattr(env.stdout, "encoding", None))


def build_app(argv: list[str] | None = None, env: Environment | None = None, *,
              listing: bool = False) -> typer.Typer:
    """The application; with the command line known, only the command it names is built.

    typer inspects every command's signature when it builds the parser, and each command module
    has imports of its own: a run of `epay sign` need not pay for `epay profile`. With
    ``listing`` (the CLI's own runs), a line that names no command gets every command by name
    and summary only (``LISTED``): all its run can show is the root's help; otherwise the
    whole tree is built (what a caller walking the commands wants).
    Help is drawn by rich only on a terminal that allows colour; in a pipe, with NO_COLOR or
    TERM=dumb it is plain text (and rich is not imported).
    """
    env = env or Environment.from_process()
    group: type[_EpayGroup] = _EpayGroup
    chinese = _help_language(argv or [], env) == "zh"
    if chinese:  # plain help, written by display width (rich's panels keep English titles)
        from .localize import chinese_group

        group = chinese_group(_EpayGroup)
    app = typer.Typer(
        cls=group,
        name="epay",
        help="易支付 (Epay) payments from the terminal: sign and verify callbacks, talk to a "
             "gateway, run a local one, receive and test notifies.",
        no_args_is_help=True,
        rich_markup_mode="rich" if env.colour(env.stdout) and not chinese else None,
        add_completion=False,  # `epay completion SHELL` prints the script instead
        pretty_exceptions_enable=False,
        context_settings={"help_option_names": ["-h", "--help"]},
        epilog=EPILOG,
    )
    app.callback()(_root)
    # The scripts `epay completion` prints ask through typer's protocol (_EPAY_COMPLETE=
    # complete_bash …); with add_completion off, typer leaves registering its shells to us.
    completion_init()
    named = next((arg for arg in argv or [] if not arg.startswith("-")), None)
    if listing and _lists_only(named, env, chinese):
        _list_commands(app)
        return app
    for name, add in COMMANDS.items():
        if named not in COMMANDS or name == named:
            add(app)
    return app
