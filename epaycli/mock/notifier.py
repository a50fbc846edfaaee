"""Notify delivery as a real gateway does it, and the faults a merchant's handler must survive.

A real server sends a GET to ``notify_url`` with the signed fields in the query string, waits
5 s for an answer whose body contains ``success``, follows no redirect, checks no certificate,
and (when its cron runs) tries again at about 0, 1, 3, 19 and 55 minutes. Here the schedule is
multiplied by ``time_scale`` (0.001 makes 55 minutes 3.3 s). The first attempt of a payment
made through ``sandbox/pay`` or the cashier is made in the paying request; every later one runs
on the notifier's own threads, so a slow merchant never holds up the gateway's answers.

Faults (``--fault``, or per order):
  duplicate        every attempt is sent twice
  delayed[=S]      the first attempt waits S seconds (default 60) × time_scale
  dropped          no notify at all (as when an operator marks an order paid by hand)
  tampered_money   money changed *before* signing: a genuinely signed notify for the wrong
                   amount — only the handler's own amount check catches it
  bad_signature    the sign is altered: only the signature check catches it
  post             a POST form instead of a GET (some compatible gateways do this)
"""

from __future__ import annotations

import base64
import heapq
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, TypedDict

from ..core.errors import InputError
from ..core.models import Dialect
from ..core.notify import (
    DELIVERY_TIMEOUT_SECONDS,
    RETRY_SCHEDULE_MINUTES,
    PaidOrder,
    counts_as_delivered,
    notify_fields,
    signed_notify,
)
from ..core.php import http_build_query
from ..core.signing import Md5Key, RsaKeys
from .events import NotifyAttempt
from .quirks import Quirks
from .store import GatewayStore, Merchant, Order

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

FAULT_NAMES = ("duplicate", "delayed", "dropped", "tampered_money", "bad_signature", "post")
DEFAULT_DELAY_SECONDS = 60.0


class NotifyOutcome(TypedDict):
    """What one notify (or its not being sent) came to: the pay API and the cashier say it."""

    url: str
    delivered: bool
    status: int | None
    body: str
    error: str | None

BODY_LIMIT = 64 * 1024  # of the merchant's answer: enough to find "success"
SHOWN_BODY = 500  # characters of the answer kept per delivery
# What a real server's curl sends (captured; §8.14 of the protocol notes).
NOTIFY_HEADERS = {
    "User-Agent": "Mozilla/5.0 (Windows NT 10.0; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) "
                  "Chrome/78.0.3904.108 Safari/537.36",
    "Accept": "*/*",
    "Accept-Language": "zh-CN,zh;q=0.8",
    "Connection": "close",
}


@dataclass(frozen=True)
class Faults:
    names: frozenset[str] = frozenset()
    delay_seconds: float = DEFAULT_DELAY_SECONDS

    def __contains__(self, name: str) -> bool:
        return name in self.names

    def __or__(self, other: Faults) -> Faults:
        delay = other.delay_seconds if "delayed" in other.names else self.delay_seconds
        return Faults(self.names | other.names, delay)

    def text(self) -> str:
        return ",".join(f"delayed={self.delay_seconds:g}" if name == "delayed" else name
                        for name in sorted(self.names))


def parse_faults(specs: Iterable[str]) -> Faults:
    """``duplicate``, ``delayed=5``, ``tampered-money`` … (repeated or comma-separated)."""
    names: set[str] = set()
    delay = DEFAULT_DELAY_SECONDS
    for spec in specs:
        for piece in str(spec).split(","):
            piece = piece.strip()
            if not piece:
                continue
            name, _, value = piece.partition("=")
            name = name.strip().lower().replace("-", "_")
            if name not in FAULT_NAMES:
                raise InputError("unknown fault {fault!r}", "faults are: {faults}",
                                 code="unknown_fault",
                                 fields={"fault": piece, "faults": ", ".join(FAULT_NAMES)})
            if value:
                if name != "delayed":
                    raise InputError("fault {fault!r} takes no value", "write it bare",
                                     code="fault_takes_no_value", fields={"fault": name})
                try:
                    delay = float(value)
                except ValueError:
                    delay = -1.0
                if not 0 <= delay <= 86400:
                    raise InputError("delay {value!r} is not a number of seconds (0-86400)",
                                     "e.g. delayed=30", code="bad_fault_delay",
                                     fields={"value": value})
            names.add(name)
    return Faults(frozenset(names), delay)


