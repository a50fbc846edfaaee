"""The demo's engine: one real payment round trip against a local gateway, step by step.

Everything runs in this process on 127.0.0.1: the local gateway (``mock.server``) and epay's
notify listener (``listener.server``) on free ports, their data in a temporary folder that is
removed afterwards — so a running ``epay mock`` is never in the way, and the user's profiles,
orders file and listener journal are never touched. Requests go through the real client
(``gateway.calls`` builds and signs them through core, ``gateway.client`` sends them); the
cashier is used as a buyer's browser uses it (open the pay page, post its form).

Each step records what was signed, what was sent, what came back, and its checks. A step that
fails ends the run (the later ones are reported as not run). Every wait is bounded.
"""

from __future__ import annotations

import queue
import re
import secrets
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

from ..core.errors import EpayError, ExitCode, InputError, NetworkError
from ..core.models import DIALECTS, Dialect, Profile
from ..core.money import amounts_equal, format_wire
from ..core.redact import mask, redact_params, scrub
from ..core.signing import Keys, SignType, pick_sign_type, signed_string
from ..core.words import Text, Texts
from ..gateway import calls
from ..gateway.calls import Call, Merchant
from ..profiles.keys import profile_keys
from ..profiles.resolve import Resolved
from .events import STEP_TITLES, STEPS, Check, DemoResult, Setting, Step

if TYPE_CHECKING:
    import httpx

    from ..gateway.calls import OrderRequest
    from ..gateway.client import GatewayClient
    from ..gateway.replies import Reply
    from ..listener.server import Listener
    from ..mock.notifier import Faults
    from ..mock.server import RunningGateway
    from ..state import LocalState

# What a step shows (signed, sent, received, answered): JSON-shaped, keys masked (events.Step).
Shown = dict[str, Any]

DEFAULT_TIMEOUT = 10.0  # seconds any one wait may take (an HTTP answer, the notify)
SHOWN_BODY = 240  # characters of an answer shown in a step
DEMO_AMOUNT = "1.00"
DEMO_NAME = "月卡 (epay demo)"
DEMO_TYPE = "alipay"
# What a query step shows of the order (--json has all of it).
QUERY_SHOWN = ("code", "msg", "trade_no", "out_trade_no", "type", "money", "status",
               "refundmoney", "endtime")
# What the steps check, and what they found instead, by id (demo.said.<id> in the catalogue).
SAID = {
    "accepted": "the gateway accepted it (code {code}) and gave a trade_no",
    "no_trade_no": "the answer has no trade_no",
    "payurl_cashier": "the pay URL is this gateway's cashier for that trade_no",
    "pay_field": "the pay field is {kind}: {payurl!r}",
    "missing": "missing",
    "html_page": "HTTP 200, an HTML page",
    "http_content_type": "HTTP {status}, {content_type}",
    "no_content_type": "no content type",
    "shows_order": "it shows the order: ￥{money}, {out_trade_no}",
    "order_not_shown": "the page does not show this order's amount and number",
    "pay_form": "it has a form with a pay button (action=pay)",
    "no_pay_form": "the page has no form with a pay button",
    "posts_back": "the form posts back to this gateway",
    "posts_to": "it posts to {url}",
    "http_200": "HTTP 200",
    "http_status": "HTTP {status}",
    "cashier_paid": "the cashier says 支付成功 (paid)",
    "cashier_says": "the cashier says: {body}",
    "notify_arrives": "the receiver gets a notify for {trade_no} within {timeout:g} s",
    "no_notify": "no notify reached the receiver in {timeout:g} s",
    "genuine": "check_callback: genuine (signature valid, amount as ordered, pid {pid}, "
               "trade_status TRADE_SUCCESS)",
    "judged": "check_callback said {verdict}: {reason}",
    "answers_success": "the receiver answers success",
    "answered": "the receiver answered HTTP {status} {answer!r}",
    "delivered": "the gateway counts it delivered",
    "no_delivery": "the gateway has no delivery of it",
    "not_delivered": "the gateway did not count it delivered (HTTP {status}, {body!r})",
    "refund_accepted": "the gateway accepted the refund of {money} (code {code}: {msg})",
    "status": "status {status} ({text})",
    "as_ordered": "trade_no {trade_no} and money {money} as ordered",
    "found": "trade_no {trade_no!r}, money {money!r}",
    "verified": "the answer is signed by the platform and verifies",
    "not_verified": "the answer was not verified",
    "not_so": "it was not so",
    "paid": "paid",
    "refunded": "refunded",
}


