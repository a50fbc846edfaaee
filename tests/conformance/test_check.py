"""``epay check notify`` against real handlers on 127.0.0.1: the correct example passes every
case (V1, and V2 with RSA notifies signed with the platform key against a handler that judges
with epay's own check_callback), the broken one fails exactly where it is broken, misbehaving
handlers (slow, redirecting, HTTP 500, down) are graded as a gateway would see them, and the
report reads as a table on a terminal."""

from __future__ import annotations

import io
import json
import sys
import xml.etree.ElementTree as ET

import pytest
from conftest import load_vectors
from test_check_support import KEY, PID, Behaviour, example_shop, odd_handler, unused_port, v2_shop

from epaycli.cli.main import run
from epaycli.conformance.cases import CASE_IDS
from epaycli.core.errors import ExitCode
from epaycli.env import Environment

FLAWS = {"bad_signature", "missing_signature", "unsigned", "tampered_amount", "amount_mismatch",
         "duplicate"}
V2 = load_vectors("v2-rsa")


def check(cli, url, *args):
    return cli("check", "notify", url, "--key", KEY, "--pid", PID, *args)


def check_json(cli, url, *args):
    result = check(cli, url, "--json", *args)
    return result, {c["id"]: c for c in json.loads(result.stdout)["cases"]}


def test_correct_handler_passes_every_case_and_is_credited_once(cli):
    with example_shop("correct_handler") as shop:
        result, cases = check_json(cli, shop.url, "--order", "A1", "--amount", "1.00",
                                   "--state-url", shop.state_url)
        assert shop.credits("A1") == 1
    assert result.code == ExitCode.OK, result.stderr
    assert set(cases) == set(CASE_IDS)
    assert {c["grade"] for c in cases.values()} == {"PASS"}, \
        {k: c["reason"] for k, c in cases.items() if c["grade"] != "PASS"}
    assert "credited exactly once" in cases["duplicate"]["reason"]
    assert len(cases["duplicate"]["answers"]) == 15
    genuine = cases["genuine"]["notifies"][0]["fields"]
    assert genuine["money"] == "1.00" and genuine["out_trade_no"] == "A1"
    assert cases["float_money"]["notifies"][0]["fields"]["money"] == "1"
    assert cases["post_delivery"]["notifies"][0]["method"] == "POST"
    assert "epay_extra" in cases["extra_field"]["notifies"][0]["fields"]
    assert cases["wrong_pid"]["notifies"][0]["fields"]["pid"] == "1001"


def test_correct_handler_passes_without_a_state_url_too(cli):
    with example_shop("correct_handler") as shop:
        result = check(cli, shop.url, "--order", "A1", "--amount", "1.00")
    assert result.code == ExitCode.OK, result.stdout + result.stderr
    lines = [line for line in result.stdout.splitlines() if line[:4] in ("PASS", "FAIL", "WARN")]
    assert len(lines) == len(CASE_IDS) and all(line.startswith("PASS") for line in lines)
    assert "passed: 14 pass, 0 fail, 0 warn" in result.stdout
    assert "pass --state-url" in result.stdout  # the duplicate case says what it could not see


def test_broken_handler_fails_exactly_its_flaws(cli):
    with example_shop("broken_handler") as shop:
        result, cases = check_json(cli, shop.url, "--order", "A1", "--amount", "1.00",
                                   "--state-url", shop.state_url)
    assert result.code == ExitCode.CHECK_FAILED
    failed = {k for k, c in cases.items() if c["grade"] == "FAIL"}
    assert failed == FLAWS
    assert "credited the order" in cases["bad_signature"]["reason"]
    assert "forge" in cases["bad_signature"]["reason"]
    assert "verify the sign" in cases["bad_signature"]["fix"]
    assert "another amount" in cases["amount_mismatch"]["reason"]
    assert "Decimal" in cases["amount_mismatch"]["fix"]
    assert "credited" in cases["duplicate"]["reason"] and "trade_no" in cases["duplicate"]["fix"]
    assert "epay: error: 6 of 14 cases failed" in result.stderr
    for name in FLAWS:
        assert name in result.stderr


def test_broken_handler_without_state_is_caught_by_its_answers(cli):
    with example_shop("broken_handler") as shop:
        result, cases = check_json(cli, shop.url, "--order", "A1", "--amount", "1.00")
    assert result.code == ExitCode.CHECK_FAILED
    failed = {k for k, c in cases.items() if c["grade"] == "FAIL"}
    # answering success to repeats is right; crediting them is not, and only state shows it
    assert failed == FLAWS - {"duplicate"}
    assert "answered success" in cases["tampered_amount"]["reason"]


