"""The suite's table and its grading, without a network: every kind of expectation against
the answers that pass, fail and warn, and the parsers for what shops hand back."""

from __future__ import annotations

from decimal import Decimal

import pytest

from epaycli.conformance.cases import (
    CASE_IDS,
    CASES,
    Observed,
    Stage,
    Suite,
    grade_case,
    select_cases,
)
from epaycli.conformance.delivery import Answer
from epaycli.conformance.notifies import NotifyPlan
from epaycli.conformance.orders import gateway_trade_no, parse_created_order
from epaycli.conformance.runner import StateError, StateProbe, parse_credits
from epaycli.core.callback import check_callback
from epaycli.core.errors import InputError
from epaycli.core.notify import PaidOrder
from epaycli.core.signing import Keys, Md5Key

KEY = "89unJUB8HZ54Hj7x4nUj56HN4nUzUJ8i"
ORDER = PaidOrder("1000", "2026120107000012345", "A1", "alipay", "product", Decimal("1.00"))
SUITE = Suite("http://s/notify", NotifyPlan(ORDER, Md5Key(KEY), money_format="2dp", now=1),
              Md5Key("w" * 32), unknown_order="nope")
CASE = {case.id: case for case in CASES}
OK = Answer(200, "success", 0.01)
NO = Answer(200, "fail", 0.01)


def grade(case_id, *answers, before=None, after=None, everything=()):
    return grade_case(CASE[case_id], Observed(tuple(answers), before, after), SUITE, everything)


def fields(case_id):
    return CASE[case_id].notifies(SUITE)[0].fields


def genuine(case_id) -> bool:
    return check_callback(fields(case_id), Keys(md5=Md5Key(KEY))).signature_valid


def test_the_table_runs_refusals_before_the_credit_and_repeats_after():
    stages = [case.stage for case in CASES]
    assert stages == sorted(stages)
    assert CASE["genuine"].stage is Stage.CREDIT and CASE["duplicate"].stage is Stage.REPEAT
    assert len(CASE["duplicate"].notifies(SUITE)) == 15
    assert len(set(CASE_IDS)) == len(CASES) == 14


def test_each_case_sends_what_it_says():
    assert not genuine("bad_signature") and "sign" in fields("bad_signature")
    assert "sign" not in fields("missing_signature") and "sign_type" in fields("missing_signature")
    assert "sign" not in fields("unsigned") and "sign_type" not in fields("unsigned")
    assert fields("tampered_amount")["money"] == "0.01" and not genuine("tampered_amount")
    assert fields("amount_mismatch")["money"] == "0.01" and genuine("amount_mismatch")
    assert fields("wrong_pid")["pid"] == "1001" and genuine("wrong_pid")
    assert fields("unknown_order")["out_trade_no"] == "nope" and genuine("unknown_order")
    assert fields("not_paid")["trade_status"] == "WAIT_BUYER_PAY" and genuine("not_paid")
    assert fields("genuine")["money"] == "1.00" and genuine("genuine")
    assert CASE["post_delivery"].notifies(SUITE)[0].method == "POST" and genuine("post_delivery")
    assert fields("extra_field")["epay_extra"] == "1" and genuine("extra_field")
    assert fields("float_money")["money"] == "1" and genuine("float_money")
    assert CASE["slow_redirect"].notifies(SUITE) == []


def test_other_amount_and_pid():
    cheap = Suite("http://s/", SUITE.genuine.but(order=PaidOrder(
        "abc", "1", "A", "alipay", "p", Decimal("0.01"))), Md5Key("w" * 32))
    assert cheap.other_amount() == Decimal("0.02") and cheap.other_pid() == "abc1"
    assert SUITE.other_amount() == Decimal("0.01") and SUITE.other_pid() == "1001"
    assert SUITE.slow_seconds == 3.0


def test_accept_passes_only_when_every_answer_is_delivered():
    assert grade("genuine", OK)[0] == "PASS"
    result, reason, fix = grade("genuine", NO)
    assert result == "FAIL" and "does not contain 'success'" in reason and "success" in fix
    result, reason, _ = grade("genuine", Answer(200, "success", 6.0))
    assert result == "FAIL"
    result, reason, fix = grade("genuine", Answer(None, "", 5, error="t", timed_out=True))
    assert result == "FAIL" and "no answer within 5 s" in reason and "within 5 s" in fix
    result, reason, _ = grade("genuine", OK, before=0, after=0)
    assert result == "FAIL" and "not credited" in reason
    assert grade("genuine", OK, before=0, after=1)[0] == "PASS"
    result, reason, fix = grade("float_money", NO)
    assert result == "FAIL" and "1 == 1.00" in fix


def test_unreachable_fails_every_case():
    down = Answer(None, "", 0.0, error="connection refused (is the handler running?)",
                  connected=False)
    for case_id in ("bad_signature", "unknown_order", "genuine", "not_paid"):
        result, reason, fix = grade(case_id, down)
        assert result == "FAIL" and "connection refused" in reason and "running" in fix


def test_reject_grades():
    assert grade("bad_signature", NO)[0] == "PASS"
    assert grade("bad_signature", Answer(None, "", 5, error="t", timed_out=True))[0] == "PASS"
    result, reason, fix = grade("bad_signature", OK)
    assert result == "FAIL" and "forge" in reason and "verify the sign" in fix
    assert grade("bad_signature", OK, before=0, after=0)[0] == "WARN"
    result, reason, _ = grade("bad_signature", NO, before=0, after=1)
    assert result == "FAIL" and "credited" in reason
    assert grade("wrong_pid", NO, before=1, after=1)[0] == "PASS"


