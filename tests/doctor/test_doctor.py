"""`epay doctor` against real servers on 127.0.0.1: epay's local gateway (healthy, slow, with a
wrong clock, a banned merchant), an HTTPS server with a bad certificate made here, a site that
is no Epay, notify handlers (a redirect, one that answers success to anything, `epay listen`).
Each broken set-up names the check that fails."""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import json
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import tomlkit
from conftest import tls_server_context

from epaycli.core.errors import ExitCode
from epaycli.core.models import SANDBOX_KEY
from epaycli.mock.server import start_gateway

KEY = "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6"


@pytest.fixture(scope="module")
def v2_files(gateway, tmp_path_factory):
    folder = tmp_path_factory.mktemp("doctor-keys")
    files = {"private": gateway.v2.merchant_private_pem,
             "merchant_public": gateway.v2.merchant_public_pem,
             "platform": gateway.v2.platform_public_pem}
    paths = {}
    for name, pem in files.items():
        (folder / f"{name}.pem").write_text(pem)
        paths[name] = str(folder / f"{name}.pem")
    return paths


@pytest.fixture
def profile(config_file):
    """Write one profile named 'p' (the default) into the test's profiles file."""

    def write(**fields: str) -> None:
        config_file.parent.mkdir(parents=True, exist_ok=True)
        table = {k: v for k, v in fields.items() if v}
        config_file.write_text(tomlkit.dumps({"default": "p", "profiles": {"p": table}}))

    return write


def v1(gw, **changes) -> dict:
    return {"gateway": gw.url, "dialect": "v1", "pid": gw.pid, "key": gw.key, **changes}


def v2(gw, files, **changes) -> dict:
    return {"gateway": gw.url, "dialect": "v2", "pid": gw.v2.pid, "key": gw.v2.key,
            "private_key": files["private"], "public_key": files["platform"], **changes}


def checks(result) -> list[dict]:
    return json.loads(result.stdout)["checks"]


def codes(result, status: str | None = None) -> dict[str, str]:
    """code → check id of every finding (of ``status`` when given)."""
    return {c["code"]: c["id"] for c in checks(result) if status in (None, c["status"])}


def doctor(cli, *args):
    return cli("doctor", "--json", *args)


# ---- healthy -----------------------------------------------------------------------------------


def test_the_sandbox_profile_against_the_local_gateway_is_healthy(cli, gateway, profile):
    profile(**v1(gateway))
    result = doctor(cli)
    assert result.code == ExitCode.OK, result.stdout + result.stderr
    found = checks(result)
    assert {c["status"] for c in found} <= {"ok", "warn"}
    assert {"profile.complete", "gateway.url", "gateway.dns", "gateway.reachable",
            "gateway.epay", "credentials", "clock", "latency"} <= {c["id"] for c in found}
    assert all(set(c) >= {"id", "status", "message", "fix"} for c in found)
    epay = next(c for c in found if c["id"] == "gateway.epay")
    assert "V1" in epay["message"] and "V2" in epay["message"]
    assert gateway.key not in result.stdout  # the key shows masked, if at all


def test_plain_output_has_one_line_per_check_with_the_fix_under_warnings(cli, gateway, profile):
    profile(**v1(gateway))
    result = cli("doctor")
    assert result.code == ExitCode.OK
    lines = result.stdout.splitlines()
    assert any(line.startswith("✓ credentials:") for line in lines)
    warned = next(i for i, line in enumerate(lines) if line.startswith("! notify_url:"))
    assert lines[warned + 1].startswith("    fix: ")
    assert lines[-1].endswith(", 0 failed")


def test_a_healthy_v2_profile_passes_with_its_keys(cli, gateway, profile, v2_files):
    profile(**v2(gateway, v2_files, notify_url="http://127.0.0.1:9/notify"))
    result = doctor(cli, "--merchant-public-key", v2_files["merchant_public"])
    assert result.code == ExitCode.OK, result.stdout
    found = codes(result)
    assert {"private_key_ok", "platform_key_ok", "key_pair_ok", "credentials_ok"} <= set(found)
    assert "url_local_ok" in found  # a local notify_url is fine with a local gateway (a warning)