def test_v2_suite_against_a_v2_handler(cli, tmp_path):
    platform = tmp_path / "platform.pem"
    platform.write_text(V2["platform_private_key_pem"])
    with v2_shop(V2["platform_public_key_pem"], {"V1": "3.00"}) as (base, credits):
        result = cli("check", "notify", base + "notify", "--platform-key", str(platform),
                     "--pid", PID, "--order", "V1", "--amount", "3", "--state-url",
                     base + "state", "--json")
        assert credits["V1"] == 1
    document = json.loads(result.stdout)
    cases = {c["id"]: c for c in document["cases"]}
    assert document["order"]["sign_type"] == "RSA"
    genuine = cases["genuine"]["notifies"][0]["fields"]
    assert genuine["sign_type"] == "RSA" and "timestamp" in genuine
    grades = {k: c["grade"] for k, c in cases.items()}
    # This handler never reads POST bodies: the check finds exactly that — a WARN, as Rainbow
    # servers only send GET (issue 14.12); a FAIL when the gateway POSTs.
    assert {k: g for k, g in grades.items() if g != "PASS"} == {"post_delivery": "WARN"}, grades
    assert "form body" in cases["post_delivery"]["fix"]
    assert "--gateway-posts" in cases["post_delivery"]["reason"]
    assert result.code == ExitCode.OK
    with v2_shop(V2["platform_public_key_pem"], {"V1": "3.00"}) as (base, credits):
        posts = cli("check", "notify", base + "notify", "--platform-key", str(platform),
                    "--pid", PID, "--order", "V1", "--amount", "3", "--only", "post_delivery",
                    "--gateway-posts", "--json")
    assert posts.code == ExitCode.CHECK_FAILED
    assert json.loads(posts.stdout)["cases"][0]["grade"] == "FAIL"


def test_text_report_names_each_failure_with_its_fix(cli):
    with example_shop("broken_handler") as shop:
        result = check(cli, shop.url, "--order", "A1", "--amount", "1.00",
                       "--state-url", shop.state_url)
    lines = result.stdout.splitlines()
    for name in FLAWS:
        row = next(i for i, line in enumerate(lines) if line.split()[1:2] == [name])
        assert lines[row].startswith("FAIL")
        assert lines[row + 1].strip().startswith("fix: ")
    assert "FAILED: 8 pass, 6 fail, 0 warn" in result.stdout


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_terminal_gets_a_table():
    stdout, stderr = _Terminal(), io.StringIO()
    env = Environment(None, stdout, stderr, {"TERM": "xterm"})
    with example_shop("broken_handler") as shop:
        code = run(["check", "notify", shop.url, "--key", KEY, "--pid", PID, "--order", "A1",
                    "--amount", "1.00", "--only", "genuine,bad_signature"], env)
    text = stdout.getvalue()
    assert code == ExitCode.CHECK_FAILED
    assert "CASE" in text and "GRADE" in text and "FIX" in text
    assert "bad_signature" in text and "\x1b[" in text  # styled for a terminal
    assert "FAILED: 1 pass, 1 fail" in text


def test_junit_xml_parses_and_carries_every_case(cli, tmp_path):
    report = tmp_path / "junit.xml"
    with example_shop("broken_handler") as shop:
        result = check(cli, shop.url, "--order", "A1", "--amount", "1.00",
                       "--state-url", shop.state_url, "--junit", str(report))
    assert result.code == ExitCode.CHECK_FAILED
    root = ET.parse(report).getroot()
    assert root.tag == "testsuites"
    suite = root.find("testsuite")
    assert suite.get("tests") == str(len(CASE_IDS)) and suite.get("failures") == "6"
    cases = {case.get("name"): case for case in suite.findall("testcase")}
    assert set(cases) == set(CASE_IDS)
    assert {n for n, c in cases.items() if c.find("failure") is not None} == FLAWS
    failure = cases["bad_signature"].find("failure")
    assert "forge" in failure.get("message") and "fix:" in failure.text
    assert cases["genuine"].find("failure") is None
    assert float(cases["genuine"].get("time")) >= 0
    properties = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert properties["out_trade_no"] == "A1" and properties["url"] == shop.url
    assert KEY not in report.read_text()


