"""The monitor's loop: an interval's report, the incident it opens or closes, the alert it
sends, and the wait for the next interval. Output goes through the ``show`` callback."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, NoReturn

from ..core.errors import EpayError, ExitCode
from .alerts import Dispatcher, IncidentFile, Scope, new_incident_id, next_alert
from .figures import Report
from .tracker import Monitor

if TYPE_CHECKING:
    from pathlib import Path

    from ..gateway.calls import Merchant
    from ..gateway.client import Settings
    from .alerts import Channel
    from .figures import Thresholds


@dataclass
class Watch:
    monitor: Monitor
    scope: Scope
    incidents: IncidentFile
    dispatcher: Dispatcher | None
    show: Callable[[Report, EpayError | None], None]
    clock: Callable[[], float] = time.time
    sleep: Callable[[float], None] = time.sleep

    def interval(self) -> Report:
        """One interval: the report, shown; the alert, sent; the incident, remembered."""
        report = self.monitor.step()
        self.show(report, self.monitor.last_error)
        opened = self.incidents.read(self.scope)
        alert, still_open = next_alert(opened, report, scope=self.scope, now=self.clock(),
                                       new_id=new_incident_id)
        if still_open != opened:
            self.incidents.write(self.scope, still_open)
        if alert is not None and self.dispatcher is not None:
            self.dispatcher.send(alert)
        return report

    def once(self) -> int:
        """``--once``: exit 7 when a threshold is crossed; the gateway's own error (5, 4)
        when it could not be asked."""
        report = self.interval()
        if self.monitor.last_error is not None:
            raise self.monitor.last_error
        return ExitCode.CHECK_FAILED if report.breaches else ExitCode.OK

    def forever(self) -> NoReturn:
        """Until interrupted (Ctrl+C is the boundary's 130)."""
        due = self.clock()
        while True:
            self.interval()
            due += self.monitor.interval
            self.sleep(max(0.0, due - self.clock()))


def open_watch(merchant: Merchant, *, interval: str, window: str, pay_timeout: str,
               notify_grace: str, gateway_tz: str, journal: Path | None, thresholds: Thresholds,
               channels: list[Channel], settings: Settings, environ: Mapping[str, str],
               show: Callable[[Report, EpayError | None], None],
               status: Callable[[str, str], None], width: int = 8,
               clock: Callable[[], float] = time.time) -> Watch:
    """A ``Watch`` from the command line's words (durations, time zone), checked before
    anything is sent: a bad value is a one-line error (exit 2)."""
    from ..state import state_dir
    from .alerts import STATE_FILE
    from .figures import Window, parse_duration, parse_tz

    seconds = parse_duration(interval, "--interval")
    span = Window(seconds=parse_duration(window, "--window", low=60),
                  pay_timeout=parse_duration(pay_timeout, "--pay-timeout"),
                  notify_grace=parse_duration(notify_grace, "--notify-grace", low=0),
                  gateway_tz=parse_tz(gateway_tz), pid=merchant.pid)
    monitor = Monitor(merchant, span, thresholds, settings=settings, journal=journal,
                      interval=seconds, width=width, clock=clock)
    return Watch(monitor, Scope(merchant.gateway, merchant.pid),
                 IncidentFile(state_dir(environ) / STATE_FILE),
                 Dispatcher(channels, status) if channels else None, show, clock=clock)
