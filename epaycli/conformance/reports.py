"""A check's report in the three shapes it is read in: lines for people, a JSON document for
scripts, JUnit XML for CI systems. Text only: the CLI prints or writes it."""

from __future__ import annotations

from collections.abc import Iterator

from ..messages import Messages
from .cases import Case, Suite
from .events import CheckPlanned, CheckReport, PlannedCase

SUITE_NAME = "epay check notify"
_ENGLISH = Messages()

# What the report says, by id (check.report.<id>). Grades (PASS, FAIL, WARN) and case ids stay.
MESSAGES = {
    "failed": "FAILED: {passed} pass, {failed} fail, {warned} warn — {url} ({seconds:.2f} s)",
    "passed": "passed: {passed} pass, {failed} fail, {warned} warn — {url} ({seconds:.2f} s)",
    "fix": "fix: {fix}",
    "case": "case",
    "grade": "grade",
    "reason": "reason",
    "fix_column": "fix",
    "dry_run": "dry run: nothing sent",
    "planned": "{case}: {method} {url}",
    "planned_times": "{case} ×{count}: {method} {url}",
    "body": "  body: {body}",
}
_COLUMNS = {"case": "case", "grade": "grade", "reason": "reason", "fix": "fix_column"}


def text(messages: Messages, message_id: str, /, **fields: object) -> str:
    return messages.text(f"check.report.{message_id}", MESSAGES[message_id], **fields)


def summary_line(report: CheckReport, messages: Messages = _ENGLISH) -> str:
    return text(messages, "failed" if report.failed else "passed", passed=report.count("PASS"),
                failed=report.count("FAIL"), warned=report.count("WARN"),
                url=report.notify_url, seconds=report.seconds)


def table_columns(messages: Messages = _ENGLISH) -> list[str]:
    return [text(messages, message_id) for message_id in _COLUMNS.values()]


def table_rows(report: CheckReport, messages: Messages = _ENGLISH) -> list[dict[str, str]]:
    """One row a case, for a terminal table (keyed by ``table_columns``)."""
    case, grade, reason, fix = table_columns(messages)
    return [{case: r.case.id, grade: r.grade, reason: str(messages.say(r.reason)),
             fix: str(messages.say(r.fix))} for r in report.results]


def text_lines(report: CheckReport,
               messages: Messages = _ENGLISH) -> Iterator[tuple[str, str]]:
    """(line, style) for plain output: a line a case, its fix under it when not passed."""
    styles = {"PASS": "ok", "FAIL": "bad", "WARN": "warn"}
    width = max((len(r.case.id) for r in report.results), default=0)
    for result in report.results:
        yield f"{result.grade}  {result.case.id.ljust(width)}  {messages.say(result.reason)}", \
            styles[result.grade]
        if result.fix and result.grade != "PASS":
            fix = text(messages, "fix", fix=messages.say(result.fix))
            yield f"      {' ' * width}  {fix}", ""


def junit_xml(report: CheckReport) -> str:
    """JUnit XML: a testcase a case; FAIL is a <failure>, WARN is written to <system-out>
    (CI shows it without failing the build), with the fix in both."""
    import xml.etree.ElementTree as ET

    suites = ET.Element("testsuites", name=SUITE_NAME)
    suite = ET.SubElement(suites, "testsuite", {
        "name": SUITE_NAME, "tests": str(len(report.results)),
        "failures": str(report.count("FAIL")), "errors": "0", "skipped": "0",
        "time": f"{report.seconds:.3f}",
    })
    properties = ET.SubElement(suite, "properties")
    for name, value in (("url", report.notify_url), *report.order.items()):
        ET.SubElement(properties, "property", name=name, value=str(value))
    for result in report.results:
        seconds = sum(a.seconds for a in result.answers)
        case = ET.SubElement(suite, "testcase", {
            "classname": "epay.check.notify", "name": result.case.id, "time": f"{seconds:.3f}",
        })
        detail = f"{result.reason}\nfix: {result.fix}" if result.fix else str(result.reason)
        if result.grade == "FAIL":
            failure = ET.SubElement(case, "failure", message=str(result.reason), type="FAIL")
            failure.text = detail
        elif result.grade == "WARN":
            ET.SubElement(case, "system-out").text = f"WARN: {detail}"
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") \
        + "\n"


def planned(suite: Suite, cases: tuple[Case, ...]) -> CheckPlanned:
    """What each case would send (``--dry-run``), built exactly as the run builds it."""
    result = []
    for case in cases:
        notifies = case.notifies(suite)
        distinct = list({id(n): n for n in notifies}.values())
        result.append(PlannedCase(case.id, case.stage.name.lower(), tuple(
            (n, sum(m is n for m in notifies)) for n in distinct)))
    return CheckPlanned(tuple(result))
