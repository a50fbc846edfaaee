"""The conformance suite as data: each case says what it sends, what a correct handler does,
when in the run it goes (before the order is credited, the crediting notify, after it), and
how its answers are graded. ``runner`` sends; this module builds and grades, without I/O."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from decimal import Decimal
from enum import IntEnum
from typing import Literal, TypedDict, Unpack

from ..core.errors import InputError
from ..core.notify import DELIVERY_TIMEOUT_SECONDS
from ..core.signing import Signer
from ..core.words import Template, Text, Texts
from .delivery import Answer
from .events import Grade
from .notifies import NotifyPlan, OutgoingNotify, build_notify

# accept: must be delivered; reject: must not be accepted (FAIL); reject_warn: WARN when
# accepted; not_credit: FAIL when credited, WARN when answered success; idempotent: every
# repeat delivered and credited once; prompt: graded over every answer of the run.
# accept_post: as accept, but WARN instead of FAIL unless the shop's gateway POSTs notifies.
Expect = Literal["accept", "accept_post", "reject", "reject_warn", "not_credit", "idempotent",
                 "prompt"]
SLOW_SHARE = 0.6  # WARN above 60 % of the gateway's timeout: 3 s of 5 s


class Stage(IntEnum):
    """When a case runs. Cases that must be refused go first, while the order is still unpaid
    in the shop: after it is credited, an idempotent "already paid, success" would hide
    whether the handler checks anything at all."""

    BEFORE_CREDIT = 1
    CREDIT = 2
    AFTER_CREDIT = 3
    REPEAT = 4
    OVERALL = 5


class OrderChanges(TypedDict, total=False):
    """What a case changes in the genuine notify's order."""

    pid: str
    out_trade_no: str
    money: Decimal


@dataclass(frozen=True)
class Suite:
    """What every case is built from: where to send, the genuine notify for the shop's real
    order, a key that is not the shop's, and the gateway's timeout."""

    notify_url: str
    genuine: NotifyPlan
    wrong_signer: Signer
    timeout: float = DELIVERY_TIMEOUT_SECONDS
    unknown_order: str = "epay-check-unknown-order"
    gateway_posts: bool = False  # the shop's gateway sends notifies as POST (Rainbow's: GET)

    @property
    def amount(self) -> Decimal:
        return self.genuine.order.money

    @property
    def slow_seconds(self) -> float:
        return self.timeout * SLOW_SHARE

    def other_amount(self) -> Decimal:
        """An amount that is not the order's: 0.01, the classic tampered price."""
        return Decimal("0.02") if self.amount == Decimal("0.01") else Decimal("0.01")

    def other_pid(self) -> str:
        pid = self.genuine.order.pid
        return str(int(pid) + 1) if pid.isdigit() else pid + "1"

    def with_order(self, **changes: Unpack[OrderChanges]) -> NotifyPlan:
        return self.genuine.but(order=replace(self.genuine.order, **changes))


@dataclass(frozen=True)
class Case:
    id: str
    title: str
    sent: str  # what is sent
    correct: str  # what a correct handler does
    stage: Stage
    expect: Expect
    fix: str
    risk: str = ""  # what accepting it costs the shop
    build: Callable[[Suite], NotifyPlan] | None = None
    sequential: int = 1
    concurrent: int = 0

    @property
    def said_fix(self) -> Text:
        return Text(f"check.case.{self.id}.fix", self.fix)

    @property
    def said_risk(self) -> Text:
        return Text(f"check.case.{self.id}.risk", self.risk)

    def notifies(self, suite: Suite) -> list[OutgoingNotify]:
        """What this case sends, in order (the concurrent ones after the sequential ones)."""
        if self.build is None:
            return []
        notify = build_notify(suite.notify_url, self.build(suite))
        return [notify] * (self.sequential + self.concurrent)


def _rejected(id: str, title: str, sent: str, fix: str, *, risk: str,
              build: Callable[[Suite], NotifyPlan]) -> Case:
    """A forged or wrong notify: a correct handler does not answer success, before crediting."""
    return Case(id, title, sent, "does not answer success", Stage.BEFORE_CREDIT, "reject", fix,
                risk=risk, build=build)


