"""The demo's steps as a readable timeline: ``(text, style)`` lines for ``render.Output`` —
plain in a pipe, styled on a terminal. Pure: data in, lines out."""

from __future__ import annotations

import re

from ..core.models import Dialect
from .events import DemoEvent, DemoResult, Setting, Step

Line = tuple[str, str]  # text, style (ok | bad | warn | dim | "")
LABEL = 10  # width of "signed", "sent", "received", "answered"
INDENT = "   "
SHOWN_SIGN = 24  # an RSA sign is 344 characters: its start is enough to see it
_LONG_SIGN = re.compile(r"(?<=[?&]sign=)([^&]{40,})")


def heading(setting: Setting) -> list[Line]:
    dialect = ("V1: mapi.php + api.php, MD5" if setting.dialect == Dialect.V1
               else "V2: api/pay/*, RSA (SHA256withRSA)")
    lines = [("epay demo: one payment round trip on a local Epay gateway (nothing leaves this "
              "machine)", "ok"),
             (f"  gateway   {setting.gateway}  {dialect}; merchant pid {setting.pid}, "
              f"key {setting.key}", ""),
             (f"  receiver  {setting.receiver}  epay's notify listener (answers success only "
              "to a genuine notify)", ""),
             ("  data      a temporary folder, removed afterwards (profiles, orders and "
              "journal of yours are not touched)", "dim")]
    if setting.fault:
        lines.append((f"  fault     the gateway injects '{setting.fault}' into the notify", "warn"))
    lines.append(("", ""))
    return lines


def step_lines(step: Step) -> list[Line]:
    if not step.run:
        return [(f"{step.number}. {step.title}  — not run", "dim")]
    mark = "✓" if step.ok else "✗"
    lines: list[Line] = [(f"{step.number}. {step.title}  {mark}  ({step.ms:.0f} ms)",
                          "ok" if step.ok else "bad")]
    if step.signed is not None:
        lines += _signed(step.signed)
    elif step.sent is not None and step.name in ("query", "refunded", "refund"):
        lines.append(_field("signed", "nothing: api.php takes the merchant key itself "
                                      "(masked below)"))
    elif step.name in ("cashier", "pay"):
        lines.append(_field("signed", "nothing: this is the buyer's browser"))
    if step.sent is not None:
        lines += _sent(step.sent)
    if step.received is not None:
        lines += _received(step.received)
    if step.answered is not None:
        answered = step.answered
        lines.append(_field("answered", f"HTTP {answered.get('status')}  "
                                        f"{answered.get('body', '')!r}"))
    for check in step.checks:
        if check.ok:
            lines.append((f"{INDENT}✓ {check.what}", ""))
        else:
            lines.append((f"{INDENT}✗ {check.what}", "bad"))
            lines.append((f"{INDENT}  got: {check.got}", "bad"))
    if step.error is not None:
        lines.append((f"{INDENT}✗ {step.error['kind']}: {step.error['message']}", "bad"))
    lines.append(("", ""))
    return lines


def summary(result: DemoResult) -> list[Line]:
    failed = result.failed_step
    gap: list[Line] = [("", "")] if result.steps and not result.steps[-1].run else []
    if failed is None and result.ok:
        return [(f"✓ every step checked out: {len(result.steps)} steps in "
                 f"{result.ms / 1000:.2f} s", "ok")]
    if failed is None:
        return gap + [("✗ the round trip did not finish", "bad")]
    return gap + [(f"✗ step {failed.number} ({failed.name}) failed: {failed.failure}", "bad")]


def lines(event: DemoEvent) -> list[Line]:
    """An event of the demo as the lines a person reads."""
    if isinstance(event, Setting):
        return heading(event)
    if isinstance(event, Step):
        return step_lines(event)
    return summary(event)


def timeline(result: DemoResult) -> list[Line]:
    lines = heading(result.setting)
    for step in result.steps:
        lines += step_lines(step)
    return lines + summary(result)


def _field(label: str, text: str, style: str = "") -> Line:
    return (f"{INDENT}{label.ljust(LABEL)}{text}", style)


def _more(text: str, style: str = "") -> Line:
    return (f"{INDENT}{' ' * LABEL}{text}", style)


def _signed(signed: dict) -> list[Line]:
    by = signed.get("by", "")
    if signed.get("sign_type") == "MD5":  # the key is appended to the string, then hashed
        shown = f"md5( {signed['canonical']} + key {signed.get('key', '')} )"
    else:
        shown = f"SHA256withRSA( {signed['canonical']} )"
    lines = [_field("signed", shown),
             _more(f"by {by}, with {signed.get('with', signed.get('sign_type', ''))}", "dim")]
    sign = str(signed.get("sign", ""))
    shown = sign if len(sign) <= 32 else f"{sign[:SHOWN_SIGN]}… ({len(sign)} characters)"
    lines.append(_more(f"→ sign={shown}"))
    return lines


def _sent(sent: dict) -> list[Line]:
    by = f"  (by {sent['by']})" if sent.get("by") else ""
    url = _LONG_SIGN.sub(lambda m: f"{m.group(1)[:SHOWN_SIGN]}…", sent.get("url", ""))
    lines = [_field("sent", f"{sent.get('method', '')} {url}{by}")]
    form = sent.get("form")
    if form:
        lines.append(_more("form: " + "&".join(f"{k}={_cut(str(v))}" for k, v in form.items())))
    return lines


def _received(received: dict) -> list[Line]:
    if "verdict" in received:  # the notify, as the receiver saw it
        verdict = received.get("verdict", "")
        reason = received.get("reason") or "signature valid, every business check passed"
        by = received.get("by", "the receiver")
        took = f", judged and answered in {received['ms']:.0f} ms" if received.get("ms") else ""
        return [_field("received", f"{received.get('method', '')} {received.get('path', '')} "
                                   f"(by {by}{took}; the gateway sends the first notify "
                                   "before it answers the pay button)"),
                _more(f"verdict: {verdict} — {reason}", "" if verdict == "genuine" else "bad")]
    lines = [_field("received", f"HTTP {received.get('status')}  {received.get('body', '')}")]
    if received.get("verified") is True:
        lines.append(_more("the answer's signature verifies with the platform public key", "dim"))
    return lines


def _cut(text: str, limit: int = 48) -> str:
    return text if len(text) <= limit else f"{text[:limit]}…"
