"""``epay listen``: receive notifies, say at once whether each is genuine, journal, answer."""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ..core.errors import InputError
from ..messages import Messages
from ..profiles.keys import notify_keys
from ..profiles.resolve import Resolved, current, expected_pid, key_notes
from ..render import Output
from .inspect import InspectHostOption, InspectPortOption
from .options import KeyOption, ProfileOption
from .runtime import runtime

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from ..listener.events import BadRequest, ListenEvent, Notify
    from ..listener.inspector import Inspector
    from ..listener.server import Listener
    from ..listener.session import ListenSettings

    Show = Callable[[ListenEvent], None]  # how each event of the listener is shown

_MARKS = {"genuine": "✓", "rejected": "✗", "bad_signature": "✗", "malformed": "✗"}


def listen(
    ctx: typer.Context,
    port: Annotated[int, typer.Option("--port", metavar="N",
                                      help="Port to listen on (0: a free one).")] = 8788,
    host: Annotated[str, typer.Option("--host", metavar="ADDR",
                                      help="Address to listen on.")] = "127.0.0.1",
    path: Annotated[str | None, typer.Option(
        "--path", metavar="/PATH", help="Accept notifies only on this path (default: any).")] = None,
    tunnel: Annotated[bool, typer.Option(
        "--tunnel", help="Open an ngrok tunnel to get a public URL (authtoken: NGROK_AUTHTOKEN, "
                         "the profile's ngrok_authtoken, or ngrok's own config).")] = False,
    public_url: Annotated[str | None, typer.Option(
        "--public-url", metavar="URL",
        help="The public URL of another tunnel (frp, 花生壳, cloudflared): shown and checked.")] = None,
    region: Annotated[str | None, typer.Option("--region", metavar="R",
                                               help="ngrok region (us, eu, ap, …).")] = None,
    ngrok_path: Annotated[str | None, typer.Option(
        "--ngrok-path", metavar="FILE", help="The ngrok binary (default: PYNGROK_NGROK_PATH).")] = None,
    forward_to: Annotated[str | None, typer.Option(
        "--forward-to", metavar="URL",
        help="Pass each notify to your own handler and answer with what it says.")] = None,
    reply: Annotated[str, typer.Option(
        "--reply", metavar="MODE",
        help="auto (success if genuine, else fail), success, fail, timeout, status:NNN.")] = "auto",
    journal: Annotated[Path | None, typer.Option(
        "--journal", metavar="FILE",
        help="SQLite journal (default: $XDG_STATE_HOME/epay/listen.sqlite3).")] = None,
    set_profile: Annotated[bool, typer.Option(
        "--set-profile", help="Store the notify URL as the profile's notify_url.")] = False,
    health_interval: Annotated[float, typer.Option(
        "--health-interval", metavar="S",
        help="Check the public URL reaches the listener every S seconds (0: never).")] = 30.0,
    tunnel_timeout: Annotated[float, typer.Option(
        "--tunnel-timeout", metavar="S", help="How long the ngrok agent may take to open the tunnel.")] = 15.0,
    exit_on_tunnel_loss: Annotated[bool, typer.Option(
        "--exit-on-tunnel-loss", help="Exit 5 when the public URL is lost (for a supervisor).")] = False,
    json_output: Annotated[bool, typer.Option(
        "--json", help="One JSON object per line on stdout (ready, notify, …).")] = False,
    key: KeyOption = None,
    public_key: Annotated[str | None, typer.Option(
        "--public-key", metavar="FILE", help="Platform RSA public key (V2): a file or the key.")] = None,
    pid: Annotated[str | None, typer.Option("--pid", metavar="N",
                                            help="Your merchant id; notifies must carry it.")] = None,
    profile: ProfileOption = None,
    inspect: Annotated[bool, typer.Option(
        "--inspect", help="Serve a web page of every notify (live list, diagnosis, replay) on "
                          "127.0.0.1:4041.")] = False,
    inspect_port: InspectPortOption = None,
    inspect_host: InspectHostOption = None,
) -> int:
    """Receive notifies: verify each one, journal it before answering, print one line each.

    Answers success to a genuine notify and fail to one that is not, as a correct shop would
    (--reply simulates a failing one). Ctrl+C or SIGTERM stop it (exit 0). Exit codes: 2 bad
    --host/--reply/--path, 5 tunnel lost or unreachable, 6 port in use, journal, key or ngrok
    set-up.
    """
    from ..listener.journal import default_journal_path
    from ..listener.session import ListenSettings
    from ..state import LocalState

    run = runtime(ctx)
    if tunnel and public_url:
        raise InputError("--tunnel and --public-url both give the public URL",
                         "use one of them", code="tunnel_and_public_url", fields={})
    resolved = current(profile, {"key": key, "public_key": public_key, "pid": pid},
                       run.env.environ)
    keys = notify_keys(resolved)
    for note in key_notes(resolved, uses_md5_key=keys.md5 is not None):
        run.out.status(_text(run.messages, "note", note=note), "warn")
    journal = journal or default_journal_path(run.env.environ)
    settings = ListenSettings(
        keys=keys, journal=journal,
        environ=dict(run.env.environ), host=host, port=port, path=path,
        pid=expected_pid(resolved), forward_to=forward_to, reply=reply,
        state=LocalState.default(run.env.environ), tunnel=tunnel, public_url=public_url,
        region=region, ngrok_path=ngrok_path, tunnel_timeout=tunnel_timeout,
        authtoken=run.env.environ.get("NGROK_AUTHTOKEN") or resolved.profile.ngrok_authtoken
        or None,
        health_interval=health_interval,
        exit_on_tunnel_loss=exit_on_tunnel_loss,
        store_url=_profile_writer(resolved, run.env.environ) if set_profile else None,
        inspector=_inspector_starter(resolved, journal, inspect_host, inspect_port, forward_to,
                                     run.messages.language)
        if inspect or inspect_port is not None or inspect_host else None)
    _serve_until_stopped(settings, _json_renderer(run.out) if json_output
                         else _human_renderer(run.out, run.messages), run.env.clock,
                         run.out.flush if json_output else None)
    return 0