def notify_params(order: Order, merchant: Merchant, *, quirks: Quirks,
                  platform_private: RSAPrivateKey, now: int, faults: Faults) -> dict[str, str]:
    """The signed fields of this order's notify, as this gateway sends them."""
    unsigned: tuple[str, ...] = ()
    payment_type = order.type
    if not payment_type:  # paid without a type: real servers say type=0 and do not sign it
        payment_type = "0"
        if quirks.type0_unsigned:
            unsigned = ("type",)
    money = order.money
    if "tampered_money" in faults:
        money = Decimal("0.02") if money == Decimal("0.01") else Decimal("0.01")
    v2 = order.dialect == Dialect.V2
    paid = PaidOrder(
        pid=str(order.pid), trade_no=order.trade_no, out_trade_no=order.out_trade_no,
        type=payment_type, name="product" if quirks.name_product else order.name, money=money,
        param=order.param, api_trade_no=(order.api_trade_no or "") if v2 else "",
        buyer=(order.buyer or "") if v2 else "")
    fields = notify_fields(paid, money_format="gateway" if quirks.float_money else "2dp")
    signer = RsaKeys(private=platform_private) if v2 else Md5Key(merchant.key)
    sent = signed_notify(fields, signer, now=now, unsigned=unsigned)
    if "bad_signature" in faults:
        sent["sign"] = _altered(sent["sign"])
    return sent


