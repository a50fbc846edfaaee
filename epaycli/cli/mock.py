"""``epay mock``: run the local Epay-compatible gateway in the foreground."""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated

import typer

from ..core.models import SANDBOX_GATEWAY, SANDBOX_NAME, SANDBOX_PROFILE, Profile
from ..mock.events import GatewayStarted, MockEvent, NotifyAttempt, RequestFailed
from .runtime import runtime

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
                           on_event=_reporter(out, json_output), durability=durability,
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
    out.status("epay mock stopped", "ok")


# What a person reads of each event (id → English, named fields; --json has the ids).
MESSAGES = {
    "notify": "notify {out_trade_no} attempt {attempt}{copy}: {outcome}",
    "second_copy": " (copy 2)",
    "delivered": "delivered",
    "not_delivered": "HTTP {status}, no success",
    "error": "gateway error: {error}",
    "in_memory": "(in memory)",
}


def _reporter(out, json_output: bool):
    """What the gateway's events print: one JSON line each, or a line for a person."""

    def report(event: MockEvent) -> None:
        if json_output:
            out.json_line(event.to_dict())
        else:
            show_event(out, event)

    return report


def show_event(out, event: MockEvent) -> None:
    """An event as a person reads it."""
    if isinstance(event, NotifyAttempt):
        outcome = (MESSAGES["delivered"] if event.delivered else
                   event.error or MESSAGES["not_delivered"].format(status=event.status))
        out.status(MESSAGES["notify"].format(
            out_trade_no=event.out_trade_no, attempt=event.attempt, outcome=outcome,
            copy=MESSAGES["second_copy"] if event.copy == 2 else ""))
    elif isinstance(event, RequestFailed):
        out.status(MESSAGES["error"].format(error=event.error), "warn")
    else:
        in_memory = MESSAGES["in_memory"]
        out.fields([
            ("gateway", event.url), ("pid", event.pid), ("key", event.key),
            ("v2 pid", event.v2_pid), ("v2 private key", event.v2_private_key or in_memory),
            ("v2 platform public key", event.v2_public_key or in_memory),
            ("data", event.data_dir or in_memory),
        ])
        for note in event.profiles:
            out.status(note)


def _announce(run, gw, notes: list[str], json_output: bool) -> None:
    v2 = gw.v2
    started = GatewayStarted(
        url=gw.url, pid=gw.pid, key=gw.key, v2_pid=v2.pid,
        v2_private_key=_path(v2.merchant_private_path),
        v2_public_key=_path(v2.platform_public_path), data_dir=_path(gw.data_dir),
        process=os.getpid(), quirks=gw.quirks.mode, profiles=tuple(notes))
    _reporter(run.out, json_output)(started)
    run.out.status(f"epay mock: listening on {gw.url} (process {os.getpid()}, quirks "
                   f"{gw.quirks.mode}); Ctrl+C or SIGTERM stops it")
    if not _is_loopback(gw.host):
        run.out.status(f"warning: listening on {gw.host}, beyond this machine: anyone who can "
                       "reach it can pay orders with the public sandbox key", "warn")


def _is_loopback(host: str) -> bool:
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _path(value) -> str | None:
    return None if value is None else str(value)


def _stop_on_sigterm(stop: threading.Event):
    """SIGTERM sets ``stop`` (a clean exit 0, like Ctrl+C); returns what puts it back."""
    import signal

    try:
        previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    except ValueError:  # not the main thread (an embedding program): Ctrl+C only
        return lambda: None
    return lambda: signal.signal(signal.SIGTERM, previous)


def write_profiles(gw, environ: Mapping[str, str]) -> list[str]:
    """Point the ``sandbox`` profile at this gateway when it is not where the built-in one
    points, and keep a ``sandbox-v2`` profile for its V2 merchant (when its keys are on disk).
    Returns what was written, as sentences."""
    from ..profiles.store import ProfileStore, config_path, load_store, save_store

    path = config_path(environ)
    store = load_store(path)
    profiles = dict(store.profiles)
    notes = []
    stored = profiles.get(SANDBOX_NAME)
    if stored is not None or gw.url != SANDBOX_GATEWAY:
        base = stored or SANDBOX_PROFILE
        wanted = base.updated(gateway=gw.url, dialect="v1", pid=gw.pid, key=gw.key)
        if wanted != stored:
            profiles[SANDBOX_NAME] = wanted
            notes.append(f"profile '{SANDBOX_NAME}' now points at {gw.url} ({path})")
    v2 = gw.v2
    if v2.merchant_private_path is not None:
        base = profiles.get(V2_PROFILE) or Profile(name=V2_PROFILE, type="alipay")
        wanted = base.updated(gateway=gw.url, dialect="v2", pid=v2.pid, key=v2.key,
                              private_key=str(v2.merchant_private_path),
                              public_key=str(v2.platform_public_path))
        if wanted != profiles.get(V2_PROFILE):
            verb = "updated" if V2_PROFILE in profiles else "wrote"
            profiles[V2_PROFILE] = wanted
            notes.append(f"{verb} profile '{V2_PROFILE}' for the V2 merchant {v2.pid} at "
                         f"{gw.url} ({path}); use it with --profile {V2_PROFILE}")
    if notes:
        save_store(path, ProfileStore(profiles, store.default))
    return notes
