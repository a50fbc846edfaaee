"""``epay listen``: receive notifies, say at once whether each is genuine, journal, answer."""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from typing import Annotated

import typer

from ..core.errors import EpayError, InputError
from ..core.signing import Keys, Md5Key, RsaKeys
from ..profiles.keys import load_key
from ..profiles.resolve import Resolved, current, expected_pid, key_notes
from ..render import Output
from .options import KeyOption, ProfileOption
from .runtime import runtime

# The CLI's words for the listener's error codes (the library names no flags).
HINTS = {
    "port_in_use": "pick another with --port N (or --port 0 for a free one)",
    "bad_host": "give --host an address of this machine, e.g. 127.0.0.1",
    "journal_unwritable": "choose a writable file with --journal FILE",
    "ngrok_missing": "install ngrok and set PYNGROK_NGROK_PATH (or --ngrok-path), "
                     "or run another tunnel and pass --public-url URL",
    "ngrok_no_authtoken": "set NGROK_AUTHTOKEN, the profile's ngrok_authtoken, or run 'ngrok "
                          "config add-authtoken TOKEN' (free at dashboard.ngrok.com); or use "
                          "--public-url URL",
    "ngrok_unreachable": "check the network, or run another tunnel and pass --public-url URL",
    "ngrok_timeout": "check the network, or run another tunnel and pass --public-url URL",
    "ngrok_failed": "run 'ngrok start --none --log stdout' by hand to see why, or run another "
                    "tunnel and pass --public-url URL",
    "tunnel_lost": "a supervisor can restart 'epay listen'; without --exit-on-tunnel-loss it "
                   "reopens the tunnel itself",
}
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
                         "use one of them")
    resolved = current(profile, {"key": key, "public_key": public_key, "pid": pid},
                       run.env.environ)
    keys = listener_keys(resolved)
    for note in key_notes(resolved, uses_md5_key=keys.md5 is not None):
        run.out.status(f"note: {note}", "warn")
    settings = ListenSettings(
        keys=keys, journal=journal or default_journal_path(run.env.environ),
        environ=dict(run.env.environ), host=host, port=port, path=path,
        pid=expected_pid(resolved), forward_to=forward_to, reply=reply,
        state=LocalState.default(run.env.environ), tunnel=tunnel, public_url=public_url,
        region=region, ngrok_path=ngrok_path, tunnel_timeout=tunnel_timeout,
        authtoken=run.env.environ.get("NGROK_AUTHTOKEN") or resolved.profile.ngrok_authtoken
        or None,
        health_interval=health_interval,
        exit_on_tunnel_loss=exit_on_tunnel_loss,
        store_url=_profile_writer(resolved, run.env.environ) if set_profile else None)
    _serve_until_stopped(settings, _json_renderer(run.out) if json_output
                         else _human_renderer(run.out), run.env.clock)
    return 0


def _serve_until_stopped(settings, show, clock) -> None:
    """Serve until Ctrl+C or SIGTERM; the listener's errors get the CLI's hints."""
    from ..listener.session import serve

    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        serve(settings, show, stop, clock=clock)
    except EpayError as error:
        error.hint = HINTS.get(error.code, error.hint)
        raise
    finally:
        signal.signal(signal.SIGTERM, previous)


def listener_keys(resolved: Resolved) -> Keys:
    """Every key notifies may be checked with, loaded once (not per request)."""
    found = resolved.profile
    md5 = Md5Key(found.key) if found.key else None
    rsa = RsaKeys(public=load_key(found.public_key, "public")) if found.public_key else None
    if md5 is None and rsa is None:
        raise InputError("no key to check notifies with",
                         "pass --key, set EPAY_KEY, or give the profile a key or public_key")
    return Keys(md5=md5, rsa=rsa)


def _profile_writer(resolved: Resolved, environ):
    from ..profiles.store import config_path, load_store, save_store

    name = resolved.profile.name

    def store(url: str) -> str:
        path = config_path(environ)
        stored = load_store(path)
        # The stored profile, not the resolved one: flags and EPAY_* values stay out of the file.
        save_store(path, stored.with_profile(stored.get(name).updated(notify_url=url)))
        return name

    return store


def _json_renderer(out: Output):
    return out.json_line


