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
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urljoin, urlsplit

from ..core.errors import EpayError, ExitCode, InputError, NetworkError
from ..core.money import amounts_equal, format_wire
from ..core.redact import mask, redact_params, scrub
from ..core.signing import Keys, Md5Key, RsaKeys, SignType, pick_sign_type, signed_string
from ..gateway import calls
from ..gateway.calls import Call, Merchant

DIALECTS = ("v1", "v2")
DEFAULT_TIMEOUT = 10.0  # seconds any one wait may take (an HTTP answer, the notify)
SHOWN_BODY = 240  # characters of an answer shown in a step
DEMO_AMOUNT = "1.00"
DEMO_NAME = "月卡 (epay demo)"
DEMO_TYPE = "alipay"
# What a query step shows of the order (--json has all of it).
QUERY_SHOWN = ("code", "msg", "trade_no", "out_trade_no", "type", "money", "status",
               "refundmoney", "endtime")
STEP_TITLES = {
    "create": "create the order",
    "cashier": "open the cashier (the payurl), as the buyer's browser does",
    "pay": "pay in the cashier (its pay button)",
    "notify": "receive the notify, verify it, answer success",
    "query": "query the order: paid",
    "refund": "refund it",
    "refunded": "query the order again: refunded",
}
STEPS = tuple(STEP_TITLES)


@dataclass
class Check:
    """What was expected (``what``), whether it held, and what was found instead (``got``)."""

    what: str
    ok: bool
    got: str = ""

    def to_dict(self) -> dict:
        return {"check": self.what, "ok": self.ok, "got": None if self.ok else self.got}


@dataclass
class Step:
    """One step of the round trip. ``signed``/``sent``/``received``/``answered`` are plain
    dicts (keys masked), or None where the step has none."""

    number: int
    name: str
    title: str
    signed: dict | None = None
    sent: dict | None = None
    received: dict | None = None
    answered: dict | None = None
    checks: list[Check] = field(default_factory=list)
    error: dict | None = None  # {"kind", "message", "exit_code"}
    ms: float = 0.0
    run: bool = True

    @property
    def ok(self) -> bool:
        return (self.run and self.error is None and bool(self.checks)
                and all(check.ok for check in self.checks))

    def check(self, what: str, ok: bool, got: str = "") -> bool:
        self.checks.append(Check(what, bool(ok), "" if ok else got or "it was not so"))
        return bool(ok)

    @property
    def exit_code(self) -> int:
        """What a failure of this step exits with: the error's own code, else check failed."""
        if self.ok:
            return ExitCode.OK
        if self.error is not None:
            return int(self.error["exit_code"])
        return ExitCode.CHECK_FAILED

    @property
    def failure(self) -> str:
        """One line: why this step failed ('' when it did not)."""
        if self.ok or not self.run:
            return ""
        if self.error is not None:
            return self.error["message"]
        # The first failed check says it; the later ones mostly follow from it.
        first = next((check for check in self.checks if not check.ok), None)
        return "nothing was checked" if first is None else first.got

    def to_dict(self) -> dict:
        return {"step": self.number, "name": self.name, "title": self.title, "ok": self.ok,
                "run": self.run, "signed": self.signed, "sent": self.sent,
                "received": self.received, "answered": self.answered,
                "checks": [check.to_dict() for check in self.checks], "error": self.error,
                "ms": round(self.ms, 1)}


@dataclass
class Setting:
    """Where the demo ran: shown before the first step."""

    gateway: str
    receiver: str
    dialect: str
    pid: str
    key: str  # masked
    sign_type: str
    fault: str


@dataclass
class DemoResult:
    setting: Setting
    steps: list[Step]
    ms: float

    @property
    def ok(self) -> bool:
        return len(self.steps) == len(STEPS) and all(step.ok for step in self.steps)

    @property
    def failed_step(self) -> Step | None:
        return next((step for step in self.steps if step.run and not step.ok), None)

    @property
    def exit_code(self) -> int:
        failed = self.failed_step
        return ExitCode.OK if failed is None else failed.exit_code

    def to_dict(self) -> dict:
        failed = self.failed_step
        return {"ok": self.ok, "exit_code": int(self.exit_code),
                "failed_step": None if failed is None else failed.name,
                "failure": "" if failed is None else failed.failure,
                "gateway": self.setting.gateway, "receiver": self.setting.receiver,
                "dialect": self.setting.dialect, "pid": self.setting.pid,
                "key": self.setting.key, "sign_type": self.setting.sign_type,
                "fault": self.setting.fault or None, "ms": round(self.ms, 1),
                "steps": [step.to_dict() for step in self.steps]}