VERIFY_FIX = ("verify the sign over every received field except sign and sign_type (sorted, "
              "k=v joined by &, raw values, key appended, MD5, lowercase hex), compare in "
              "constant time, and answer 'fail' when it does not match")

CASES: tuple[Case, ...] = (
    _rejected("bad_signature", "bad signature",
              "the genuine notify with one character of sign changed", VERIFY_FIX,
              risk="anyone can forge a paid notify",
              build=lambda s: s.genuine.but(signing="bad_sign")),
    _rejected("missing_signature", "missing signature", "the genuine notify without sign",
              "treat a notify without sign as forged: answer 'fail' (then verify as for "
              "bad_signature)",
              risk="a notify with no sign at all is taken as paid",
              build=lambda s: s.genuine.but(signing="missing_sign")),
    _rejected("unsigned", "unsigned", "the genuine notify without sign and sign_type",
              "treat a notify without sign or sign_type as forged: answer 'fail' (then verify "
              "as for bad_signature)",
              risk="an unsigned notify is taken as paid",
              build=lambda s: s.genuine.but(signing="unsigned")),
    _rejected("tampered_amount", "tampered amount", "money changed, re-signed with a wrong key",
              VERIFY_FIX, risk="a buyer can change the price and sign it himself",
              build=lambda s: s.with_order(money=s.other_amount()).but(
                  sign_with=s.wrong_signer)),
    _rejected("amount_mismatch", "amount mismatch",
              "validly signed, but money is not the order's amount",
              "compare money with your own order's amount, as numbers (Decimal), before "
              "crediting",
              risk="an order is credited for a payment of another amount",
              build=lambda s: s.with_order(money=s.other_amount())),
    _rejected("wrong_pid", "wrong pid", "validly signed, for another merchant id",
              "check that pid equals your own merchant id",
              risk="a notify meant for another merchant is credited",
              build=lambda s: s.with_order(pid=s.other_pid())),
    Case("unknown_order", "unknown order", "validly signed, for an out_trade_no the shop lacks",
         "does not answer success (WARN only)", Stage.BEFORE_CREDIT, "reject_warn",
         "look the order up by out_trade_no and answer 'fail' when you do not have it",
         build=lambda s: s.with_order(out_trade_no=s.unknown_order)),
    Case("not_paid", "not paid", "validly signed, trade_status WAIT_BUYER_PAY",
         "does not credit (WARN when it answers success)", Stage.BEFORE_CREDIT, "not_credit",
         "credit goods only when trade_status is TRADE_SUCCESS",
         risk="an order that is not paid is credited",
         build=lambda s: s.genuine.but(trade_status="WAIT_BUYER_PAY")),
    Case("genuine", "genuine", "a valid notify for the order (money with 2 decimals)",
         "answers success within 5 s, no redirect", Stage.CREDIT, "accept",
         "answer a body containing 'success' (plain text) once the notify verifies and the "
         "order is credited",
         build=lambda s: s.genuine.but(money_format="2dp")),
    Case("post_delivery", "POST delivery", "the genuine notify as a POST form",
         "handled like the GET one (WARN only, unless the gateway POSTs)", Stage.AFTER_CREDIT,
         "accept_post",
         "read the fields from the form body when the query string has none (some gateways "
         "POST)",
         build=lambda s: s.genuine.but(money_format="2dp", method="POST")),
    Case("extra_field", "extra field", "the genuine notify plus a new signed field",
         "still accepted", Stage.AFTER_CREDIT, "accept",
         "sign over every field received, not a fixed list: gateways add fields",
         build=lambda s: s.genuine.but(money_format="2dp",
                                       changes=(*s.genuine.changes, ("epay_extra", "1")))),
    Case("float_money", "float-cast money", "money float-cast as newer servers send it "
         "(1 for 1.00)", "still accepted", Stage.AFTER_CREDIT, "accept",
         "verify the sign over money exactly as received, then compare it with your amount "
         "as a number (1 == 1.00)",
         build=lambda s: s.genuine.but(money_format="gateway")),
    Case("duplicate", "duplicate", "the genuine notify again, 5× in a row then 10× at once",
         "answers success every time, credits once", Stage.REPEAT, "idempotent",
         "record the trade_no when you credit (in the same transaction); when it is already "
         "recorded answer 'success' without crediting again",
         build=lambda s: s.genuine.but(money_format="2dp"), sequential=5, concurrent=10),
    Case("slow_redirect", "slow / redirect", "— (every answer of the run)",
         "answers within 3 s, never redirects", Stage.OVERALL, "prompt",
         "answer at once and do slow work after; give the gateway the final URL (https, "
         "trailing slash) so nothing redirects"),
)
CASE_IDS = tuple(case.id for case in CASES)