# ---- the profile -------------------------------------------------------------------------------


@pytest.mark.parametrize(("key", "code"), [
    (KEY + " ", "key_whitespace"),
    (KEY[:16] + " " + KEY[16:], "key_whitespace"),
    (f"'{KEY}'", "key_quotes"),
    (KEY[:-1] + "Ａ", "key_fullwidth"),
    (f"key={KEY}", "key_prefix"),
])
def test_each_broken_key_shape_is_named(cli, profile, key, code):
    profile(gateway="https://pay.example.com/", pid="1001", key=key)
    result = doctor(cli, "--offline")
    assert result.code == ExitCode.CHECK_FAILED
    assert codes(result, "fail")[code] == "profile.key"
    assert KEY not in result.stdout and KEY not in result.stderr


def test_an_unusual_key_is_a_warning_and_a_good_one_passes(cli, profile):
    profile(gateway="https://pay.example.com/", pid="1001", key="short1")
    assert "key_unusual" in codes(doctor(cli, "--offline"), "warn")
    profile(gateway="https://pay.example.com/", pid="1001", key=KEY)
    assert "key_ok" in codes(doctor(cli, "--offline"), "ok")


def test_a_profile_without_what_its_dialect_needs_fails(cli, profile):
    profile(gateway="https://pay.example.com/", dialect="v2", pid="1001")
    result = doctor(cli, "--offline")
    assert result.code == ExitCode.CHECK_FAILED
    failed = codes(result, "fail")
    assert failed["profile_missing"] == "profile.complete"
    assert failed["platform_key_missing"] == "profile.platform_key"


def test_a_mismatched_rsa_pair_is_named(cli, gateway, profile, v2_files):
    profile(**v2(gateway, v2_files))
    result = doctor(cli, "--offline", "--merchant-public-key", v2_files["platform"])
    assert result.code == ExitCode.CHECK_FAILED
    assert codes(result, "fail")["key_pair_mismatch"] == "profile.key_pair"


def test_the_merchant_public_key_given_as_the_platform_key_is_named(cli, gateway, profile,
                                                                    v2_files):
    profile(**v2(gateway, v2_files, public_key=v2_files["merchant_public"]))
    result = doctor(cli, "--offline")
    assert codes(result, "fail")["platform_key_is_merchant"] == "profile.platform_key"


