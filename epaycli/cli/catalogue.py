"""``epay errors``: what an Epay error code or message means, why it happens, and the fix —
from the offline catalogue (no network, no heavy imports)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Annotated

import typer

from ..core.errors import ExitCode, InputError
from .completion import complete_error_id
from .options import JsonOption
from .runtime import Runtime, runtime
from .wording import show_fields, show_table

if TYPE_CHECKING:
    from ..catalogue.lookup import Catalogue, Lookup, Match

# What `epay errors` says around the entries (English source; ids for a translation).
_INTEGER = re.compile(r"[+-]?[0-9]+")
MESSAGES = {
    "only_guesses": "no catalogue entry matches {query!r}; the closest, with their similarity:",
    "nothing": "no catalogue entry matches {query!r}",
    "unknown_code": "{query} is not a code an Epay gateway answers (they answer {codes})",
    "see_list": "'epay errors --list' shows every entry",
    "as_http_status": "{query} is no Epay code; as an HTTP status:",
    "from_other_gateways": " — from other gateways/tutorials, no Epay server sends it",
    "entries": "{count} entries; 'epay errors ID' shows one",
    "messages_with_code": "messages with this code:",
    "code_only": "(code only)",
    "no_message": "(a code, no message)",
    "none": "(none)",
    "other_source": "other gateways and tutorials — no Epay server sends it",
}
# Labels whose English is not their id.
LABELS = {"zh": "中文", "en": "English"}


def _text(run: Runtime, message_id: str, /, **fields: object) -> str:
    return run.messages.text(f"catalogue.{message_id}", MESSAGES[message_id], **fields)


def _chinese(run: Runtime) -> bool:
    """A Chinese run shows each entry's Chinese (its English stays in --json)."""
    return run.messages.language == "zh"


def errors(
    ctx: typer.Context,
    words: Annotated[list[str] | None, typer.Argument(
        metavar="[CODE|MESSAGE]", help="A code (-1, 1001) or a message as the gateway sent it.",
        autocompletion=complete_error_id)] = None,
    list_all: Annotated[bool, typer.Option("--list", help="Every entry of the catalogue.")] = False,
    json_output: JsonOption = False,
) -> int:
    """Explain an Epay error: meaning (中文 + English), likely cause and fix.

    Example: epay errors '该订单(A1)支付参数有变化，请更换订单号重新发起支付'. Unknown text
    gets the closest entries with their similarity; exit 0 when something matched, 2 when the
    catalogue only has guesses (or nothing) for it.
    """
    from ..catalogue.lookup import catalogue

    run = runtime(ctx)
    book = catalogue()
    text = " ".join(words or []).strip()
    if list_all:
        if text:
            raise InputError("--list takes no code or message", "give one or the other",
                             code="errors_list_and_query", fields={})
        _show_list(run, book, json_output)
        return ExitCode.OK
    if not text:
        raise InputError("nothing to look up", "give a code or message, or --list",
                         code="errors_nothing_to_look_up", fields={})
    found = book.lookup(text)
    if json_output:
        run.out.json_object(found.to_dict())
    else:
        _show_lookup(run, found, book)
    return ExitCode.OK if found.found else ExitCode.USAGE


def _show_list(run: Runtime, book: Catalogue, json_output: bool) -> None:
    if json_output:
        run.out.json_object({"codes": [c.to_dict() for c in book.codes.values()],
                             "entries": [e.to_dict() for e in book.entries]})
        return
    chinese = _chinese(run)
    rows = [{"id": e.id, "codes": ",".join(str(c) for c in e.codes),
             "message": " / ".join(e.messages) or _text(run, "code_only"),
             "meaning": e.zh if chinese else e.en}
            for e in book.entries]
    show_table(run, rows, ["id", "codes", "message", "meaning"], "catalogue")
    run.out.status(_text(run, "entries", count=len(rows)))


def _show_lookup(run: Runtime, found: Lookup, book: Catalogue) -> None:
    chinese = _chinese(run)
    if found.code is not None:
        rows = [("code", str(found.code.code)), ("zh", found.code.zh)]
        if not chinese:  # the Chinese meaning says where a code comes from itself
            other = MESSAGES["from_other_gateways"] if found.code.source == "other" else ""
            rows.append(("en", found.code.en + other))
        show_fields(run, rows, "catalogue", LABELS)
        if found.matches:
            run.out.data("")
            run.out.data(_text(run, "messages_with_code"))
            for match in found.matches:
                entry = match.entry
                said = " / ".join(entry.messages) or (entry.zh if chinese else entry.en)
                run.out.data(f"  {entry.id}: {said}")
        return
    if not found.matches:
        numeric = _INTEGER.fullmatch(found.query)
        run.out.status(_text(
            run, "unknown_code" if numeric else "nothing", query=found.query,
            codes=", ".join(str(c.code) for c in book.codes.values() if c.source == "epay")),
            "warn")
        run.out.status(_text(run, "see_list"))
        return
    if found.matches[0].how == "http":
        run.out.status(_text(run, "as_http_status", query=found.query))
    elif not found.found:
        run.out.status(_text(run, "only_guesses", query=found.query), "warn")
    for index, match in enumerate(found.matches):
        if index:
            run.out.data("")
        _show_entry(run, match)


def _show_entry(run: Runtime, match: Match) -> None:
    entry, messages = match.entry, run.messages
    rows = [("id", entry.id),
            ("message", " / ".join(entry.messages) or _text(run, "no_message")),
            ("codes", ", ".join(str(c) for c in entry.codes) or _text(run, "none")),
            ("zh", entry.zh)]
    if not _chinese(run):
        rows.append(("en", entry.en))
    rows += [("cause", messages.say(entry.cause_said)), ("fix", messages.say(entry.fix_said))]
    if entry.where:
        rows.append(("where", entry.where))
    if entry.from_other_gateways:
        rows.append(("source", _text(run, "other_source")))
    if match.values:
        rows.append(("values", ", ".join(f"{k}={v}" for k, v in match.values.items())))
    if match.how in ("closest", "partial"):
        rows.insert(0, ("similarity", f"{match.score:.0%}"))
    show_fields(run, rows, "catalogue", LABELS)