said = Texts("demo.said", SAID)


class _StepRecord:
    """A step as it runs: the step methods fill in the fields of a ``Step`` and add checks;
    ``done()`` freezes it."""

    def __init__(self, number: int, name: str, title: str) -> None:
        self.number, self.name, self.title = number, name, title
        self.signed: Shown | None = None
        self.sent: Shown | None = None
        self.received: Shown | None = None
        self.answered: Shown | None = None
        self.error: dict[str, Any] | None = None
        self.said_error: Text | str | None = None
        self.checks: list[Check] = []
        self.ms = 0.0
        self.run = True

    def check(self, what: Text, ok: bool, got: Text | str = "") -> bool:
        self.checks.append(Check(what, bool(ok), "" if ok else got or said("not_so")))
        return bool(ok)

    def done(self) -> Step:
        return Step(self.number, self.name, self.title, self.signed, self.sent, self.received,
                    self.answered, tuple(self.checks), self.error, self.ms, self.run,
                    self.said_error)


class DemoFailed(EpayError):
    """A step did not check out. Exits with that step's code: the error it ended in (4 gateway,
    5 network …), or 7 when a check failed."""

    code = "demo_failed"

    def __init__(self, message: str, hint: str | None = None, *, code: str | None = None,
                 fields: Mapping[str, object] | None = None,
                 exit_code: int = ExitCode.CHECK_FAILED) -> None:
        super().__init__(message, hint, code=code, fields=fields)
        self.exit_code = ExitCode(exit_code)

    @classmethod
    def of(cls, result: DemoResult) -> DemoFailed:
        failed = result.failed_step
        if failed is None:
            return DemoFailed("the round trip did not finish",
                              "the timeline above shows what was sent and what came back; "
                              "--json gives every step", code="demo_unfinished", fields={},
                              exit_code=ExitCode.ERROR)
        fields = {"number": failed.number, "step": failed.name, "fault": result.setting.fault,
                  "failure": failed.failure}  # a phrase: said in the run's language
        if result.setting.fault:  # a caught fault ends without an error (cli/demo.py)
            return DemoFailed("demo step {number} ({step}) failed: {failure}",
                              "the '{fault}' fault should not fail this step — the timeline "
                              "above shows what was sent and what came back; --json gives "
                              "every step", code="demo_failed_fault", fields=fields,
                              exit_code=failed.exit_code)
        return DemoFailed("demo step {number} ({step}) failed: {failure}",
                          "the timeline above shows what was sent and what came back; --json "
                          "gives every step", code="demo_failed", fields=fields,
                          exit_code=failed.exit_code)


OnStep = Callable[[Step], None]
OnSetting = Callable[[Setting], None]


def run_demo(*, dialect: str = Dialect.V1, fault: str = "", timeout: float = DEFAULT_TIMEOUT,
             workdir: Path | str | None = None, on_setting: OnSetting | None = None,
             on_step: OnStep | None = None, clock: Callable[[], float] = time.time) -> DemoResult:
    """Run the round trip and return every step. ``dialect``: ``v1`` (MD5, mapi.php and
    api.php) or ``v2`` (RSA, api/pay/*). ``fault``: a notify fault for the local gateway to
    inject (``tampered-money``, ``bad-signature``, ``dropped`` …) — the demo then shows which
    step catches it. ``timeout``: the bound on every wait. ``workdir``: where the gateway,
    listener and orders files go (default: a temporary folder, removed afterwards).
    ``on_setting``/``on_step`` are called as the run goes (for live output)."""
    if dialect not in DIALECTS:
        raise InputError("dialect must be v1 or v2, not {dialect!r}", code="demo_bad_dialect",
                         fields={"dialect": dialect})
    if not 0 < timeout <= 600:
        raise InputError("timeout {timeout:g} s is not above 0 (and at most 600)",
                         "e.g. 10", code="demo_bad_timeout", fields={"timeout": timeout})
    from ..mock.notifier import parse_faults

    faults = parse_faults([fault]) if fault else ()  # a bad name fails before anything starts
    if workdir is not None:
        return _run_in(Path(workdir), dialect, faults, fault, timeout, on_setting, on_step, clock)
    with tempfile.TemporaryDirectory(prefix="epay-demo-") as folder:
        return _run_in(Path(folder), dialect, faults, fault, timeout, on_setting, on_step, clock)