def private_key_file(path, bits: int = 2048):
    """A new RSA private key, written to ``path`` as PKCS#8 PEM; the key."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    return key


def test_a_weak_rsa_key_is_a_warning(cli, profile, tmp_path):
    path = tmp_path / "weak.pem"
    private_key_file(path, 1024)
    profile(gateway="https://pay.example.com/", dialect="v2", pid="1001",
            private_key=str(path))
    result = doctor(cli, "--offline")
    assert codes(result, "warn")["rsa_weak"] == "profile.private_key"


def test_an_unreadable_private_key_is_named(cli, profile, tmp_path):
    path = tmp_path / "broken.pem"
    path.write_text("-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n")
    profile(gateway="https://pay.example.com/", dialect="v2", pid="1001", private_key=str(path))
    assert codes(doctor(cli, "--offline"), "fail")["private_key_bad"] == "profile.private_key"


# ---- the gateway URL ---------------------------------------------------------------------------


def test_a_php_page_as_gateway_url_is_named_and_the_site_root_still_checked(cli, gateway,
                                                                            profile):
    """epay itself uses the site root of such a URL (and says so); another tool given the
    same URL does not: a warning, with the root to save."""
    profile(**v1(gateway, gateway=gateway.url + "submit.php"))
    result = doctor(cli)
    assert result.code == ExitCode.OK
    assert codes(result, "warn")["gateway_php_page"] == "gateway.url"
    assert not codes(result, "fail")
    url = next(c for c in checks(result) if c["code"] == "gateway_php_page")
    assert gateway.url in url["fix"]
    assert "credentials_ok" in codes(result, "ok")


def test_a_folder_the_gateway_does_not_have_is_named(cli, gateway, profile):
    profile(**v1(gateway, gateway=gateway.url + "pay/"))
    result = doctor(cli)
    assert codes(result, "fail") == {"gateway_wrong_path": "gateway.url"}
    assert gateway.url in result.stdout


def test_a_gateway_host_name_is_resolved(cli, gateway, profile):
    profile(**v1(gateway, gateway=gateway.url.replace("127.0.0.1", "localhost")))
    result = doctor(cli)
    assert result.code == ExitCode.OK, result.stdout
    dns = next(c for c in checks(result) if c["id"] == "gateway.dns")
    assert dns["code"] == "dns_ok" and "127.0.0.1" in dns["message"]


@pytest.mark.parametrize(("gateway_url", "code"), [
    ("pay.example.com", "gateway_scheme"),
    ("ftp://pay.example.com/", "gateway_scheme"),
    ("https://pay.example.com/?a=1", "gateway_query"),
])
def test_gateway_urls_that_cannot_work_are_named(cli, profile, gateway_url, code):
    profile(gateway=gateway_url, pid="1001", key=KEY)
    assert codes(doctor(cli, "--offline"), "fail")[code] == "gateway.url"


def test_a_remote_gateway_over_plain_http_is_a_warning(cli, profile):
    profile(gateway="http://pay.example.com/", pid="1001", key=KEY)
    assert codes(doctor(cli, "--offline"), "warn")["gateway_plain_http"] == "gateway.url"


def test_a_site_that_is_not_epay_is_named(cli, profile, receiver):
    site = receiver.url.rsplit("/", 1)[0] + "/"
    profile(gateway=site, pid="1000", key=SANDBOX_KEY)
    result = doctor(cli)
    assert result.code == ExitCode.CHECK_FAILED
    assert codes(result, "fail") == {"not_epay": "gateway.epay"}


def test_a_gateway_nothing_listens_on_is_unreachable(cli, profile):
    import socket

    with socket.socket() as holder:  # a port that is surely closed: bound, never listening
        holder.bind(("127.0.0.1", 0))
        port = holder.getsockname()[1]
        profile(gateway=f"http://127.0.0.1:{port}/", pid="1000", key=SANDBOX_KEY)
        result = doctor(cli)
    assert codes(result, "fail") == {"unreachable": "gateway.reachable"}


# ---- TLS ---------------------------------------------------------------------------------------


def certificate(tmp_path, *, names: list[str], days: tuple[int, int]):
    """A self-signed certificate for ``names`` valid from ``days[0]`` to ``days[1]`` days from
    now, as a server-side SSL context."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
    now = datetime.datetime.now(datetime.UTC)
    alternatives = []
    for name in names:
        try:
            alternatives.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            alternatives.append(x509.DNSName(name))
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now + datetime.timedelta(days=days[0]))
            .not_valid_after(now + datetime.timedelta(days=days[1]))
            .add_extension(x509.SubjectAlternativeName(alternatives), critical=False)
            .sign(key, hashes.SHA256()))
    return tls_server_context(cert, key, tmp_path, f"{names[0]}-{days[1]}")


@contextlib.contextmanager
def https_server(context):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def test_an_expired_certificate_is_named(cli, profile, tmp_path):
    with https_server(certificate(tmp_path, names=["127.0.0.1"], days=(-30, -3))) as url:
        profile(gateway=url, pid="1000", key=SANDBOX_KEY)
        result = doctor(cli)
    assert result.code == ExitCode.CHECK_FAILED
    assert codes(result, "fail") == {"tls_expired": "gateway.tls"}
    assert "expired 3 days ago" in result.stdout or "expired 2 days ago" in result.stdout


