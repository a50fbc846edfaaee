"""TLS: verified by default (a self-signed handler is refused, exit 5), skipped only with
--insecure (as a gateway, which does not verify)."""

from __future__ import annotations

import json

from conftest import self_signed_context
from test_check_support import KEY, PID, Behaviour, odd_handler

from epaycli.core.errors import ExitCode


def test_tls_is_verified_unless_insecure(cli, tmp_path):
    behaviour = Behaviour()
    with odd_handler(behaviour, tls=self_signed_context(tmp_path)) as url:
        assert url.startswith("https://")
        refused = cli("trigger", "notify", "--to", url, "--key", KEY, "--pid", PID)
        accepted = cli("trigger", "notify", "--to", url, "--key", KEY, "--pid", PID,
                       "--insecure", "--json")
        checked = cli("check", "notify", url, "--key", KEY, "--pid", PID, "--order", "A1",
                      "--amount", "1", "--only", "genuine")
        checked_insecure = cli("check", "notify", url, "--key", KEY, "--pid", PID, "--order",
                               "A1", "--amount", "1", "--only", "genuine", "--insecure")
    assert refused.code == ExitCode.NETWORK and "TLS certificate not trusted" in refused.stderr
    assert "--insecure" in refused.stderr and refused.stderr.count("\n") == 1
    assert accepted.code == ExitCode.OK and json.loads(accepted.stdout)["answer"]["delivered"]
    assert checked.code == ExitCode.NETWORK and "--insecure" in checked.stderr
    assert checked_insecure.code == ExitCode.OK