def _serve_until_stopped(settings: ListenSettings, show: Show, clock: Callable[[], float],
                         shown: Callable[[], None] | None) -> None:
    """Serve until Ctrl+C or SIGTERM; the listener's errors get the CLI's hints."""
    from ..listener.session import serve

    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        serve(settings, show, stop, clock=clock, on_events_out=shown)
    finally:
        signal.signal(signal.SIGTERM, previous)


def _inspector_starter(resolved: Resolved, journal: Path, host: str | None, port: int | None,
                       forward_to: str | None, language: str
                       ) -> Callable[[Listener], Inspector]:
    def start(listener: Listener) -> Inspector:
        from ..listener.inspector import start_inspector
        from .inspect import inspector_config

        return start_inspector(inspector_config(
            resolved, journal, host=host, port=port, request_base=listener.base_url,
            targets={"listener": listener.url, "forward": forward_to}, language=language))

    return start


def _profile_writer(resolved: Resolved, environ: Mapping[str, str]) -> Callable[[str], str]:
    from ..profiles.store import config_path, load_store, save_store

    name = resolved.profile.name

    def store(url: str) -> str:
        path = config_path(environ)
        stored = load_store(path)
        # The stored profile, not the resolved one: flags and EPAY_* values stay out of the file.
        save_store(path, stored.with_profile(stored.get(name).updated(notify_url=url)))
        return name

    return store


def _json_renderer(out: Output) -> Show:
    from ..listener.events import BadRequest, Notify

    def show(event: ListenEvent) -> None:
        # A request's line waits in the buffer for the listener's one flush a batch
        # (on_events_out), which comes before the answers; any other line is out at once.
        out.json_line(event.to_dict(), flush=not isinstance(event, Notify | BadRequest))

    return show