def _run_in(folder: Path, dialect: str, faults: Faults | tuple[()], fault: str, timeout: float,
            on_setting: OnSetting | None, on_step: OnStep | None,
            clock: Callable[[], float]) -> DemoResult:
    from ..gateway.client import GatewayClient, Settings
    from ..listener.server import start_listener
    from ..mock.server import start_gateway
    from ..state import LocalState

    started = time.perf_counter()
    events: queue.Queue[dict[str, Any]] = queue.Queue()
    state = LocalState(folder / "orders.sqlite3")
    with start_gateway(port=0, data_dir=folder / "gateway", faults=faults,
                       notify_timeout=min(timeout, 5.0)) as gateway:
        merchant, receiver_keys, secret = _merchant(gateway, dialect)
        with start_listener(keys=receiver_keys, journal=folder / "listener.sqlite3",
                            pid=merchant.pid, state=state,
                            on_event=lambda event: events.put(event.to_dict()),
                            secrets_to_mask=(secret,), read_timeout=timeout) as listener:
            setting = Setting(gateway.url, listener.url, dialect, merchant.pid, mask(secret),
                              "RSA" if merchant.v2 else "MD5", fault)
            if on_setting is not None:
                on_setting(setting)
            with GatewayClient(Settings(timeout=timeout, retries=0)) as client, \
                    _browser(timeout) as browser:
                trip = _Trip(gateway, listener, merchant, secret, client, browser, state,
                             events, timeout, clock)
                steps = trip.run(on_step)
    return DemoResult(setting, steps, (time.perf_counter() - started) * 1000)


def _merchant(gateway: RunningGateway, dialect: str) -> tuple[Merchant, Keys, str]:
    """The merchant the demo pays as, the keys its receiver checks notifies with, and the
    secret never to show whole: the local gateway's merchant, as a profile would name it."""
    if dialect == Dialect.V1:  # the sandbox merchant: its refund API is on
        profile = Profile("demo", gateway.url, Dialect.V1, gateway.pid, gateway.key)
    else:
        v2 = gateway.v2
        profile = Profile("demo", gateway.url, Dialect.V2, v2.pid, v2.key,
                          private_key=v2.merchant_private_pem, public_key=v2.platform_public_pem)
    keys = profile_keys(Resolved(profile, {}), private=True, public=True)
    signer = keys.merchant or keys.md5
    merchant = Merchant(profile.gateway, profile.pid, dialect, signer, keys.md5, keys.platform)
    receiver = Keys(md5=keys.md5) if dialect == Dialect.V1 else Keys(rsa=keys.platform)
    return merchant, receiver, profile.key


def _browser(timeout: float) -> httpx.Client:
    """What opens the cashier: a plain HTTP client, as a browser would (no epay signing)."""
    import httpx

    return httpx.Client(timeout=httpx.Timeout(timeout), follow_redirects=False, trust_env=False,
                        headers={"User-Agent": "epay-demo (a buyer's browser)"})