def _human_renderer(out: Output):
    unjournaled = {"code": None, "count": 0}  # a journal that fails is said once, not per request

    def show(event: dict) -> None:
        kind = event["event"]
        if kind in ("notify", "bad_request"):
            if unjournaled["count"] > 1:
                out.status(f"the journal is written again; {unjournaled['count']} requests "
                           "were answered 503 meanwhile", "warn")
            unjournaled.update(code=None, count=0)
            out.status(*notify_line(event))
        elif kind == "ready":
            out.status(f"listening on {event['local_url']}"
                       + (" (any path)" if not event["path"] else "")
                       + f" — journal {event['journal']}", "ok")
            if event["public_url"]:
                out.status(f"public notify URL: {event['public_url']}  ← paste as notify_url", "ok")
            if event["forward_to"]:
                out.status(f"forwarding to {event['forward_to']}", "info")
            if event["reply"] != "auto":
                out.status(f"answering every notify with --reply {event['reply']}", "warn")
            out.status("Ctrl+C stops", "dim")
        elif kind == "tunnel_ok":
            out.status(f"✓ {event['public_url']} reaches this listener ({event['ms']:.0f} ms)", "ok")
        elif kind == "tunnel_lost":
            out.status(f"!!! TUNNEL LOST: {event['public_url']} no longer reaches this listener "
                       f"({event['reason']}) — {event['action']}", "bad")
        elif kind == "tunnel_reopened":
            extra = " — the URL CHANGED: update notify_url" if event["changed"] else ""
            out.status(f"tunnel reopened: {event['public_url']}{extra}", "warn")
        elif kind == "tunnel_error":
            out.status(f"!!! cannot reopen the tunnel: {event['message']}", "bad")
        elif kind == "profile_updated":
            out.status(f"stored notify_url {event['notify_url']} in profile "
                       f"{event['profile']!r}", "ok")
        elif kind == "internal_error":
            out.status(f"!!! internal error: {event['message']} — a bug in epay; please report it",
                       "bad")
        elif kind == "journal_error":
            unjournaled["count"] += 1
            if unjournaled["code"] != event["code"]:
                unjournaled["code"] = event["code"]
                out.status(f"!!! JOURNAL: {event['message']} — answered 503", "bad")
                if event["hint"]:
                    out.status(f"    {event['hint']}", "dim")
        elif kind == "warning":
            out.status(f"warning: {event['message']}", "warn")
        elif kind == "stopped":
            why = "" if event["reason"] == "stopped" else f" ({event['reason']})"
            out.status(f"stopped{why}; {event['answered']} requests answered", "dim")

    return show


def changes_text(changes: list[dict] | None) -> str:
    """``name: product → 无类型; money: 1.00 → 2.00`` — what a later copy of a notify changed."""
    if changes is None:
        return "which fields is not known (the first copy is no longer kept)"

    def shown(value: str | None) -> str:
        if value is None:
            return "(absent)"
        return value if len(value) <= 40 else value[:39] + "…"

    return "; ".join(f"{c['name']}: {shown(c['before'])} → {shown(c['after'])}" for c in changes)


def notify_line(event: dict) -> tuple[str, str]:
    """One line per request: time, method, numbers, money, type, verdict, duplicates, answer."""
    clock = event["time"][11:19]
    mark = _MARKS.get(event["verdict"], "?")
    if event["event"] == "bad_request":
        text = (f"{clock} {event['method'] or '-':4} {event['path'] or '-'}  ✗ {event['reason']}"
                f"  → {event['answer_status']} ({event['ms']:.1f} ms)")
        return text, "bad"
    verdict = "genuine" if event["valid"] else event["reason"]
    duplicate = ""
    if event["duplicate_count"]:
        duplicate = f"  duplicate #{event['duplicate_count'] + 1}"
        if event["content_changed"]:
            duplicate += f" CONTENT CHANGED (attack or bug): {changes_text(event['changed_fields'])}"
    answer = event["answer"] if len(event["answer"]) <= 40 else event["answer"][:40] + "…"
    delivered = "" if event["delivered"] else " (gateway: not delivered)"
    text = (f"{clock} {event['method']:4} {event['trade_no'] or '-'} {event['out_trade_no'] or '-'}"
            f" {event['money'] or '-'} {event['type'] or '-'}  {mark} {verdict}{duplicate}"
            f"  → {event['answer_status']} {answer!r}{delivered} {event['ms']:.1f} ms")
    forward = event.get("forward")
    if forward:
        if forward["status"] is None:
            text += f"\n    forward ✗ {forward['url']}: {forward['error']}"
        else:
            flag = "" if forward["delivered"] else "  ✗ no 'success' in the answer"
            text += (f"\n    forward → {forward['status']} {forward['body'][:60]!r}"
                     f" {forward['ms']:.1f} ms{flag}")
    style = "ok" if event["valid"] and not event["content_changed"] else "bad"
    return text, style

