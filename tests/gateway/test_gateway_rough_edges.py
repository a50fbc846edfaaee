"""What a real Rainbow Epay server showed (issue 14): a gateway URL that names a page, names the
server stores differently, `--type ''`, settlement columns, CJK table widths, and wording. Real
HTTP on 127.0.0.1 against a scripted gateway."""

from __future__ import annotations

import io
import json

import pytest
from test_gateway_client import JSON, ORDER, gateway_args, one_line, scripted  # noqa: F401

from epaycli.core.models import SANDBOX_KEY
from epaycli.env import Environment
from epaycli.messages.width import display_width
from epaycli.render import Output

CREATED = '{"code":1,"trade_no":"2026120112000012345","payurl":"http://127.0.0.1/pay"}'


# ---- 14.2: a gateway URL that names a page -------------------------------------------------


@pytest.mark.parametrize("page", ["submit.php", "mapi.php", "api.php"])
def test_a_gateway_flag_naming_a_page_means_its_site_root(cli, scripted, page):
    server = scripted((200, JSON, ORDER))
    result = cli("order", "query", "A1", "--json", "--gateway", server.url + page, "--pid",
                 "1000", "--key", SANDBOX_KEY)
    assert result.code == 0, result.stderr
    assert server.requests[0]["path"] == "/api.php"
    assert f"names a page, {page}" in result.stderr and server.url in result.stderr
    assert "--gateway" in result.stderr


def test_epay_gateway_naming_a_page(cli, scripted, monkeypatch):
    server = scripted((200, JSON, CREATED))
    monkeypatch.setenv("EPAY_GATEWAY", server.url + "submit.php")
    result = cli("order", "create", "-a", "1", "-n", "x", "--pid", "1000", "--key", SANDBOX_KEY)
    assert result.code == 0, result.stderr
    assert server.requests[0]["path"] == "/mapi.php"
    assert "EPAY_GATEWAY" in result.stderr and "names a page, submit.php" in result.stderr


def test_profile_add_saves_the_site_root(cli, scripted, config_file):
    server = scripted((200, JSON, ORDER))
    added = cli("profile", "add", "shop", "--gateway", server.url + "mapi.php", "--pid", "1000",
                "--key", SANDBOX_KEY, "--default")
    assert added.code == 0, added.stderr
    assert "names a page, mapi.php" in added.stderr
    assert "mapi.php" not in config_file.read_text()
    assert cli("order", "query", "A1").code == 0
    assert server.requests[0]["path"] == "/api.php"


def test_a_profile_file_naming_a_page(cli, scripted, config_file):
    server = scripted((200, JSON, ORDER))
    config_file.parent.mkdir(parents=True, exist_ok=True)
    config_file.write_text(f'default = "shop"\n[profiles.shop]\ngateway = "{server.url}api.php"\n'
                           f'pid = "1000"\nkey = "{SANDBOX_KEY}"\n')
    config_file.chmod(0o600)
    result = cli("merchant", "info")
    assert server.requests[0]["path"] == "/api.php", result.stderr
    assert "names a page, api.php" in result.stderr


def test_a_create_answer_that_cannot_be_read_is_recorded_as_unknown(cli, scripted):
    page = "<html><body><form action='/cashier.php'>正在跳转</form></body></html>"
    server = scripted((200, "text/html", page))
    result = cli("order", "create", "-a", "8.88", "-n", "x", "--out-trade-no", "U1",
                 *gateway_args(server.url))
    assert result.code == 4
    assert "recorded U1 as unknown" in result.stderr and "epay order query U1" in result.stderr
    (local,) = json.loads(cli("order", "list", "--local", "--json").stdout)["orders"]
    assert local["unknown"] is True and local["money"] == "8.88"
    assert "unknown" in cli("order", "list", "--local").stdout


