"""The demo's events (issue 16.2): frozen records; --json is DemoResult.to_dict() with today's
field names (docs/events.md, "epay demo"); the timeline dispatches on the type."""

from __future__ import annotations

import dataclasses

import pytest

from epaycli.demo import timeline
from epaycli.demo.events import STEPS, Check, DemoResult, Setting, Step

SETTING = Setting("http://127.0.0.1:1/", "http://127.0.0.1:2/notify", "v1", "1000", "Sand…0000",
                  "MD5", "")
DONE = Step(1, "create", "create the order", checks=(Check("code is 1", True),), ms=5.04)
FAILED = Step(2, "cashier", "open the cashier", checks=(Check("HTTP 200", False, "HTTP 500"),))
NOT_RUN = Step(3, "pay", "pay in the cashier", run=False)


def test_the_result_json_keeps_its_field_names():
    document = DemoResult(SETTING, (DONE, FAILED, NOT_RUN), 12.345).to_dict()
    assert list(document) == ["ok", "exit_code", "failed_step", "failure", "gateway", "receiver",
                              "dialect", "pid", "key", "sign_type", "fault", "fault_caught",
                              "ms", "steps"]
    assert document["ok"] is False and document["exit_code"] == 7
    assert document["failed_step"] == "cashier" and document["failure"] == "HTTP 500"
    assert document["fault"] is None and document["ms"] == 12.3
    step = document["steps"][0]
    assert list(step) == ["step", "name", "title", "ok", "run", "signed", "sent", "received",
                          "answered", "checks", "error", "ms"]
    assert step["ms"] == 5.0 and step["ok"] is True
    assert step["checks"] == [{"check": "code is 1", "ok": True, "got": None}]
    assert document["steps"][1]["checks"] == [{"check": "HTTP 200", "ok": False,
                                               "got": "HTTP 500"}]


def test_a_whole_run_is_ok_only_with_every_step_checked():
    steps = tuple(dataclasses.replace(DONE, number=n, name=name)
                  for n, name in enumerate(STEPS, 1))
    assert DemoResult(SETTING, steps, 1.0).ok
    assert not DemoResult(SETTING, steps[:-1], 1.0).ok
    error = dataclasses.replace(DONE, error={"kind": "NetworkError", "message": "refused",
                                             "exit_code": 5})
    assert error.exit_code == 5 and error.failure == "refused"


def test_events_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        DONE.ms = 1.0  # type: ignore[misc]


def test_the_timeline_dispatches_on_the_event_type():
    assert timeline.lines(SETTING) == timeline.heading(SETTING)
    assert timeline.lines(DONE) == timeline.step_lines(DONE)
    result = DemoResult(SETTING, (DONE, FAILED, NOT_RUN), 1.0)
    assert timeline.lines(result) == timeline.summary(result)
    assert timeline.lines(NOT_RUN) == [("3. pay in the cashier  — not run", "dim")]
    assert timeline.lines(result)[-1] == ("✗ step 2 (cashier) failed: HTTP 500", "bad")
