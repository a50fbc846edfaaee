"""Alerts of `epay monitor`: once per incident and once on recovery, remembered between
`--once` runs, in each robot's documented shape (signed for DingTalk and Feishu), by e-mail to
a real SMTP server, to a command; a failing channel is reported, retried and stops nothing."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import socket
import stat
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from mockkit import order_fields, signed

from epaycli.mock.server import start_gateway

ANSWERS = {"wecom": b'{"errcode": 0, "errmsg": "ok"}',
           "dingtalk": b'{"errcode": 0, "errmsg": "ok"}',
           "feishu": b'{"code": 0, "msg": "success", "data": {}}',
           "slack": b"ok", "json": b"{}"}


class Robot:
    """A webhook receiver: records each POST (path, query, JSON body) and answers ``answer``."""

    def __init__(self, answer: bytes = b"{}") -> None:
        self.answer = answer
        self.posts: list[dict] = []
        self.arrived = threading.Condition()
        robot = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                split = urlsplit(self.path)
                with robot.arrived:
                    robot.posts.append({"path": split.path, "query": parse_qs(split.query),
                                        "type": self.headers.get("Content-Type"),
                                        "body": json.loads(body)})
                    robot.arrived.notify_all()
                self.send_response(200)
                self.send_header("Content-Length", str(len(robot.answer)))
                self.end_headers()
                self.wfile.write(robot.answer)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook/send?key=K3y"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def robot():
    receiver = Robot()
    yield receiver
    receiver.close()


@pytest.fixture(scope="module")
def gateway():
    """A gateway holding an order unpaid for twenty minutes: success rate 0 with the defaults."""
    import time

    back = {"seconds": 1200}
    gw = start_gateway(clock=lambda: time.time() - back["seconds"])
    with httpx.Client(timeout=10) as client:
        fields = order_fields("http://127.0.0.1:9/n", out_trade_no="STALE1")
        assert client.post(gw.url + "mapi.php", data=signed(fields, gw.key)).json()["code"] == 1
    yield gw
    gw.close()


def once(cli, gateway, *extra):
    return cli("monitor", "--once", "--json", "--gateway", gateway.url, "--pid", gateway.pid,
               "--key", gateway.key, *extra)


def incident_runs(cli, gateway, *channel):
    """Crossed, still crossed, recovered (the threshold lowered): the exit codes."""
    return [once(cli, gateway, *channel).code, once(cli, gateway, *channel).code,
            once(cli, gateway, "--min-success-rate", "0", *channel).code]


@pytest.mark.parametrize("fmt", ["wecom", "dingtalk", "feishu", "slack", "json"])
def test_one_alert_per_incident_and_one_on_recovery_in_each_format(cli, gateway, robot, fmt):
    robot.answer = ANSWERS[fmt]
    assert incident_runs(cli, gateway, "--alert-webhook", robot.url,
                         "--alert-format", fmt) == [7, 7, 0]
    assert len(robot.posts) == 2
    firing, recovered = (post["body"] for post in robot.posts)
    assert all(post["type"] == "application/json" for post in robot.posts)
    if fmt == "wecom":
        assert firing["msgtype"] == "text" and set(firing["text"]) == {
            "content", "mentioned_list", "mentioned_mobile_list"}
        text, back = firing["text"]["content"], recovered["text"]["content"]
    elif fmt == "dingtalk":
        assert firing["msgtype"] == "text" and firing["at"] == {"atMobiles": [], "isAtAll": False}
        text, back = firing["text"]["content"], recovered["text"]["content"]
    elif fmt == "feishu":
        assert firing["msg_type"] == "text" and "sign" not in firing
        text, back = firing["content"]["text"], recovered["content"]["text"]
    elif fmt == "slack":
        assert set(firing) == {"text"}
        text, back = firing["text"], recovered["text"]
    else:
        assert (firing["state"], recovered["state"]) == ("firing", "recovered")
        assert firing["incident"] == recovered["incident"]
        assert firing["breaches"] == [{"figure": "success_rate", "value": 0.0,
                                       "threshold": 0.995}]
        assert recovered["breaches"] == []
        return
    assert "success rate 0.00 % is below 99.50 %" in text and "epay monitor --once" in text
    assert "RECOVERED" in back and "pid 1000" in back


def test_dingtalk_is_signed_in_the_url_with_milliseconds(cli, gateway, robot):
    robot.answer = ANSWERS["dingtalk"]
    secret = "SEC0123456789abcdef"
    assert once(cli, gateway, "--alert-webhook", robot.url, "--alert-format", "dingtalk",
                "--alert-secret", secret).code == 7
    query = robot.posts[0]["query"]
    stamp, sign = query["timestamp"][0], query["sign"][0]
    assert len(stamp) == 13 and query["key"] == ["K3y"]
    expected = base64.b64encode(hmac.new(secret.encode(), f"{stamp}\n{secret}".encode(),
                                         hashlib.sha256).digest()).decode()
    assert sign == expected


def test_feishu_is_signed_in_the_body_with_seconds(cli, gateway, robot, monkeypatch):
    robot.answer = ANSWERS["feishu"]
    monkeypatch.setenv("EPAY_ALERT_SECRET", "feishu-secret")
    assert once(cli, gateway, "--alert-webhook", robot.url, "--alert-format", "feishu").code == 7
    body = robot.posts[0]["body"]
    stamp = body["timestamp"]
    assert len(stamp) == 10
    expected = base64.b64encode(hmac.new(f"{stamp}\nfeishu-secret".encode(), b"",
                                         hashlib.sha256).digest()).decode()
    assert body["sign"] == expected and body["msg_type"] == "text"


def test_the_open_incident_is_kept_private_under_the_state_folder(cli, gateway, robot,
                                                                   isolated_env):
    once(cli, gateway, "--alert-webhook", robot.url)
    path = isolated_env / ".local" / "state" / "epay" / "monitor-incidents.json"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    kept = json.loads(path.read_text())
    assert list(kept) == [f"{gateway.url}|{gateway.pid}"]
    assert kept[f"{gateway.url}|{gateway.pid}"]["breaches"] == ["success_rate"]


def test_a_failing_channel_is_reported_retried_and_stops_nothing(cli, gateway, robot, tmp_path):
    robot.answer = b'{"errcode": 310000, "errmsg": "keywords not in content"}'
    seen = tmp_path / "alert.json"
    result = once(cli, gateway, "--alert-webhook", robot.url, "--alert-format", "dingtalk",
                  "--alert-cmd", f"cat > {seen}")
    assert result.code == 7  # the report's verdict, not the channel's
    assert len(robot.posts) == 3  # tried three times
    assert result.stderr.count("failed (attempt") == 3
    assert "errcode 310000: keywords not in content" in result.stderr
    assert "not delivered after 3 attempts" in result.stderr
    assert "K3y" not in result.stderr  # the webhook's key is masked
    assert json.loads(seen.read_text())["state"] == "firing"  # the other channel got it
    assert json.loads(result.stdout)["breaches"][0]["figure"] == "success_rate"


def test_an_unreachable_webhook_does_not_stop_the_report(cli, gateway):
    result = once(cli, gateway, "--alert-webhook", "http://127.0.0.1:9/hook")
    assert result.code == 7 and "cannot reach http://127.0.0.1:9/" in result.stderr


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_an_email_reaches_a_real_smtp_server_with_a_login(cli, gateway, monkeypatch):
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    received = []
    arrived = threading.Event()

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            received.append(envelope)
            arrived.set()
            return "250 OK"

    def authenticate(server, session, envelope, mechanism, auth_data):
        return AuthResult(success=(auth_data.login, auth_data.password) == (b"ops", b"pw"))

    controller = Controller(Handler(), hostname="127.0.0.1", port=free_port(),
                            authenticator=authenticate, auth_require_tls=False)
    controller.start()
    monkeypatch.setenv("EPAY_SMTP_PASSWORD", "pw")
    try:
        codes = incident_runs(cli, gateway, "--alert-email", "ops@example.com",
                              "--smtp-host", "127.0.0.1", "--smtp-port", str(controller.port),
                              "--smtp-security", "none", "--smtp-user", "ops",
                              "--alert-from", "epay@example.com")
    finally:
        controller.stop()
    assert codes == [7, 7, 0]
    assert arrived.is_set() and len(received) == 2
    firing = received[0].content.decode()
    assert received[0].rcpt_tos == ["ops@example.com"]
    assert received[0].mail_from == "epay@example.com"
    assert "Subject: [epay] alert: success rate 0.00 % is below 99.50 %" in firing
    assert '"state": "firing"' in firing
    assert "Subject: [epay] recovered" in received[1].content.decode()


def test_a_wrong_smtp_password_fails_the_channel_with_the_password_masked():
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    from epaycli.monitor.alerts import Alert, DeliveryFailed, Email, Smtp

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            return "250 OK"

    controller = Controller(Handler(), hostname="127.0.0.1", port=free_port(),
                            authenticator=lambda *a: AuthResult(success=False),
                            auth_require_tls=False, auth_exclude_mechanism=["LOGIN"])
    controller.start()
    channel = Email("ops@example.com", Smtp("127.0.0.1", controller.port, "none", "ops",
                                            "wrong-password", timeout=3))
    try:
        with pytest.raises(DeliveryFailed) as failed:
            channel.send(Alert("firing", "i1", 0, {}, "text", "subject"))
    finally:
        controller.stop()
    assert "the SMTP server 127.0.0.1" in str(failed.value)
    assert "wrong-password" not in str(failed.value)


def test_the_alert_command_reads_the_alert_as_json(cli, gateway, tmp_path):
    seen = tmp_path / "alerts.jsonl"
    codes = incident_runs(cli, gateway, "--alert-cmd", f"cat >> {seen}; echo >> {seen}")
    assert codes == [7, 7, 0]
    alerts = [json.loads(line) for line in seen.read_text().splitlines() if line]
    assert [a["state"] for a in alerts] == ["firing", "recovered"]
    assert alerts[0]["orders"] == 1 and alerts[0]["success_rate"] == 0.0


def test_the_smtp_server_can_come_from_the_profile_with_its_password_masked(cli, gateway):
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    received = []

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            received.append(envelope)
            return "250 OK"

    controller = Controller(Handler(), hostname="127.0.0.1", port=free_port(),
                            authenticator=lambda s, se, e, m, data: AuthResult(
                                success=(data.login, data.password) == (b"ops@x", b"p@ss")),
                            auth_require_tls=False)
    controller.start()
    url = f"smtp+plain://ops%40x:p%40ss@127.0.0.1:{controller.port}?from=alerts@shop.example"
    try:
        added = cli("profile", "add", "live", "--gateway", gateway.url, "--pid", gateway.pid,
                    "--key", gateway.key, "--smtp", url)
        assert added.code == 0, added.stderr
        shown = cli("profile", "show", "live", "--json")
        assert "p%40ss" not in shown.stdout
        assert json.loads(shown.stdout)["smtp"].startswith("smtp+plain://ops%40x:")
        result = cli("monitor", "--once", "--json", "--profile", "live",
                     "--alert-email", "ops@example.com")
    finally:
        controller.stop()
    assert result.code == 7, result.stderr
    assert len(received) == 1 and received[0].mail_from == "alerts@shop.example"


def test_a_bad_smtp_url_is_a_config_error(cli, gateway, monkeypatch):
    monkeypatch.setenv("EPAY_SMTP", "imap://user:secret-pw@host")
    result = once(cli, gateway, "--alert-email", "ops@example.com")
    assert result.code == 6
    assert "is not an smtp://" in result.stderr and "secret-pw" not in result.stderr