def test_a_certificate_for_another_host_is_named(cli, profile, tmp_path):
    with https_server(certificate(tmp_path, names=["pay.example.com"], days=(-1, 90))) as url:
        profile(gateway=url, pid="1000", key=SANDBOX_KEY)
        result = doctor(cli)
    assert codes(result, "fail") == {"tls_wrong_host": "gateway.tls"}
    assert "pay.example.com" in result.stdout


def test_a_self_signed_certificate_for_the_right_host_is_named(tmp_path):
    from epaycli.doctor.site import check_tls

    with https_server(certificate(tmp_path, names=["127.0.0.1"], days=(-1, 90))) as url:
        port = int(url.rsplit(":", 1)[1].strip("/"))
        found = check_tls("127.0.0.1", port, now=time.time(), timeout=5)
    assert (found.id, found.code, found.status) == ("gateway.tls", "tls_self_signed", "fail")


def test_a_trusted_certificate_reports_its_days_left(tmp_path):
    from epaycli.doctor.site import check_tls

    context = certificate(tmp_path, names=["127.0.0.1"], days=(-1, 10))
    trusting = ssl.create_default_context(cafile=str(tmp_path / "127.0.0.1-10.crt"))
    with https_server(context) as url:
        port = int(url.rsplit(":", 1)[1].strip("/"))
        found = check_tls("127.0.0.1", port, now=time.time(), timeout=5, context=trusting)
    assert (found.code, found.status) == ("tls_expiring", "warn")
    assert "expires in 9 days" in found.message or "expires in 10 days" in found.message


# ---- credentials -------------------------------------------------------------------------------


def test_an_unknown_pid_is_named_with_the_catalogue_fix(cli, gateway, profile):
    profile(**v1(gateway, pid="9999", key=KEY))
    result = doctor(cli)
    assert result.code == ExitCode.CHECK_FAILED
    assert codes(result, "fail") == {"cred_pid_unknown": "credentials"}
    from epaycli.catalogue.lookup import entry

    found = next(c for c in checks(result) if c["code"] == "cred_pid_unknown")
    assert found["fix"] == entry("pid_unknown").fix


def test_a_wrong_key_is_named(cli, gateway, profile):
    profile(**v1(gateway, key=KEY))
    result = doctor(cli)
    assert codes(result, "fail") == {"cred_key_wrong": "credentials"}
    assert KEY not in result.stdout


def test_a_banned_merchant_is_named(cli, gateway, profile):
    pid, key = gateway.create_merchant()
    gateway.store.update_merchant(int(pid), active=False)
    profile(**v1(gateway, pid=pid, key=key))
    result = doctor(cli)
    assert codes(result, "fail") == {"cred_banned": "credentials"}


def test_a_banned_v2_merchant_is_named(cli, gateway, profile, v2_files):
    profile(**v2(gateway, v2_files))
    gateway.store.update_merchant(int(gateway.v2.pid), active=False)
    try:
        result = doctor(cli)
    finally:
        gateway.store.update_merchant(int(gateway.v2.pid), active=True)
    assert codes(result, "fail") == {"cred_banned": "credentials"}


def test_an_rsa_only_merchant_signing_md5_is_named(cli, gateway, profile):
    profile(gateway=gateway.url, dialect="v2", pid=gateway.v2.pid, key=gateway.v2.key)
    result = doctor(cli)
    assert codes(result, "fail")["cred_rsa_only"] == "credentials"


def test_a_wrong_platform_key_is_named_when_the_answer_does_not_verify(cli, gateway, profile,
                                                                      v2_files, tmp_path):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    other = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    path = tmp_path / "other.pem"
    path.write_bytes(other.public_bytes(serialization.Encoding.PEM,
                                        serialization.PublicFormat.SubjectPublicKeyInfo))
    profile(**v2(gateway, v2_files, public_key=str(path)))
    result = doctor(cli)
    assert codes(result, "fail") == {"platform_key_wrong": "profile.platform_key"}


# ---- clock and latency -------------------------------------------------------------------------


