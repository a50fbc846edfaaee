"""The demo's steps as a readable timeline: ``(text, style)`` lines for ``render.Output`` —
plain in a pipe, styled on a terminal. Pure: data in, lines out."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ..core.models import Dialect
from ..messages import Messages
from .events import DemoEvent, DemoResult, Setting, Step

Line = tuple[str, str]  # text, style (ok | bad | warn | dim | "")
LABEL = 10  # width of "signed", "sent", "received", "answered"
INDENT = "   "
SHOWN_SIGN = 24  # an RSA sign is 344 characters: its start is enough to see it
_LONG_SIGN = re.compile(r"(?<=[?&]sign=)([^&]{40,})")
_MORE_FIELDS = re.compile(r" \(\+(\d+) more fields\)$")
_ENGLISH = Messages()

# What the timeline says, by id (demo.timeline.<id> in the catalogue). Labels are padded to
# LABEL display columns, whatever their language.
MESSAGES = {
    "title": "epay demo: one payment round trip on a local Epay gateway (nothing leaves this "
             "machine)",
    "dialect_v1": "V1: mapi.php + api.php, MD5",
    "dialect_v2": "V2: api/pay/*, RSA (SHA256withRSA)",
    "gateway": "  gateway   {url}  {dialect}; merchant pid {pid}, key {key}",
    "receiver": "  receiver  {url}  epay's notify listener (answers success only to a genuine "
                "notify)",
    "data": "  data      a temporary folder, removed afterwards (profiles, orders and journal "
            "of yours are not touched)",
    "fault": "  fault     the gateway injects '{fault}' into the notify",
    "not_run": "{number}. {title}  — not run",
    "step": "{number}. {title}  {mark}  ({ms:.0f} ms)",
    "signed": "signed",
    "sent": "sent",
    "received": "received",
    "answered": "answered",
    "api_key_itself": "nothing: api.php takes the merchant key itself (masked below)",
    "browser": "nothing: this is the buyer's browser",
    "answer": "HTTP {status}  {body!r}",
    "got": "  got: {got}",
    "md5": "md5( {canonical} + key {key} )",
    "rsa": "SHA256withRSA( {canonical} )",
    "signed_by": "by {by}, with {using}",
    "sign": "→ sign={sign}",
    "long_sign": "→ sign={start}… ({count} characters)",
    "sent_line": "{method} {url}",
    "sent_by": "{method} {url}  (by {by})",
    "form": "form: {form}",
    "notify_received": "{method} {path} (by {by}; the gateway sends the first notify before it "
                       "answers the pay button)",
    "notify_received_ms": "{method} {path} (by {by}, judged and answered in {ms:.0f} ms; the "
                          "gateway sends the first notify before it answers the pay button)",
    "verdict": "verdict: {verdict} — {reason}",
    "all_checks_passed": "signature valid, every business check passed",
    "reply": "HTTP {status}  {body}",
    "more_fields": "{body} (+{count} more fields)",
    "reply_verified": "the answer's signature verifies with the platform public key",
    "all_ok": "✓ every step checked out: {count} steps in {seconds:.2f} s",
    "unfinished": "✗ the round trip did not finish",
    "failed": "✗ step {number} ({step}) failed: {failure}",
    # who signed, sent and received, and with what (the engine's English, kept in --json)
    "who_merchant": "epay (the merchant)",
    "who_gateway": "the gateway",
    "who_receiver": "the receiver",
    "who_merchant_key": "the merchant key (MD5)",
    "who_merchant_private_key": "the merchant private key (RSA)",
    "who_platform_private_key": "the platform private key (RSA)",
}
WHO = {MESSAGES[key]: key for key in MESSAGES if key.startswith("who_")}


def _text(messages: Messages, message_id: str, /, **fields: object) -> str:
    return messages.text(f"demo.timeline.{message_id}", MESSAGES[message_id], **fields)


def _who(messages: Messages, english: str) -> str:
    return _text(messages, WHO[english]) if english in WHO else english


def heading(setting: Setting, messages: Messages = _ENGLISH) -> list[Line]:
    dialect = _text(messages, "dialect_v1" if setting.dialect == Dialect.V1 else "dialect_v2")
    lines = [(_text(messages, "title"), "ok"),
             (_text(messages, "gateway", url=setting.gateway, dialect=dialect, pid=setting.pid,
                    key=setting.key), ""),
             (_text(messages, "receiver", url=setting.receiver), ""),
             (_text(messages, "data"), "dim")]
    if setting.fault:
        lines.append((_text(messages, "fault", fault=setting.fault), "warn"))
    lines.append(("", ""))
    return lines


def step_lines(step: Step, messages: Messages = _ENGLISH) -> list[Line]:
    title = messages.text(f"demo.step.{step.name}", step.title)
    if not step.run:
        return [(_text(messages, "not_run", number=step.number, title=title), "dim")]
    mark = "✓" if step.ok else "✗"
    lines: list[Line] = [(_text(messages, "step", number=step.number, title=title, mark=mark,
                                ms=step.ms), "ok" if step.ok else "bad")]
    if step.signed is not None:
        lines += _signed(step.signed, messages)
    elif step.sent is not None and step.name in ("query", "refunded", "refund"):
        lines.append(_field(messages, "signed", _text(messages, "api_key_itself")))
    elif step.name in ("cashier", "pay"):
        lines.append(_field(messages, "signed", _text(messages, "browser")))
    if step.sent is not None:
        lines += _sent(step.sent, messages)
    if step.received is not None:
        lines += _received(step.received, messages)
    if step.answered is not None:
        answered = step.answered
        lines.append(_field(messages, "answered", _text(
            messages, "answer", status=answered.get("status"), body=answered.get("body", ""))))
    for check in step.checks:
        what = messages.say(check.what)
        if check.ok:
            lines.append((f"{INDENT}✓ {what}", ""))
        else:
            lines.append((f"{INDENT}✗ {what}", "bad"))
            lines.append((INDENT + _text(messages, "got", got=messages.say(check.got)), "bad"))
    if step.error is not None:
        message = messages.say(step.said_error or step.error["message"])
        lines.append((f"{INDENT}✗ {step.error['kind']}: {message}", "bad"))
    lines.append(("", ""))
    return lines


def summary(result: DemoResult, messages: Messages = _ENGLISH) -> list[Line]:
    failed = result.failed_step
    gap: list[Line] = [("", "")] if result.steps and not result.steps[-1].run else []
    if failed is None and result.ok:
        return [(_text(messages, "all_ok", count=len(result.steps), seconds=result.ms / 1000),
                 "ok")]
    if failed is None:
        return gap + [(_text(messages, "unfinished"), "bad")]
    return gap + [(_text(messages, "failed", number=failed.number, step=failed.name,
                         failure=messages.say(failed.failure)), "bad")]


def lines(event: DemoEvent, messages: Messages = _ENGLISH) -> list[Line]:
    """An event of the demo as the lines a person reads."""
    if isinstance(event, Setting):
        return heading(event, messages)
    if isinstance(event, Step):
        return step_lines(event, messages)
    return summary(event, messages)


def timeline(result: DemoResult, messages: Messages = _ENGLISH) -> list[Line]:
    lines = heading(result.setting, messages)
    for step in result.steps:
        lines += step_lines(step, messages)
    return lines + summary(result, messages)


def _field(messages: Messages, label: str, text: str, style: str = "") -> Line:
    return (f"{INDENT}{_pad(_text(messages, label))}{text}", style)


def _more(text: str, style: str = "") -> Line:
    return (f"{INDENT}{' ' * LABEL}{text}", style)


def _pad(label: str) -> str:
    from ..messages.width import display_width

    return label + " " * max(LABEL - display_width(label), 0)


def _signed(signed: Mapping[str, Any], messages: Messages) -> list[Line]:
    by = _who(messages, signed.get("by", ""))
    if signed.get("sign_type") == "MD5":  # the key is appended to the string, then hashed
        shown = _text(messages, "md5", canonical=signed["canonical"], key=signed.get("key", ""))
    else:
        shown = _text(messages, "rsa", canonical=signed["canonical"])
    using = _who(messages, signed.get("with", signed.get("sign_type", "")))
    lines = [_field(messages, "signed", shown),
             _more(_text(messages, "signed_by", by=by, using=using), "dim")]
    sign = str(signed.get("sign", ""))
    lines.append(_more(_text(messages, "sign", sign=sign) if len(sign) <= 32 else
                       _text(messages, "long_sign", start=sign[:SHOWN_SIGN], count=len(sign))))
    return lines


def _sent(sent: Mapping[str, Any], messages: Messages) -> list[Line]:
    url = _LONG_SIGN.sub(lambda m: f"{m.group(1)[:SHOWN_SIGN]}…", sent.get("url", ""))
    method = sent.get("method", "")
    shown = _text(messages, "sent_by", method=method, url=url, by=_who(messages, sent["by"])) \
        if sent.get("by") else _text(messages, "sent_line", method=method, url=url)
    lines = [_field(messages, "sent", shown)]
    form = sent.get("form")
    if form:
        lines.append(_more(_text(messages, "form", form="&".join(
            f"{k}={_cut(str(v))}" for k, v in form.items()))))
    return lines


def _received(received: Mapping[str, Any], messages: Messages) -> list[Line]:
    if "verdict" in received:  # the notify, as the receiver saw it
        verdict = received.get("verdict", "")
        reason = received.get("reason") or _text(messages, "all_checks_passed")
        by = _who(messages, received.get("by", "the receiver"))
        where = {"method": received.get("method", ""), "path": received.get("path", ""), "by": by}
        heard = _text(messages, "notify_received_ms", ms=received["ms"], **where) \
            if received.get("ms") else _text(messages, "notify_received", **where)
        return [_field(messages, "received", heard),
                _more(_text(messages, "verdict", verdict=verdict, reason=reason),
                      "" if verdict == "genuine" else "bad")]
    body = str(received.get("body", ""))
    more = _MORE_FIELDS.search(body)  # a query's answer, cut short by the engine (roundtrip.py)
    if more:
        body = _text(messages, "more_fields", body=body[:more.start()], count=int(more[1]))
    lines = [_field(messages, "received", _text(messages, "reply", status=received.get("status"),
                                                body=body))]
    if received.get("verified") is True:
        lines.append(_more(_text(messages, "reply_verified"), "dim"))
    return lines


def _cut(text: str, limit: int = 48) -> str:
    return text if len(text) <= limit else f"{text[:limit]}…"