# What the human renderer says, by message id (a translation replaces the templates).
MESSAGES = {
    "ready": "listening on {url}{any_path} — journal {journal}",
    "any_path": " (any path)",
    "public_url": "public notify URL: {url}  ← paste as notify_url",
    "forwarding": "forwarding to {url}",
    "inspector": "inspector: {url}",
    "fixed_reply": "answering every notify with --reply {reply}",
    "how_to_stop": "Ctrl+C stops",
    "tunnel_ok": "✓ {url} reaches this listener ({ms:.0f} ms)",
    "tunnel_lost": "!!! TUNNEL LOST: {url} no longer reaches this listener ({reason}) — {action}",
    "tunnel_reopened": "tunnel reopened: {url}",
    "tunnel_url_changed": "tunnel reopened: {url} — the URL CHANGED: update notify_url",
    "tunnel_error": "!!! cannot reopen the tunnel: {message}",
    "profile_updated": "stored notify_url {url} in profile {profile!r}",
    "internal_error": "!!! internal error: {message} — a bug in epay; please report it",
    "journal_error": "!!! JOURNAL: {message} — answered 503",
    "journal_hint": "    {hint}",
    "journal_back": "the journal is written again; {count} requests were answered 503 meanwhile",
    "warning": "warning: {message}",
    "stopped": "stopped; {answered} requests answered",
    "stopped_why": "stopped ({reason}); {answered} requests answered",
    "stopped_interrupted": "stopped (interrupted); {answered} requests answered",
    "note": "note: {note}",
    "refused": "{clock} {method:4} {path}  ✗ {reason}  → {status} ({ms:.1f} ms)",
    "notify": "{clock} {method:4} {trade_no} {out_trade_no} {money} {type}  {mark} {verdict}"
              "{duplicate}  → {status} {answer!r}{delivered} {ms:.1f} ms",
    "duplicate": "  duplicate #{number}",
    "changed": " CONTENT CHANGED (attack or bug): {changes}",
    "not_delivered": " (gateway: not delivered)",
    "forward_failed": "\n    forward ✗ {url}: {error}",
    "forwarded": "\n    forward → {status} {body!r} {ms:.1f} ms{flag}",
    "forward_no_success": "  ✗ no 'success' in the answer",
    "change": "{name}: {before} → {after}",
    "change_separator": "; ",
    "absent": "(absent)",
    "changes_unknown": "which fields is not known (the first copy is no longer kept)",
    "genuine": "genuine",
}

_ENGLISH = Messages()


def _text(messages: Messages, message_id: str, /, **fields: object) -> str:
    return messages.text(f"listen.{message_id}", MESSAGES[message_id], **fields)


class _HumanLines:
    """The terminal's lines, one kind of event at a time; a journal that fails is said once
    (and when it works again), not for every request it fails."""

    def __init__(self, out: Output, messages: Messages = _ENGLISH) -> None:
        self.out = out
        self.messages = messages
        self.journal_failure: str | None = None  # the code of the failure being said
        self.unjournaled = 0

    def say(self, message_id: str, style: str, **values: object) -> None:
        self.out.status(_text(self.messages, message_id, **values), style)

    def show(self, event: ListenEvent) -> None:
        from ..listener import events as e  # (imported by _human_renderer; off cold start)

        say = self.say
        match event:
            case e.Notify() | e.BadRequest():
                if self.unjournaled > 1:
                    say("journal_back", "warn", count=self.unjournaled)
                self.journal_failure, self.unjournaled = None, 0
                self.out.status(*notify_line(event, self.messages))
            case e.Ready():
                say("ready", "ok", url=event.local_url, journal=event.journal,
                    any_path=_text(self.messages, "any_path") if not event.path else "")
                if event.public_url:
                    say("public_url", "ok", url=event.public_url)
                if event.forward_to:
                    say("forwarding", "info", url=event.forward_to)
                if event.inspector_url:
                    say("inspector", "ok", url=event.inspector_url)
                if event.reply != "auto":
                    say("fixed_reply", "warn", reply=event.reply)
                say("how_to_stop", "dim")
            case e.TunnelOk():
                say("tunnel_ok", "ok", url=event.public_url, ms=event.ms)
            case e.TunnelLost():
                say("tunnel_lost", "bad", url=event.public_url, reason=event.reason,
                    action=event.action)
            case e.TunnelReopened():
                say("tunnel_url_changed" if event.changed else "tunnel_reopened", "warn",
                    url=event.public_url)
            case e.TunnelError():
                say("tunnel_error", "bad", message=event.message)
            case e.ProfileUpdated():
                say("profile_updated", "ok", url=event.notify_url, profile=event.profile)
            case e.InternalError():
                say("internal_error", "bad", message=event.message)
            case e.NotJournaled():
                self.unjournaled += 1
                if self.journal_failure != event.code:
                    self.journal_failure = event.code
                    say("journal_error", "bad", message=event.message)
                    if event.hint:
                        say("journal_hint", "dim", hint=event.hint)
            case e.ListenWarning():
                say("warning", "warn", message=event.message)
            case e.Stopped():
                said = {"stopped": "stopped", "interrupted": "stopped_interrupted"}
                say(said.get(event.reason, "stopped_why"), "dim", reason=event.reason,
                    answered=event.answered)


