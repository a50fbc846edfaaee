"""The client and the `epay order` / `epay merchant` commands end to end against epay's own
local gateway (`epaycli.mock.server.start_gateway`, in memory, on a free port): every endpoint,
both dialects, and every error path the gateway has."""

from __future__ import annotations

import itertools
import json
import threading
import time
from decimal import Decimal

import httpx
import pytest

mock_server = pytest.importorskip("epaycli.mock.server")

from epaycli.core.errors import ExitCode, GatewayError, SignatureError  # noqa: E402
from epaycli.core.signing import Md5Key, RsaKeys, load_private_key, load_public_key  # noqa: E402
from epaycli.gateway import calls, operations  # noqa: E402
from epaycli.gateway.calls import Merchant  # noqa: E402
from epaycli.gateway.client import GatewayClient, Settings  # noqa: E402

_numbers = itertools.count(1)


def number(prefix: str = "E2E") -> str:
    return f"{prefix}-{time.time_ns() % 10**9}-{next(_numbers)}"


@pytest.fixture(scope="module")
def notify_target():
    """Where this module's orders notify: a receiver on a free port. The sandbox default
    (127.0.0.1:8788) is where a developer's own `epay listen` runs (issue 15.7)."""
    from mockkit import start_receiver

    merchant, server = start_receiver()
    try:
        yield merchant.url
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def cli(cli, notify_target):
    """conftest's ``cli``, with ``--notify-url`` to this module's receiver on every
    ``order create`` that does not name one."""
    def invoke(*args: str, **options):
        if args[:2] == ("order", "create") and "--notify-url" not in args:
            args = (*args, "--notify-url", notify_target)
        return cli(*args, **options)

    return invoke


@pytest.fixture(scope="module")
def v2_keys(gateway, tmp_path_factory):
    folder = tmp_path_factory.mktemp("v2keys")
    private = folder / "merchant_private.pem"
    private.write_text(gateway.v2.merchant_private_pem)
    public = folder / "platform_public.pem"
    public.write_text(gateway.v2.platform_public_pem)
    wrong = folder / "not_the_platform.pem"
    wrong.write_text(gateway.v2.merchant_public_pem)
    return {"private": str(private), "public": str(public), "wrong_public": str(wrong)}


def v1(gateway, *extra):
    return ("--gateway", gateway.url, "--pid", gateway.pid, "--key", gateway.key, *extra)


def v2(gateway, keys, *extra, public=None):
    return ("--gateway", gateway.url, "--pid", gateway.v2.pid, "--dialect", "v2",
            "--private-key", keys["private"], "--public-key", public or keys["public"], *extra)


def v1_merchant(gateway) -> Merchant:
    return Merchant(gateway.url, gateway.pid, "v1", Md5Key(gateway.key), Md5Key(gateway.key))


def v2_merchant(gateway, **changes) -> Merchant:
    fields = dict(gateway=gateway.url, pid=gateway.v2.pid, dialect="v2",
                  signer=RsaKeys(private=load_private_key(gateway.v2.merchant_private_pem)),
                  md5=Md5Key(gateway.v2.key),
                  platform=RsaKeys(public=load_public_key(gateway.v2.platform_public_pem)))
    fields.update(changes)
    return Merchant(**fields)


def created(cli, *args) -> dict:
    result = cli("order", "create", *args, "--json")
    assert result.code == 0, result.stderr
    return json.loads(result.stdout)


def queried(cli, *args) -> dict:
    result = cli("order", "query", *args, "--json")
    assert result.code == 0, result.stderr
    return json.loads(result.stdout)


def gateway_error(result, entry_id: str) -> str:
    assert result.code == ExitCode.GATEWAY_ERROR, (result.stdout, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.startswith("epay: error:")]
    assert len(lines) == 1 and "Traceback" not in result.stderr
    from epaycli.catalogue.lookup import entry

    assert entry(entry_id).en.rstrip(".") in lines[0], lines[0]
    return lines[0]


def make(client, merchant: Merchant, request: calls.OrderRequest, now: int):
    """Create the order at the gateway, as 'epay order create' does (one call, built once)."""
    return operations.create(client, calls.create_order(merchant, request, now), request, merchant)


