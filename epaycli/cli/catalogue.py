"""``epay errors``: what an Epay error code or message means, why it happens, and the fix —
from the offline catalogue (no network, no heavy imports)."""

from __future__ import annotations

from typing import Annotated

import typer

from ..core.errors import ExitCode, InputError
from .completion import complete_error_id
from .options import JsonOption
from .runtime import Runtime, runtime


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
    gets the closest entries; exit 0 when something matched, 1 when only guesses were found.
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
        _show_lookup(run, found)
    return ExitCode.OK if found.found else ExitCode.ERROR


def _show_list(run: Runtime, book, json_output: bool) -> None:
    if json_output:
        run.out.json_object({"codes": [c.to_dict() for c in book.codes.values()],
                             "entries": [e.to_dict() for e in book.entries]})
        return
    rows = [{"id": e.id, "codes": ",".join(str(c) for c in e.codes),
             "message": " / ".join(e.messages) or "(code only)", "meaning": e.en}
            for e in book.entries]
    run.out.table(rows, ["id", "codes", "message", "meaning"])
    run.out.status(f"{len(rows)} entries; 'epay errors ID' shows one")


def _show_lookup(run: Runtime, found) -> None:
    if found.code is not None:
        other = " — from other gateways/tutorials, no Epay server sends it" \
            if found.code.source == "other" else ""
        run.out.fields([("code", str(found.code.code)), ("中文", found.code.zh),
                        ("English", found.code.en + other)])
        if found.matches:
            run.out.data("")
            run.out.data("messages with this code:")
            for match in found.matches:
                run.out.data(f"  {match.entry.id}: {' / '.join(match.entry.messages) or match.entry.en}")
        return
    if not found.found:
        run.out.status(f"no catalogue entry matches {found.query!r}; the closest:", "warn")
    for index, match in enumerate(found.matches):
        if index:
            run.out.data("")
        _show_entry(run, match)


def _show_entry(run: Runtime, match) -> None:
    entry = match.entry
    rows = [("id", entry.id), ("message", " / ".join(entry.messages) or "(a code, no message)"),
            ("codes", ", ".join(str(c) for c in entry.codes) or "(none: an HTML or text page)"),
            ("中文", entry.zh), ("English", entry.en), ("cause", entry.cause), ("fix", entry.fix)]
    if entry.where:
        rows.append(("where", entry.where))
    if entry.from_other_gateways:
        rows.append(("source", "other gateways and tutorials — no Epay server sends it"))
    if match.values:
        rows.append(("values", ", ".join(f"{k}={v}" for k, v in match.values.items())))
    if match.how == "closest":
        rows.insert(0, ("similarity", f"{match.score:.0%}"))
    run.out.fields(rows)