def _human_renderer(out: Output, messages: Messages = _ENGLISH) -> Show:
    # Imported here, on the main thread, before the listener's thread renders with it: an
    # import first made on that thread could meet a Ctrl+C midway on this one.
    from ..listener import events  # noqa: F401

    return _HumanLines(out, messages).show


def changes_text(changes: Sequence[Mapping[str, str | None]] | None, messages: Messages = _ENGLISH) -> str:
    """``name: product → 无类型; money: 1.00 → 2.00`` — what a later copy of a notify changed."""
    if changes is None:
        return _text(messages, "changes_unknown")

    def shown(value: str | None) -> str:
        if value is None:
            return _text(messages, "absent")
        return value if len(value) <= 40 else value[:39] + "…"

    return _text(messages, "change_separator").join(
        _text(messages, "change", name=c["name"], before=shown(c["before"]),
              after=shown(c["after"])) for c in changes)


def notify_line(event: Notify | BadRequest, messages: Messages = _ENGLISH) -> tuple[str, str]:
    """One line per request (``Notify`` or ``BadRequest``): time, method, numbers, money, type,
    verdict, duplicates, answer."""
    clock = event.time[11:19]
    if event.name == "bad_request":
        return _text(
            messages, "refused", clock=clock, method=event.method or "-", path=event.path or "-",
            reason=event.reason, status=event.answer_status, ms=event.ms), "bad"
    duplicate = ""
    if event.duplicate_count:
        duplicate = _text(messages, "duplicate", number=event.duplicate_count + 1)
        if event.content_changed:
            duplicate += _text(messages, "changed",
                               changes=changes_text(event.changed_fields, messages))
    answer = event.answer if len(event.answer) <= 40 else event.answer[:40] + "…"
    text = _text(
        messages, "notify", clock=clock, method=event.method, trade_no=event.trade_no or "-",
        out_trade_no=event.out_trade_no or "-", money=event.money or "-",
        type=event.type or "-", mark=_MARKS.get(event.verdict, "?"),
        verdict=_text(messages, "genuine") if event.valid else event.reason, duplicate=duplicate,
        status=event.answer_status, answer=answer, ms=event.ms,
        delivered="" if event.delivered else _text(messages, "not_delivered"))
    forward = event.forward
    if forward:
        if forward["status"] is None:
            text += _text(messages, "forward_failed", url=forward["url"], error=forward["error"])
        else:
            text += _text(
                messages, "forwarded", status=forward["status"], body=forward["body"][:60],
                ms=forward["ms"], flag="" if forward["delivered"] else _text(messages, "forward_no_success"))
    style = "ok" if event.valid and not event.content_changed else "bad"
    return text, style