def order(no: str, notify_url: str, money: str = "1.00", **changes) -> calls.OrderRequest:
    fields = dict(money=money, name="e2e", out_trade_no=no, notify_url=notify_url,
                  type="alipay", clientip="127.0.0.1", api=True)
    fields.update(changes)
    return calls.validate_order(**fields)


# ---- the round trip, both dialects ------------------------------------------------------------


def test_v1_create_pay_query_refund_round_trip(cli, gateway):
    no = number("V1")
    made = created(cli, "--amount", "1.00", "--name", "月卡", "--out-trade-no", no, *v1(gateway))
    assert made["trade_no"] and made["payurl"].startswith(gateway.url + "cashier/")
    assert made["money"] == "1.00" and made["dialect"] == "v1"
    assert queried(cli, no, *v1(gateway))["status"] == 0

    paid = cli("order", "pay", no, "--json", *v1(gateway))
    assert paid.code == 0, paid.stderr
    answer = json.loads(paid.stdout)
    assert answer["trade_no"] == made["trade_no"] and answer["notify"]["url"]
    assert gateway.deliveries(out_trade_no=no), "paying triggers the notify"

    after = queried(cli, no, *v1(gateway))
    assert (after["status"], after["status_text"], after["money"]) == (1, "paid", "1.00")
    assert after["local"]["amount_matches"] is True
    assert queried(cli, "--trade-no", made["trade_no"], *v1(gateway))["out_trade_no"] == no

    refund = cli("order", "refund", no, "--amount", "1.00", "--json", *v1(gateway))
    assert refund.code == 0, refund.stderr
    assert json.loads(refund.stdout)["refunded"] is True
    assert queried(cli, no, *v1(gateway))["status"] == 2


def test_v2_create_pay_query_refund_round_trip(cli, gateway, v2_keys):
    no = number("V2")
    made = created(cli, "-a", "2.50", "-n", "V2单", "--out-trade-no", no,
                   *v2(gateway, v2_keys))
    assert made["dialect"] == "v2" and made["verified"] is True
    assert made["trade_no"] and made["pay_info"]
    first = queried(cli, no, *v2(gateway, v2_keys))
    assert first["status"] == 0 and first["verified"] is True
    assert cli("order", "pay", no, "--key", gateway.v2.key, *v2(gateway, v2_keys)).code == 0
    assert queried(cli, no, *v2(gateway, v2_keys))["status"] == 1
    refund = cli("order", "refund", no, "-a", "1.00", "--out-refund-no", f"R{no}", "--json",
                 *v2(gateway, v2_keys))
    assert refund.code == 0, refund.stderr
    final = queried(cli, no, *v2(gateway, v2_keys))
    assert final["status"] == 2 and Decimal(final["refundmoney"]) == Decimal("1.00")


def test_v2_without_url_rewriting(cli, gateway, v2_keys):
    no = number("NR")
    made = created(cli, "-a", "1", "-n", "x", "--out-trade-no", no, "--no-rewrite",
                   *v2(gateway, v2_keys))
    assert made["verified"] is True
    assert queried(cli, no, "--no-rewrite", *v2(gateway, v2_keys))["trade_no"] == made["trade_no"]


def test_v2_answer_checked_with_the_wrong_platform_key_exits_3(cli, gateway, v2_keys):
    no = number("WK")
    created(cli, "-a", "1", "-n", "x", "--out-trade-no", no, *v2(gateway, v2_keys))
    result = cli("order", "query", no, *v2(gateway, v2_keys, public=v2_keys["wrong_public"]))
    assert result.code == ExitCode.SIGNATURE_INVALID
    assert "does not verify with the platform public key" in result.stderr


def test_v2_close_and_refund_query(gateway, notify_target):
    merchant = v2_merchant(gateway)
    with GatewayClient(Settings(timeout=5)) as client:
        now = int(time.time())
        open_no, paid_no = number("CL"), number("RQ")
        make(client, merchant, order(open_no, notify_target), now)
        closed = client.send(calls.close_order(merchant, now, out_trade_no=open_no))
        assert closed.verified is True and closed.data["out_trade_no"] == open_no
        make(client, merchant, order(paid_no, notify_target), now)
        operations.sandbox_pay(client, calls.sandbox_pay(merchant, out_trade_no=paid_no))
        operations.refund(client, calls.refund_order(merchant, now, money=Decimal("0.50"),
                                                    out_trade_no=paid_no,
                                                    out_refund_no=f"R-{paid_no}"),
                          money=Decimal("0.50"))
        found = client.send(calls.refund_query(merchant, now, out_refund_no=f"R-{paid_no}"))
        assert found.verified is True and found.data["out_trade_no"] == paid_no


