"""`epay order` and `epay merchant` without a gateway: --dry-run shows what would be sent (the
same builder that sends), and bad input on every entry point is one line and exit 2/6."""

from __future__ import annotations

import json

import pytest
from conftest import load_vectors

from epaycli.core.models import SANDBOX_KEY
from epaycli.core.signing import Md5Key, RsaKeys, load_public_key, verify

V2 = load_vectors("v2-rsa")


def one_line(result) -> str:
    lines = [line for line in result.stderr.strip().splitlines() if line.startswith("epay: error:")]
    assert len(lines) == 1, result.stderr
    assert " — " in lines[0] and "Traceback" not in result.stderr
    return lines[0]


@pytest.fixture
def v2_files(tmp_path):
    private = tmp_path / "merchant.pem"
    private.write_text(V2["merchant_private_key_pem"])
    public = tmp_path / "platform.pem"
    public.write_text(V2["platform_public_key_pem"])
    return ["--private-key", str(private), "--public-key", str(public), "--dialect", "v2",
            "--gateway", "https://pay.example.com/", "--pid", "1001"]


def dry(cli, *args):
    result = cli(*args, "--dry-run", "--json")
    assert result.code == 0, result.stderr
    return json.loads(result.stdout)["requests"]


def test_create_dry_run_on_the_sandbox_needs_no_configuration(cli):
    (request,) = dry(cli, "order", "create", "--amount", "1.00", "--name", "月卡")
    assert (request["method"], request["url"]) == ("POST", "http://127.0.0.1:8787/mapi.php")
    form = request["form"]
    assert form["pid"] == "1000" and form["type"] == "alipay" and form["name"] == "月卡"
    assert form["out_trade_no"].startswith("epay") and form["clientip"] == "127.0.0.1"
    assert form["notify_url"].startswith("http://127.0.0.1:")
    assert verify(form, Md5Key(SANDBOX_KEY))
    assert "Sand…0000" in request["signed"]["signed_string"]
    listed = cli("order", "list", "--local", "--json")
    assert json.loads(listed.stdout)["orders"] == []  # a dry run records nothing


def test_create_dry_run_text_shows_every_field(cli):
    result = cli("order", "create", "-a", "2", "-n", "x", "--out-trade-no", "T-1", "--param", "p",
                 "--device", "mobile", "--dry-run")
    assert result.code == 0
    assert result.stdout.startswith("POST http://127.0.0.1:8787/mapi.php\n")
    for field in ("out_trade_no=T-1", "money=2.00", "param=p", "device=mobile", "sign_type=MD5"):
        assert f"  {field}\n" in result.stdout
    assert "nothing was sent" in result.stderr


def test_create_v2_dry_run_is_rsa_signed_with_a_timestamp(cli, v2_files):
    (request,) = dry(cli, "order", "create", "-a", "1", "-n", "x", "--type", "alipay",
                     "--notify-url", "https://shop.example/n", "--method", "web", *v2_files)
    assert request["url"] == "https://pay.example.com/api/pay/create"
    form = request["form"]
    assert form["sign_type"] == "RSA" and form["timestamp"].isdigit() and form["method"] == "web"
    assert verify(form, RsaKeys(public=load_public_key(V2["merchant_public_key_pem"])))
    (plain,) = dry(cli, "order", "create", "-a", "1", "-n", "x", "--type", "alipay",
                   "--notify-url", "https://shop.example/n", "--no-rewrite", *v2_files)
    assert plain["url"] == "https://pay.example.com/api.php?s=pay/create"


