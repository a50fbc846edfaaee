"""``epay demo``: the whole payment round trip on a local gateway, as a readable timeline."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from ..core.errors import ExitCode
from ..core.models import Dialect
from .options import JsonOption
from .runtime import runtime

if TYPE_CHECKING:
    from ..demo.events import DemoEvent


MESSAGES = {
    "fault_caught": "✓ the '{fault}' fault was caught where it should be: step {number} "
                    "({step}) refused it, as your shop must (exit 7: the payment did not go "
                    "through)",
}


def demo(
    ctx: typer.Context,
    v2: Annotated[bool, typer.Option(
        "--v2", help="The V2 dialect: api/pay/*, RSA-signed both ways (default: V1, MD5).")] = False,
    fault: Annotated[str, typer.Option(
        "--fault", metavar="NAME",
        help="Have the gateway spoil the notify — tampered-money, bad-signature, dropped, "
             "delayed[=S], duplicate, post — and see which step catches it.")] = "",
    timeout: Annotated[float, typer.Option(
        "--timeout", metavar="SECONDS",
        help="The bound on every wait (each HTTP answer, the notify).")] = 10.0,
    json_output: JsonOption = False,
) -> int | None:
    """Run a whole payment on a local gateway: create, pay, notify, query, refund.

    Starts the local gateway and epay's notify receiver on free ports (data in a temporary
    folder: a running 'epay mock' and your profiles are left alone), then creates an order,
    pays it in the cashier, receives and verifies the notify, answers success, queries the
    order as paid, refunds it and queries it again. Prints each step: what was signed, what
    was sent, what came back, and its checks. Exit 0 only if every step checked out;
    otherwise the failed step is named (exit 7, or 4/5 when the gateway or network failed).
    A --fault that spoils the payment still exits 7, and says whether the step that must catch
    it did.

    Example: epay demo
    """
    from ..demo import timeline
    from ..demo.roundtrip import DemoFailed, run_demo

    run = runtime(ctx)
    out = run.out

    def show(event: DemoEvent) -> None:  # the timeline, drawn as the run goes
        for text, style in timeline.lines(event, run.messages):
            out.data(text, style)

    result = run_demo(
        dialect=Dialect.V2 if v2 else Dialect.V1, fault=fault, timeout=timeout,
        on_setting=None if json_output else show, on_step=None if json_output else show)
    if json_output:
        out.json_object(result.to_dict())
    else:
        show(result)
    caught = result.failed_step if result.fault_caught else None
    if caught is not None:  # what was asked for: no error, but not a clean payment either
        if not json_output:
            out.status(run.messages.text(
                "demo.fault_caught", MESSAGES["fault_caught"], fault=fault,
                number=caught.number, step=caught.name), "ok")
        return int(ExitCode.CHECK_FAILED)
    if not result.ok:
        raise DemoFailed.of(result)
    return None