def test_page_mode_url_is_accepted_by_the_gateway(cli, gateway):
    no = number("PG")
    result = cli("order", "create", "-a", "3", "-n", "x", "--mode", "page", "--out-trade-no", no,
                 *v1(gateway))
    assert result.code == 0, result.stderr
    answer = httpx.get(result.stdout.strip(), follow_redirects=False, timeout=5)
    assert answer.status_code in (200, 302), answer.text[:200]
    assert queried(cli, no, *v1(gateway))["money"] == "3.00"


def test_v2_page_mode_url_is_accepted_by_the_gateway(cli, gateway, v2_keys, tmp_path):
    no = number("PG2")
    form = tmp_path / "pay.html"
    result = cli("order", "create", "-a", "4", "-n", "x", "--mode", "page", "--out-trade-no", no,
                 "--html", str(form), *v2(gateway, v2_keys))
    assert result.code == 0, result.stderr
    url = result.stdout.strip()
    assert url.startswith(gateway.url + "api/pay/submit?") and "sign_type=RSA" in url
    answer = httpx.get(url, follow_redirects=False, timeout=5)
    assert answer.status_code == 302 and "/cashier/" in answer.headers["location"]
    assert 'action="' + gateway.url + 'api/pay/submit"' in form.read_text()
    assert queried(cli, no, *v2(gateway, v2_keys))["money"] == "4.00"


def test_sandbox_pay_fail_leaves_the_order_unpaid(cli, gateway):
    no = number("FAIL")
    created(cli, "-a", "1", "-n", "x", "--out-trade-no", no, *v1(gateway))
    assert cli("order", "pay", no, "--fail", *v1(gateway)).code == 0
    assert queried(cli, no, *v1(gateway))["status"] == 0


def test_wait_returns_once_paid(cli, gateway):
    no = number("WAIT")
    created(cli, "-a", "1", "-n", "x", "--out-trade-no", no, *v1(gateway))

    def pay_later():  # while wait polls (how many polls it takes is pinned, without timing,
        # by test_gateway_client's scripted gateway: here a poll may come first or not)
        with GatewayClient(Settings(timeout=5)) as client:
            operations.sandbox_pay(client, calls.sandbox_pay(v1_merchant(gateway), out_trade_no=no))

    payer = threading.Thread(target=pay_later)
    payer.start()
    try:
        result = cli("order", "wait", no, "--timeout", "20", "--interval", "0.1", "--json",
                     *v1(gateway))
    finally:
        payer.join(10)
    assert result.code == 0, result.stderr
    outcome = json.loads(result.stdout)
    assert outcome["paid"] and outcome["polls"] >= 1 and outcome["order"]["status"] == 1


def test_wait_times_out_with_exit_7(cli, gateway):
    no = number("WTO")
    created(cli, "-a", "1", "-n", "x", "--out-trade-no", no, *v1(gateway))
    result = cli("order", "wait", no, "--timeout", "0.3", "--interval", "0.1", *v1(gateway))
    assert result.code == ExitCode.CHECK_FAILED


def test_list_pages_and_all(cli, gateway, notify_target):
    pid, key = gateway.create_merchant(refund_api=True)
    merchant = Merchant(gateway.url, pid, "v1", Md5Key(key), Md5Key(key))
    now = int(time.time())
    with GatewayClient(Settings(timeout=5)) as client:
        for index in range(57):
            make(client, merchant, order(f"LIST-{index:03d}", notify_target), now)
        operations.sandbox_pay(client, calls.sandbox_pay(merchant, out_trade_no="LIST-000"))
    args = ("--gateway", gateway.url, "--pid", pid, "--key", key)
    page = json.loads(cli("order", "list", "--limit", "10", "--json", *args).stdout)
    assert len(page["orders"]) == 10
    everything = cli("order", "list", "--all", "--json", *args)
    assert everything.code == 0, everything.stderr
    listing = json.loads(everything.stdout)
    assert sorted(o["out_trade_no"] for o in listing["orders"]) == \
        [f"LIST-{i:03d}" for i in range(57)]
    assert listing["pages"] == 2
    paid = json.loads(cli("order", "list", "--status", "1", "--json", *args).stdout)
    assert [o["out_trade_no"] for o in paid["orders"]] == ["LIST-000"]
    text = cli("order", "list", "--all", *args)
    assert "57 orders" in text.stderr