def test_query_list_refund_info_dry_runs(cli, v2_files):
    (query,) = dry(cli, "order", "query", "A1")
    assert query["url"] == "http://127.0.0.1:8787/api.php?act=order&pid=1000&key=Sand…0000&out_trade_no=A1"
    (by_trade,) = dry(cli, "order", "query", "--trade-no", "2026")
    assert "trade_no=2026" in by_trade["url"]
    (listing,) = dry(cli, "order", "list", "--status", "1", "--limit", "5", "--offset", "10")
    assert listing["url"].endswith("act=orders&pid=1000&key=Sand…0000&limit=5&offset=10&status=1")
    (refund,) = dry(cli, "order", "refund", "A1", "--amount", "0.5")
    assert refund["url"].endswith("api.php?act=refund") and refund["form"]["money"] == "0.50"
    (info,) = dry(cli, "merchant", "info")
    assert "act=query" in info["url"]
    (pay,) = dry(cli, "order", "pay", "A1", "--fail")
    assert pay["url"] == "http://127.0.0.1:8787/sandbox/pay" and pay["form"]["result"] == "failed"
    assert pay["form"]["key"] == "Sand…0000"
    (poll,) = dry(cli, "order", "wait", "A1")
    assert "act=order" in poll["url"]
    (settles,) = dry(cli, "merchant", "settles", "--limit", "3")
    assert "act=settle" in settles["url"] and "limit=3" in settles["url"]
    (v2_query,) = dry(cli, "order", "query", "A1", *v2_files)
    assert v2_query["url"].endswith("api/pay/query") and v2_query["form"]["sign_type"] == "RSA"
    (v2_info,) = dry(cli, "merchant", "info", *v2_files)
    assert v2_info["url"].endswith("api/merchant/info")
    (v2_refund,) = dry(cli, "order", "refund", "A1", "-a", "1", "--out-refund-no", "R1", *v2_files)
    assert v2_refund["form"]["out_refund_no"] == "R1"


def test_dry_runs_never_show_the_key(cli):
    for args in (("order", "query", "A1"), ("order", "refund", "A1", "-a", "1"),
                 ("merchant", "info"), ("order", "create", "-a", "1", "-n", "x")):
        for extra in ((), ("--json",)):
            result = cli(*args, "--dry-run", *extra)
            assert SANDBOX_KEY not in result.stdout + result.stderr


def test_query_batch_dry_run(cli, tmp_path):
    numbers = tmp_path / "n.txt"
    numbers.write_text("A1\nA2\n")
    requests = dry(cli, "order", "query", "--from", str(numbers))
    assert [r["url"].rsplit("=", 1)[1] for r in requests] == ["A1", "A2"]


def test_page_mode_prints_the_signed_submit_url_and_writes_the_form(cli, tmp_path):
    form_file = tmp_path / "pay.html"
    result = cli("order", "create", "-a", "1", "-n", "月卡", "--mode", "page", "--out-trade-no", "P1",
                 "--html", str(form_file))
    assert result.code == 0, result.stderr
    url = result.stdout.strip()
    assert url.startswith("http://127.0.0.1:8787/submit.php?pid=1000&")
    from epaycli.core.params import parse_url

    assert verify(parse_url(url), Md5Key(SANDBOX_KEY))
    page = form_file.read_text()
    assert 'action="http://127.0.0.1:8787/submit.php"' in page and 'name="sign"' in page
    local = json.loads(cli("order", "list", "--local", "--json").stdout)["orders"]
    assert local[0]["out_trade_no"] == "P1" and local[0]["trade_no"] == ""


def test_page_mode_json(cli):
    result = cli("order", "create", "-a", "1", "-n", "x", "--mode", "page", "--json", "--dry-run")
    document = json.loads(result.stdout)
    assert document["mode"] == "page" and document["payurl"] == document["url"]
    assert document["dry_run"] is True and document["money"] == "1.00"


def test_page_mode_unwritable_html(cli, tmp_path):
    result = cli("order", "create", "-a", "1", "-n", "x", "--mode", "page", "--html",
                 str(tmp_path / "missing" / "pay.html"))
    assert result.code == 2
    assert "cannot write" in one_line(result)


@pytest.mark.parametrize("args,wording", [
    (("--amount", "1.999", "--name", "x"), "金额不合法"),
    (("--amount", "0", "--name", "x"), "金额(money)不能为空"),
    (("--amount", "1e2", "--name", "x"), "金额不合法"),
    (("--amount", "1", "--name", " "), "商品名称(name)不能为空"),
    (("--amount", "1", "--name", "x", "--out-trade-no", "a/b"), "订单号(out_trade_no)格式不正确"),
    (("--amount", "1", "--name", "x", "--out-trade-no", "x" * 151), "订单号(out_trade_no)格式不正确"),
    (("--amount", "1", "--name", "x", "--notify-url", "shop.example/n"), "该域名不可发起支付"),
    (("--amount", "1", "--name", "x", "--return-url", "javascript:alert(1)"), "该域名不可发起支付"),
    (("--amount", "1", "--name", "x", "--device", "fridge"), "device"),
    (("--amount", "1", "--name", "x", "--method", "teleport"), "method"),
    (("--amount", "1", "--name", "x", "--mode", "both"), "--mode"),
    (("--amount", "1", "--name", "x", "--client-ip", ""), "用户IP地址(clientip)不能为空"),
    (("--amount", "1",), "--name"),
])
def test_create_bad_input(cli, args, wording):
    result = cli("order", "create", *args)
    assert result.code == 2
    assert wording in one_line(result)


