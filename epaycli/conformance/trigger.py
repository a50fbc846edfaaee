"""``epay trigger notify`` without the CLI: turn what the user asked for into the one notify
to send (the same builder for ``--dry-run`` and for sending), send it N times, count."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from ..core.errors import InputError, NetworkError
from ..core.money import parse_amount
from ..core.notify import DELIVERY_TIMEOUT_SECONDS, MoneyFormat, PaidOrder
from ..core.signing import Signer
from .delivery import deliver_many, summarize
from .events import TriggerResult
from .notifies import (
    Method,
    NotifyPlan,
    OutgoingNotify,
    Signing,
    build_notify,
    check_notify_url,
    parse_changes,
)
from .orders import gateway_trade_no, random_out_trade_no


@dataclass(frozen=True)
class TriggerRequest:
    to: str
    order: str | None
    amount: str
    trade_no: str | None
    type: str
    name: str
    param: str
    pid: str
    changes: list[str]
    method: Method
    money_format: MoneyFormat
    signer: Signer  # the merchant MD5 key (V1) or the platform private key (V2)
    sign_with: Signer | None  # a forger's key, used instead of ``signer``
    signing: Signing
    now: int


def prepare(request: TriggerRequest) -> OutgoingNotify:
    """The notify to send, built, signed and addressed (raises ``InputError`` on bad input)."""
    url = check_notify_url(request.to)
    changes = parse_changes(request.changes)
    money = parse_amount(request.amount)
    if not request.pid:
        raise InputError("the notify needs a merchant id (pid)",
                         "pass --pid N, set EPAY_PID, or use a profile", code="trigger_no_pid",
                         fields={})
    order = PaidOrder(
        pid=request.pid,
        trade_no=request.trade_no or gateway_trade_no(request.now),
        out_trade_no=request.order or random_out_trade_no("epay-trigger"),
        type=request.type, name=request.name, money=money, param=request.param,
    )
    plan = NotifyPlan(order, request.signer, money_format=request.money_format,
                      changes=changes, signing=request.signing, sign_with=request.sign_with,
                      method=request.method,
                      now=request.now)
    return build_notify(url, plan)


def send(notify: OutgoingNotify, *, count: int = 1, concurrency: int = 1,
         timeout: float = DELIVERY_TIMEOUT_SECONDS, verify_tls: bool = True) -> TriggerResult:
    started = time.perf_counter()
    answers = asyncio.run(deliver_many(notify, count=count, concurrency=concurrency,
                                       timeout=timeout, verify_tls=verify_tls))
    return TriggerResult(notify, answers, summarize(answers, time.perf_counter() - started))


def no_answer_error(result: TriggerResult) -> NetworkError:
    """Exit 5: a notify (or some of many) got no answer; the first one's reason."""
    from .delivery import untrusted_tls

    summary = result.summary
    first = next(a for a in result.answers if not a.answered)
    fields = {"url": result.notify.notify_url, "error": first.describe(),
              "count": summary.no_answer, "sent": summary.sent}
    if untrusted_tls(first):
        if summary.sent == 1:
            return NetworkError("no answer from {url}: {error}", "use a certificate the system "
                                "trusts, or skip the check as a gateway does (--insecure)",
                                code="trigger_tls_untrusted", fields=fields)
        return NetworkError("{count} of {sent} notifies: no answer from {url}: {error}",
                            "use a certificate the system trusts, or skip the check as a "
                            "gateway does (--insecure)", code="trigger_tls_untrusted_some",
                            fields=fields)
    if summary.sent == 1:
        return NetworkError("no answer from {url}: {error}", "a gateway counts this as not "
                            "delivered; check the handler runs and answers within the timeout",
                            code="trigger_no_answer", fields=fields)
    return NetworkError("{count} of {sent} notifies: no answer from {url}: {error}",
                        "a gateway counts this as not delivered; check the handler runs and "
                        "answers within the timeout", code="trigger_no_answer_some",
                        fields=fields)
