"""``epay trigger notify`` for real on 127.0.0.1: every mode against the example handlers and
against a recording handler (what arrived is what was printed, and it verifies in
``epay verify``), and its answers judged as a gateway judges them."""

from __future__ import annotations

import json
import subprocess
import sys
from urllib.parse import parse_qsl, urlsplit

import pytest
from conftest import load_vectors
from test_check_support import KEY, PID, Behaviour, example_shop, odd_handler, unused_port

from epaycli.core.errors import ExitCode

V2 = load_vectors("v2-rsa")


def trigger(cli, url, *args):
    return cli("trigger", "notify", "--to", url, "--key", KEY, "--pid", PID, *args)


def trigger_json(cli, url, *args):
    result = trigger(cli, url, "--json", *args)
    assert result.code == ExitCode.OK, result.stderr
    return json.loads(result.stdout)


def received(behaviour: Behaviour) -> dict[str, str]:
    method, path, body, _ = behaviour.seen[-1]
    return dict(parse_qsl(urlsplit(path).query if method == "GET" else body,
                          keep_blank_values=True))


def test_genuine_notify_is_delivered_and_credits(cli):
    with example_shop("correct_handler") as shop:
        result = trigger(cli, shop.url, "--order", "A1", "--amount", "1.00")
        assert shop.credits("A1") == 1
    assert result.code == ExitCode.OK, result.stderr
    fields = dict(line.split(None, 1) for line in result.stdout.splitlines())
    assert fields["status"] == "200" and fields["body"] == "success"
    assert fields["delivered"].startswith("yes")
    assert fields["latency"].endswith(" ms")
    assert result.stderr.startswith("GET http://127.0.0.1:")


@pytest.mark.parametrize("mode", [["--bad-sign"], ["--unsigned"], ["--sign-with", "x" * 32],
                                  ["--set", "money=0.01"], ["--amount", "0.01"],
                                  ["--set", "trade_status=WAIT_BUYER_PAY"], ["--pid", "1001"]])
def test_refused_notifies_are_not_delivered_and_do_not_credit(cli, mode):
    with example_shop("correct_handler") as shop:
        document = trigger_json(cli, shop.url, "--order", "A1", *mode)
        assert shop.credits("A1") == 0
    assert document["answer"]["body"] == "fail"
    assert document["answer"]["delivered"] is False
    assert document["answer"]["verdict"].startswith("no — the body does not contain success")
    assert document["summary"]["delivered"] == 0


def test_the_broken_handler_credits_what_it_should_not(cli):
    with example_shop("broken_handler") as shop:
        trigger_json(cli, shop.url, "--order", "A1", "--bad-sign")
        trigger_json(cli, shop.url, "--order", "A1", "--amount", "0.01")
        assert shop.credits("A1") == 2



def test_what_arrives_is_what_dry_run_prints_and_it_verifies(cli):
    behaviour = Behaviour()
    with odd_handler(behaviour) as url:
        shown = trigger(cli, url, "--order", "A1", "--amount", "9.90", "--trade-no",
                        "2026120108000012345", "--now", "1764547200", "--dry-run")
        assert behaviour.seen == []  # nothing sent
        sent = trigger(cli, url, "--order", "A1", "--amount", "9.90", "--trade-no",
                       "2026120108000012345", "--now", "1764547200")
    method, path, _, headers = behaviour.seen[0]
    arrived = url.rsplit("/", 1)[0] + path
    assert method == "GET" and shown.stdout.strip() == arrived
    assert sent.stderr.strip() == f"GET {arrived}"
    assert list(received(behaviour)) == ["pid", "trade_no", "out_trade_no", "type", "name",
                                         "money", "trade_status", "sign", "sign_type"]
    assert received(behaviour)["money"] == "9.9"  # float-cast, as newer servers send
    assert headers["Accept-Language"] == "zh-CN,zh;q=0.8" and "Chrome" in headers["User-Agent"]
    verdict = cli("verify", arrived, "--key", KEY, "--amount", "9.90", "--pid", PID, "--json")
    assert verdict.code == ExitCode.OK, verdict.stdout
    assert json.loads(verdict.stdout)["verdict"] == "genuine"