def select_cases(only: list[str], skip: list[str]) -> tuple[Case, ...]:
    """The cases ``--only``/``--skip`` leave (comma-separated or repeated ids)."""
    wanted, unwanted = _ids(only), _ids(skip)
    unknown = [name for name in (*wanted, *unwanted) if name not in CASE_IDS]
    if unknown:
        raise InputError("unknown case {names}", "cases are: {cases}", code="unknown_case",
                         fields={"names": ", ".join(repr(n) for n in unknown),
                                 "cases": ", ".join(CASE_IDS)})
    chosen = tuple(c for c in CASES if (not wanted or c.id in wanted) and c.id not in unwanted)
    if not chosen:
        raise InputError("no case left to run", "loosen --only/--skip", code="no_case_left",
                         fields={})
    return chosen


def _ids(values: list[str]) -> list[str]:
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


# ---- grading ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Observed:
    """What one case saw: the answers, and — with a state URL — the order's credit count
    before and after the case's notifies."""

    answers: tuple[Answer, ...]
    credits_before: int | None = None
    credits_after: int | None = None
    deliveries: int = 0  # notifies of the paid order sent between the two readings

    @property
    def credited(self) -> int | None:
        if self.credits_before is None or self.credits_after is None:
            return None
        return self.credits_after - self.credits_before


# Why a case got its grade, and the fixes that are not a case's own, by id (check.said.<id>).
SAID: dict[str, Template] = {
    "no_answer": "no answer: {error}",
    "not_credited_after_success": "answered success ({answer}) but the state URL says the "
                                  "order is not credited",
    "credit_first": "credit the order before answering success",
    "accepted": "accepted: {answers}",
    "post_only": "{reason} — Rainbow Epay servers send notifies by GET only, so this matters "
                 "only if your gateway POSTs them (then pass --gateway-posts)",
    "credited": "credited the order ({answer}): {risk}",
    "refused": "refused: {answer}",
    "success_no_credit": "answered success ({answer}) but did not credit: a forged notify "
                         "should be answered with an error",
    "success_forged": "answered success ({answer}): {risk}",
    "success_unknown_order": "answered success ({answer}) for an order it cannot have",
    "success_not_credited": "answered success ({answer}); did not credit",
    "success_credit_unknown": "answered success ({answer}); pass --state-url to see whether "
                              "it credited",
    "not_credited": "not credited: {answer}",
    "credited_again": {
        "one": "credited {count} more time while one paid notify was delivered {sent}× "
               "(state: {before} → {after}): every gateway retry ships the goods again",
        "other": "credited {count} more times while one paid notify was delivered {sent}× "
                 "(state: {before} → {after}): every gateway retry ships the goods again"},
    "credited_once": "answered success {count}× and credited exactly once",
    "answered_times": "answered success {count}× (pass --state-url to check it credits only "
                      "once)",
    "redirects": "{count} answer(s) redirected ({answer}); a gateway does not follow redirects",
    "slowest": "slowest answer took {seconds:.1f} s (the gateway gives up at {timeout:g} s)",
    "status_5xx": "answered success with HTTP {status}: Epay ignores the status, but proxies "
                  "and other gateways may not — answer 200",
    "and": "{first}; {then}",
    "nothing_was_sent": "nothing was sent",
    "prompt_ok": "{count} answers, slowest {ms:.0f} ms, none redirected",
    "timed_out": "no answer within {timeout:g} s: the gateway counts it as failed",
    "timed_out_of": "no answer within {timeout:g} s (delivery {number} of {total}): the "
                    "gateway counts it as failed",
    "no_answer_of": "no answer (delivery {number} of {total}): {error}",
    "redirected": "redirected to {location} (HTTP {status}): the gateway does not follow "
                  "redirects and counts it as failed",
    "redirected_of": "redirected (delivery {number} of {total}) to {location} (HTTP "
                     "{status}): the gateway does not follow redirects and counts it as failed",
    "no_success": "answered {answer}: the body does not contain 'success', so the gateway "
                  "counts it as failed and retries",
    "no_success_of": "answered {answer} (delivery {number} of {total}): the body does not "
                     "contain 'success', so the gateway counts it as failed and retries",
    "fix_timeout": "answer within 5 s: credit quickly and do slow work (mail, shipping) after",
    "fix_unreachable": "check the handler is running and reachable at this URL",
    "fix_redirect": "give the gateway the final URL as notify_url (https, trailing slash)",
    "nothing_sent": "nothing sent",
    "span": "{count} answers, slowest {ms:.0f} ms",
}