def test_v2_list_and_merchant_info(cli, gateway, v2_keys):
    created(cli, "-a", "1", "-n", "x", "--out-trade-no", number("V2L"), *v2(gateway, v2_keys))
    listing = cli("order", "list", "--json", *v2(gateway, v2_keys))
    assert listing.code == 0, listing.stderr
    assert json.loads(listing.stdout)["orders"]
    info = cli("merchant", "info", "--json", *v2(gateway, v2_keys))
    assert info.code == 0, info.stderr
    document = json.loads(info.stdout)
    assert document["pid"] == gateway.v2.pid and document["verified"] is True


def test_v1_merchant_info_and_settles(cli, gateway):
    info = cli("merchant", "info", "--json", *v1(gateway))
    assert info.code == 0, info.stderr
    document = json.loads(info.stdout)
    assert str(document["pid"]) == gateway.pid
    assert gateway.key not in info.stdout
    settles = cli("merchant", "settles", "--json", *v1(gateway))
    assert settles.code == 0, settles.stderr
    assert isinstance(json.loads(settles.stdout)["settles"], list)


def test_query_batch_from_a_file(cli, gateway, notify_target, tmp_path):
    numbers = [number("B") for _ in range(12)]
    now = int(time.time())
    with GatewayClient(Settings(timeout=5)) as client:
        for no in numbers:
            make(client, v1_merchant(gateway), order(no, notify_target), now)
    listing = tmp_path / "numbers.txt"
    listing.write_text("\n".join(numbers + ["NOPE-missing"]) + "\n")
    result = cli("order", "query", "--from", str(listing), "--concurrency", "4", "--json",
                 *v1(gateway))
    assert result.code == ExitCode.GATEWAY_ERROR  # the missing one
    document = json.loads(result.stdout)
    assert [r["out_trade_no"] for r in document["results"]] == numbers + ["NOPE-missing"]
    assert all(r["ok"] and r["order"]["status"] == 0 for r in document["results"][:-1])
    assert document["results"][-1]["error"]["explanation"] == "order_not_found"


# ---- every error path of the gateway ----------------------------------------------------------


def test_bad_sign(cli, gateway):
    result = cli("order", "create", "-a", "1", "-n", "x", "--gateway", gateway.url, "--pid",
                 gateway.pid, "--key", "WrongKey0000000000000000000000000")
    gateway_error(result, "sign_mismatch")


def test_unknown_pid(cli, gateway):
    result = cli("order", "create", "-a", "1", "-n", "x", "--gateway", gateway.url, "--pid",
                 "98765", "--key", gateway.key)
    gateway_error(result, "pid_unknown")


def test_wrong_key_on_api_php(cli, gateway):
    result = cli("order", "query", "X", "--gateway", gateway.url, "--pid", gateway.pid, "--key",
                 "WrongKey0000000000000000000000000")
    gateway_error(result, "key_wrong")


def test_reused_out_trade_no(cli, gateway):
    no = number("RE")
    first = created(cli, "-a", "1.00", "-n", "x", "--out-trade-no", no, *v1(gateway))
    again = created(cli, "-a", "1.00", "-n", "x", "--out-trade-no", no, *v1(gateway))
    assert again["trade_no"] == first["trade_no"], "same parameters: the same order"
    changed = cli("order", "create", "-a", "2.00", "-n", "x", "--out-trade-no", no, *v1(gateway))
    line = gateway_error(changed, "order_params_changed")
    assert no in line
    cli("order", "pay", no, *v1(gateway))
    paid = cli("order", "create", "-a", "1.00", "-n", "x", "--out-trade-no", no, *v1(gateway))
    gateway_error(paid, "order_already_paid")


def test_amount_limits(cli, gateway):
    gateway_error(cli("order", "create", "-a", "1000.01", "-n", "x", *v1(gateway)),
                  "money_above_max")
    assert cli("order", "create", "-a", "1000.00", "-n", "x", *v1(gateway)).code == 0


