"""What ``epay trigger`` and ``epay check`` report: frozen records, one per kind. ``--json``
prints the record's ``to_dict()`` (the contract: docs/events.md, "epay trigger / epay
check"); the commands' human output dispatches on the type. Field names are stable ids."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from ..core.notify import DELIVERY_TIMEOUT_SECONDS
from ..core.words import Text, Texts
from .delivery import Answer, Summary
from .notifies import OutgoingNotify

if TYPE_CHECKING:
    from .cases import Case

Grade = Literal["PASS", "FAIL", "WARN"]


@dataclass(frozen=True)
class TriggerPlanned:
    """``trigger --dry-run``: the notify that would be sent."""

    notify: OutgoingNotify

    def to_dict(self) -> dict[str, Any]:
        return {"dry_run": True, **self.notify.to_dict()}


@dataclass(frozen=True)
class TriggerResult:
    """``trigger``: the notify sent, every answer, and the figures over them."""

    notify: OutgoingNotify
    answers: list[Answer]
    summary: Summary

    @staticmethod
    def verdict(answer: Answer) -> Text:
        """Whether a gateway counts this answer as delivered, and why."""
        if answer.timed_out or (answer.answered and answer.seconds > DELIVERY_TIMEOUT_SECONDS):
            return _verdict("too_slow", timeout=DELIVERY_TIMEOUT_SECONDS)
        if not answer.answered:
            return _verdict("no_answer", error=answer.describe())
        if answer.delivered:
            return _verdict("delivered")
        if answer.redirected:
            return _verdict("redirected")
        return _verdict("no_success")

    def to_dict(self) -> dict[str, Any]:
        document = {"notify": self.notify.to_dict(), "summary": self.summary.to_dict()}
        if len(self.answers) == 1:
            answer = self.answers[0]
            document["answer"] = {**answer.to_dict(), "verdict": str(self.verdict(answer))}
        return document


# Whether a gateway counts trigger's answer as delivered, by id (trigger.verdict.<id>).
VERDICTS = {
    "too_slow": "no — no answer within {timeout} s (the gateway gives up)",
    "no_answer": "no — {error}",
    "delivered": "yes — the body contains success (a gateway ignores the status)",
    "redirected": "no — a gateway does not follow the redirect, and this body lacks success",
    "no_success": "no — the body does not contain success/SUCCESS/Success (the gateway retries)",
}


_verdict = Texts("trigger.verdict", VERDICTS)


@dataclass(frozen=True)
class PlannedCase:
    """``check --dry-run``: one case's distinct notifies, each with how often it is sent."""

    id: str
    stage: str
    notifies: tuple[tuple[OutgoingNotify, int], ...]

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "stage": self.stage,
                "notifies": [{**notify.to_dict(), "times": times}
                             for notify, times in self.notifies]}


@dataclass(frozen=True)
class CheckPlanned:
    """``check --dry-run``: every case's notifies; nothing sent."""

    cases: tuple[PlannedCase, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"dry_run": True, "cases": [case.to_dict() for case in self.cases]}


@dataclass(frozen=True)
class CaseResult:
    """One case graded: PASS, FAIL or WARN, why, the fix, what was sent and answered."""

    case: Case
    grade: Grade
    reason: Text | str  # English in --json, the run's language in the report's lines
    fix: Text | str = ""
    sent: tuple[OutgoingNotify, ...] = ()
    answers: tuple[Answer, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        distinct = list({id(n): n for n in self.sent}.values())  # a repeat is one notify
        return {"id": self.case.id, "title": self.case.title, "grade": self.grade,
                "reason": str(self.reason), "fix": str(self.fix), "sent": self.case.sent,
                "correct": self.case.correct,
                "notifies": [n.to_dict() for n in distinct],
                "answers": [a.to_dict() for a in self.answers]}


@dataclass(frozen=True)
class CheckReport:
    """``check``: the handler graded, case by case."""

    notify_url: str
    order: dict[str, Any]
    results: tuple[CaseResult, ...]
    notes: tuple[Text | str, ...] = ()
    seconds: float = 0.0
    state_url: str | None = None

    def count(self, grade: str) -> int:
        return sum(r.grade == grade for r in self.results)

    @property
    def failed(self) -> list[CaseResult]:
        return [r for r in self.results if r.grade == "FAIL"]

    def to_dict(self) -> dict[str, Any]:
        return {"url": self.notify_url, "order": self.order, "state_url": self.state_url,
                "passed": not self.failed,
                "summary": {"pass": self.count("PASS"), "fail": self.count("FAIL"),
                            "warn": self.count("WARN"), "seconds": round(self.seconds, 3)},
                "notes": [str(note) for note in self.notes],
                "cases": [r.to_dict() for r in self.results]}


ConformanceEvent = TriggerPlanned | TriggerResult | CheckPlanned | CheckReport