def test_a_create_the_gateway_refused_is_not_recorded(cli, scripted):
    server = scripted((200, JSON, '{"code":-1,"msg":"签名校验失败，请返回重试！"}'))
    assert cli("order", "create", "-a", "1", "-n", "x", *gateway_args(server.url)).code == 4
    assert json.loads(cli("order", "list", "--local", "--json").stdout)["orders"] == []


# ---- 14.3: a name the server stores differently ----------------------------------------------


def test_create_warns_about_emoji_in_the_name(cli):
    result = cli("order", "create", "-a", "1", "-n", "月卡🎁", "--dry-run")
    assert result.code == 0
    assert "🎁" in result.stderr and "'月卡?'" in result.stderr


CHANGED = '{"code":-1,"msg":"该订单(C1)支付参数有变化，请更换订单号重新发起支付"}'


@pytest.mark.parametrize("name,stored", [("月卡🎁", "月卡?"), ("n" * 70, "n" * 64)])
def test_params_changed_after_such_a_name_says_the_stored_name_differs(cli, scripted, name,
                                                                       stored):
    server = scripted((200, JSON, CHANGED))
    result = cli("order", "create", "-a", "1", "-n", name, "--out-trade-no", "C1",
                 *gateway_args(server.url))
    assert result.code == 4
    line = one_line(result)
    assert "支付参数有变化" in line and f"stored this order's name as {stored!r}" in line
    assert f"--name {stored!r}" in line


def test_params_changed_after_a_plain_name_keeps_its_advice(cli, scripted):
    server = scripted((200, JSON, CHANGED))
    result = cli("order", "create", "-a", "1", "-n", "月卡", "--out-trade-no", "C1",
                 *gateway_args(server.url))
    assert result.code == 4
    assert "stored this order's name" not in one_line(result)


# ---- 14.11: --type '' ------------------------------------------------------------------------


def test_explicit_empty_type_means_no_type_with_a_warning(cli, config_file):
    assert cli("profile", "add", "shop", "--gateway", "https://pay.example.com/", "--pid", "1001",
               "--key", SANDBOX_KEY, "--type", "alipay", "--default").code == 0
    result = cli("order", "create", "-a", "1", "-n", "x", "--type", "", "--mode", "page",
                 "--return-url", "https://shop.example/r", "--notify-url",
                 "https://shop.example/n", "--dry-run", "--json")
    assert result.code == 0, result.stderr
    assert "&type=" not in json.loads(result.stdout)["url"]
    assert "type=0" in result.stderr and "cashier" in result.stderr
    default = cli("order", "create", "-a", "1", "-n", "x", "--mode", "page", "--return-url",
                  "https://shop.example/r", "--notify-url", "https://shop.example/n",
                  "--dry-run", "--json")
    assert "&type=alipay" in json.loads(default.stdout)["url"]
    assert "type=0" not in default.stderr


# ---- 14.8: settlement columns --------------------------------------------------------------


def test_settles_shows_the_columns_a_merchant_reads(cli, scripted):
    row = {"id": 1, "uid": 1000, "batch": "", "auto": 1, "type": 1, "account": "a@example.com",
           "username": "张三", "money": "99.00", "realmoney": "98.50",
           "addtime": "2026-12-01 00:00:00", "endtime": "2026-12-02 00:00:00", "status": 1,
           "result": None, "transfer_status": 0}
    server = scripted((200, JSON, json.dumps({"code": 1, "data": [row]})))
    result = cli("merchant", "settles", *gateway_args(server.url))
    assert result.code == 0, result.stderr
    header = result.stdout.splitlines()[0].split()
    for column in ("STATUS", "MONEY", "REALMONEY", "ACCOUNT", "ADDTIME"):
        assert column in header
    assert "98.50" in result.stdout and "a@example.com" in result.stdout


# ---- 14.12: display width, wording, one pid type --------------------------------------------


