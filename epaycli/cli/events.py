"""``epay events``: what ``epay listen`` journaled — list, show, replay."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ..core.params import parse_pairs
from ..messages import Messages
from ..profiles.keys import signer_for
from ..profiles.resolve import current
from .inspect import ServeHostOption, ServePortOption
from .options import JsonOption, KeyOption, ProfileOption
from .runtime import Runtime, runtime

if TYPE_CHECKING:
    from collections.abc import Mapping

    from ..listener.journal import Journal

app = typer.Typer(help="What epay listen journaled: list, show and replay requests.",
                  no_args_is_help=True)

JournalOption = Annotated[Path | None, typer.Option(
    "--journal", metavar="FILE",
    help="The listener's journal (default: $XDG_STATE_HOME/epay/listen.sqlite3).")]
MESSAGES = {
    "damaged_verdict": "⚠ damaged: {columns}",
    "damaged_rows": "warning: {count} of {total} requests are damaged in the journal (columns "
                    "not as epay listen writes them): shown as far as they can be read",
    "damaged_field": "{columns} — not as epay listen writes them: shown as far as readable",
    "no_requests": "no requests journaled",
    "no_requests_matching": "no requests journaled that match",
    "genuine": "✓ genuine",
    "not_genuine": "✗ {reason}",
    "dup_changed": "{number} CHANGED",
    # `events list`'s column headers (shown upper-cased; --json keeps its own keys)
    "column.id": "id", "column.time": "time", "column.method": "method",
    "column.trade_no": "trade_no", "column.out_trade_no": "out_trade_no",
    "column.money": "money", "column.verdict": "verdict", "column.dup": "dup",
    "column.answer": "answer",
    # `events show`'s labels and the values it words
    "label.id": "id", "label.time": "time", "label.kind": "kind", "label.client": "client",
    "label.verdict": "verdict", "label.duplicates": "duplicates",
    "label.order_amount": "order amount", "label.answered": "answered",
    "label.damaged": "damaged", "label.problem": "problem",
    "label.sender_signed": "sender signed", "label.protocol_signs": "protocol signs",
    "label.forwarded": "forwarded",
    "duplicates": "{count} before this one",
    "duplicates_changed": "{count} before this one — CONTENT CHANGED: {changes}",
    "order_unknown": "(order not known to epay)",
    "answered_delivered": "{status} {answer!r} (by {by}; delivered: yes)",
    "answered_not_delivered": "{status} {answer!r} (by {by}; delivered: no)",
    "problem": "{message}",
    "problem_fix": "{message} — fix: {fix}",
    "forwarded": "{url} → {status} {body!r} {ms} ms",
    "forward_failed": "{url} → ✗ {error}",
    # `events replay` and `events serve`
    "replay_masked": "warning: {fields} were masked in the journal and are sent masked",
    "replay_sent": "{method} {url}",
    "replay_sent_changed": "{method} {url} (changed)",
    "replay_body": "  body: {body}",
    "replay_answer": "{status} {body!r} {ms:.1f} ms",
    "replay_not_delivered": "{status} {body!r} {ms:.1f} ms   ✗ no 'success': a gateway would "
                            "send it again",
    "serving": "inspector: {url} — journal {journal}",
    "how_to_stop": "Ctrl+C stops",
}

_COLUMNS = ("id", "time", "method", "trade_no", "out_trade_no", "money", "verdict", "dup",
            "answer")


_ENGLISH = Messages()
# A journaled request as the listener's journal reads it back: a JSON-shaped document whose
# keys are docs/events.md's (listener/journal.py builds it; not typed there yet).
JournalRecord = dict[str, Any]


def _text(messages: Messages, message_id: str, /, **fields: object) -> str:
    return messages.text(f"events.{message_id}", MESSAGES[message_id], **fields)


def _open(journal: Path | None, environ: Mapping[str, str]) -> Journal:
    from ..listener.journal import Journal, default_journal_path

    return Journal(journal or default_journal_path(environ), readonly=True)


@app.command("list")
def list_events(
    ctx: typer.Context,
    since: Annotated[str | None, typer.Option(
        "--since", metavar="WHEN", help="Only from then: 10m, 2h, 3d, Unix seconds or ISO time.")] = None,
    invalid: Annotated[bool, typer.Option("--invalid", help="Only requests that were not genuine.")] = False,
    limit: Annotated[int | None, typer.Option("--limit", metavar="N", min=1,
                                              help="Only the newest N.")] = None,
    journal: JournalOption = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print a JSON array.")] = False,
) -> None:
    """List journaled requests, oldest first: id, time, numbers, money, verdict, answer."""
    from ..listener.journal import said_record
    from ..listener.replay import parse_since

    run = runtime(ctx)
    start = parse_since(since, run.env.clock()) if since else None
    with _open(journal, run.env.environ) as book:
        records = [said_record(record, run.messages)
                   for record in book.records(since=start, invalid_only=invalid, limit=limit)]
    if json_output:
        run.out.json_object(records)
        return
    messages = run.messages
    if not records:
        run.out.status(_text(messages, "no_requests_matching" if since or invalid
                             else "no_requests"))
        return
    # The table's columns are its headers, in the run's language.
    headers = [_text(messages, f"column.{column}") for column in _COLUMNS]
    run.out.table([dict(zip(headers, _row(r, messages))) for r in records], headers)
    damaged = sum(1 for record in records if record["damaged"])
    if damaged:
        run.out.status(_text(messages, "damaged_rows", count=damaged, total=len(records)), "warn")


def _row(record: JournalRecord, messages: Messages = _ENGLISH) -> list[str]:
    """The cells of one request, in the order of ``_COLUMNS``."""
    verdict = (_text(messages, "genuine") if record["valid"]
               else _text(messages, "not_genuine", reason=record["reason"]))
    if record["damaged"]:
        verdict = _text(messages, "damaged_verdict", columns=", ".join(record["damaged"]))
    if len(verdict) > 60:
        verdict = verdict[:59] + "…"
    duplicate = str(record["duplicate_count"] + 1) if record["duplicate_count"] else ""
    if record["content_changed"]:
        duplicate = _text(messages, "dup_changed", number=duplicate)
    return [str(record["id"]), record["time"][:19].replace("T", " "), record["method"],
            record["trade_no"] or "-", record["out_trade_no"] or "-", record["money"] or "-",
            verdict, duplicate, f"{record['answer_status']} {record['answer'][:20]}"]


@app.command("show")
def show(
    ctx: typer.Context,
    event_id: Annotated[int, typer.Argument(metavar="ID", help="The id from 'epay events list'.")],
    journal: JournalOption = None,
    json_output: JsonOption = False,
) -> None:
    """Show one journaled request: the raw request and the full verdict."""
    from ..listener.journal import said_record

    run = runtime(ctx)
    with _open(journal, run.env.environ) as book:
        record = said_record(book.record(event_id), run.messages)
    if json_output:
        run.out.json_object(record)
        return
    out = run.out
    target = record["path"] + (f"?{record['query']}" if record["query"] else "")
    out.data(f"{record['method']} {target}")
    for name, value in record["headers"]:
        out.data(f"{name}: {value}")
    out.data("")
    if record["body"]:
        out.data(record["body"])
        out.data("")
    out.fields(_shown_fields(record, run.messages))


def _shown_fields(record: JournalRecord, messages: Messages = _ENGLISH) -> list[tuple[str, str]]:
    """The verdict half of `epay events show`: one labelled line per fact about the request."""
    from .listen import changes_text

    def text(message_id: str, /, **fields: object) -> str:
        return _text(messages, message_id, **fields)

    def pair(label: str, value: str) -> tuple[str, str]:
        return text(f"label.{label}"), value

    count = record["duplicate_count"]
    pairs = [pair("id", str(record["id"])), pair("time", record["time"]),
             pair("kind", record["kind"]), pair("client", record["client"]),
             pair("verdict", text("genuine") if record["valid"]
                  else text("not_genuine", reason=record["reason"])),
             pair("duplicates", text("duplicates_changed", count=count, changes=changes_text(
                 record.get("changed_fields"), messages)) if record["content_changed"]
                  else text("duplicates", count=count)),
             pair("order_amount", record["order_amount"] or text("order_unknown")),
             pair("answered", text("answered_delivered" if record["delivered"]
                                   else "answered_not_delivered", status=record["answer_status"],
                                   answer=record["answer"], by=record["answered_by"]))]
    if record["damaged"]:
        pairs.append(pair("damaged", text("damaged_field", columns=", ".join(record["damaged"]))))
    report = record.get("report") or {}
    for problem in report.get("problems", []):
        pairs.append(pair("problem", text("problem_fix", message=problem["message"],
                                          fix=problem["fix"]) if problem.get("fix")
                          else text("problem", message=problem["message"])))
    diagnosis = report.get("diagnosis")
    if diagnosis and diagnosis.get("signed_string"):
        pairs.append(pair("sender_signed", diagnosis["signed_string"]))
        pairs.append(pair("protocol_signs", diagnosis["expected_string"]))
    forward = record.get("forward")
    if forward:
        pairs.append(pair("forwarded", text(
            "forwarded", url=forward["url"], status=forward["status"], body=forward["body"][:60],
            ms=forward["ms"]) if forward["status"] is not None
            else text("forward_failed", url=forward["url"], error=forward["error"])))
    return pairs


@app.command("replay")
def replay(
    ctx: typer.Context,
    event_id: Annotated[int, typer.Argument(metavar="ID", help="The id from 'epay events list'.")],
    to: Annotated[str | None, typer.Option(
        "--to", metavar="URL", help="Where to send it (default: the profile's notify_url).")] = None,
    set_fields: Annotated[list[str] | None, typer.Option(
        "--set", metavar="K=V", help="Change a field (repeatable; K= removes it).")] = None,
    resign: Annotated[bool, typer.Option(
        "--resign", help="Sign it again with the profile's key (after --set).")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would be sent.")] = False,
    journal: JournalOption = None,
    key: KeyOption = None,
    private_key: Annotated[str | None, typer.Option(
        "--private-key", metavar="FILE",
        help="RSA private key to re-sign a V2 notify (as the platform would).")] = None,
    profile: ProfileOption = None,
    json_output: JsonOption = False,
) -> None:
    """Re-send a journaled notify to a handler, as it came or changed (--set) and re-signed
    (--resign), to reproduce what the handler did with it. Exit 5 if it cannot be reached."""
    from ..core.errors import InputError
    from ..listener.replay import build_replay, send_replay

    run = runtime(ctx)
    with _open(journal, run.env.environ) as book:
        record = book.record(event_id)
    resolved = current(profile, {"key": key, "private_key": private_key}, run.env.environ)
    target = to or resolved.profile.notify_url
    if not target:
        raise InputError("no target to replay to", "pass --to URL (or set the profile's "
                         "notify_url)", code="replay_no_target", fields={})
    changes = parse_pairs(set_fields or [])
    signer = signer_for(resolved, record.get("params") or {}) if resign else None
    request = build_replay(record, target, changes=changes, signer=signer, now=run.env.now())
    if request.masked_fields and not resign:
        run.out.status(_text(run.messages, "replay_masked",
                             fields=", ".join(request.masked_fields)), "warn")
    if dry_run:
        _show_replay(run, request.to_dict(), None, json_output)
        return
    result = send_replay(request)
    _show_replay(run, request.to_dict(), result.to_dict(), json_output)


def _show_replay(run: Runtime, sent: dict[str, Any], answer: dict[str, Any] | None,
                 json_output: bool) -> None:
    out, messages = run.out, run.messages
    if json_output:
        out.json_object({"sent": sent, "answer": answer})
        return
    out.status(_text(messages, "replay_sent_changed" if sent["changed"] else "replay_sent",
                     method=sent["method"], url=sent["url"]))
    if sent["body"]:
        out.status(_text(messages, "replay_body", body=sent["body"]), "dim")
    if answer is None:
        return
    out.data(_text(messages, "replay_answer" if answer["delivered"] else "replay_not_delivered",
                   status=answer["status"], body=answer["body"][:200], ms=answer["ms"]),
             "ok" if answer["delivered"] else "bad")


@app.command("serve")
def serve(
    ctx: typer.Context,
    to: Annotated[str | None, typer.Option(
        "--to", metavar="URL",
        help="Where the page's replays go (default: the profile's notify_url).")] = None,
    port: ServePortOption = None,
    host: ServeHostOption = None,
    journal: JournalOption = None,
    key: KeyOption = None,
    private_key: Annotated[str | None, typer.Option(
        "--private-key", metavar="FILE",
        help="RSA private key to re-sign V2 notifies with.")] = None,
    profile: ProfileOption = None,
    json_output: Annotated[bool, typer.Option(
        "--json", help="Print the ready object (inspector_url) as one JSON line.")] = False,
) -> None:
    """Serve the inspector page over a journal, without a listener: the list, each request
    whole, replay to --to (re-signed with the profile's key). Ctrl+C stops it. Exit 6: port
    in use or journal unreadable."""
    import signal
    import threading

    from ..listener.inspector import serve_journal
    from ..listener.journal import default_journal_path
    from .inspect import inspector_config

    run = runtime(ctx)
    resolved = current(profile, {"key": key, "private_key": private_key}, run.env.environ)
    path = journal or default_journal_path(run.env.environ)
    config = inspector_config(resolved, path, host=host, port=port, request_base=None,
                              targets={"to": to or resolved.profile.notify_url},
                              language=run.messages.language)
    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        serve_journal(config, lambda inspector: _show_serving(
            run, inspector.url, str(path), json_output), stop)
    finally:
        signal.signal(signal.SIGTERM, previous)


def _show_serving(run: Runtime, url: str, journal: str, json_output: bool) -> None:
    if json_output:
        run.out.json_line({"event": "ready", "inspector_url": url, "journal": journal})
        return
    run.out.status(_text(run.messages, "serving", url=url, journal=journal), "ok")
    run.out.status(_text(run.messages, "how_to_stop"), "dim")
