"""Money safety (issue 14.1): every command that reports an order as paid compares the gateway's
amount with the order epay recorded when it created it. `wait` and `query` exit 3 on a mismatch
(never 0), `list` flags the row and exits 0, and `--json` says `"amount_matches": false` with
both amounts. Real HTTP on 127.0.0.1 against a scripted gateway."""

from __future__ import annotations

import json

from test_gateway_client import JSON, gateway_args, scripted  # noqa: F401 - the fixture

CREATED = '{"code":1,"trade_no":"2026120112000012345","payurl":"http://127.0.0.1/pay"}'


def paid_at(money: str, number: str = "A1", status: str = "1") -> str:
    return json.dumps({"code": 1, "msg": "succ", "trade_no": "2026120112000012345",
                       "out_trade_no": number, "type": "alipay", "pid": "1000", "name": "x",
                       "money": money, "status": status})


def ordered(cli, server, amount: str, number: str = "A1") -> None:
    """epay creates the order (and records its amount); the server answers CREATED first."""
    result = cli("order", "create", "-a", amount, "-n", "x", "--out-trade-no", number,
                 *gateway_args(server.url))
    assert result.code == 0, result.stderr


def test_wait_on_a_paid_order_of_another_amount_exits_3_not_0(cli, scripted):
    server = scripted((200, JSON, CREATED), (200, JSON, paid_at("0.01")))
    ordered(cli, server, "8.88")
    result = cli("order", "wait", "A1", "--timeout", "10", *gateway_args(server.url))
    assert result.code == 3, (result.stdout, result.stderr)
    assert "the gateway holds money 0.01 but epay ordered 8.88" in result.stderr
    assert "do not deliver" in result.stderr
    document = json.loads(cli("order", "wait", "A1", "--timeout", "10", "--json",
                              *gateway_args(server.url)).stdout)
    assert document["paid"] is True and document["amount_matches"] is False
    assert (document["ordered_money"], document["gateway_money"]) == ("8.88", "0.01")


def test_wait_on_a_matching_paid_order_exits_0(cli, scripted):
    server = scripted((200, JSON, CREATED), (200, JSON, paid_at("8.88")))
    ordered(cli, server, "8.88")
    result = cli("order", "wait", "A1", "--timeout", "10", "--json", *gateway_args(server.url))
    assert result.code == 0, result.stderr
    assert json.loads(result.stdout)["amount_matches"] is True


def test_wait_not_paid_in_time_keeps_exit_7(cli, scripted):
    server = scripted((200, JSON, CREATED), (200, JSON, paid_at("0.01", status="0")))
    ordered(cli, server, "8.88")
    result = cli("order", "wait", "A1", "--timeout", "0.2", "--interval", "0.05",
                 *gateway_args(server.url))
    assert result.code == 7


def test_wait_on_an_order_epay_did_not_create_says_nothing_about_amounts(cli, scripted):
    server = scripted((200, JSON, paid_at("0.01")))
    result = cli("order", "wait", "A1", "--timeout", "10", "--json", *gateway_args(server.url))
    assert result.code == 0
    document = json.loads(result.stdout)
    assert document["amount_matches"] is None and document["ordered_money"] is None
    assert document["gateway_money"] is None  # the same keys, whether epay recorded it or not


def test_query_exits_3_with_both_amounts(cli, scripted):
    server = scripted((200, JSON, CREATED), (200, JSON, paid_at("0.01")))
    ordered(cli, server, "8.88")
    result = cli("order", "query", "A1", "--json", *gateway_args(server.url))
    assert result.code == 3
    document = json.loads(result.stdout)
    assert document["amount_matches"] is False and document["ordered_money"] == "8.88"
    assert document["money"] == "0.01"
    assert "but epay ordered 8.88" in result.stderr
    text = cli("order", "query", "A1", *gateway_args(server.url))
    assert text.code == 3 and "do not deliver" in text.stderr


def test_query_of_a_matching_order_exits_0(cli, scripted):
    server = scripted((200, JSON, CREATED), (200, JSON, paid_at("8.880")))
    ordered(cli, server, "8.88")
    result = cli("order", "query", "A1", "--json", *gateway_args(server.url))
    assert result.code == 0, result.stderr
    assert json.loads(result.stdout)["amount_matches"] is True


def test_query_from_file_flags_the_mismatch_and_exits_3(cli, scripted, tmp_path):
    def answer(request):
        number = request["query"]["out_trade_no"]
        return (200, JSON, paid_at("0.01" if number == "A1" else "2.00", number))

    server = scripted((200, JSON, CREATED), (200, JSON, CREATED), answer)
    ordered(cli, server, "8.88", "A1")
    ordered(cli, server, "2.00", "A2")
    numbers = tmp_path / "n.txt"
    numbers.write_text("A1\nA2\n")
    result = cli("order", "query", "--from", str(numbers), "--json", *gateway_args(server.url))
    assert result.code == 3, result.stderr
    document = json.loads(result.stdout)
    first, second = document["results"]
    assert first["amount_matches"] is False and first["ordered_money"] == "8.88"
    assert second["amount_matches"] is True
    assert document["summary"]["amount_mismatches"] == 1
    text = cli("order", "query", "--from", str(numbers), *gateway_args(server.url))
    assert text.code == 3 and "AMOUNT DIFFERS" in text.stdout
    assert "A1: the gateway holds money 0.01 but epay ordered 8.88" in text.stderr


def test_list_flags_the_row_and_exits_0(cli, scripted):
    rows = [json.loads(paid_at("0.01", "A1")), json.loads(paid_at("3.00", "A2")),
            json.loads(paid_at("5.00", "OTHER"))]
    listing = json.dumps({"code": 1, "count": 3, "data": rows})
    server = scripted((200, JSON, CREATED), (200, JSON, CREATED), (200, JSON, listing))
    ordered(cli, server, "8.88", "A1")
    ordered(cli, server, "3.00", "A2")
    result = cli("order", "list", "--json", *gateway_args(server.url))
    assert result.code == 0, result.stderr
    by_number = {row["out_trade_no"]: row for row in json.loads(result.stdout)["orders"]}
    assert by_number["A1"]["amount_matches"] is False
    assert by_number["A1"]["ordered_money"] == "8.88"
    assert by_number["A2"]["amount_matches"] is True
    assert by_number["OTHER"]["amount_matches"] is None
    assert json.loads(result.stdout)["amount_mismatches"] == 1
    text = cli("order", "list", *gateway_args(server.url))
    assert text.code == 0
    flagged = [line for line in text.stdout.splitlines() if "A1" in line]
    assert "AMOUNT DIFFERS" in flagged[0]
    assert "A1: the gateway holds money 0.01 but epay ordered 8.88" in text.stderr
