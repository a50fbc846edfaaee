"""The notify_url from the public side: one genuinely signed test notify and one tampered after
signing, sent as a gateway sends them (``epaycli.conformance``, trigger's sending code).
A healthy handler answers success to the first, within 5 s and without a redirect, and never
to the second."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from decimal import Decimal
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from ..conformance.delivery import Answer, deliver, make_transport
from ..conformance.notifies import NotifyPlan, OutgoingNotify, build_notify
from ..conformance.orders import gateway_trade_no, random_out_trade_no
from ..core.notify import DELIVERY_TIMEOUT_SECONDS, PaidOrder
from ..core.signing import Md5Key, RsaKeys, Signer
from .findings import Finding, finding

if TYPE_CHECKING:  # cryptography is imported only when a key is loaded
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

CHECK = "notify_url.probe"
TEST_MONEY = Decimal("1.00")
TAMPERED_MONEY = "0.01"


def listener_answers(url: str, *, timeout: float = 1.0) -> bool:
    """Whether an `epay listen` (directly or through its tunnel) answers at ``url``'s origin."""
    import httpx

    from ..listener.server import HEALTH_PATH

    parts = urlsplit(url)
    try:
        response = httpx.get(f"{parts.scheme}://{parts.netloc}{HEALTH_PATH}", timeout=timeout,
                             follow_redirects=False, trust_env=False)
    except httpx.HTTPError:
        return False
    return response.status_code == 200 and response.text.startswith("epay-listen")


def test_notifies(url: str, *, pid: str, md5: Md5Key | None,
                  merchant_private: RSAPrivateKey | None,
                  now: int) -> tuple[OutgoingNotify | None, OutgoingNotify | None]:
    """(genuine, tampered). V1: signed with the merchant key, then the money changed. V2: a
    genuine notify needs the platform private key, which a merchant does not have; the
    tampered one is signed with the merchant's own private key — a forgery the handler must
    refuse."""
    order = PaidOrder(pid=pid or "1000", trade_no=gateway_trade_no(now),
                      out_trade_no=random_out_trade_no("epay-doctor"), type="alipay",
                      name="epay doctor test", money=TEST_MONEY)
    if md5 is not None:
        genuine = build_notify(url, NotifyPlan(order, md5, now=now))
        tampered = replace(genuine, fields={**genuine.fields, "money": TAMPERED_MONEY})
        return genuine, tampered
    if merchant_private is not None:
        forged: Signer = RsaKeys(private=merchant_private)
        return None, build_notify(url, NotifyPlan(order, forged, now=now))
    return None, None


def probe_notify_url(url: str, *, pid: str, md5: Md5Key | None,
                     merchant_private: RSAPrivateKey | None, now: int,
                     timeout: float = DELIVERY_TIMEOUT_SECONDS,
                     verify_tls: bool = True) -> list[Finding]:
    genuine, tampered = test_notifies(url, pid=pid, md5=md5, merchant_private=merchant_private,
                                      now=now)
    if genuine is None and tampered is None:
        return [finding(CHECK, "probe_genuine_skipped", "warn")]
    answers = asyncio.run(_send([n for n in (genuine, tampered) if n is not None],
                                timeout=timeout + 0.5, verify_tls=verify_tls))
    first = answers[0]
    limit = timeout
    problem = _delivery_problem(first, limit)
    if problem is not None:
        return [problem]
    found = []
    if genuine is None:
        found.append(finding(CHECK, "probe_genuine_skipped", "warn"))
    elif not first.delivered:
        found.append(finding(CHECK, "probe_genuine_refused", "warn",
                             answer=first.short_body(40)))
    tampered_answer = answers[-1] if tampered is not None else None
    if tampered_answer is not None and tampered_answer.answered \
            and counts_success(tampered_answer):
        found.append(finding(CHECK, "probe_tampered_accepted", "fail"))
    if not found:
        found.append(finding(CHECK, "probe_ok", "ok", url=url, ms=round(first.seconds * 1000)))
    return found


def counts_success(answer: Answer) -> bool:
    from ..core.notify import counts_as_delivered

    return counts_as_delivered(answer.body)


def _delivery_problem(answer: Answer, limit: float) -> Finding | None:
    if answer.unreachable:
        return finding(CHECK, "probe_unreachable", "fail", reason=answer.error)
    if answer.redirected:
        return finding(CHECK, "probe_redirect", "fail", status=answer.status,
                       location=answer.location or "?")
    if answer.timed_out or answer.seconds > limit:
        return finding(CHECK, "probe_slow", "fail", ms=round(answer.seconds * 1000),
                       limit=limit)
    if not answer.answered:
        return finding(CHECK, "probe_unreachable", "fail", reason=answer.error)
    return None


async def _send(notifies: list[OutgoingNotify], *, timeout: float,
                verify_tls: bool) -> list[Answer]:
    transport = make_transport(concurrency=1, verify_tls=verify_tls)
    try:
        return [await deliver(transport, notify, timeout=timeout) for notify in notifies]
    finally:
        await transport.aclose()