class _Trip:
    """The state one run carries from step to step."""

    def __init__(self, gateway: RunningGateway, listener: Listener, merchant: Merchant,
                 secret: str, client: GatewayClient, browser: httpx.Client, state: LocalState,
                 events: queue.Queue[dict[str, Any]], timeout: float,
                 clock: Callable[[], float]) -> None:
        self.gateway, self.listener, self.merchant = gateway, listener, merchant
        self.secret, self.client, self.browser, self.state = secret, client, browser, state
        self.events, self.timeout, self.clock = events, timeout, clock
        self.order: OrderRequest | None = None  # made by the first step
        self.trade_no = ""
        self.payurl = ""
        self.pay_action = ""

    def run(self, on_step: OnStep | None) -> tuple[Step, ...]:
        steps: list[Step] = []
        failed = False
        for number, name in enumerate(STEPS, 1):
            step = _StepRecord(number, name, STEP_TITLES[name])
            if failed:
                step.run = False
            else:
                began = time.perf_counter()
                try:
                    getattr(self, f"_{name}")(step)
                except EpayError as error:
                    step.error = {"kind": type(error).__name__,
                                  "message": scrub(error.message, [self.secret]),
                                  "exit_code": int(error.exit_code)}
                    step.said_error = _said_error(error, self.secret)
                step.ms = (time.perf_counter() - began) * 1000
            done = step.done()
            failed = not done.ok  # (a step not run is not ok either: the rest stay not run)
            steps.append(done)
            if on_step is not None:
                on_step(done)
        return tuple(steps)

    # ---- helpers --------------------------------------------------------------------

    def _now(self) -> int:
        return int(self.clock())

    @property
    def created(self) -> OrderRequest:
        """The order the first step made (the later steps run only when it did)."""
        if self.order is None:
            raise RuntimeError("the demo's order is made by its first step, which did not run")
        return self.order

    def _send(self, step: _StepRecord, call: Call) -> Reply:
        step.signed = _signed_of(call, mask(self.secret))
        step.sent = _sent_of(call)
        reply = self.client.send(call)
        step.received = {"status": reply.http_status, "body": _short_json(reply.data, self.secret),
                         "verified": reply.verified, "data": _masked(reply.data, self.secret)}
        return reply

    def _browse(self, method: str, url: str, data: Mapping[str, str] | None = None
                ) -> httpx.Response:
        """A request of the buyer's browser; a transport failure is a ``NetworkError``."""
        import httpx

        try:
            return self.browser.request(method, url, data=data)
        except httpx.HTTPError as error:
            reason = " ".join(str(error).split())[:160] or type(error).__name__
            raise NetworkError("{method} {url} failed: {reason} (timeout {timeout:g} s)",
                               code="demo_browser_failed",
                               fields={"method": method, "url": url, "reason": reason,
                                       "timeout": self.timeout}) from None

    # ---- the steps --------------------------------------------------------------------

    def _create(self, step: _StepRecord) -> None:
        now = self._now()
        order = self.order = calls.validate_order(
            money=DEMO_AMOUNT, name=DEMO_NAME, type=DEMO_TYPE, clientip="127.0.0.1",
            out_trade_no=calls.new_out_trade_no(now, secrets.token_hex(3)),
            notify_url=self.listener.url, api=True)
        reply = self._send(step, calls.create_order(self.merchant, order, now))
        from ..gateway.replies import create_fields, pay_field

        created = create_fields(reply.data, v2=self.merchant.v2)
        self.trade_no = created.get("trade_no", "")
        kind, self.payurl = pay_field(created)
        step.check(said("accepted", code=reply.data.get("code")),
                   bool(self.trade_no), said("no_trade_no"))
        step.check(said("payurl_cashier"),
                   kind == "payurl" and self.payurl == f"{self.gateway.url}cashier/{self.trade_no}",
                   said("pay_field", kind=kind or said("missing"), payurl=self.payurl[:80]))
        if self.merchant.v2:
            self._check_verified(step, reply)
        from ..state import RecordedOrder

        # The receiver checks the notify's amount against this, as a shop checks its own order.
        self.state.record_order(RecordedOrder(self.merchant.gateway, self.merchant.pid,
                                              order.out_trade_no, self.trade_no,
                                              order.money, order.name, order.type, now))

    def _cashier(self, step: _StepRecord) -> None:
        step.sent = {"method": "GET", "url": self.payurl}
        response = self._browse("GET", self.payurl)
        page = response.text
        step.received = {"status": response.status_code, "body": _page_text(page)}
        content_type = response.headers.get("content-type", "")
        step.check(said("html_page"),
                   response.status_code == 200 and "text/html" in content_type,
                   said("http_content_type", status=response.status_code,
                        content_type=content_type or said("no_content_type")))
        order = self.created
        step.check(said("shows_order", money=f"{order.money:f}",
                        out_trade_no=order.out_trade_no),
                   f"￥{order.money:f}" in page and order.out_trade_no in page,
                   said("order_not_shown"))
        action = _pay_form_action(page)
        if step.check(said("pay_form"), action is not None, said("no_pay_form")):
            self.pay_action = urljoin(self.payurl, action)
            step.check(said("posts_back"),
                       urlsplit(self.pay_action).netloc == urlsplit(self.gateway.url).netloc,
                       said("posts_to", url=self.pay_action))

    def _pay(self, step: _StepRecord) -> None:
        form = {"action": "pay"}
        step.sent = {"method": "POST", "url": self.pay_action, "form": form}
        response = self._browse("POST", self.pay_action, data=form)
        body = _page_text(response.text)
        step.received = {"status": response.status_code, "body": body}
        step.check(said("http_200"), response.status_code == 200,
                   said("http_status", status=response.status_code))
        step.check(said("cashier_paid"), "支付成功" in response.text,
                   said("cashier_says", body=body[:120]))

    def _notify(self, step: _StepRecord) -> None:
        """The gateway sent the first notify while answering the pay button; the receiver
        judged it (check_callback) and answered. Both sides of it are shown."""
        event = self._notify_event()
        delivery = None
        if event is not None:
            found = self.gateway.wait_for_deliveries(1, trade_no=self.trade_no,
                                                     timeout=self.timeout)
            delivery = found[0] if found else None
        if delivery is not None:
            step.sent = {"by": "the gateway", "method": delivery.get("method", ""),
                         "url": scrub(delivery.get("url", ""), [self.secret])}
        step.check(said("notify_arrives", trade_no=self.trade_no, timeout=self.timeout),
                   event is not None, said("no_notify", timeout=self.timeout))
        if event is None:
            return
        params = event.get("params") or {}
        step.signed = self._notify_signed(params)
        check = event.get("check") or {}
        step.received = {"by": "the receiver", "method": event.get("method", ""),
                         "path": event.get("path", ""), "verdict": event.get("verdict", ""),
                         "reason": event.get("reason", ""), "check": check,
                         "ms": event.get("ms"),
                         "params": redact_params(params)}
        step.answered = {"by": "the receiver", "status": event.get("answer_status"),
                         "body": event.get("answer", "")}
        step.check(said("genuine", pid=self.merchant.pid), event.get("verdict") == "genuine",
                   said("judged", verdict=event.get("verdict"), reason=event.get("reason")))
        step.check(said("answers_success"), event.get("answer") == "success"
                   and event.get("answer_status") == 200,
                   said("answered", status=event.get("answer_status"),
                        answer=str(event.get("answer"))[:60]))
        step.check(said("delivered"),
                   delivery is not None and bool(delivery.get("delivered")),
                   said("no_delivery") if delivery is None else
                   said("not_delivered", status=delivery.get("status"),
                        body=str(delivery.get("body") or delivery.get("error") or "")[:60]))

    def _notify_event(self) -> dict[str, Any] | None:
        deadline = time.monotonic() + self.timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            try:
                event = self.events.get(timeout=remaining)
            except queue.Empty:
                return None
            if event.get("event") == "notify" and event.get("trade_no") == self.trade_no:
                return event

    def _notify_signed(self, params: dict[str, str]) -> Shown:
        sign_type = pick_sign_type(params, preferred=SignType.RSA if self.merchant.v2
                                   else SignType.MD5)
        string = signed_string(params, sign_type)
        shown = string + mask(self.secret) if sign_type is SignType.MD5 else string
        return {"by": "the gateway", "sign_type": str(sign_type), "canonical": string,
                "signed_string": shown, "sign": params.get("sign", ""),
                "key": mask(self.secret) if sign_type is SignType.MD5 else None,
                "with": "the merchant key (MD5)" if sign_type is SignType.MD5
                else "the platform private key (RSA)"}

    def _query(self, step: _StepRecord) -> None:
        self._query_status(step, 1, said("paid"))

    def _refund(self, step: _StepRecord) -> None:
        order = self.created
        out_refund_no = f"R{order.out_trade_no}" if self.merchant.v2 else ""
        reply = self._send(step, calls.refund_order(
            self.merchant, self._now(), money=order.money,
            out_trade_no=order.out_trade_no, out_refund_no=out_refund_no))
        # parse_reply raised unless the answer was a success code (0 here; forks answer 1).
        step.check(said("refund_accepted", money=format_wire(order.money),
                        code=reply.data.get("code"), msg=reply.data.get("msg", "")), True)
        if self.merchant.v2:
            self._check_verified(step, reply)

    def _refunded(self, step: _StepRecord) -> None:
        self._query_status(step, 2, said("refunded"))

    def _query_status(self, step: _StepRecord, status: int, text: Text) -> None:
        from ..gateway.replies import order_fields

        ordered = self.created
        reply = self._send(step, calls.query_order(self.merchant, self._now(),
                                                   out_trade_no=ordered.out_trade_no))
        order = order_fields(reply.data)
        shown = {k: reply.data[k] for k in QUERY_SHOWN if k in reply.data}
        received = step.received
        if received is not None:  # (what _send recorded: its body, shortened to these fields)
            received["body"] = _short_json(shown, self.secret) + (
                f" (+{len(reply.data) - len(shown)} more fields)"
                if len(reply.data) > len(shown) else "")
        step.check(said("status", status=status, text=text), order.get("status") == status,
                   said("status", status=order.get("status"), text=order.get("status_text")))
        step.check(said("as_ordered", trade_no=self.trade_no,
                        money=format_wire(ordered.money)),
                   order.get("trade_no") == self.trade_no
                   and amounts_equal(str(order.get("money", "")), ordered.money),
                   said("found", trade_no=order.get("trade_no"), money=order.get("money")))
        if self.merchant.v2:
            self._check_verified(step, reply)

    def _check_verified(self, step: _StepRecord, reply: Reply) -> None:
        step.check(said("verified"), reply.verified is True,
                   "; ".join(reply.notes) or said("not_verified"))