def test_verify_in_a_separate_process_accepts_the_exact_url_sent(tmp_path):
    behaviour = Behaviour()
    epay = [sys.executable, "-m", "epaycli"]
    env = {"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    with odd_handler(behaviour) as url:
        sent = subprocess.run([*epay, "trigger", "notify", "--to", url, "--key", KEY, "--pid",
                               PID, "--order", "Z9", "--amount", "5", "--param", "p&q=1 x"],
                              capture_output=True, text=True, env=env, timeout=60)
    assert sent.returncode == 0, sent.stderr
    arrived = url.rsplit("/", 1)[0] + behaviour.seen[0][1]
    assert received(behaviour)["param"] == "p&q=1 x"
    checked = subprocess.run([*epay, "verify", arrived, "--key", KEY], capture_output=True,
                             text=True, env=env, timeout=60)
    assert checked.returncode == 0 and checked.stdout.strip() == "valid"
    bad = subprocess.run([*epay, "verify", arrived.replace("money=5", "money=6"), "--key", KEY],
                         capture_output=True, text=True, env=env, timeout=60)
    assert bad.returncode == ExitCode.SIGNATURE_INVALID


@pytest.mark.parametrize("mode, check", [
    (["--bad-sign"], "bad"), (["--unsigned"], "unsigned"), (["--sign-with", "y" * 32], "bad"),
])
def test_sign_modes_fail_verification(cli, mode, check):
    behaviour = Behaviour()
    with odd_handler(behaviour) as url:
        genuine = trigger_json(cli, url, "--order", "A1", "--trade-no", "1", "--now", "5")
        altered = trigger_json(cli, url, "--order", "A1", "--trade-no", "1", "--now", "5", *mode)
    fields = altered["notify"]["fields"]
    if check == "unsigned":
        assert "sign" not in fields and "sign_type" not in fields
    else:
        original = genuine["notify"]["fields"]["sign"]
        assert len(fields["sign"]) == 32 and fields["sign"] != original
        if mode == ["--bad-sign"]:
            assert sum(a != b for a, b in zip(fields["sign"], original)) == 1
    verdict = cli("verify", altered["notify"]["url"], "--key", KEY)
    assert verdict.code == ExitCode.SIGNATURE_INVALID


def test_set_changes_and_adds_signed_fields(cli):
    behaviour = Behaviour()
    with odd_handler(behaviour) as url:
        trigger_json(cli, url, "--set", "name=月卡 A&B", "--set", "channel=7", "--set", "param=")
    fields = received(behaviour)
    assert fields["name"] == "月卡 A&B" and fields["channel"] == "7" and fields["param"] == ""
    assert list(fields)[-4:] == ["channel", "param", "sign", "sign_type"]
    assert cli("verify", url + "?" + behaviour.seen[0][1].split("?", 1)[1], "--key",
               KEY).code == ExitCode.OK


def test_set_sign_is_sent_as_given(cli):
    document = trigger_json(cli, "http://127.0.0.1:9/n", "--dry-run", "--set", "sign=abc",
                            "--set", "sign_type=md5")
    assert document["fields"]["sign"] == "abc" and document["fields"]["sign_type"] == "md5"


def test_post_method_sends_a_form(cli):
    behaviour = Behaviour()
    with odd_handler(behaviour) as url, example_shop("correct_handler") as shop:
        recorded = trigger_json(cli, url, "--method", "POST", "--order", "A1")
        document = trigger_json(cli, shop.url, "--method", "POST", "--order", "A1")
        assert shop.credits("A1") == 1
    method, path, body, headers = behaviour.seen[0]
    assert method == "POST" and path == "/notify"
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert "sign=" in body
    assert document["answer"]["delivered"] is True
    assert recorded["notify"]["body"] == body


@pytest.mark.parametrize("amount, gateway, two_dp", [("1.00", "1", "1.00"), ("1.50", "1.5", "1.50"),
                                                     ("12.34", "12.34", "12.34")])
def test_money_formats(cli, amount, gateway, two_dp):
    float_cast = trigger_json(cli, "http://127.0.0.1:9/", "--dry-run", "--amount", amount)
    fixed = trigger_json(cli, "http://127.0.0.1:9/", "--dry-run", "--amount", amount,
                         "--money-format", "2dp")
    assert float_cast["fields"]["money"] == gateway and fixed["fields"]["money"] == two_dp


def test_v2_notify_is_signed_with_the_platform_key_and_verifies(cli, tmp_path):
    private = tmp_path / "platform.pem"
    private.write_text(V2["platform_private_key_pem"])
    public = tmp_path / "platform_public.pem"
    public.write_text(V2["platform_public_key_pem"])
    behaviour = Behaviour()
    with odd_handler(behaviour) as url:
        document = trigger_json(cli, url, "--platform-key", str(private), "--now", "1764547200",
                                "--order", "V2A")
    fields = received(behaviour)
    assert list(fields)[-3:] == ["timestamp", "sign_type", "sign"]
    assert fields["sign_type"] == "RSA" and fields["timestamp"] == "1764547200"
    arrived = url.rsplit("/", 1)[0] + behaviour.seen[0][1]
    assert document["notify"]["url"] == arrived
    verdict = cli("verify", arrived, "--public-key", str(public), "--now", "1764547200")
    assert verdict.code == ExitCode.OK, verdict.stderr
    stale = cli("verify", arrived, "--public-key", str(public), "--now", "1764557200")
    assert stale.code == ExitCode.SIGNATURE_INVALID
    forged = trigger_json(cli, url, "--platform-key", str(private), "--bad-sign", "--dry-run")
    assert cli("verify", forged["url"], "--public-key", str(public)).code == 3


def test_count_and_concurrency(cli):
    with example_shop("correct_handler") as shop, example_shop("broken_handler") as broken:
        good = trigger_json(cli, shop.url, "--order", "A1", "--count", "40", "--concurrency", "8")
        bad = trigger_json(cli, broken.url, "--order", "A1", "--count", "40", "--concurrency", "8")
        assert shop.credits("A1") == 1  # idempotent
        assert broken.credits("A1") == 40  # credits every duplicate
    summary = good["summary"]
    assert summary["sent"] == 40 and summary["delivered"] == 40 and summary["no_answer"] == 0
    assert summary["statuses"] == {"200": 40} and summary["per_second"] > 0
    assert summary["p50_ms"] <= summary["p95_ms"] <= summary["max_ms"]
    assert "answer" not in good and bad["summary"]["delivered"] == 40


def test_count_text_output(cli):
    with example_shop("correct_handler") as shop:
        result = trigger(cli, shop.url, "--order", "A1", "--count", "5", "--concurrency", "2")
    assert result.code == ExitCode.OK
    assert "sent        5 in" in result.stdout and "delivered   5" in result.stdout


def test_redirect_is_not_followed(cli):
    behaviour = Behaviour(status=302, body="", location="https://shop.example/notify")
    with odd_handler(behaviour) as url:
        result = trigger(cli, url)
        document = trigger_json(cli, url)
    assert result.code == ExitCode.OK
    assert "location   https://shop.example/notify (not followed)" in result.stdout
    assert document["answer"]["delivered"] is False
    assert "redirect" in document["answer"]["verdict"]
    assert len(behaviour.seen) == 2  # one request each: the redirect was not followed


def test_500_with_success_counts_as_delivered(cli):
    with odd_handler(Behaviour(status=500, body="<p>Success</p>")) as url:
        document = trigger_json(cli, url)
    assert document["answer"]["status"] == 500 and document["answer"]["delivered"] is True


def test_no_answer_in_time_is_exit_5(cli):
    with odd_handler(Behaviour(delay=1.0)) as url:
        result = trigger(cli, url, "--timeout", "0.3")
    assert result.code == ExitCode.NETWORK
    assert result.stdout == "" and "no answer within 0.3 s" in result.stderr


def test_some_without_answer_prints_the_summary_and_exits_5(cli):
    with odd_handler(Behaviour(delay=0.5)) as url:
        result = trigger(cli, url, "--timeout", "0.3", "--count", "2", "--json")
    assert result.code == ExitCode.NETWORK
    assert "2 of 2 notifies" in result.stderr


def test_unreachable_handler_is_one_line_exit_5(cli):
    result = trigger(cli, f"http://127.0.0.1:{unused_port()}/notify")
    assert result.code == ExitCode.NETWORK
    assert result.stdout == ""
    lines = [line for line in result.stderr.splitlines() if line.startswith("epay: error:")]
    assert len(lines) == 1 and "connection refused" in lines[0]


@pytest.mark.parametrize("args, words", [
    (["--to", "not a url"], "not an absolute http(s) URL"),
    (["--to", "http://127.0.0.1:99999/"], "not a valid URL"),
    (["--to", "http://x/", "--set", "money"], "is not name=value"),
    (["--to", "http://x/", "--set", "=1"], "is not name=value"),
    (["--to", "http://x/", "--amount", "1.001"], "amount"),
    (["--to", "http://x/", "--bad-sign", "--unsigned"], "exclude each other"),
    (["--to", "http://x/", "--count", "0"], "--count"),
    (["--to", "http://x/", "--method", "PUT"], "--method"),
])
def test_bad_input_is_one_line_exit_2(cli, args, words):
    result = cli("trigger", "notify", "--key", KEY, "--pid", PID, *args)
    assert result.code == ExitCode.USAGE, result.stderr
    assert words in result.stderr and result.stderr.startswith("epay: error:")
    assert result.stdout == ""


def test_missing_pid_with_own_key(cli):
    result = cli("trigger", "notify", "--to", "http://x/", "--key", KEY)
    assert result.code == ExitCode.USAGE and "merchant id" in result.stderr


def test_bad_platform_key_is_a_config_error(cli, tmp_path):
    bad = tmp_path / "bad.pem"
    bad.write_text("-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----\n")
    result = trigger(cli, "http://x/", "--platform-key", str(bad))
    assert result.code == ExitCode.CONFIG and "platform private key" in result.stderr
    missing = trigger(cli, "http://x/", "--platform-key", str(tmp_path / "none.pem"))
    assert missing.code == ExitCode.CONFIG and "does not exist" in missing.stderr


def test_sandbox_default_warns_and_keys_never_print(cli):
    result = cli("trigger", "notify", "--to", "http://127.0.0.1:9/", "--dry-run")
    assert result.code == ExitCode.OK and "sandbox" in result.stderr
    own = trigger(cli, "http://127.0.0.1:9/", "--dry-run", "--sign-with", "S" * 32, "--json")
    assert KEY not in own.stdout + own.stderr and "S" * 32 not in own.stdout + own.stderr


PROBE = """
import sys, json
from epaycli.cli.main import run
code = run(sys.argv[1:])
print(json.dumps({"code": int(code), "httpx": "httpx" in sys.modules}), file=sys.stderr)
"""


@pytest.mark.parametrize("args", [
    ["trigger", "notify", "--to", "http://127.0.0.1:9/n", "--dry-run", "--key", KEY, "--pid", "1"],
    ["check", "notify", "--help"],
    ["trigger", "notify", "--help"],
])
def test_trigger_and_check_load_httpx_only_to_send(args, tmp_path):
    done = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True,
                          env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}, timeout=60)
    report = json.loads(done.stderr.strip().splitlines()[-1])
    assert report == {"code": 0, "httpx": False}