def test_unknown_payment_type_html_page(cli, gateway):
    result = cli("order", "create", "-a", "1", "-n", "x", "--type", "nosuchpay", *v1(gateway))
    assert "支付方式(type)不存在" in gateway_error(result, "type_unknown")


def test_rsa_only_merchant_refuses_md5(cli, gateway):
    result = cli("order", "create", "-a", "1", "-n", "x", "--gateway", gateway.url, "--pid",
                 gateway.v2.pid, "--key", gateway.v2.key)
    gateway_error(result, "rsa_only")


def test_timestamp_skew(gateway):
    merchant = v2_merchant(gateway)
    stale = int(time.time()) - 3600
    with GatewayClient(Settings(timeout=5)) as client:
        with pytest.raises(GatewayError) as caught:
            client.send(calls.query_order(merchant, stale, out_trade_no="X"))
    assert caught.value.explanation.id == "timestamp_skew"


def test_stale_answer_is_refused(gateway, notify_target):
    """The client's own clock an hour ahead: the gateway's answers look an hour old."""
    merchant = v2_merchant(gateway)
    ahead = time.time() + 3600
    no = number("ST")
    with GatewayClient(Settings(timeout=5)) as client:
        make(client, merchant, order(no, notify_target), int(time.time()))
    with GatewayClient(Settings(timeout=5), clock=lambda: ahead) as client:
        with pytest.raises(SignatureError) as caught:
            client.send(calls.query_order(merchant, int(time.time()), out_trade_no=no))
    assert "behind" in caught.value.message


def test_unknown_order(cli, gateway, v2_keys):
    gateway_error(cli("order", "query", "NOPE-1", *v1(gateway)), "order_not_found")
    gateway_error(cli("order", "query", "NOPE-2", *v2(gateway, v2_keys)), "order_not_found")


def test_refund_errors(cli, gateway):
    no = number("RF")
    created(cli, "-a", "1.00", "-n", "x", "--out-trade-no", no, *v1(gateway))
    gateway_error(cli("order", "refund", no, "-a", "1", *v1(gateway)), "refund_not_paid")
    cli("order", "pay", no, *v1(gateway))
    gateway_error(cli("order", "refund", no, "-a", "5", *v1(gateway)), "refund_too_much")
    assert cli("order", "refund", no, "-a", "0.50", *v1(gateway)).code == 0
    gateway_error(cli("order", "refund", no, "-a", "0.50", *v1(gateway)), "refund_not_paid")


def test_refund_api_off_for_a_new_merchant(cli, gateway):
    pid, key = gateway.create_merchant(refund_api=False)
    args = ("--gateway", gateway.url, "--pid", pid, "--key", key)
    no = number("OFF")
    created(cli, "-a", "1", "-n", "x", "--out-trade-no", no, *args)
    cli("order", "pay", no, *args)
    gateway_error(cli("order", "refund", no, "-a", "1", *args), "refund_api_off")


def test_refunds_are_not_retried_but_queries_are(gateway, notify_target):
    """Against the real gateway: a refund is sent once even with retries configured."""
    no = number("ONCE")
    merchant = v1_merchant(gateway)
    with GatewayClient(Settings(timeout=5, retries=3)) as client:
        make(client, merchant, order(no, notify_target), int(time.time()))
        operations.sandbox_pay(client, calls.sandbox_pay(merchant, out_trade_no=no))
        operations.refund(client, calls.refund_order(merchant, 0, money=Decimal("1.00"),
                                                    out_trade_no=no), money=Decimal("1.00"))
        with pytest.raises(GatewayError):
            operations.refund(client, calls.refund_order(merchant, 0, money=Decimal("1.00"),
                                                         out_trade_no=no),
                              money=Decimal("1.00"))


def test_latency_slows_answers_but_not_beyond_the_timeout(cli):
    with mock_server.start_gateway(port=0, latency_ms=600) as slow:
        result = cli("order", "query", "X", "--timeout", "0.2", "--gateway", slow.url, "--pid",
                     slow.pid, "--key", slow.key)
    assert result.code == ExitCode.NETWORK
    assert "did not answer in time" in result.stderr
