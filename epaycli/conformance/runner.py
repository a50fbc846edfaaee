"""Running the suite: each stage's cases at once where they cannot disturb each other, in
sequence where the shop's state must be read between them. The one place here that does I/O
(httpx); it returns a ``CheckReport`` and never prints."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import quote

from ..core.errors import EpayError, NetworkError
from ..core.words import Text
from .cases import CASES, Observed, Stage, Suite, grade_case
from .delivery import GATEWAY_HEADERS, Answer, deliver, make_transport, untrusted_tls
from .events import CaseResult, CheckReport

if TYPE_CHECKING:
    import httpx

    from .cases import Case
    from .notifies import OutgoingNotify

POOL = 16  # connections to the handler; the widest stage sends 10 at once
ALREADY_CREDITED = ("the order was already credited {count}× before the check: use a fresh, "
                    "unpaid order so the refusal cases mean something")


class StateError(EpayError):
    code = "bad_state_url"


@dataclass(frozen=True)
class StateProbe:
    """The shop's own view of an order: ``GET state_url`` (``{out_trade_no}`` in it is
    replaced, else ``?out_trade_no=…`` is appended) answers JSON with ``credits`` (how many
    times the order was credited) or ``credited`` (true/false, or a count)."""

    url: str

    def url_for(self, out_trade_no: str) -> str:
        number = quote(out_trade_no, safe="")
        if "{out_trade_no}" in self.url:
            return self.url.replace("{out_trade_no}", number)
        return f"{self.url}{'&' if '?' in self.url else '?'}out_trade_no={number}"

    async def credits(self, transport: httpx.AsyncHTTPTransport, out_trade_no: str,
                      timeout: float) -> int:
        import httpx

        url = self.url_for(out_trade_no)
        try:
            async with asyncio.timeout(timeout):
                request = httpx.Request("GET", url, headers={**GATEWAY_HEADERS,
                                                            "Accept": "application/json"})
                response = await transport.handle_async_request(request)
                try:
                    text = (await response.aread()).decode("utf-8", "replace")
                finally:
                    await response.aclose()
        except TimeoutError:
            raise NetworkError("the state URL {url} could not be read (no answer in time)",
                               "check --state-url points at the shop's order-state endpoint",
                               code="state_url_timeout", fields={"url": url}) from None
        except httpx.TransportError as error:
            raise NetworkError("the state URL {url} could not be read ({detail})",
                               "check --state-url points at the shop's order-state endpoint",
                               code="state_url_unreadable",
                               fields={"url": url, "detail": type(error).__name__}) from None
        return parse_credits(response.status_code, text, url)


def parse_credits(status: int, text: str, url: str) -> int:
    """The credit count in a state answer (see ``StateProbe``)."""
    hint = ('answer JSON such as {example} (or {credited})')
    examples = {"example": '{"out_trade_no": "A1", "credits": 1}',
                "credited": '{"credited": true}'}
    try:
        document = json.loads(text)
    except ValueError:
        raise StateError("the state URL {url} answered HTTP {status} that is not JSON",
                         hint, code="state_url_not_json",
                         fields={"url": url, "status": status, **examples}) from None
    value = document.get("credits", document.get("credited")) if isinstance(document, dict) \
        else None
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int) and value >= 0:
        return value
    raise StateError("the state URL {url} answered without a credits count", hint,
                     code="state_url_no_credits", fields={"url": url, **examples})


@dataclass
class _Run:
    suite: Suite
    transport: httpx.AsyncHTTPTransport
    state: StateProbe | None
    observed: dict[str, Observed] = field(default_factory=dict)
    sent: dict[str, tuple[OutgoingNotify, ...]] = field(default_factory=dict)
    reached: bool = False

    async def credits(self) -> int | None:
        if self.state is None:
            return None
        return await self.state.credits(self.transport, self.suite.genuine.order.out_trade_no,
                                        self.suite.timeout)

    async def send(self, notifies: list[OutgoingNotify]) -> list[Answer]:
        answers = await asyncio.gather(*(deliver(self.transport, n, timeout=self.suite.timeout)
                                         for n in notifies))
        if not self.reached and answers:
            if all(a.unreachable for a in answers):
                first = answers[0]
                reached = {"url": self.suite.notify_url, "error": first.describe()}
                if untrusted_tls(first):
                    raise NetworkError("cannot reach the handler at {url}: {error}",
                                       "use a certificate the system trusts, or skip the "
                                       "check as a gateway does (--insecure)",
                                       code="handler_tls_untrusted", fields=reached)
                raise NetworkError("cannot reach the handler at {url}: {error}",
                                   "start it, or check the URL", code="handler_unreachable",
                                   fields=reached)
            self.reached = True
        return answers

    async def case(self, case: Case, before: int | None = None) -> None:
        """One case's notifies: the sequential ones one after another, then the rest at once."""
        notifies = case.notifies(self.suite)
        answers = []
        for notify in notifies[:case.sequential]:
            answers += await self.send([notify])
        answers += await self.send(notifies[case.sequential:])
        self.sent[case.id] = tuple(notifies)
        self.observed[case.id] = Observed(tuple(answers), before)

    def credited(self, case_id: str, before: int | None, after: int | None,
                 deliveries: int = 0) -> None:
        seen = self.observed[case_id]
        self.observed[case_id] = Observed(seen.answers, before, after, deliveries)