def test_create_without_notify_url_outside_the_sandbox(cli):
    result = cli("order", "create", "-a", "1", "-n", "x", "--gateway", "https://pay.example.com/",
                 "--pid", "1001", "--key", SANDBOX_KEY, "--type", "alipay")
    assert result.code == 2
    assert "通知地址(notify_url)不能为空" in one_line(result)


@pytest.mark.parametrize("args,code", [
    (("order", "query"), 2),
    (("order", "query", "a b"), 2),
    (("order", "query", "A1", "--from", "x"), 2),
    (("order", "query", "--from", "/nonexistent/file"), 2),
    (("order", "refund", "A1"), 2),
    (("order", "refund", "A1", "--amount", "abc"), 2),
    (("order", "refund", "--amount", "1"), 2),
    (("order", "list", "--limit", "51"), 2),
    (("order", "list", "--status", "9"), 2),
    (("order", "list", "--offset", "-1"), 2),
    (("order", "wait"), 2),
    (("order", "wait", "a b"), 2),
    (("order", "wait", "A1", "--timeout", "-1"), 2),
    (("order", "pay"), 2),
    (("order", "pay", "A1", "--gateway", "https://pay.example.com/"), 2),
    (("order", "query", "A1", "--timeout", "0"), 2),
    (("order", "query", "A1", "--gateway", "ftp://x"), 2),
    (("order", "query", "A1", "--dialect", "v3"), 6),
    (("order", "query", "A1", "--gateway", "https://pay.example.com/", "--key", SANDBOX_KEY), 6),
    (("order", "query", "A1", "--private-key", "/nonexistent.pem", "--pid", "1"), 6),
    (("order", "query", "--trade-no", "12 34"), 2),
    (("merchant", "settles", "--limit", "0"), 2),
    (("merchant", "info", "--dialect", "v2", "--private-key", "/nonexistent.pem"), 6),
])
def test_bad_input_on_every_entry_point(cli, args, code):
    result = cli(*args, "--dry-run") if "pay" not in args and "wait" not in args else cli(*args)
    assert result.code == code, (result.stdout, result.stderr)
    one_line(result)


def test_query_from_file_with_a_bad_line_names_it(cli, tmp_path):
    numbers = tmp_path / "n.txt"
    numbers.write_text("A1\nbad number\n")
    result = cli("order", "query", "--from", str(numbers), "--dry-run")
    assert result.code == 2
    assert "line 2" in one_line(result)
    empty = tmp_path / "empty.txt"
    empty.write_text("# nothing\n\n")
    assert "lists no order numbers" in one_line(cli("order", "query", "--from", str(empty)))


def test_settles_without_md5_key_for_v2(cli, v2_files):
    result = cli("merchant", "settles", *v2_files, "--dry-run")
    assert result.code == 6
    assert "MD5 key" in one_line(result)


def test_help_lists_the_commands(cli):
    result = cli("--help")
    for name in ("order", "merchant", "errors"):
        assert name in result.stdout


def test_qr_code_only_on_a_terminal():
    import io

    from epaycli.env import Environment
    from epaycli.render import Output

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    screen, pipe = Terminal(), io.StringIO()
    assert Output(Environment(None, screen, io.StringIO(), {})).qr_code("weixin://wxpay/x")
    assert len(screen.getvalue().splitlines()) > 10
    assert not Output(Environment(None, pipe, io.StringIO(), {})).qr_code("weixin://wxpay/x")
    assert pipe.getvalue() == ""


def test_local_list_is_newest_first_and_limited(cli):
    for number in ("L1", "L2", "L3"):
        assert cli("order", "create", "-a", "1", "-n", "x", "--mode", "page",
                   "--out-trade-no", number).code == 0
    orders = json.loads(cli("order", "list", "--local", "--limit", "2", "--json").stdout)["orders"]
    assert [o["out_trade_no"] for o in orders] == ["L3", "L2"]
    everything = json.loads(cli("order", "list", "--local", "--all", "--json").stdout)["orders"]
    assert len(everything) == 3
    text = cli("order", "list", "--local")
    assert "L1" in text.stdout and "3 orders remembered" in text.stderr
