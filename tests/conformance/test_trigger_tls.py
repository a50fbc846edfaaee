"""TLS: verified by default (a self-signed handler is refused, exit 5), skipped only with
--insecure (as a gateway, which does not verify)."""

from __future__ import annotations

import datetime
import json

from conftest import tls_server_context
from test_check_support import KEY, PID, Behaviour, odd_handler

from epaycli.core.errors import ExitCode


def self_signed(tmp_path):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    import ipaddress

    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(1)
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .sign(key, hashes.SHA256()))
    return tls_server_context(cert, key, tmp_path)


def test_tls_is_verified_unless_insecure(cli, tmp_path):
    behaviour = Behaviour()
    with odd_handler(behaviour, tls=self_signed(tmp_path)) as url:
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