class DemoFailed(EpayError):
    """A step did not check out. Exits with that step's code: the error it ended in (4 gateway,
    5 network …), or 7 when a check failed."""

    code = "demo_failed"

    def __init__(self, result: DemoResult) -> None:
        failed = result.failed_step
        if failed is None:
            message, exit_code = "the round trip did not finish", ExitCode.ERROR
        else:
            message = f"demo step {failed.number} ({failed.name}) failed: {failed.failure}"
            exit_code = ExitCode(failed.exit_code)
        fault = result.setting.fault
        hint = (f"that is what the '{fault}' fault does: step {failed.number} is where it is "
                "caught" if fault and failed is not None else
                "the timeline above shows what was sent and what came back; "
                "--json gives every step")
        super().__init__(message, hint)
        self.exit_code = exit_code


OnStep = Callable[[Step], None]
OnSetting = Callable[[Setting], None]


def run_demo(*, dialect: str = "v1", fault: str = "", timeout: float = DEFAULT_TIMEOUT,
             workdir: Path | str | None = None, on_setting: OnSetting | None = None,
             on_step: OnStep | None = None, clock: Callable[[], float] = time.time) -> DemoResult:
    """Run the round trip and return every step. ``dialect``: ``v1`` (MD5, mapi.php and
    api.php) or ``v2`` (RSA, api/pay/*). ``fault``: a notify fault for the local gateway to
    inject (``tampered-money``, ``bad-signature``, ``dropped`` …) — the demo then shows which
    step catches it. ``timeout``: the bound on every wait. ``workdir``: where the gateway,
    listener and orders files go (default: a temporary folder, removed afterwards).
    ``on_setting``/``on_step`` are called as the run goes (for live output)."""
    if dialect not in DIALECTS:
        raise InputError(f"dialect must be v1 or v2, not {dialect!r}", code="bad_dialect")
    if not 0 < timeout <= 600:
        raise InputError(f"timeout {timeout:g} s is not above 0 (and at most 600)",
                         "e.g. 10", code="bad_timeout")
    from ..mock.notifier import parse_faults

    faults = parse_faults([fault]) if fault else ()  # a bad name fails before anything starts
    if workdir is not None:
        return _run_in(Path(workdir), dialect, faults, fault, timeout, on_setting, on_step, clock)
    with tempfile.TemporaryDirectory(prefix="epay-demo-") as folder:
        return _run_in(Path(folder), dialect, faults, fault, timeout, on_setting, on_step, clock)


def _run_in(folder: Path, dialect, faults, fault, timeout, on_setting, on_step,
            clock) -> DemoResult:
    from ..gateway.client import GatewayClient, Settings
    from ..listener.server import start_listener
    from ..mock.server import start_gateway
    from ..state import LocalState

    started = time.perf_counter()
    events: queue.Queue[dict] = queue.Queue()
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


def _merchant(gateway, dialect: str) -> tuple[Merchant, Keys, str]:
    """The merchant the demo pays as, the keys its receiver checks notifies with, and the
    secret never to show whole."""
    if dialect == "v1":
        key = Md5Key(gateway.key)  # the sandbox merchant: its refund API is on
        return Merchant(gateway.url, gateway.pid, "v1", key, key), Keys(md5=key), gateway.key
    from ..core.signing import load_private_key, load_public_key

    v2 = gateway.v2
    platform = RsaKeys(public=load_public_key(v2.platform_public_pem))
    merchant = Merchant(gateway.url, v2.pid, "v2",
                        RsaKeys(private=load_private_key(v2.merchant_private_pem)),
                        Md5Key(v2.key), platform)
    return merchant, Keys(rsa=platform), v2.key


def _browser(timeout: float):
    """What opens the cashier: a plain HTTP client, as a browser would (no epay signing)."""
    import httpx

    return httpx.Client(timeout=httpx.Timeout(timeout), follow_redirects=False, trust_env=False,
                        headers={"User-Agent": "epay-demo (a buyer's browser)"})


