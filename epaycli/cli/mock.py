"""``epay mock``: run the local Epay-compatible gateway in the foreground."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ..core.models import SANDBOX_GATEWAY, SANDBOX_NAME, SANDBOX_PROFILE, Profile
from ..core.words import Texts
from ..messages import Messages
from ..mock.events import GatewayStarted, MockEvent, NotifyAttempt, RequestFailed
from .runtime import Runtime, runtime

if TYPE_CHECKING:
    from ..mock.server import RunningGateway
    from ..render import Output

V2_PROFILE = "sandbox-v2"


def default_data_dir(environ: Mapping[str, str]) -> Path:
    """``$XDG_DATA_HOME/epay/mock``, else ``~/.local/share/epay/mock``."""
    base = environ.get("XDG_DATA_HOME") or str(Path(environ.get("HOME") or Path.home())
                                               / ".local" / "share")
    return Path(base).expanduser() / "epay" / "mock"


def mock(
    ctx: typer.Context,
    port: Annotated[int, typer.Option("--port", metavar="N", help="Port (0: any free one).")] = 8787,
    host: Annotated[str, typer.Option("--host", metavar="ADDR",
                                      help="Address to listen on.")] = "127.0.0.1",
    data: Annotated[Path | None, typer.Option(
        "--data", metavar="DIR",
        help="Where orders and V2 keys are kept (default: $XDG_DATA_HOME/epay/mock).")] = None,
    in_memory: Annotated[bool, typer.Option(
        "--in-memory", help="Keep nothing: orders and keys live as long as the process.")] = False,
    time_scale: Annotated[float, typer.Option(
        "--time-scale", metavar="X",
        help="Multiply the notify retry schedule (0, 1, 3, 19, 55 min); 0.01 → 33 s in all.")] = 1.0,
    latency: Annotated[float, typer.Option("--latency", metavar="MS",
                                           help="Delay every answer, like a distant gateway.")] = 0,
    clock_offset: Annotated[float, typer.Option(
        "--clock-offset", metavar="S",
        help="Run the gateway's clock S seconds ahead (negative: behind): its Date header and "
             "V2 timestamp check, like a server with a wrong clock.")] = 0,
    quirks: Annotated[str, typer.Option(
        "--quirks", metavar="real|clean",
        help="real: behave like a default real install (escaped storage, name=product, "
             "1000-yuan cap …); clean: the protocol as written.")] = "real",
    fault: Annotated[list[str] | None, typer.Option(
        "--fault", metavar="NAME",
        help="Notify fault for every order: duplicate, delayed[=S], dropped, tampered-money, "
             "bad-signature, post (repeat or comma-separate).")] = None,
    durability: Annotated[str, typer.Option(
        "--durability", metavar="commit|fsync",
        help="commit: each order committed before the answer (survives kill -9); fsync: "
             "synced to disk too (survives a power cut; slower).")] = "commit",
    no_profiles: Annotated[bool, typer.Option(
        "--no-profiles", help="Do not write the sandbox / sandbox-v2 profiles.")] = False,
    json_output: Annotated[bool, typer.Option(
        "--json", help="One JSON object per line: 'started', then one per notify sent.")] = False,
) -> None:
    """Run a local Epay gateway (V1 + V2, cashier, notifies) until Ctrl+C or SIGTERM."""
    from ..mock.server import start_gateway

    run = runtime(ctx)
    out = run.out
    folder = None if in_memory else (data or default_data_dir(run.env.environ))

    stop = threading.Event()
    restore = _stop_on_sigterm(stop)  # before the URL is printed: a script may stop us at once
    try:
        gw = start_gateway(port=port, data_dir=folder, time_scale=time_scale,
                           latency_ms=latency, quirks=quirks, faults=fault or (), host=host,
                           on_event=_reporter(out, json_output, run.messages),
                           durability=durability,
                           clock_offset=clock_offset)
        try:
            notes = [] if no_profiles else write_profiles(gw, run.env.environ)
            _announce(run, gw, notes, json_output)
            gw.serve_until(stop)
        except KeyboardInterrupt:  # Ctrl+C is the way to stop it: a clean exit
            pass
        finally:
            gw.close()
    finally:
        restore()
    out.status(_text(run.messages, "stopped"), "ok")


# What a person reads of each event (id → English, named fields; --json has the ids).
MESSAGES = {
    "notify": "notify {out_trade_no} attempt {attempt}: {outcome}",
    "notify_copy": "notify {out_trade_no} attempt {attempt} (copy 2): {outcome}",
    "delivered": "delivered",
    "not_delivered": "HTTP {status}, no success",
    "error": "gateway error: {error}",
    "in_memory": "(in memory)",
    "listening": "epay mock: listening on {url} (process {process}, quirks {quirks}); Ctrl+C or "
                 "SIGTERM stops it",
    "exposed": "warning: listening on {host}, beyond this machine: anyone who can reach it can "
               "pay orders with the public sandbox key",
    "stopped": "epay mock stopped",
    "gateway": "gateway",
    "pid": "pid",
    "key": "key",
    "v2_pid": "v2 pid",
    "v2_private_key": "v2 private key",
    "v2_public_key": "v2 platform public key",
    "data": "data",
    "profile_moved": "profile '{name}' now points at {url} ({path})",
    "profile_v2_wrote": "wrote profile '{name}' for the V2 merchant {pid} at {url} ({path}); use "
                        "it with --profile {name}",
    "profile_v2_updated": "updated profile '{name}' for the V2 merchant {pid} at {url} ({path}); "
                          "use it with --profile {name}",
    # why a notify was not sent (the gateway's delivery log keeps the English)
    "fault_dropped": "dropped (fault: dropped)",
}
_ENGLISH = Messages()
_NOT_SENT = {MESSAGES["fault_dropped"]: "fault_dropped"}


def _text(messages: Messages, message_id: str, /, **fields: object) -> str:
    return messages.text(f"mock.{message_id}", MESSAGES[message_id], **fields)


_said = Texts("mock", MESSAGES)


def _reporter(out: Output, json_output: bool, messages: Messages = _ENGLISH
              ) -> Callable[[MockEvent], None]:
    """What the gateway's events print: one JSON line each, or a line for a person."""

    def report(event: MockEvent) -> None:
        if json_output:
            out.json_line(event.to_dict())
        else:
            show_event(out, event, messages)

    return report


