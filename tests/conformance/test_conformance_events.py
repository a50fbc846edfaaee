"""What trigger and check report (issue 16.2): frozen records whose to_dict() is the --json
contract of docs/events.md ("epay trigger / epay check"), with today's field names."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest

from epaycli.conformance.cases import CASES, Suite
from epaycli.conformance.delivery import Answer, summarize
from epaycli.conformance.events import (
    CaseResult,
    CheckPlanned,
    CheckReport,
    TriggerPlanned,
    TriggerResult,
)
from epaycli.conformance.notifies import NotifyPlan, build_notify
from epaycli.conformance.reports import planned
from epaycli.core.notify import PaidOrder
from epaycli.core.signing import Md5Key

KEY = "89unJUB8HZ54Hj7x4nUj56HN4nUzUJ8i"
ORDER = PaidOrder("1000", "2026120107000012345", "A1", "alipay", "product", Decimal("1.00"))
PLAN = NotifyPlan(ORDER, Md5Key(KEY), money_format="2dp", now=1)
SUITE = Suite("http://s/notify", PLAN, Md5Key("w" * 32), unknown_order="nope")
NOTIFY = build_notify("http://s/notify", PLAN)
NOTIFY_KEYS = ["method", "url", "body", "fields"]
ANSWER_KEYS = ["status", "body", "ms", "location", "error", "delivered"]


def test_a_trigger_dry_run_is_the_notify_marked_as_not_sent():
    document = TriggerPlanned(NOTIFY).to_dict()
    assert list(document) == ["dry_run", *NOTIFY_KEYS] and document["dry_run"] is True


def test_a_trigger_result_keeps_its_fields():
    answers = [Answer(200, "success", 0.002)]
    document = TriggerResult(NOTIFY, answers, summarize(answers, 0.01)).to_dict()
    assert list(document) == ["notify", "summary", "answer"]
    assert list(document["notify"]) == NOTIFY_KEYS
    assert list(document["summary"]) == ["sent", "delivered", "no_answer", "statuses", "p50_ms",
                                         "p95_ms", "max_ms", "seconds", "per_second"]
    assert list(document["answer"]) == [*ANSWER_KEYS, "verdict"]
    assert document["answer"]["verdict"].startswith("yes")
    many = TriggerResult(NOTIFY, answers * 2, summarize(answers * 2, 0.01)).to_dict()
    assert "answer" not in many  # many answers are summed up, not listed


def test_a_check_dry_run_lists_each_cases_distinct_notifies():
    document = planned(SUITE, CASES).to_dict()
    assert isinstance(planned(SUITE, CASES), CheckPlanned)
    assert list(document) == ["dry_run", "cases"]
    first = document["cases"][0]
    assert list(first) == ["id", "stage", "notifies"]
    assert list(first["notifies"][0]) == [*NOTIFY_KEYS, "times"]
    duplicate = next(c for c in document["cases"] if c["id"] == "duplicate")
    assert duplicate["notifies"][0]["times"] > 1


def test_a_check_report_keeps_its_fields():
    result = CaseResult(CASES[0], "PASS", "refused", sent=(NOTIFY, NOTIFY),
                        answers=(Answer(200, "fail", 0.001),))
    document = CheckReport("http://s/notify", {"out_trade_no": "A1"}, (result,),
                           seconds=0.25).to_dict()
    assert list(document) == ["url", "order", "state_url", "passed", "summary", "notes",
                              "cases"]
    assert document["summary"] == {"pass": 1, "fail": 0, "warn": 0, "seconds": 0.25}
    case = document["cases"][0]
    assert list(case) == ["id", "title", "grade", "reason", "fix", "sent", "correct",
                          "notifies", "answers"]
    assert len(case["notifies"]) == 1  # the same notify sent twice is listed once
    assert list(case["answers"][0]) == ANSWER_KEYS
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.grade = "FAIL"  # type: ignore[misc]