def test_junit_marks_warnings_without_failing(cli, tmp_path):
    report = tmp_path / "j.xml"
    with odd_handler(Behaviour(status=500, body="success")) as url:
        result = check(cli, url, "--order", "A1", "--amount", "1", "--only",
                       "genuine,slow_redirect", "--junit", str(report))
    assert result.code == ExitCode.OK, result.stdout
    suite = ET.parse(report).getroot().find("testsuite")
    assert suite.get("failures") == "0"
    out = {c.get("name"): c.findtext("system-out") for c in suite.findall("testcase")}
    assert out["slow_redirect"].startswith("WARN:") and "HTTP 500" in out["slow_redirect"]
    assert out["genuine"] is None


def test_500_with_success_counts_as_delivered_but_warns(cli):
    with odd_handler(Behaviour(status=500, body="SUCCESS")) as url:
        result, cases = check_json(cli, url, "--order", "A1", "--amount", "1.00")
    assert cases["genuine"]["grade"] == "PASS"  # a gateway ignores the status
    assert cases["duplicate"]["grade"] == "PASS"
    assert cases["slow_redirect"]["grade"] == "WARN"
    # answering success to everything fails every refusal case
    assert cases["bad_signature"]["grade"] == "FAIL"
    assert cases["unknown_order"]["grade"] == "WARN"
    assert cases["not_paid"]["grade"] == "WARN"
    assert result.code == ExitCode.CHECK_FAILED


def test_redirecting_handler_fails_genuine_and_warns(cli):
    with odd_handler(Behaviour(status=301, body="", location="https://shop.example/notify/")) \
            as url:
        result, cases = check_json(cli, url, "--order", "A1", "--amount", "1.00", "--only",
                                   "genuine,bad_signature,slow_redirect")
    assert result.code == ExitCode.CHECK_FAILED
    assert cases["genuine"]["grade"] == "FAIL"
    assert "does not follow redirects" in cases["genuine"]["reason"]
    assert "final URL" in cases["genuine"]["fix"]
    assert cases["bad_signature"]["grade"] == "PASS"
    assert cases["slow_redirect"]["grade"] == "WARN" and "redirect" in \
        cases["slow_redirect"]["reason"]
    assert cases["genuine"]["answers"][0]["location"] == "https://shop.example/notify/"


def test_handler_that_times_out_fails_genuine(cli):
    behaviour = Behaviour(delay=1.0)
    with odd_handler(behaviour) as url:
        result, cases = check_json(cli, url, "--order", "A1", "--amount", "1.00", "--timeout",
                                   "0.3", "--only", "genuine,bad_signature,slow_redirect")
    assert result.code == ExitCode.CHECK_FAILED
    assert cases["genuine"]["grade"] == "FAIL"
    assert "no answer within 0.3 s" in cases["genuine"]["reason"]
    assert "within 5 s" in cases["genuine"]["fix"]
    assert cases["slow_redirect"]["grade"] == "WARN"


def test_slow_handler_warns(cli):
    with odd_handler(Behaviour(delay=0.4)) as url:
        result, cases = check_json(cli, url, "--order", "A1", "--amount", "1.00", "--timeout",
                                   "0.6", "--only", "genuine,slow_redirect")
    assert result.code == ExitCode.OK
    assert cases["genuine"]["grade"] == "PASS"
    assert cases["slow_redirect"]["grade"] == "WARN" and "slowest answer" in \
        cases["slow_redirect"]["reason"]


def test_handler_that_is_down_is_one_line_exit_5(cli):
    result = check(cli, f"http://127.0.0.1:{unused_port()}/notify", "--order", "A1",
                   "--amount", "1.00")
    assert result.code == ExitCode.NETWORK
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and "connection refused" in result.stderr


def test_only_and_skip_select_cases(cli):
    with example_shop("correct_handler") as shop:
        _, only = check_json(cli, shop.url, "--order", "A1", "--amount", "1.00", "--only",
                             "genuine,duplicate", "--only", "wrong_pid")
        _, skipped = check_json(cli, shop.url, "--order", "A1", "--amount", "1.00", "--skip",
                                "duplicate,slow_redirect")
        _, alone = check_json(cli, shop.url, "--order", "A1", "--amount", "1.00", "--only",
                              "slow_redirect")
    assert set(only) == {"genuine", "duplicate", "wrong_pid"}
    assert set(skipped) == set(CASE_IDS) - {"duplicate", "slow_redirect"}
    assert alone["slow_redirect"]["grade"] == "PASS" and "1 answers" in \
        alone["slow_redirect"]["reason"]