async def run_suite(suite: Suite, cases: tuple[Case, ...], *, state: StateProbe | None = None,
                    verify_tls: bool = True) -> CheckReport:
    started = time.perf_counter()
    notes = []
    async with make_transport(concurrency=POOL, verify_tls=verify_tls) as transport:
        run = _Run(suite, transport, state)
        credits = await run.credits()
        if credits:
            notes.append(Text("check.already_credited", ALREADY_CREDITED, count=credits))
        by_stage = {stage: [c for c in cases if c.stage is stage] for stage in Stage}

        refusals = by_stage[Stage.BEFORE_CREDIT]
        if state is None:  # nothing to tell the cases apart by: all at once
            await asyncio.gather(*(run.case(c) for c in refusals))
        else:  # read the shop's state after each, to know which case credited
            for case in refusals:
                await run.case(case)
                after = await run.credits()
                run.credited(case.id, credits, after)
                credits = after

        for case in by_stage[Stage.CREDIT]:
            await run.case(case)
            after = await run.credits()
            run.credited(case.id, credits, after)
            credits = after

        later, repeats = by_stage[Stage.AFTER_CREDIT], by_stage[Stage.REPEAT]
        await asyncio.gather(*(run.case(c) for c in (*later, *repeats)))
        after = await run.credits()
        deliveries = sum(len(run.observed[c.id].answers) for c in (*later, *repeats))
        for case in repeats:
            run.credited(case.id, credits, after, deliveries)

        if not run.observed and by_stage[Stage.OVERALL]:  # graded over answers: send one
            genuine = next(c for c in CASES if c.id == "genuine")
            await run.case(genuine)
            del run.sent["genuine"]
            everything_extra = run.observed.pop("genuine").answers
        else:
            everything_extra = ()

    everything = tuple(a for o in run.observed.values() for a in o.answers) + everything_extra
    results = []
    for case in cases:
        observed = run.observed.get(case.id, Observed(()))
        grade, reason, fix = grade_case(case, observed, suite, everything)
        results.append(CaseResult(case, grade, reason, fix, run.sent.get(case.id, ()),
                                  observed.answers))
    order = suite.genuine.order
    return CheckReport(suite.notify_url,
                       {"out_trade_no": order.out_trade_no, "amount": f"{order.money:.2f}",
                        "pid": order.pid, "trade_no": order.trade_no,
                        "sign_type": str(suite.genuine.signer.sign_type)},
                       tuple(results), tuple(notes), time.perf_counter() - started,
                       state.url if state else None)


def run_check(suite: Suite, cases: tuple[Case, ...], *, state: StateProbe | None = None,
              verify_tls: bool = True) -> CheckReport:
    """Run the suite to the end (the CLI's entry point)."""
    return asyncio.run(run_suite(suite, cases, state=state, verify_tls=verify_tls))
