"""The lines of the live dashboard (a terminal): the three figures against their thresholds,
a small history chart, the latest abnormal orders. Pure: lines of (text, style) that
``render.Output.board`` draws."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from .figures import Report, Thresholds, percent
from .text import say

BARS = "▁▂▃▄▅▆▇█"
HISTORY = 40
LATEST_ABNORMAL = 8


@dataclass
class Board:
    """What the dashboard remembers between intervals."""

    title: str
    thresholds: Thresholds
    history: deque[Report] = field(default_factory=lambda: deque(maxlen=HISTORY))

    def lines(self, report: Report, *, updated: str, error: str | None = None
              ) -> list[tuple[str, str]]:
        self.history.append(report)
        limits = self.thresholds
        crossed = {b.figure for b in report.breaches}

        def ms(value: float | None) -> str:
            return say("not_known") if value is None else say("milliseconds", value=value)

        lines = [(self.title, "info"),
                 (say("board_updated", time=updated, orders=report.orders, paid=report.paid,
                      latency=ms(report.notify_latency_ms)), "dim"),
                 ("", ""),
                 (say("board_success", value=percent(report.success_rate),
                      threshold=percent(limits.min_success_rate)),
                  _style(report.success_rate, "success_rate" in crossed)),
                 (say("board_response", value=ms(report.avg_response_ms),
                      threshold=f"{limits.max_response_ms:g} ms", p95=ms(report.p95_response_ms)),
                  _style(report.avg_response_ms, "avg_response_ms" in crossed)),
                 (say("board_abnormal", value=percent(report.abnormal_rate),
                      threshold=percent(limits.max_abnormal_rate)),
                  _style(report.abnormal_rate, "abnormal_rate" in crossed)),
                 ("", ""),
                 (say("board_history", chart=self.chart()), "info")]
        if report.breaches:
            lines.append((say("board_breach",
                              breaches="; ".join(b.sentence() for b in report.breaches)), "bad"))
        if error:
            lines.append((say("board_error", reason=error), "bad"))
        lines.append(("", ""))
        if not report.abnormal:
            lines.append((say("board_none"), "dim"))
        else:
            lines.append((say("board_abnormal_title"), "warn"))
            for item in report.abnormal[-LATEST_ABNORMAL:]:
                lines.append((say("board_abnormal_row", **item.to_dict()), "warn"))
        return lines

    def chart(self) -> str:
        """Success rate over the last intervals, one bar each (a crossed interval: '!')."""
        bars = []
        for report in self.history:
            if report.breaches:
                bars.append("!")
            elif report.success_rate is None:
                bars.append("·")
            else:
                floor = min(self.thresholds.min_success_rate - 0.05, 0.9)
                level = (report.success_rate - floor) / (1 - floor)
                bars.append(BARS[max(0, min(len(BARS) - 1, int(level * (len(BARS) - 1))))])
        return "".join(bars)


def _style(value: object, crossed: bool) -> str:
    if value is None:
        return "dim"
    return "bad" if crossed else "ok"


def title(pid: str, host: str, span: str) -> str:
    return say("board_title", pid=pid, host=host, span=span)
