"""What every doctor check returns: a ``Finding`` (the check, the outcome's message id, its
status, the message and the fix, worded from ``messages.MESSAGES``), and the ``Report`` of a run."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Literal

from .messages import MESSAGES

if TYPE_CHECKING:
    from ..messages import Messages

Status = Literal["ok", "warn", "fail"]
STATUSES: tuple[Status, ...] = ("ok", "warn", "fail")


@dataclass(frozen=True)
class Finding:
    """One check's outcome. ``id`` names the check (``gateway.tls``), ``code`` the outcome
    (``tls_expired``: the key of its English text, and of any translation)."""

    id: str
    code: str
    status: Status
    message: str
    fix: str = ""
    values: dict[str, object] = field(default_factory=dict, compare=False)

    def to_dict(self) -> dict[str, str]:
        return {"id": self.id, "status": self.status, "code": self.code,
                "message": self.message, "fix": self.fix}


def finding(check: str, code: str, status: Status, /, **values: object) -> Finding:
    """The finding ``code`` of ``check``, its texts filled in with ``values``."""
    if status not in STATUSES:
        raise ValueError(f"status {status!r}")
    message, fix = _worded(code, status, values)
    return Finding(check, code, status, message, fix, values)


def _worded(code: str, status: Status, values: dict[str, object],
            messages: Messages | None = None) -> tuple[str, str]:
    """(message, fix) of ``code`` in ``messages``' language (English when none is given)."""
    message, fix = MESSAGES[code]
    shown = {name: _text(value) for name, value in values.items()}
    if messages is None:
        return message.format(**shown), fix.format(**shown) if status != "ok" else ""
    return (messages.text(f"doctor.{code}.message", message, **shown),
            messages.text(f"doctor.{code}.fix", fix, **shown) if status != "ok" else "")


def worded(report: Report, messages: Messages) -> Report:
    """The same findings, their message and fix in ``messages``' language."""
    if messages.language == "en":
        return report
    return Report([_reworded(item, messages) for item in report.findings])


def _reworded(item: Finding, messages: Messages) -> Finding:
    message, fix = _worded(item.code, item.status, item.values, messages)
    return replace(item, message=message, fix=fix)


def _text(value: object) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, str):  # kept as it is: a core Text is said in the run's language
        return value
    return str(value)


@dataclass
class Report:
    """Every finding of one run, in the order the checks ran."""

    findings: list[Finding] = field(default_factory=list)

    def add(self, *found: Finding | None) -> None:
        self.findings.extend(f for f in found if f is not None)

    def extend(self, found: list[Finding]) -> None:
        self.findings.extend(found)

    @property
    def failed(self) -> list[Finding]:
        return [f for f in self.findings if f.status == "fail"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.status == "warn"]

    def by_id(self, check: str) -> list[Finding]:
        return [f for f in self.findings if f.id == check]

    def to_dict(self) -> dict[str, object]:
        return {"ok": not self.failed, "failed": len(self.failed),
                "warnings": len(self.warnings),
                "checks": [f.to_dict() for f in self.findings]}