class _Trip:
    """The state one run carries from step to step."""

    def __init__(self, gateway, listener, merchant: Merchant, secret: str, client, browser,
                 state, events: queue.Queue, timeout: float, clock) -> None:
        self.gateway, self.listener, self.merchant = gateway, listener, merchant
        self.secret, self.client, self.browser, self.state = secret, client, browser, state
        self.events, self.timeout, self.clock = events, timeout, clock
        self.order = None
        self.trade_no = ""
        self.payurl = ""
        self.pay_action = ""

    def run(self, on_step: OnStep | None) -> list[Step]:
        steps: list[Step] = []
        failed = False
        for number, name in enumerate(STEPS, 1):
            step = Step(number, name, STEP_TITLES[name])
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
                step.ms = (time.perf_counter() - began) * 1000
                failed = not step.ok
            steps.append(step)
            if on_step is not None:
                on_step(step)
        return steps

    # ---- helpers --------------------------------------------------------------------

    def _now(self) -> int:
        return int(self.clock())

    def _send(self, step: Step, call: Call):
        step.signed = _signed_of(call, mask(self.secret))
        step.sent = _sent_of(call)
        reply = self.client.send(call)
        step.received = {"status": reply.http_status, "body": _short_json(reply.data, self.secret),
                         "verified": reply.verified, "data": _masked(reply.data, self.secret)}
        return reply

    def _browse(self, method: str, url: str, **form):
        """A request of the buyer's browser; a transport failure is a ``NetworkError``."""
        import httpx

        try:
            return self.browser.request(method, url, **form)
        except httpx.HTTPError as error:
            reason = " ".join(str(error).split())[:160] or type(error).__name__
            raise NetworkError(f"{method} {url} failed: {reason} (timeout {self.timeout:g} s)",
                               code="network_connect") from None

    # ---- the steps --------------------------------------------------------------------

    def _create(self, step: Step) -> None:
        now = self._now()
        self.order = calls.validate_order(
            money=DEMO_AMOUNT, name=DEMO_NAME, type=DEMO_TYPE, clientip="127.0.0.1",
            out_trade_no=calls.new_out_trade_no(now, secrets.token_hex(3)),
            notify_url=self.listener.url, api=True)
        reply = self._send(step, calls.create_order(self.merchant, self.order, now))
        from ..gateway.replies import create_fields, pay_field

        created = create_fields(reply.data, v2=self.merchant.v2)
        self.trade_no = created.get("trade_no", "")
        kind, self.payurl = pay_field(created)
        step.check(f"the gateway accepted it (code {reply.data.get('code')}) and gave a trade_no",
                   bool(self.trade_no), "the answer has no trade_no")
        step.check("the pay URL is this gateway's cashier for that trade_no",
                   kind == "payurl" and self.payurl == f"{self.gateway.url}cashier/{self.trade_no}",
                   f"the pay field is {kind or 'missing'}: {self.payurl[:80]!r}")
        if self.merchant.v2:
            self._check_verified(step, reply)
        from ..state import RecordedOrder

        # The receiver checks the notify's amount against this, as a shop checks its own order.
        self.state.record_order(RecordedOrder(self.merchant.gateway, self.merchant.pid,
                                              self.order.out_trade_no, self.trade_no,
                                              self.order.money, self.order.name,
                                              self.order.type, now))

    def _cashier(self, step: Step) -> None:
        step.sent = {"method": "GET", "url": self.payurl}
        response = self._browse("GET", self.payurl)
        page = response.text
        step.received = {"status": response.status_code, "body": _page_text(page)}
        content_type = response.headers.get("content-type", "")
        step.check("HTTP 200, an HTML page",
                   response.status_code == 200 and "text/html" in content_type,
                   f"HTTP {response.status_code}, {content_type or 'no content type'}")
        step.check(f"it shows the order: ￥{self.order.money:f}, {self.order.out_trade_no}",
                   f"￥{self.order.money:f}" in page and self.order.out_trade_no in page,
                   "the page does not show this order's amount and number")
        action = _pay_form_action(page)
        if step.check("it has a form with a pay button (action=pay)", action is not None,
                      "the page has no form with a pay button"):
            self.pay_action = urljoin(self.payurl, action)
            step.check("the form posts back to this gateway",
                       urlsplit(self.pay_action).netloc == urlsplit(self.gateway.url).netloc,
                       f"it posts to {self.pay_action}")

    def _pay(self, step: Step) -> None:
        form = {"action": "pay"}
        step.sent = {"method": "POST", "url": self.pay_action, "form": form}
        response = self._browse("POST", self.pay_action, data=form)
        step.received = {"status": response.status_code, "body": _page_text(response.text)}
        step.check("HTTP 200", response.status_code == 200, f"HTTP {response.status_code}")
        step.check("the cashier says 支付成功 (paid)", "支付成功" in response.text,
                   f"the cashier says: {step.received['body'][:120]}")

    def _notify(self, step: Step) -> None:
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
        if not step.check(f"the receiver gets a notify for {self.trade_no} within "
                          f"{self.timeout:g} s", event is not None,
                          f"no notify reached the receiver in {self.timeout:g} s"):
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
        step.check("check_callback: genuine (signature valid, amount as ordered, pid "
                   f"{self.merchant.pid}, trade_status TRADE_SUCCESS)",
                   event.get("verdict") == "genuine",
                   f"check_callback said {event.get('verdict')}: {event.get('reason')}")
        step.check("the receiver answers success", event.get("answer") == "success"
                   and event.get("answer_status") == 200,
                   f"the receiver answered HTTP {event.get('answer_status')} "
                   f"{str(event.get('answer'))[:60]!r}")
        step.check("the gateway counts it delivered",
                   delivery is not None and bool(delivery.get("delivered")),
                   "the gateway has no delivery of it" if delivery is None else
                   f"the gateway did not count it delivered (HTTP {delivery.get('status')}, "
                   f"{str(delivery.get('body') or delivery.get('error') or '')[:60]!r})")

    def _notify_event(self) -> dict | None:
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

    def _notify_signed(self, params: dict) -> dict:
        sign_type = pick_sign_type(params, preferred=SignType.RSA if self.merchant.v2
                                   else SignType.MD5)
        string = signed_string(params, sign_type)
        shown = string + mask(self.secret) if sign_type is SignType.MD5 else string
        return {"by": "the gateway", "sign_type": str(sign_type), "canonical": string,
                "signed_string": shown, "sign": params.get("sign", ""),
                "key": mask(self.secret) if sign_type is SignType.MD5 else None,
                "with": "the merchant key (MD5)" if sign_type is SignType.MD5
                else "the platform private key (RSA)"}

    def _query(self, step: Step) -> None:
        self._query_status(step, 1, "paid")

    def _refund(self, step: Step) -> None:
        out_refund_no = f"R{self.order.out_trade_no}" if self.merchant.v2 else ""
        reply = self._send(step, calls.refund_order(
            self.merchant, self._now(), money=self.order.money,
            out_trade_no=self.order.out_trade_no, out_refund_no=out_refund_no))
        # parse_reply raised unless the answer was a success code (0 here; forks answer 1).
        step.check(f"the gateway accepted the refund of {format_wire(self.order.money)} "
                   f"(code {reply.data.get('code')}: {reply.data.get('msg', '')})", True)
        if self.merchant.v2:
            self._check_verified(step, reply)

    def _refunded(self, step: Step) -> None:
        self._query_status(step, 2, "refunded")

    def _query_status(self, step: Step, status: int, text: str) -> None:
        from ..gateway.replies import order_fields

        reply = self._send(step, calls.query_order(self.merchant, self._now(),
                                                   out_trade_no=self.order.out_trade_no))
        order = order_fields(reply.data)
        shown = {k: reply.data[k] for k in QUERY_SHOWN if k in reply.data}
        step.received["body"] = _short_json(shown, self.secret) + (
            f" (+{len(reply.data) - len(shown)} more fields)" if len(reply.data) > len(shown) else "")
        step.check(f"status {status} ({text})", order.get("status") == status,
                   f"status {order.get('status')} ({order.get('status_text')})")
        step.check(f"trade_no {self.trade_no} and money {format_wire(self.order.money)} as "
                   "ordered", order.get("trade_no") == self.trade_no
                   and amounts_equal(str(order.get("money", "")), self.order.money),
                   f"trade_no {order.get('trade_no')!r}, money {order.get('money')!r}")
        if self.merchant.v2:
            self._check_verified(step, reply)

    def _check_verified(self, step: Step, reply) -> None:
        step.check("the answer is signed by the platform and verifies", reply.verified is True,
                   "; ".join(reply.notes) or "the answer was not verified")


# ---- what a step shows --------------------------------------------------------------------


def _signed_of(call: Call, key_shown: str) -> dict | None:
    if call.signed is None:
        return None  # api.php takes the merchant key itself (shown masked in the URL)
    signed = call.signed
    return {"by": "epay (the merchant)", "sign_type": str(signed.sign_type),
            "canonical": signed.canonical, "signed_string": signed.signed_string,
            "sign": signed.sign, "key": key_shown if signed.sign_type is SignType.MD5 else None,
            "with": "the merchant key (MD5)" if signed.sign_type is SignType.MD5
            else "the merchant private key (RSA)"}


def _sent_of(call: Call) -> dict:
    sent = {"method": call.method, "url": call.shown_url}
    if call.form is not None:
        sent["form"] = redact_params(call.form)
    return sent


def _masked(data: dict, secret: str) -> dict:
    """An answer fit to show: a ``key`` field masked, the merchant key masked anywhere."""
    shown = dict(data)
    if "key" in shown:
        shown["key"] = mask(str(shown["key"]))
    return scrub(shown, [secret])


def _short_json(data: dict, secret: str) -> str:
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