def _said_error(error: EpayError, secret: str) -> Text | str:
    """A step's error as the timeline says it: a worded error by its code, else its words."""
    if error.templates is None:
        message: str = scrub(error.message, [secret])  # (scrub keeps the shape it is given)
        return message
    return Text(f"errors.{error.words or error.code}.message", error.templates[0],
                  **scrub(dict(error.fields), [secret]))


# ---- what a step shows --------------------------------------------------------------------


def _signed_of(call: Call, key_shown: str) -> Shown | None:
    if call.signed is None:
        return None  # api.php takes the merchant key itself (shown masked in the URL)
    signed = call.signed
    return {"by": "epay (the merchant)", "sign_type": str(signed.sign_type),
            "canonical": signed.canonical, "signed_string": signed.signed_string,
            "sign": signed.sign, "key": key_shown if signed.sign_type is SignType.MD5 else None,
            "with": "the merchant key (MD5)" if signed.sign_type is SignType.MD5
            else "the merchant private key (RSA)"}


def _sent_of(call: Call) -> Shown:
    sent: Shown = {"method": call.method, "url": call.shown_url}
    if call.form is not None:
        sent["form"] = redact_params(call.form)
    return sent


def _masked(data: Mapping[str, Any], secret: str) -> dict[str, Any]:
    """An answer fit to show: a ``key`` field masked, the merchant key masked anywhere."""
    shown = dict(data)
    if "key" in shown:
        shown["key"] = mask(str(shown["key"]))
    masked: dict[str, Any] = scrub(shown, [secret])  # (scrub keeps the shape it is given)
    return masked