said = Texts("check.said", SAID)


Said = Text | str
Graded = tuple[Grade, Said, Said]
# How one kind of expectation grades a case: (case, what it saw, the suite, every answer of
# the run) → (grade, reason, fix).
Grader = Callable[[Case, Observed, Suite, tuple[Answer, ...]], Graded]


def grade_case(case: Case, observed: Observed, suite: Suite,
               everything: tuple[Answer, ...] = ()) -> Graded:
    """(grade, reason, fix) for one case: phrases, English unless said in another language."""
    unreachable = next((a for a in observed.answers if a.unreachable), None)
    if unreachable is not None:  # "not accepted" proves nothing about a handler never reached
        return "FAIL", said("no_answer", error=unreachable.describe()), \
            _fix_for(unreachable, case)
    grader = _GRADERS[case.expect]
    return grader(case, observed, suite, everything)


def _accept(case: Case, observed: Observed, suite: Suite,
            _everything: tuple[Answer, ...]) -> Graded:
    answers = observed.answers
    for number, answer in enumerate(answers, 1):
        if not answer.delivered:
            return "FAIL", _not_delivered(answer, number, len(answers), suite), \
                _fix_for(answer, case)
    if case.id == "genuine" and observed.credits_after == 0:
        return "FAIL", said("not_credited_after_success", answer=answers[-1].describe()), \
            said("credit_first")
    return "PASS", said("accepted", answers=_span(answers)), ""


def _accept_post(case: Case, observed: Observed, suite: Suite,
                 everything: tuple[Answer, ...]) -> Graded:
    grade, reason, fix = _accept(case, observed, suite, everything)
    if grade == "FAIL" and not suite.gateway_posts:
        return "WARN", said("post_only", reason=reason), fix
    return grade, reason, fix


def _reject(case: Case, observed: Observed, suite: Suite,
            _everything: tuple[Answer, ...]) -> Graded:
    answers = observed.answers
    accepted = [a for a in answers if a.delivered]
    if observed.credited:
        return "FAIL", said("credited", answer=_first(answers), risk=case.said_risk), \
            case.said_fix
    if not accepted:
        return "PASS", said("refused", answer=_first(answers)), ""
    if observed.credited == 0:
        return "WARN", said("success_no_credit", answer=accepted[0].describe()), case.said_fix
    return "FAIL", said("success_forged", answer=accepted[0].describe(), risk=case.said_risk), \
        case.said_fix


def _reject_warn(case: Case, observed: Observed, suite: Suite,
                 _everything: tuple[Answer, ...]) -> Graded:
    answers = observed.answers
    accepted = [a for a in answers if a.delivered]
    if accepted:
        return "WARN", said("success_unknown_order", answer=accepted[0].describe()), \
            case.said_fix
    return "PASS", said("refused", answer=_first(answers)), ""