def test_cjk_cells_line_up_by_display_width():
    stdout = io.StringIO()
    Output(Environment(None, stdout, io.StringIO(), {})).table(
        [{"name": "月卡", "money": "1.00"}, {"name": "VIP", "money": "2.00"}], ["name", "money"])
    lines = stdout.getvalue().splitlines()
    columns = {display_width(line[:line.index(money)]) for line, money in
               zip(lines, ("MONEY", "1.00", "2.00"))}
    assert len(columns) == 1, lines
    assert display_width("月卡") == 4 and display_width("VIP") == 3


def test_wait_says_1_poll_not_1_polls(cli, scripted):
    server = scripted((200, JSON, ORDER.replace('"status":"1"', '"status":"2"')))
    result = cli("order", "wait", "A1", "--timeout", "5", *gateway_args(server.url))
    assert result.code == 7
    assert "(1 poll)" in result.stderr and "polls" not in result.stderr


def test_a_long_out_trade_no_is_not_said_to_have_bad_characters(cli):
    result = cli("order", "create", "-a", "1", "-n", "x", "--out-trade-no", "x" * 151,
                 "--dry-run")
    assert result.code == 2
    line = one_line(result)
    assert "151 characters" in line and "characters the gateway does not allow" not in line
    assert "longer than" in line


def test_a_tampered_amount_is_said_once(cli):
    from urllib.parse import urlencode

    from epaycli.core.request import sign_request
    from epaycli.core.signing import Md5Key

    notify = sign_request({"pid": "1000", "trade_no": "2026", "out_trade_no": "A1",
                           "type": "alipay", "name": "x", "money": "0.01",
                           "trade_status": "TRADE_SUCCESS"}, Md5Key(SANDBOX_KEY)).params
    result = cli("verify", urlencode(notify), "--key", SANDBOX_KEY, "--amount", "1.00", "--json")
    assert result.code == 3
    reason = json.loads(result.stdout)["reason"]
    assert "money is 0.01, not your order's 1.00" in reason
    assert reason.count(" but ") == 1, reason  # "signature valid, but …", once


def test_pid_is_a_string_in_merchant_info_and_order_query(cli, scripted):
    server = scripted((200, JSON, json.dumps({"code": 1, "pid": 1000, "key": SANDBOX_KEY,
                                              "active": 1, "money": "0.00"})))
    info = json.loads(cli("merchant", "info", "--json", *gateway_args(server.url)).stdout)
    assert info["pid"] == "1000"
    order = scripted((200, JSON, ORDER.replace('"pid":"1000"', '"pid":1000')))
    queried = json.loads(cli("order", "query", "A1", "--json", *gateway_args(order.url)).stdout)
    assert queried["pid"] == "1000"


def test_a_state_file_from_before_unknown_orders_still_opens(tmp_path):
    import sqlite3
    from decimal import Decimal

    from epaycli.state import LocalState, RecordedOrder

    path = tmp_path / "state.sqlite3"
    with sqlite3.connect(path) as old:
        old.executescript("""CREATE TABLE orders (gateway TEXT NOT NULL, pid TEXT NOT NULL,
            out_trade_no TEXT NOT NULL, trade_no TEXT NOT NULL DEFAULT '', money TEXT NOT NULL,
            name TEXT NOT NULL DEFAULT '', type TEXT NOT NULL DEFAULT '',
            created_at INTEGER NOT NULL, PRIMARY KEY (gateway, pid, out_trade_no));
            INSERT INTO orders VALUES ('http://g/', '1000', 'OLD', 'T1', '1.00', 'n', '', 1);""")
    state = LocalState(path)
    assert state.find_order("OLD").unknown is False
    state.record_order(RecordedOrder("http://g/", "1000", "NEW", "", Decimal("2.00"), "n", "", 2,
                                     unknown=True))
    assert state.find_order("NEW").unknown is True
    state.learn_trade_no("http://g/", "1000", "NEW", "T2")
    learned = state.find_order("NEW")
    assert (learned.trade_no, learned.unknown) == ("T2", False)