def test_create_order_cmd_makes_the_order(cli):
    with example_shop("correct_handler", orders={}) as shop:
        command = (f"{sys.executable} -c \"import urllib.request as u; print(u.urlopen("
                   f"u.Request('{shop.base}orders?money=2.50', method='POST')).read().decode())\"")
        result, cases = check_json(cli, shop.url, "--create-order-cmd", command,
                                   "--state-url", shop.state_url)
        orders = shop.server.shop.orders
        (number,) = orders
        assert orders[number]["credits"] == 1
    assert result.code == ExitCode.OK, result.stderr
    assert cases["genuine"]["notifies"][0]["fields"]["out_trade_no"] == number
    assert cases["genuine"]["notifies"][0]["fields"]["money"] == "2.50"
    assert cases["float_money"]["notifies"][0]["fields"]["money"] == "2.5"


def test_state_url_placeholder(cli):
    with example_shop("correct_handler") as shop:
        result = check(cli, shop.url, "--order", "A1", "--amount", "1", "--only", "duplicate",
                       "--state-url", shop.base + "state?out_trade_no={out_trade_no}&x=1")
    assert result.code == ExitCode.OK
    assert "credited exactly once" in result.stdout


def test_already_credited_order_is_noted(cli):
    with example_shop("correct_handler") as shop:
        shop.server.shop.orders["A1"]["credits"] = 1
        shop.server.shop.orders["A1"]["trade_no"] = "T"
        result = check(cli, shop.url, "--order", "A1", "--amount", "1.00", "--state-url",
                       shop.state_url)
    assert "already credited" in result.stderr
    assert result.code == ExitCode.OK


def test_amount_as_float_cast_text_is_same_order(cli):
    with example_shop("correct_handler", orders={"B2": "10.00"}) as shop:
        result, cases = check_json(cli, shop.url, "--order", "B2", "--amount", "10")
    assert result.code == ExitCode.OK
    assert cases["amount_mismatch"]["notifies"][0]["fields"]["money"] == "0.01"
    assert cases["tampered_amount"]["notifies"][0]["fields"]["money"] == "0.01"


@pytest.mark.parametrize("args, words", [
    (["--amount", "1.00"], "needs a real, unpaid order"),
    (["--order", "A1"], "amount of order 'A1' is needed"),
    (["--order", "A1", "--amount", "abc"], "amount"),
    (["--order", "A1", "--amount", "1", "--only", "nope"], "unknown case 'nope'"),
    (["--order", "A1", "--amount", "1", "--skip", ",".join(CASE_IDS)], "no case left"),
    (["--order", "A1", "--amount", "1", "--create-order-cmd", "true"], "both given"),
    (["--create-order-cmd", "/nonexistent/make-order"], "was not found"),
    (["--create-order-cmd", "echo"], "printed nothing"),
    (["--create-order-cmd", "echo A9"], "without its amount"),
    (["--create-order-cmd", "echo '{\"money\": 1}'"], "without out_trade_no"),
    (["--create-order-cmd", "echo 'a b c'"], "more than"),
    (["--order", "A1", "--amount", "1", "--state-url", "nope"], "not an absolute"),
])
def test_bad_input_is_one_line_exit_2(cli, args, words):
    result = check(cli, "http://127.0.0.1:9/notify", *args)
    assert result.code == ExitCode.USAGE, result.stderr
    assert result.stderr.startswith("epay: error: ") and words in result.stderr
    assert result.stderr.count("\n") == 1 and result.stdout == ""


@pytest.mark.parametrize("url", ["notify", "ftp://x/notify", "http://", "http://x:99999/",
                                 "http://x/n#frag"])
def test_bad_url_is_exit_2(cli, url):
    result = check(cli, url, "--order", "A1", "--amount", "1")
    assert result.code == ExitCode.USAGE and "epay: error:" in result.stderr


def test_failing_create_order_cmd_is_an_error(cli):
    result = check(cli, "http://127.0.0.1:9/notify", "--create-order-cmd",
                   f"{sys.executable} -c \"import sys; sys.exit('db down')\"")
    assert result.code == ExitCode.ERROR
    assert "exited with 1: db down" in result.stderr


def test_state_url_that_is_not_json_is_an_error(cli):
    with example_shop("correct_handler") as shop, odd_handler(Behaviour(body="<html>")) as odd:
        result = check(cli, shop.url, "--order", "A1", "--amount", "1", "--state-url", odd)
        assert shop.credits("A1") == 0  # checked before anything was sent
    assert result.code == ExitCode.ERROR
    assert "not JSON" in result.stderr and "credits" in result.stderr


def test_state_url_that_is_down_is_exit_5(cli):
    with example_shop("correct_handler") as shop:
        result = check(cli, shop.url, "--order", "A1", "--amount", "1", "--state-url",
                       f"http://127.0.0.1:{unused_port()}/state")
    assert result.code == ExitCode.NETWORK and "state URL" in result.stderr


