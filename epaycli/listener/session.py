"""``epay listen`` as one blocking call: the listener, the tunnel in front of it, the health
checks through the public URL, and a clean stop (tunnel closed, agent ended, journal
committed). Reports through ``on_event``; never prints."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from ..core.errors import EpayError
from ..core.signing import Keys
from .events import (
    ListenWarning,
    ProfileUpdated,
    Ready,
    Stopped,
    TunnelError,
    TunnelLost,
    TunnelOk,
    TunnelReopened,
)
from .journal import iso_time
from .server import HEALTH_PATH, Listener, OnEvent, start_listener
from .tunnel import Tunnel, TunnelDown, open_tunnel

if TYPE_CHECKING:
    import httpx

    from ..state import LocalState
    from .inspector import Inspector

HEALTH_TIMEOUT_SECONDS = 5.0


@dataclass
class ListenSettings:
    keys: Keys
    journal: Path
    environ: dict[str, str]
    host: str = "127.0.0.1"
    port: int = 8788
    path: str | None = None
    pid: str | None = None
    forward_to: str | None = None
    reply: str = "auto"
    state: LocalState | None = None
    secrets: tuple[str, ...] = ()
    tunnel: bool = False
    public_url: str | None = None
    region: str | None = None
    ngrok_path: str | None = None
    authtoken: str | None = None
    tunnel_timeout: float = 15.0
    health_interval: float = 30.0
    exit_on_tunnel_loss: bool = False
    store_url: Callable[[str], str] | None = None  # saves the notify URL; returns the profile
    # starts the inspector beside the running listener (``--inspect``)
    inspector: Callable[[Listener], Inspector] | None = None


def serve(settings: ListenSettings, on_event: OnEvent, stop: threading.Event,
          clock: Callable[[], float] = time.time,
          on_events_out: Callable[[], None] | None = None) -> str:
    """Run until ``stop`` is set (or Ctrl+C); returns why it stopped. With
    ``exit_on_tunnel_loss``, a lost public URL raises ``TunnelDown`` instead.
    ``on_events_out``: see ``start_listener``."""
    listener = start_listener(
        keys=settings.keys, journal=settings.journal, host=settings.host, port=settings.port,
        path=settings.path, pid=settings.pid, forward_to=settings.forward_to,
        reply=settings.reply, on_event=on_event, on_events_out=on_events_out,
        state=settings.state, clock=clock,
        secrets_to_mask=settings.secrets)
    watch = _Watch(settings, listener, on_event, clock)
    reason, ready, inspector = "stopped", False, None
    try:
        watch.open()
        if settings.inspector is not None:
            inspector = settings.inspector(listener)
        ready = True
        on_event(Ready(iso_time(clock()), listener.url, watch.public_notify_url(),
                       str(settings.journal), listener.path, settings.forward_to,
                       settings.reply, settings.pid,
                       watch.tunnel.agent_pid if watch.tunnel else None,
                       inspector.url if inspector else None))
        if settings.host not in ("127.0.0.1", "localhost", "::1"):
            on_event(ListenWarning(iso_time(clock()), f"listening on {settings.host}: other "
                                   "machines can reach this listener (and forge notifies to it)"))
        watch.store(watch.public_notify_url() or listener.url)
        if watch.public_base:
            watch.check()
        next_check = time.monotonic() + settings.health_interval
        while not stop.wait(0.25):
            if watch.public_base and settings.health_interval > 0 \
                    and time.monotonic() >= next_check:
                watch.check()
                next_check = time.monotonic() + settings.health_interval
    except KeyboardInterrupt:
        reason = "interrupted"
    finally:
        if inspector is not None:
            inspector.close()
        watch.close()
        listener.close()
        if ready:
            on_event(Stopped(iso_time(clock()), reason, listener.answered))
    return reason


class _Watch:
    """The public side: the tunnel (or a URL given), checked by a request through it."""

    def __init__(self, settings: ListenSettings, listener: Listener, on_event: OnEvent,
                 clock: Callable[[], float]) -> None:
        self.settings, self.listener, self.on_event, self.clock = settings, listener, on_event, clock
        self.tunnel: Tunnel | None = None
        self.public_base: str | None = None
        self.healthy: bool | None = None
        self._client: httpx.Client | None = None

    def open(self) -> None:
        settings = self.settings
        if settings.tunnel:
            self.tunnel = self._open_tunnel()
            self.public_base = self.tunnel.public_url.rstrip("/")
        elif settings.public_url:
            parts = urlsplit(settings.public_url)
            self.public_base = f"{parts.scheme}://{parts.netloc}"

    def _open_tunnel(self) -> Tunnel:
        s = self.settings
        return open_tunnel(self.listener.port, environ=s.environ, ngrok_path=s.ngrok_path,
                           authtoken=s.authtoken, region=s.region, startup_timeout=s.tunnel_timeout)

    def public_notify_url(self) -> str | None:
        if self.settings.public_url and not self.settings.tunnel:
            given = self.settings.public_url
            if urlsplit(given).path not in ("", "/"):
                return given  # the user gave the whole notify URL
            return given.rstrip("/") + (self.listener.path or "/notify")
        if self.public_base is None:
            return None
        return self.public_base + (self.listener.path or "/notify")

    def store(self, url: str) -> None:
        if self.settings.store_url is None:
            return
        try:
            profile = self.settings.store_url(url)
        except EpayError as error:
            self.on_event(ListenWarning(iso_time(self.clock()),
                                        f"notify_url not stored: {error.message}"))
            return
        self.on_event(ProfileUpdated(iso_time(self.clock()), profile, url))

    def check(self) -> None:
        """One request through the public URL to the health path; loud when it fails."""
        base = self.public_base
        if base is None:  # nothing public to check
            return
        ok, detail, ms = self._probe(base)
        now = iso_time(self.clock())
        if ok:
            if self.healthy is not True:
                self.on_event(TunnelOk(now, self.public_notify_url(), ms))
            self.healthy = True
            return
        self.healthy = False
        exiting = self.settings.exit_on_tunnel_loss
        action = "exit" if exiting else ("reopening" if self.tunnel else "watching")
        self.on_event(TunnelLost(now, self.public_notify_url(), detail, action))
        if exiting:
            raise TunnelDown("the public URL {url} no longer reaches the listener ({detail})",
                             "restart it (a supervisor can), or check the tunnel",
                             code="tunnel_lost",
                             fields={"url": self.public_notify_url(), "detail": detail})
        if self.tunnel is not None:
            self._reopen()

    def _reopen(self) -> None:
        old = self.tunnel.public_url if self.tunnel else None
        if self.tunnel is not None:
            self.tunnel.close()
            self.tunnel = None
        try:
            self.tunnel = self._open_tunnel()
        except EpayError as error:
            self.on_event(TunnelError(iso_time(self.clock()), error.message, error.hint))
            return
        self.public_base = self.tunnel.public_url.rstrip("/")
        changed = self.tunnel.public_url != old
        self.on_event(TunnelReopened(iso_time(self.clock()), self.public_notify_url(),
                                     self.tunnel.agent_pid, changed))
        url = self.public_notify_url()  # (the tunnel's: never None here)
        if changed and url is not None:
            self.store(url)
        self.check()

    def _probe(self, base: str) -> tuple[bool, str, float]:
        import httpx

        if self._client is None:
            self._client = httpx.Client(timeout=HEALTH_TIMEOUT_SECONDS, follow_redirects=False)
        started = time.perf_counter()
        try:
            response = self._client.get(base + HEALTH_PATH)
        except httpx.HTTPError as error:
            return False, f"{type(error).__name__}: {error}"[:200], _ms(started)
        if response.status_code == 200 and self.listener.health_token in response.text:
            return True, "", _ms(started)
        return False, (f"HTTP {response.status_code} from something else than this listener: "
                       f"{response.text[:80]!r}"), _ms(started)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
        if self.tunnel is not None:
            self.tunnel.close()
            self.tunnel = None


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)