def test_the_mock_clock_offset_shifts_its_date_header_and_v2_window(client):
    with start_gateway(port=0, clock_offset=600) as gw:
        answer = client.get(gw.url + "api.php")
    from email.utils import parsedate_to_datetime

    shown = parsedate_to_datetime(answer.headers["date"]).timestamp()
    assert 595 <= shown - time.time() <= 605


def test_clock_skew_fails_a_v2_profile_and_names_the_timestamp_refusal(cli, profile, v2_files,
                                                                      gateway):
    with start_gateway(port=0, clock_offset=-700) as skewed:
        profile(**v2(gateway, v2_files, gateway=skewed.url))
        result = doctor(cli)
    assert result.code == ExitCode.CHECK_FAILED
    failed = codes(result, "fail")
    assert failed["clock_skew"] == "clock"
    assert failed["cred_timestamp"] == "credentials"
    clock = next(c for c in checks(result) if c["id"] == "clock")
    assert "ahead of" in clock["message"] and "300" in clock["message"]


def test_clock_skew_is_a_warning_for_v1(cli, profile):
    with start_gateway(port=0, clock_offset=400) as skewed:
        profile(**v1(skewed))
        result = doctor(cli)
    assert result.code == ExitCode.OK
    assert codes(result, "warn")["clock_skew"] == "clock"


def test_a_slow_gateway_is_a_latency_warning(cli, profile):
    with start_gateway(port=0, latency_ms=520) as slow:
        profile(**v1(slow))
        result = doctor(cli)
    assert result.code == ExitCode.OK
    assert codes(result, "warn")["latency_slow"] == "latency"


def test_mock_refuses_an_absurd_clock_offset(cli):
    result = cli("mock", "--port", "0", "--in-memory", "--clock-offset", "1e12")
    assert result.code == ExitCode.USAGE
    assert result.stderr.startswith("epay: error: clock offset") and result.stderr.count("\n") == 1


# ---- notify_url --------------------------------------------------------------------------------


@pytest.mark.parametrize(("url", "code"), [
    ("http://10.1.2.3/notify", "url_local"),
    ("http://localhost/notify", "url_local"),
    ("http://127.0.0.1:8000/notify", "url_local"),
    ("http://169.254.1.1/notify", "url_local"),
    ("http://100.64.0.9/notify", "url_local"),
    ("http://240.0.0.1/notify", "url_local"),
    ("shop.example.com/notify", "url_scheme"),
    ("https://shop.example.com/notify?order=1&x=2", "url_query"),
    ("https://shop.example.com/" + "n" * 260, "url_too_long"),
])
def test_notify_urls_a_remote_gateway_cannot_use_are_named(cli, profile, url, code):
    profile(gateway="https://pay.example.com/", pid="1001", key=KEY, notify_url=url)
    result = doctor(cli, "--offline")
    assert result.code == ExitCode.CHECK_FAILED
    assert codes(result, "fail")[code] == "notify_url"


def test_a_local_notify_url_is_only_a_warning_with_a_local_gateway(cli, profile):
    profile(gateway="http://127.0.0.1:8787/", pid="1000", key=KEY,
            notify_url="http://192.168.1.5/notify", return_url="http://localhost/done")
    result = doctor(cli, "--offline")
    assert codes(result, "warn")["url_local_ok"] in ("notify_url", "return_url")
    assert "url_local" not in codes(result)


def test_a_name_resolving_to_a_private_address_is_named():
    from epaycli.doctor.urls import Resolution, check_url

    asked = []

    def resolver(host, timeout):
        asked.append((host, timeout))
        return Resolution(("10.0.0.7",))

    found = check_url("notify_url", "notify_url", "https://shop.internal-name.example/n",
                      gateway_local=False, resolver=resolver)
    assert [(f.code, f.status) for f in found] == [("url_local", "fail")]
    assert "10.0.0.7" in found[0].message
    assert asked == [("shop.internal-name.example", 1.0)]