def _short_json(data: Mapping[str, Any], secret: str) -> str:
    import json

    text = json.dumps(_masked(data, secret), ensure_ascii=False, separators=(",", ":"))
    return text if len(text) <= SHOWN_BODY else text[:SHOWN_BODY] + "…"


def _page_text(page: str) -> str:
    from ..gateway.replies import page_text

    text = page_text(page)
    return text if len(text) <= SHOWN_BODY else text[:SHOWN_BODY] + "…"


_FORM = re.compile(r"<form\b[^>]*>(.*?)</form>", re.IGNORECASE | re.DOTALL)
_ACTION = re.compile(r"""\baction\s*=\s*["']([^"']*)["']""", re.IGNORECASE)
_METHOD_POST = re.compile(r"""\bmethod\s*=\s*["']?post\b""", re.IGNORECASE)
_PAY_BUTTON = re.compile(r"""<button\b[^>]*\bname\s*=\s*["']action["'][^>]*\bvalue\s*=\s*["']pay["']""",
                         re.IGNORECASE)


def _pay_form_action(page: str) -> str | None:
    """Where the cashier's pay button posts (what a browser would submit), or None."""
    import html

    for match in _FORM.finditer(page):
        tag = page[match.start():page.index(">", match.start()) + 1]
        if _METHOD_POST.search(tag) and _PAY_BUTTON.search(match.group(1)):
            action = _ACTION.search(tag)
            return html.unescape(action.group(1)) if action else ""
    return None


__all__ = ["DemoFailed", "DemoResult", "Setting", "Step", "STEPS", "run_demo"]