def test_an_order_epay_created_fills_the_notify(cli, monkeypatch, tmp_path):
    from decimal import Decimal

    from epaycli.state import LocalState, RecordedOrder

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    state = LocalState(tmp_path / "state" / "epay" / "state.sqlite3")
    state.record_order(RecordedOrder("http://127.0.0.1:8787/", PID, "R1", "2026120100000099999",
                                     Decimal("9.90"), "月卡", "wxpay", 10))
    document = trigger_json(cli, "http://127.0.0.1:9/", "--order", "R1", "--dry-run")
    fields = document["fields"]
    assert fields["money"] == "9.9" and fields["trade_no"] == "2026120100000099999"
    assert fields["type"] == "wxpay" and fields["pid"] == PID
    flagged = trigger_json(cli, "http://127.0.0.1:9/", "--order", "R1", "--amount", "1",
                           "--type", "alipay", "--dry-run")["fields"]
    assert flagged["money"] == "1" and flagged["type"] == "alipay"
    unknown = trigger_json(cli, "http://127.0.0.1:9/", "--order", "R2", "--dry-run")["fields"]
    assert unknown["money"] == "1" and unknown["trade_no"] != "2026120100000099999"


def test_no_state_file_is_created_by_trigger(cli, monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    trigger_json(cli, "http://127.0.0.1:9/", "--order", "R1", "--dry-run")
    assert not (tmp_path / "state").exists()


def test_a_handler_that_closes_every_connection_gets_every_notify(cli):
    behaviour = Behaviour(close=True)
    with odd_handler(behaviour) as url:
        document = trigger_json(cli, url, "--count", "12", "--concurrency", "3")
    assert document["summary"]["delivered"] == 12 and len(behaviour.seen) == 12
    assert len({headers["_peer"] for *_, headers in behaviour.seen}) == 12  # a new one each


def test_a_handler_that_drops_the_connection_is_no_answer(cli):
    with odd_handler(Behaviour(drop=True)) as url:
        result = trigger(cli, url)
    assert result.code == ExitCode.NETWORK and "broke the connection" in result.stderr


def test_keep_alive_is_used_for_many_notifies(cli):
    behaviour = Behaviour()
    with odd_handler(behaviour) as url:
        trigger_json(cli, url, "--count", "20", "--concurrency", "2")
    ports = {headers["_peer"] for *_, headers in behaviour.seen}
    assert len(behaviour.seen) == 20 and len(ports) <= 2  # two connections, kept alive
