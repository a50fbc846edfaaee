"""The run's language for the commands' tables, labels and notes: a column or label is said
by its id (``order.column.out_trade_no``), a library's ``Text`` by its message id. English
keeps the id as it is (the table helper upper-cases it), byte for byte as before."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from .runtime import Runtime


def show_notes(run: Runtime, notes: Iterable[str], style: str = "warn") -> None:
    """Notes and warnings on stderr, each in the run's language (a ``Text``) or as given."""
    for note in notes:
        run.out.status(run.messages.say(note), style)


def show_table(run: Runtime, rows: Sequence[Mapping[str, object]], columns: Sequence[str],
               area: str) -> None:
    """``rows`` under their columns' headers: ``{area}.column.{id}`` in Chinese; in English
    the ids themselves (upper-cased by the table)."""
    messages = run.messages
    if messages.language == "en":
        run.out.table(rows, columns)
        return
    headers = [messages.text(f"{area}.column.{column}", column.upper()) for column in columns]
    run.out.table([{header: str(row.get(column, "")) for header, column in zip(headers, columns)}
                   for row in rows], headers)


def show_fields(run: Runtime, pairs: Iterable[tuple[str, str]], area: str,
                english: Mapping[str, str] | None = None) -> None:
    """``label  value`` lines; each label an id said as ``{area}.label.{id}`` (English: the
    id itself, or its entry in ``english``)."""
    messages, english = run.messages, english or {}
    run.out.fields([(messages.text(f"{area}.label.{label}", english.get(label, label)), value)
                    for label, value in pairs])