def test_missing_pid_and_key(cli):
    result = cli("check", "notify", "http://127.0.0.1:9/", "--key", KEY, "--order", "A1",
                 "--amount", "1")
    assert result.code == ExitCode.USAGE and "merchant id" in result.stderr


def test_never_prints_the_key(cli):
    with example_shop("broken_handler") as shop:
        text = check(cli, shop.url, "--order", "A1", "--amount", "1").stdout
        data = check(cli, shop.url, "--order", "A1", "--amount", "1", "--json").stdout
    assert KEY not in text and KEY not in data


def test_dry_run_sends_nothing_and_shows_every_case(cli):
    behaviour = Behaviour()
    with odd_handler(behaviour) as url:
        text = check(cli, url, "--order", "A1", "--amount", "1.00", "--dry-run")
        result = check(cli, url, "--order", "A1", "--amount", "1.00", "--dry-run", "--json")
    assert behaviour.seen == [] and result.code == ExitCode.OK
    planned = {case["id"]: case for case in json.loads(result.stdout)["cases"]}
    assert set(planned) == set(CASE_IDS)
    assert planned["duplicate"]["notifies"][0]["times"] == 15
    assert planned["post_delivery"]["notifies"][0]["method"] == "POST"
    assert planned["slow_redirect"]["notifies"] == []
    assert "duplicate ×15: GET " + url in text.stdout
    assert "dry run: nothing sent" in text.stderr


def test_dry_run_runs_no_command(cli, tmp_path):
    marker = tmp_path / "ran"
    result = check(cli, "http://127.0.0.1:9/", "--dry-run", "--create-order-cmd",
                   f"touch {marker}")
    assert result.code == ExitCode.USAGE and not marker.exists()


@pytest.mark.parametrize("script, code", [("correct_handler.py", ExitCode.OK),
                                          ("broken_handler.py", ExitCode.CHECK_FAILED)])
def test_example_handlers_run_as_scripts(cli, script, code):
    import subprocess

    from test_check_support import EXAMPLES

    process = subprocess.Popen([sys.executable, str(EXAMPLES / script), "--port", "0", "--key",
                                KEY, "--pid", PID, "--order", "S1=5.00"],
                               stdout=subprocess.PIPE, text=True)
    try:
        url = process.stdout.readline().split()[-1]  # "listening on http://127.0.0.1:N/notify"
        state = url.removesuffix("notify") + "state"
        result = check(cli, url, "--order", "S1", "--amount", "5", "--state-url", state)
    finally:
        process.terminate()
        process.wait(timeout=10)
    assert result.code == code, result.stdout


def test_junit_into_a_missing_folder_is_refused_before_sending(cli, tmp_path):
    behaviour = Behaviour()
    with odd_handler(behaviour) as url:
        result = check(cli, url, "--order", "A1", "--amount", "1", "--junit",
                       str(tmp_path / "no" / "such" / "j.xml"))
    assert result.code == ExitCode.USAGE and "folder does not exist" in result.stderr
    assert behaviour.seen == []


def test_unwritable_junit_is_one_line_after_the_report(cli, tmp_path):
    target = tmp_path / "dir.xml"
    target.mkdir()  # a directory where the file should go
    with example_shop("correct_handler") as shop:
        result = check(cli, shop.url, "--order", "A1", "--amount", "1", "--junit", str(target))
    assert result.code == ExitCode.USAGE and "cannot write --junit" in result.stderr
    assert "passed: 14 pass" in result.stdout


def test_a_handler_that_drops_the_connection_is_reached_but_never_accepts(cli):
    with odd_handler(Behaviour(drop=True)) as url:
        result, cases = check_json(cli, url, "--order", "A1", "--amount", "1.00")
    assert result.code == ExitCode.CHECK_FAILED  # not "unreachable" (exit 5)
    assert cases["bad_signature"]["grade"] == "PASS"  # dropping a forgery refuses it
    assert cases["genuine"]["grade"] == "FAIL"
    assert "broke the connection" in cases["genuine"]["reason"]


def test_huge_answers_are_read_bounded(cli):
    from epaycli.conformance.delivery import BODY_LIMIT

    with odd_handler(Behaviour(body="x" * (BODY_LIMIT * 3) + "success")) as url:
        result = cli("trigger", "notify", "--to", url, "--key", KEY, "--pid", PID, "--json")
    answer = json.loads(result.stdout)["answer"]
    assert result.code == ExitCode.OK and answer["delivered"] is False
    assert len(answer["body"]) <= 201