def _altered(sign: str) -> str:
    """A sign of the right shape that no key made."""
    if len(sign) == 32:
        return ("0" if sign[0] != "0" else "1") + sign[1:]
    raw = bytearray(base64.b64decode(sign))
    raw[len(raw) // 2] ^= 0x01
    return base64.b64encode(bytes(raw)).decode("ascii")


def notify_target(notify_url: str) -> str:
    """Where the GET goes: a URL without a scheme is sent over http, as real servers do."""
    return notify_url if "://" in notify_url else "http://" + notify_url


def notify_get_url(notify_url: str, params: dict[str, str]) -> str:
    target = notify_target(notify_url)
    return target + ("&" if "?" in target else "?") + http_build_query(params)


class Notifier:
    """Sends notifies and schedules their retries; one scheduler thread, a few sender threads."""

    def __init__(self, store: GatewayStore, build: Callable[[Order, Faults, int], dict[str, str]],
                 *, time_scale: float, faults: Faults,
                 on_event: Callable[[NotifyAttempt], None] | None = None,
                 clock: Callable[[], float] = time.time,
                 delivery_timeout: float = DELIVERY_TIMEOUT_SECONDS) -> None:
        import httpx  # only the gateway sends notifies: the CLI's other commands never pay for it

        self._store = store
        self._build = build
        self.time_scale = time_scale
        self.faults = faults
        self._on_event = on_event
        self._clock = clock
        self.delivery_timeout = delivery_timeout
        self._heap: list[tuple[float, int, str, int, int]] = []
        self._sequence = 0
        self._wake = threading.Condition()
        self._stopping = False
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="epay-mock-notify")
        self._httpx = httpx
        self._client = httpx.Client(
            verify=False,  # real gateways do not check the merchant's certificate
            follow_redirects=False, headers=NOTIFY_HEADERS,
            timeout=httpx.Timeout(delivery_timeout),
            limits=httpx.Limits(max_keepalive_connections=0))
        self._thread = threading.Thread(target=self._run, name="epay-mock-scheduler", daemon=True)

    # ---- life -------------------------------------------------------------------------

    def start(self) -> None:
        """Start, and take up the retries a previous run of this data dir left pending."""
        for order in self._store.pending_notifies():
            self._schedule(order.trade_no, order.notify_attempts + 1,
                           order.notify_next_at or self._clock())
        self._thread.start()

    def close(self) -> None:
        with self._wake:
            self._stopping = True
            self._wake.notify_all()
        if self._thread.is_alive():
            self._thread.join(timeout=2)
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._client.close()

    # ---- the payment's notify ---------------------------------------------------------

    def order_faults(self, extra: Faults) -> Faults:
        return self.faults | extra

    def paid(self, order: Order, faults: Faults) -> NotifyOutcome:
        """Start the notify of a just-paid order; the first attempt is made now (unless a fault
        says otherwise) and its outcome returned."""
        target = notify_target(order.notify_url)
        if "dropped" in faults:
            self._store.set_notify_state(order.trade_no, state="dropped", attempts=0, next_at=None)
            self._record(order, 0, 1, "-", target, None, "", "dropped (fault: dropped)", False,
                         faults, None)
            return {"url": target, "delivered": False, "status": None, "body": "",
                    "error": "not sent (fault: dropped)"}
        start = order.paid_at or self._clock()
        if "delayed" in faults:
            due = start + faults.delay_seconds * self.time_scale
            self._store.set_notify_state(order.trade_no, state="pending", attempts=0, next_at=due)
            self._schedule(order.trade_no, 1, due)
            return {"url": target, "delivered": False, "status": None, "body": "",
                    "error": f"delayed by {faults.delay_seconds * self.time_scale:g} s "
                             "(fault: delayed)"}
        return self._attempt(order.trade_no, 1, copy=1)

    def renotify(self, trade_no: str) -> NotifyOutcome:
        """Send the notify of a paid order again now (the admin's 补单), with its retries."""
        order = self._store.order_by_trade_no(trade_no)
        assert order is not None
        return self._attempt(trade_no, order.notify_attempts + 1, copy=1, manual=True)

    # ---- scheduling -------------------------------------------------------------------

    def _schedule(self, trade_no: str, attempt: int, due: float, copy: int = 1) -> None:
        with self._wake:
            self._sequence += 1
            heapq.heappush(self._heap, (due, self._sequence, trade_no, attempt, copy))
            self._wake.notify()

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._stopping and (not self._heap or self._heap[0][0] > self._clock()):
                    timeout = None if not self._heap else max(0.0, self._heap[0][0] - self._clock())
                    self._wake.wait(timeout)
                if self._stopping:
                    return
                _, _, trade_no, attempt, copy = heapq.heappop(self._heap)
            try:
                self._pool.submit(self._attempt_quietly, trade_no, attempt, copy)
            except RuntimeError:  # the pool is shutting down
                return

    def _attempt_quietly(self, trade_no: str, attempt: int, copy: int) -> None:
        try:
            self._attempt(trade_no, attempt, copy=copy)
        except Exception:
            if not self._stopping:
                raise

    # ---- one attempt ------------------------------------------------------------------

    def _attempt(self, trade_no: str, attempt: int, *, copy: int, manual: bool = False
                 ) -> NotifyOutcome:
        order = self._store.order_by_trade_no(trade_no)
        if order is None or order.status == 0:
            return {"url": "", "delivered": False, "status": None, "body": "",
                    "error": "order not paid"}
        faults = _stored_faults(order.faults)
        params = self._build(order, faults, int(self._clock()))
        method = "POST" if "post" in faults else "GET"
        target = notify_target(order.notify_url)
        url = target if method == "POST" else notify_get_url(order.notify_url, params)
        status, body, error, elapsed = self._send(method, url, params)
        delivered = error is None and counts_as_delivered(body)
        self._record(order, attempt, copy, method, url, status, body, error, delivered, faults,
                     elapsed)
        if copy == 1:
            if "duplicate" in faults:
                self._schedule(trade_no, attempt, self._clock(), copy=2)
            self._advance(order, attempt, delivered, manual)
        return {"url": url, "delivered": delivered, "status": status, "body": body[:SHOWN_BODY],
                "error": error}

    def _advance(self, order: Order, attempt: int, delivered: bool, manual: bool) -> None:
        if delivered:
            self._store.set_notify_state(order.trade_no, state="delivered", attempts=attempt,
                                         next_at=None)
            return
        if attempt >= len(RETRY_SCHEDULE_MINUTES):
            self._store.set_notify_state(order.trade_no, state="failed", attempts=attempt,
                                         next_at=None)
            return
        faults = _stored_faults(order.faults)
        base = order.paid_at or self._clock()
        if "delayed" in faults:
            base += faults.delay_seconds * self.time_scale
        due = base + RETRY_SCHEDULE_MINUTES[attempt] * 60 * self.time_scale
        if manual:
            due = max(due, self._clock())
        self._store.set_notify_state(order.trade_no, state="pending", attempts=attempt, next_at=due)
        self._schedule(order.trade_no, attempt + 1, due)

    def _send(self, method: str, url: str, params: dict[str, str]
              ) -> tuple[int | None, str, str | None, int]:
        """(status, body, error, elapsed ms): at most the delivery timeout (5 s, as real
        servers wait) in all, the answer read up to 64 KiB."""
        httpx = self._httpx
        began = time.monotonic()
        try:
            if method == "POST":
                request = self._client.build_request("POST", url, data=params)
            else:
                request = self._client.build_request("GET", url)
            response = self._client.send(request, stream=True)
            try:
                chunks = bytearray()
                for chunk in response.iter_bytes():
                    chunks += chunk
                    if len(chunks) >= BODY_LIMIT:
                        break
                    if time.monotonic() - began > self.delivery_timeout:
                        raise httpx.ReadTimeout("the answer took too long")
            finally:
                response.close()
            body = bytes(chunks[:BODY_LIMIT]).decode("utf-8", "replace")
            return response.status_code, body, None, _ms(began)
        except httpx.TimeoutException:
            return None, "", f"timed out after {self.delivery_timeout:g} s", _ms(began)
        except (httpx.HTTPError, httpx.InvalidURL, ValueError, OSError) as error:
            reason = str(error) or type(error).__name__
            return None, "", f"{type(error).__name__}: {reason}"[:300], _ms(began)

    def _record(self, order: Order, attempt: int, copy: int, method: str, url: str,
                status: int | None, body: str, error: str | None, delivered: bool,
                faults: Faults, elapsed: int | None) -> None:
        at, shown, fault_text = self._clock(), body[:SHOWN_BODY], faults.text()
        self._store.record_delivery({
            "trade_no": order.trade_no, "attempt": attempt, "copy": copy, "at": at,
            "method": method, "url": url, "status": status, "body": shown, "error": error,
            "delivered": int(delivered), "faults": fault_text, "elapsed_ms": elapsed})
        if self._on_event is not None:
            try:
                self._on_event(NotifyAttempt(
                    order.out_trade_no, order.trade_no, attempt, copy, at, method, url,
                    status, shown, error, delivered, fault_text, elapsed))
            except Exception:  # noqa: BLE001 - a broken observer must not stop deliveries
                pass


def _stored_faults(text: str) -> Faults:
    return parse_faults([text]) if text else Faults()


def _ms(began: float) -> int:
    return int((time.monotonic() - began) * 1000)
