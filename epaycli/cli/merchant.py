"""``epay merchant``: the merchant's account at the gateway (info, settlements)."""

from __future__ import annotations

from typing import Annotated

import typer

from ..gateway import calls
from .connect import (
    Connection,
    DryRunOption,
    connection_options,
    open_client,
    resolve_merchant,
    show_dry_run,
    show_notes,
)
from .options import JsonOption
from .runtime import Runtime, runtime
from .wording import show_fields, show_table

app = typer.Typer(help="The merchant account at the gateway: info and settlements.",
                  no_args_is_help=True)


@app.command("info")
@connection_options
def info(ctx: typer.Context, dry_run: DryRunOption = False, json_output: JsonOption = False,
         *, conn: Connection) -> None:
    """Account info (api.php?act=query / api/merchant/info): balance, orders, status."""
    run = runtime(ctx)
    merchant, _ = resolve_merchant(run, conn)
    call = calls.merchant_info(merchant, run.env.now())
    if dry_run:
        show_dry_run(run, [call], json_output)
        return
    from ..gateway import operations

    with open_client(run, conn) as client:
        result = operations.merchant_info(client, call)
    show_notes(run, result.notes)
    if json_output:
        run.out.json_object(result.to_dict())
        return
    show_fields(run, [(k, _text(v)) for k, v in result.info.items() if k != "msg"], "merchant")


@app.command("settles")
@connection_options
def settles(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option("--limit", min=1, max=calls.LIST_PAGE_MAX,
                                       help="How many settlements (one page).")] = 10,
    offset: Annotated[int, typer.Option("--offset", min=0,
                                        help="Start after this many settlements (page with --limit).")] = 0,
    dry_run: DryRunOption = False,
    json_output: JsonOption = False,
    *,
    conn: Connection,
) -> None:
    """Settlement records (api.php?act=settle; needs the merchant MD5 key, also for V2)."""
    run = runtime(ctx)
    merchant, _ = resolve_merchant(run, conn)
    call = calls.settles(merchant, limit=limit, offset=offset)
    if dry_run:
        show_dry_run(run, [call], json_output)
        return
    from ..gateway import operations

    with open_client(run, conn) as client:
        result = operations.settles(client, call)
    show_notes(run, result.notes)
    if json_output:
        run.out.json_object(result.to_dict())
        return
    rows = [{k: _text(v) for k, v in row.items()} for row in result.rows]
    show_table(run, rows, result.columns(), "merchant")
    run.out.status(_said(run, "settles", count=len(rows)))


MESSAGES = {
    "settles": {"one": "{count} settlement records", "other": "{count} settlement records"},
}


def _said(run: Runtime, message_id: str, /, **fields: object) -> str:
    return run.messages.text(f"merchant.{message_id}", MESSAGES[message_id], **fields)


def _text(value: object) -> str:
    from ..gateway.replies import php_string

    return php_string(value) if not isinstance(value, (dict, list)) else str(value)
