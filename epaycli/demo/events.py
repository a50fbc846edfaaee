"""What the demo reports as it runs: where it runs (``Setting``), each step done (``Step``),
and the whole run (``DemoResult``) — frozen records. ``epay demo --json`` prints the result's
``to_dict()`` (the contract: docs/events.md, "epay demo"); the timeline (``demo/timeline.py``)
dispatches on the type."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..core.errors import ExitCode
from ..core.words import Text

STEP_TITLES = {
    "create": "create the order",
    "cashier": "open the cashier (the payurl), as the buyer's browser does",
    "pay": "pay in the cashier (its pay button)",
    "notify": "receive the notify, verify it, answer success",
    "query": "query the order: paid",
    "refund": "refund it",
    "refunded": "query the order again: refunded",
}
STEPS = tuple(STEP_TITLES)

# The step that must catch each fault that spoils a payment (the others — delayed, duplicate,
# post — a correct shop takes in its stride, and the round trip checks out).
CATCHING_STEP = {"tampered-money": "notify", "bad-signature": "notify", "dropped": "notify"}


@dataclass(frozen=True)
class Check:
    """What was expected (``what``), whether it held, and what was found instead (``got``):
    phrases, English in ``--json``, the run's language in the timeline."""

    what: Text | str
    ok: bool
    got: Text | str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"check": str(self.what), "ok": self.ok, "got": None if self.ok else str(self.got)}


@dataclass(frozen=True)
class Setting:
    """Where the demo runs: said before the first step."""

    gateway: str
    receiver: str
    dialect: str
    pid: str
    key: str  # masked
    sign_type: str
    fault: str


@dataclass(frozen=True)
class Step:
    """One step of the round trip, done (or not run, when an earlier one failed).
    ``signed``/``sent``/``received``/``answered`` are plain dicts (keys masked), or None
    where the step has none."""

    number: int
    name: str
    title: str
    signed: dict[str, Any] | None = None
    sent: dict[str, Any] | None = None
    received: dict[str, Any] | None = None
    answered: dict[str, Any] | None = None
    checks: tuple[Check, ...] = ()
    error: dict[str, Any] | None = None  # {"kind", "message", "exit_code"}
    ms: float = 0.0
    run: bool = True
    said_error: Text | str | None = None  # the error's message, to say in the run's language

    @property
    def ok(self) -> bool:
        return (self.run and self.error is None and bool(self.checks)
                and all(check.ok for check in self.checks))

    @property
    def exit_code(self) -> int:
        """What a failure of this step exits with: the error's own code, else check failed."""
        if self.ok:
            return ExitCode.OK
        if self.error is not None:
            return int(self.error["exit_code"])
        return ExitCode.CHECK_FAILED

    @property
    def failure(self) -> Text | str:
        """One line: why this step failed ('' when it did not)."""
        if self.ok or not self.run:
            return ""
        if self.error is not None:
            return self.said_error or str(self.error["message"])
        # The first failed check says it; the later ones mostly follow from it.
        first = next((check for check in self.checks if not check.ok), None)
        return Text("demo.nothing_checked", "nothing was checked") if first is None \
            else first.got

    def to_dict(self) -> dict[str, Any]:
        return {"step": self.number, "name": self.name, "title": self.title, "ok": self.ok,
                "run": self.run, "signed": self.signed, "sent": self.sent,
                "received": self.received, "answered": self.answered,
                "checks": [check.to_dict() for check in self.checks], "error": self.error,
                "ms": round(self.ms, 1)}


@dataclass(frozen=True)
class DemoResult:
    """The whole run: what ``--json`` prints, and what the timeline ends with."""

    setting: Setting
    steps: tuple[Step, ...]
    ms: float

    @property
    def ok(self) -> bool:
        return len(self.steps) == len(STEPS) and all(step.ok for step in self.steps)

    @property
    def failed_step(self) -> Step | None:
        return next((step for step in self.steps if step.run and not step.ok), None)

    @property
    def fault_caught(self) -> bool:
        """The fault asked for was caught by the step that must catch it: what was asked."""
        failed = self.failed_step
        name = self.setting.fault.split("=", 1)[0]
        return failed is not None and CATCHING_STEP.get(name) == failed.name

    @property
    def exit_code(self) -> int:
        failed = self.failed_step
        return ExitCode.OK if failed is None else failed.exit_code

    def to_dict(self) -> dict[str, Any]:
        failed = self.failed_step
        return {"ok": self.ok, "exit_code": int(self.exit_code),
                "failed_step": None if failed is None else failed.name,
                "failure": "" if failed is None else str(failed.failure),
                "gateway": self.setting.gateway, "receiver": self.setting.receiver,
                "dialect": self.setting.dialect, "pid": self.setting.pid,
                "key": self.setting.key, "sign_type": self.setting.sign_type,
                "fault": self.setting.fault or None, "fault_caught": self.fault_caught,
                "ms": round(self.ms, 1),
                "steps": [step.to_dict() for step in self.steps]}


DemoEvent = Setting | Step | DemoResult
