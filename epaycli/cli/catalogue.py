"""``epay errors``: what an Epay error code or message means, why it happens, and the fix —
from the offline catalogue (no network, no heavy imports)."""

from __future__ import annotations

import re
from typing import Annotated

import typer

from ..core.errors import ExitCode, InputError
from .completion import complete_error_id
from .options import JsonOption
from .runtime import Runtime, runtime

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
}


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
            raise InputError("--list takes no code or message", "give one or the other")
        _show_list(run, book, json_output)
        return ExitCode.OK
    if not text:
        raise InputError("nothing to look up", "give a code or message, or --list")
    found = book.lookup(text)
    if json_output:
        run.out.json_object(found.to_dict())
    else:
        _show_lookup(run, found, book)
    return ExitCode.OK if found.found else ExitCode.USAGE


def _show_list(run: Runtime, book, json_output: bool) -> None:
    if json_output:
        run.out.json_object({"codes": [c.to_dict() for c in book.codes.values()],
                             "entries": [e.to_dict() for e in book.entries]})
        return
    rows = [{"id": e.id, "codes": ",".join(str(c) for c in e.codes),
             "message": " / ".join(e.messages) or "(code only)", "meaning": e.en}
            for e in book.entries]
    run.out.table(rows, ["id", "codes", "message", "meaning"])
    run.out.status(MESSAGES["entries"].format(count=len(rows)))


def _show_lookup(run: Runtime, found, book) -> None:
    if found.code is not None:
        other = MESSAGES["from_other_gateways"] if found.code.source == "other" else ""
        run.out.fields([("code", str(found.code.code)), ("中文", found.code.zh),
                        ("English", found.code.en + other)])
        if found.matches:
            run.out.data("")
            run.out.data("messages with this code:")
            for match in found.matches:
                run.out.data(f"  {match.entry.id}: {' / '.join(match.entry.messages) or match.entry.en}")
        return
    if not found.matches:
        numeric = _INTEGER.fullmatch(found.query)
        run.out.status(MESSAGES["unknown_code" if numeric else "nothing"].format(
            query=found.query,
            codes=", ".join(str(c.code) for c in book.codes.values() if c.source == "epay")), "warn")
        run.out.status(MESSAGES["see_list"])
        return
    if found.matches[0].how == "http":
        run.out.status(MESSAGES["as_http_status"].format(query=found.query))
    elif not found.found:
        run.out.status(MESSAGES["only_guesses"].format(query=found.query), "warn")
    for index, match in enumerate(found.matches):
        if index:
            run.out.data("")
        _show_entry(run, match)


def _show_entry(run: Runtime, match) -> None:
    entry = match.entry
    rows = [("id", entry.id), ("message", " / ".join(entry.messages) or "(a code, no message)"),
            ("codes", ", ".join(str(c) for c in entry.codes) or "(none)"),
            ("中文", entry.zh), ("English", entry.en), ("cause", entry.cause), ("fix", entry.fix)]
    if entry.where:
        rows.append(("where", entry.where))
    if entry.from_other_gateways:
        rows.append(("source", "other gateways and tutorials — no Epay server sends it"))
    if match.values:
        rows.append(("values", ", ".join(f"{k}={v}" for k, v in match.values.items())))
    if match.how in ("closest", "partial"):
        rows.insert(0, ("similarity", f"{match.score:.0%}"))
    run.out.fields(rows)