def _not_credit(case: Case, observed: Observed, suite: Suite,
                _everything: tuple[Answer, ...]) -> Graded:
    answers = observed.answers
    accepted = [a for a in answers if a.delivered]
    if observed.credited:
        return "FAIL", said("credited", answer=_first(answers), risk=case.said_risk), \
            case.said_fix
    if accepted:
        checked = "success_not_credited" if observed.credited == 0 else "success_credit_unknown"
        return "WARN", said(checked, answer=accepted[0].describe()), case.said_fix
    return "PASS", said("not_credited", answer=_first(answers)), ""


def _idempotent(case: Case, observed: Observed, suite: Suite,
                _everything: tuple[Answer, ...]) -> Graded:
    answers = observed.answers
    for number, answer in enumerate(answers, 1):
        if not answer.delivered:
            return "FAIL", _not_delivered(answer, number, len(answers), suite), \
                _fix_for(answer, case)
    before, after = observed.credits_before, observed.credits_after
    if before is not None and after is not None:
        expected = max(before, 1)
        if after != expected:
            return "FAIL", said("credited_again", count=after - before,
                                sent=observed.deliveries or len(answers), before=before,
                                after=after), case.said_fix
        return "PASS", said("credited_once", count=len(answers)), ""
    return "PASS", said("answered_times", count=len(answers)), ""


def _prompt(case: Case, observed: Observed, suite: Suite,
            everything: tuple[Answer, ...]) -> Graded:
    answered = [a for a in everything if a.answered]
    problems: list[Said] = []
    redirects = [a for a in answered if a.redirected]
    if redirects:
        problems.append(said("redirects", count=len(redirects), answer=redirects[0].describe()))
    slowest = max(everything, key=lambda a: a.seconds, default=None)
    if slowest is not None and slowest.seconds > suite.slow_seconds:
        problems.append(said("slowest", seconds=slowest.seconds, timeout=suite.timeout))
    errors = [a for a in answered if a.delivered and a.status is not None and a.status >= 500]
    if errors:
        problems.append(said("status_5xx", status=errors[0].status))
    if problems:
        reason = problems[0]
        for problem in problems[1:]:
            reason = said("and", first=reason, then=problem)
        return "WARN", reason, case.said_fix
    if slowest is None:  # nothing was sent at all
        return "PASS", said("nothing_was_sent"), ""
    return "PASS", said("prompt_ok", count=len(everything), ms=slowest.seconds * 1000), ""


_GRADERS: dict[Expect, Grader] = {
    "accept": _accept, "accept_post": _accept_post, "reject": _reject, "reject_warn": _reject_warn,
    "not_credit": _not_credit, "idempotent": _idempotent, "prompt": _prompt}


def _not_delivered(answer: Answer, number: int, total: int, suite: Suite) -> Text:
    of = {"number": number, "total": total} if total > 1 else {}
    suffix = "_of" if of else ""
    if answer.timed_out:
        return said(f"timed_out{suffix}", timeout=suite.timeout, **of)
    if answer.error:
        return said("no_answer_of", error=answer.describe(), **of) if of else \
            said("no_answer", error=answer.describe())
    if answer.redirected:
        return said(f"redirected{suffix}", location=answer.location or "?",
                    status=answer.status, **of)
    return said(f"no_success{suffix}", answer=answer.describe(), **of)


def _fix_for(answer: Answer, case: Case) -> Text:
    if answer.timed_out:
        return said("fix_timeout")
    if answer.unreachable:
        return said("fix_unreachable")
    if answer.redirected:
        return said("fix_redirect")
    return case.said_fix


def _first(answers: tuple[Answer, ...]) -> Said:
    return answers[0].describe() if answers else said("nothing_sent")


def _span(answers: tuple[Answer, ...]) -> Said:
    if len(answers) == 1:
        return answers[0].describe()
    return said("span", count=len(answers), ms=max(a.seconds for a in answers) * 1000)
