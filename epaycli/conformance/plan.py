"""``epay check notify`` without the CLI: from what the user gave to the suite to run."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ..core.errors import InputError
from ..core.notify import PaidOrder
from ..core.signing import Signer
from .cases import Case, Suite, select_cases
from .notifies import NotifyPlan, check_notify_url
from .orders import gateway_trade_no, random_out_trade_no, shop_order, wrong_signer
from .runner import StateProbe


@dataclass(frozen=True)
class CheckRequest:
    url: str
    order: str | None
    amount: str | None
    create_order_cmd: str | None
    state_url: str | None
    trade_no: str | None
    type: str
    name: str
    pid: str
    signer: Signer  # the merchant MD5 key (V1) or the platform private key (V2)
    only: list[str]
    skip: list[str]
    timeout: float
    now: int
    dry_run: bool = False
    gateway_posts: bool = False  # POST delivery failing is a FAIL, not a WARN


@dataclass(frozen=True)
class CheckPlan:
    suite: Suite
    cases: tuple[Case, ...]
    state: StateProbe | None


def prepare_check(request: CheckRequest, environ: Mapping[str, str]) -> CheckPlan:
    """Everything checked before a notify is sent: URLs, cases, keys, then the shop's order
    (a --create-order-cmd runs last, so bad flags do not create orders)."""
    url = check_notify_url(request.url)
    state = StateProbe(check_notify_url(request.state_url)) if request.state_url else None
    cases = select_cases(request.only, request.skip)
    pid = request.pid
    if not pid:
        raise InputError("the notifies need your merchant id (pid)",
                         "pass --pid N, set EPAY_PID, or use a profile", code="check_no_pid",
                         fields={})
    if request.dry_run and request.create_order_cmd:
        raise InputError("--dry-run runs no command, so it cannot use --create-order-cmd",
                         "give --order and --amount to see what would be sent",
                         code="check_dry_run_command", fields={})
    signer = request.signer
    wrong = wrong_signer(signer)
    shop = shop_order(request.order, request.amount, request.create_order_cmd, environ)
    order = PaidOrder(pid=pid, trade_no=request.trade_no or gateway_trade_no(request.now),
                      out_trade_no=shop.out_trade_no, type=request.type, name=request.name,
                      money=shop.amount)
    genuine = NotifyPlan(order, signer, money_format="2dp", now=request.now)
    suite = Suite(url, genuine, wrong, timeout=request.timeout,
                  unknown_order=random_out_trade_no("epay-check-unknown"),
                  gateway_posts=request.gateway_posts)
    return CheckPlan(suite, cases, state)