def test_reject_warn_and_not_credit():
    assert grade("unknown_order", OK)[0] == "WARN"
    assert grade("unknown_order", NO)[0] == "PASS"
    assert grade("not_paid", NO)[0] == "PASS"
    result, reason, _ = grade("not_paid", OK)
    assert result == "WARN" and "--state-url" in reason
    result, reason, _ = grade("not_paid", OK, before=0, after=0)
    assert result == "WARN" and "did not credit" in reason
    assert grade("not_paid", NO, before=0, after=1)[0] == "FAIL"


def test_idempotent_grades():
    fifteen = (OK,) * 15
    assert grade("duplicate", *fifteen)[0] == "PASS"
    result, reason, _ = grade("duplicate", *fifteen[:14], NO)
    assert result == "FAIL" and "delivery 15 of 15" in reason
    assert grade("duplicate", *fifteen, before=1, after=1)[0] == "PASS"
    assert grade("duplicate", *fifteen, before=0, after=1)[0] == "PASS"
    result, reason, _ = grade("duplicate", *fifteen, before=1, after=16)
    assert result == "FAIL" and "15 more times" in reason
    assert grade("duplicate", *fifteen, before=0, after=0)[0] == "FAIL"


def test_prompt_grades_every_answer_of_the_run():
    assert grade("slow_redirect", everything=(OK, NO))[0] == "PASS"
    result, reason, _ = grade("slow_redirect", everything=(OK, Answer(200, "success", 3.5)))
    assert result == "WARN" and "3.5 s" in reason
    result, reason, _ = grade("slow_redirect", everything=(Answer(301, "", 0.01, location="/x"),))
    assert result == "WARN" and "redirect" in reason
    result, reason, _ = grade("slow_redirect", everything=(Answer(500, "success", 0.01),))
    assert result == "WARN" and "HTTP 500" in reason
    assert grade("slow_redirect", everything=(Answer(500, "fail", 0.01),))[0] == "PASS"
    assert grade("slow_redirect")[0] == "PASS"


def test_select_cases():
    assert [c.id for c in select_cases([], [])] == list(CASE_IDS)
    assert [c.id for c in select_cases(["duplicate, genuine"], [])] == ["genuine", "duplicate"]
    assert "genuine" not in [c.id for c in select_cases([], ["genuine"])]
    with pytest.raises(InputError, match="unknown case 'x'"):
        select_cases(["x"], [])
    with pytest.raises(InputError, match="no case left"):
        select_cases(["genuine"], ["genuine"])


@pytest.mark.parametrize("text, expected", [
    ('{"credits": 2}', 2), ('{"credited": true}', 1), ('{"credited": false}', 0),
    ('{"credited": 3, "credits": 0}', 0), ('{"credits": 0}', 0),
])
def test_parse_credits(text, expected):
    assert parse_credits(200, text, "u") == expected


@pytest.mark.parametrize("text", ["<html>", "[]", '{"credits": -1}', '{"credits": "1"}', "{}",
                                  '{"credits": 1.5}'])
def test_parse_credits_refuses(text):
    with pytest.raises(StateError):
        parse_credits(200, text, "u")


def test_state_url_forms():
    assert StateProbe("http://s/state").url_for("A 1&") == "http://s/state?out_trade_no=A%201%26"
    assert StateProbe("http://s/state?t=1").url_for("A") == "http://s/state?t=1&out_trade_no=A"
    assert StateProbe("http://s/o/{out_trade_no}").url_for("A/1") == "http://s/o/A%2F1"


@pytest.mark.parametrize("text, number, amount", [
    ('{"out_trade_no": "A1", "money": "1.00"}', "A1", Decimal("1.00")),
    ('{"out_trade_no": 42, "amount": 9.9}', "42", Decimal("9.9")),
    ('{"out_trade_no": "A2"}', "A2", None),
    ("A3 2.50\nmore", "A3", Decimal("2.50")),
    ("  A4\n", "A4", None),
])
def test_parse_created_order(text, number, amount):
    created = parse_created_order(text)
    assert created.out_trade_no == number and created.amount == amount


@pytest.mark.parametrize("text", ["", "{", '{"money": 1}', '{"out_trade_no": ""}', "a b c",
                                  "A1 lots"])
def test_parse_created_order_refuses(text):
    with pytest.raises(InputError):
        parse_created_order(text)


def test_gateway_trade_no_is_beijing_time():
    number = gateway_trade_no(0)
    assert len(number) == 19 and number.startswith("19700101080000") and number.isdigit()


def test_conformance_stands_on_core_alone():
    """cli → conformance → core: the checker neither reads profiles nor prints. Its sentences
    are core.words Texts, and its reports are worded by a ``messages.Messages`` they are handed
    (a leaf: it imports nothing of epay), so the CLI can say them in the run's language."""
    from test_architecture import PACKAGE, imports_of

    for path in sorted((PACKAGE / "conformance").glob("*.py")):
        for name in imports_of(path):
            if name.startswith("epaycli"):
                assert name.startswith(("epaycli.core", "epaycli.conformance",
                                        "epaycli.messages")), (path, name)
            assert name.split(".")[0] not in ("rich", "typer"), (path, name)


def test_the_help_lists_every_case():
    from epaycli.cli.check import CASE_HELP

    assert ", ".join(CASE_IDS) == CASE_HELP


def test_post_delivery_warns_unless_the_gateway_posts():
    # issue 14.12: Rainbow servers only send GET; a handler that ignores POST bodies is a WARN
    grade_, reason, fix = grade("post_delivery", NO)
    assert grade_ == "WARN" and "GET only" in reason and "form body" in fix
    posting = Suite(SUITE.notify_url, SUITE.genuine, SUITE.wrong_signer, gateway_posts=True)
    assert grade_case(CASE["post_delivery"], Observed((NO,)), posting)[0] == "FAIL"
    assert grade("post_delivery", OK)[0] == "PASS"
