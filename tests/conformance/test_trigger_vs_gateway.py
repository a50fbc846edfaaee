"""``epay trigger`` sends what a gateway sends: the local gateway (``epay mock``) pays an order
and notifies a recording handler; trigger, given the same order, builds the same notify —
same fields, same order, same sign — and both verify in ``epay verify``."""

from __future__ import annotations

import json

import httpx
import pytest
from mockkit import create, pay
from test_check_support import Behaviour, odd_handler

from epaycli.core.errors import ExitCode

mock_server = pytest.importorskip("epaycli.mock.server")


@pytest.mark.parametrize("money", ["1.00", "12.50"])
def test_trigger_builds_the_notify_the_gateway_sends(cli, money):
    behaviour = Behaviour()
    with odd_handler(behaviour) as url, mock_server.start_gateway(port=0) as gw, \
            httpx.Client(timeout=15) as client:
        order = create(gw, client, url, money=money, param="uid=5")
        paid = pay(gw, client, order["sent"]["out_trade_no"])
        assert paid["code"] == 1 and paid["notify"]["delivered"], paid
        sent_by_gateway = url.rsplit("/", 1)[0] + behaviour.seen[0][1]
    result = cli("trigger", "notify", "--to", url, "--key", gw.key, "--pid", gw.pid,
                 "--order", order["sent"]["out_trade_no"], "--amount", money,
                 "--trade-no", paid["trade_no"], "--type", "alipay", "--param", "uid=5",
                 "--dry-run")
    assert result.code == ExitCode.OK, result.stderr
    assert result.stdout.strip() == sent_by_gateway
    verdict = cli("verify", result.stdout.strip(), "--key", gw.key, "--amount", money, "--json")
    assert json.loads(verdict.stdout)["verdict"] == "genuine"