def show_event(out: Output, event: MockEvent, messages: Messages = _ENGLISH) -> None:
    """An event as a person reads it."""
    if isinstance(event, NotifyAttempt):
        if event.delivered:
            outcome = _text(messages, "delivered")
        elif event.error:
            known = _NOT_SENT.get(event.error)
            outcome = _text(messages, known) if known else event.error
        else:
            outcome = _text(messages, "not_delivered", status=event.status)
        out.status(_text(messages, "notify_copy" if event.copy == 2 else "notify",
                         out_trade_no=event.out_trade_no, attempt=event.attempt,
                         outcome=outcome))
    elif isinstance(event, RequestFailed):
        out.status(_text(messages, "error", error=event.error), "warn")
    else:
        in_memory = _text(messages, "in_memory")
        out.fields([
            (_text(messages, "gateway"), event.url), (_text(messages, "pid"), event.pid),
            (_text(messages, "key"), event.key), (_text(messages, "v2_pid"), event.v2_pid),
            (_text(messages, "v2_private_key"), event.v2_private_key or in_memory),
            (_text(messages, "v2_public_key"), event.v2_public_key or in_memory),
            (_text(messages, "data"), event.data_dir or in_memory),
        ])
        for note in event.profiles:
            out.status(messages.say(note))


def _announce(run: Runtime, gw: RunningGateway, notes: list[str], json_output: bool) -> None:
    v2 = gw.v2
    started = GatewayStarted(
        url=gw.url, pid=gw.pid, key=gw.key, v2_pid=v2.pid,
        v2_private_key=_path(v2.merchant_private_path),
        v2_public_key=_path(v2.platform_public_path), data_dir=_path(gw.data_dir),
        process=os.getpid(), quirks=gw.quirks.mode, profiles=tuple(notes))
    _reporter(run.out, json_output, run.messages)(started)
    run.out.status(_text(run.messages, "listening", url=gw.url, process=os.getpid(),
                         quirks=gw.quirks.mode))
    if not _is_loopback(gw.host):
        run.out.status(_text(run.messages, "exposed", host=gw.host), "warn")


def _is_loopback(host: str) -> bool:
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _path(value: Path | None) -> str | None:
    return None if value is None else str(value)


def _stop_on_sigterm(stop: threading.Event) -> Callable[[], object]:
    """SIGTERM sets ``stop`` (a clean exit 0, like Ctrl+C); returns what puts it back."""
    import signal

    try:
        previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    except ValueError:  # not the main thread (an embedding program): Ctrl+C only
        return lambda: None
    return lambda: signal.signal(signal.SIGTERM, previous)


def write_profiles(gw: RunningGateway, environ: Mapping[str, str]) -> list[str]:
    """Point the ``sandbox`` profile at this gateway when it is not where the built-in one
    points, and keep a ``sandbox-v2`` profile for its V2 merchant (when its keys are on disk).
    Returns what was written, as sentences."""
    from ..profiles.store import ProfileStore, config_path, load_store, save_store

    path = config_path(environ)
    store = load_store(path)
    profiles = dict(store.profiles)
    notes: list[str] = []
    stored = profiles.get(SANDBOX_NAME)
    if stored is not None or gw.url != SANDBOX_GATEWAY:
        base = stored or SANDBOX_PROFILE
        wanted = base.updated(gateway=gw.url, dialect="v1", pid=gw.pid, key=gw.key)
        if wanted != stored:
            profiles[SANDBOX_NAME] = wanted
            notes.append(_said("profile_moved", name=SANDBOX_NAME, url=gw.url, path=path))
    v2 = gw.v2
    if v2.merchant_private_path is not None:
        base = profiles.get(V2_PROFILE) or Profile(name=V2_PROFILE, type="alipay")
        wanted = base.updated(gateway=gw.url, dialect="v2", pid=v2.pid, key=v2.key,
                              private_key=str(v2.merchant_private_path),
                              public_key=str(v2.platform_public_path))
        if wanted != profiles.get(V2_PROFILE):
            said = "profile_v2_updated" if V2_PROFILE in profiles else "profile_v2_wrote"
            profiles[V2_PROFILE] = wanted
            notes.append(_said(said, name=V2_PROFILE, pid=v2.pid, url=gw.url, path=path))
    if notes:
        save_store(path, ProfileStore(profiles, store.default))
    return notes