def test_localhost_resolves_here_and_an_invalid_name_is_a_warning_within_a_second():
    from epaycli.doctor.urls import address_kind, check_url, resolve

    assert all(address_kind(a) == "loopback" for a in resolve("localhost").addresses)
    started = time.monotonic()
    found = check_url("notify_url", "notify_url", "https://shop.doctor-test.invalid/n",
                      gateway_local=False, resolver=resolve)
    assert time.monotonic() - started < 1.5
    assert [(f.code, f.status) for f in found] == [("url_unresolved", "warn")]


def test_a_notify_url_that_redirects_is_named(cli, gateway, profile, receiver):
    receiver.redirect = "https://127.0.0.1:9/elsewhere"
    profile(**v1(gateway, notify_url=receiver.url))
    result = doctor(cli, "--probe")
    assert result.code == ExitCode.CHECK_FAILED
    assert codes(result, "fail") == {"probe_redirect": "notify_url.probe"}


def test_a_notify_url_answering_success_to_a_tampered_notify_is_named(cli, gateway, profile,
                                                                      receiver):
    receiver.body = "success"
    profile(**v1(gateway, notify_url=receiver.url))
    result = doctor(cli, "--probe")
    assert codes(result, "fail") == {"probe_tampered_accepted": "notify_url.probe"}
    sent = receiver.wait(2)
    assert len(sent) == 2 and sent[0].query["money"] == "1" and sent[1].query["money"] == "0.01"
    assert sent[0].query["sign"] == sent[1].query["sign"]  # the sign kept, the money changed


def test_a_notify_url_that_does_not_answer_is_named(cli, gateway, profile):
    import socket

    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{holder.getsockname()[1]}/notify"
        profile(**v1(gateway, notify_url=url))
        result = doctor(cli, "--probe")
    assert codes(result, "fail") == {"probe_unreachable": "notify_url.probe"}


def test_a_slow_notify_url_is_named(receiver):
    from epaycli.core.signing import Md5Key
    from epaycli.doctor.probe import probe_notify_url

    receiver.delay = 0.6
    found = probe_notify_url(receiver.url, pid="1000", md5=Md5Key(KEY), merchant_private=None,
                             now=int(time.time()), timeout=0.2)
    assert [(f.code, f.status) for f in found] == [("probe_slow", "fail")]


def test_a_running_listener_is_probed_without_asking(cli, gateway, profile, tmp_path):
    from epaycli.core.signing import Keys, Md5Key
    from epaycli.listener.server import start_listener

    with start_listener(keys=Keys(md5=Md5Key(gateway.key)), journal=tmp_path / "j.db") as heard:
        profile(**v1(gateway, notify_url=heard.url))
        result = doctor(cli)
    assert result.code == ExitCode.OK, result.stdout
    assert codes(result, "ok")["probe_ok"] == "notify_url.probe"


def test_without_a_listener_or_probe_nothing_is_sent_to_the_notify_url(cli, gateway, profile,
                                                                      receiver):
    profile(**v1(gateway, notify_url=receiver.url))
    result = doctor(cli)
    assert result.code == ExitCode.OK
    assert "notify_url.probe" not in {c["id"] for c in checks(result)}
    assert [hit.path for hit in receiver.hits] == ["/.epay-listen/health"]


# ---- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize("args", [
    ("--timeout", "0"),
    ("--profile", "nope"),
    ("--bogus",),
])
def test_bad_input_is_one_line(cli, args):
    result = cli("doctor", *args)
    assert result.code in (ExitCode.USAGE, ExitCode.CONFIG)
    assert result.stderr.startswith("epay: error: ") and result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr


def test_failing_checks_exit_7_with_one_error_line_naming_them(cli, profile):
    profile(gateway="https://pay.example.com/", pid="1001", key=KEY + " ")
    result = cli("doctor", "--offline")
    assert result.code == ExitCode.CHECK_FAILED
    assert result.stderr.startswith("epay: error: 1 of ") and "profile.key" in result.stderr
    assert "✗ profile.key:" in result.stdout
