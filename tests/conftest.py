"""Shared fixtures: the signature vectors, an isolated environment, a CLI runner that goes
through epay's real error boundary (``epaycli.cli.main.run``), and for the local-gateway tests
an HTTP client and a merchant receiver on 127.0.0.1 (stopped even when the test fails)."""

from __future__ import annotations

import io
import json
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

TESTS = Path(__file__).parent
ROOT = TESTS.parent  # the project: tests sit in sub-folders of TESTS, so they use these two
VECTORS = TESTS / "vectors"
SHARED_VECTORS = TESTS.parent.parent / "shared" / "vectors"


def _guard_ports() -> None:
    """Every process of the run records the ports it binds; connecting to a loopback port none
    of them bound fails the test (tests/portguard.py: the suite must not reach a developer's
    own `epay listen` on 8788, or anything else on a fixed port). Python subprocesses get the
    guard through PYTHONPATH (tests/portguard_site/sitecustomize.py)."""
    import atexit
    import os
    import tempfile

    import portguard

    if not os.environ.get(portguard.ENV):  # a nested run (the sdist's tests) shares the file
        handle, name = tempfile.mkstemp(prefix="epay-ports-", suffix=".log")
        os.close(handle)
        os.environ[portguard.ENV] = name
        os.environ[portguard.ROOT_ENV] = str(os.getpid())
        atexit.register(lambda: os.path.exists(name) and os.remove(name))
    site = str(TESTS / "portguard_site")
    os.environ["PYTHONPATH"] = os.pathsep.join(
        [site, *[p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]])
    portguard.install()


_guard_ports()


@pytest.fixture(autouse=True)
def no_fixed_ports():
    """Fail a test that connected to a loopback port no process of the run had bound."""
    import portguard

    _, start = portguard.violations(0)
    yield
    found, _ = portguard.violations(start)
    if found:
        pytest.fail("a test connected to a port the test run did not open (use a free port, "
                    "e.g. --notify-url to a receiver; CONTRIBUTING.md):\n" + "\n".join(found[:5]),
                    pytrace=False)


def load_vectors(name: str) -> dict:
    return json.loads((VECTORS / f"{name}.json").read_text(encoding="utf-8"))


def epay_executable() -> str:
    """The installed `epay` console script: beside this Python, else on PATH."""
    beside = Path(sys.executable).with_name("epay")
    found = str(beside) if beside.exists() else shutil.which("epay")
    if not found:
        pytest.fail("the epay console script is not installed: pip install -e '.[test]'")
    return found


@pytest.fixture(autouse=True)
def isolated_env(tmp_path, monkeypatch):
    """No test reads or writes the real home directory or sees the developer's EPAY_* settings."""
    import os

    for name in list(os.environ):
        if name.startswith("EPAY_") or name in ("NO_COLOR", "XDG_CONFIG_HOME", "XDG_STATE_HOME",
                                                 "XDG_DATA_HOME"):
            monkeypatch.delenv(name, raising=False)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    # epay's order memory, the listener's journal and the local gateway's data stay here too.
    monkeypatch.setenv("XDG_STATE_HOME", str(home / ".local" / "state"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    return home


@pytest.fixture
def config_file(isolated_env):
    return isolated_env / ".config" / "epay" / "profiles.toml"


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str


class _Stdin(io.TextIOWrapper):
    def __init__(self, data: bytes, tty: bool) -> None:
        super().__init__(io.BytesIO(data), encoding="utf-8")
        self._tty = tty

    def isatty(self) -> bool:
        return self._tty


@pytest.fixture
def cli(capsys, monkeypatch):
    """Run ``epay ARGS`` in-process; stdin is ``stdin`` (bytes or str), or an empty terminal."""
    from epaycli.cli.main import run

    def invoke(*args: str, stdin: bytes | str | None = None) -> Result:
        data = stdin.encode("utf-8") if isinstance(stdin, str) else stdin
        monkeypatch.setattr(sys, "stdin", _Stdin(data or b"", tty=data is None))
        capsys.readouterr()
        code = run(list(args))
        out, err = capsys.readouterr()
        return Result(int(code), out, err)

    return invoke


@pytest.fixture
def client():
    """An httpx client for talking to servers the test started (httpx imported only here)."""
    import httpx

    with httpx.Client(timeout=10) as session:
        yield session


@pytest.fixture(scope="module")
def gateway():
    """epay's local gateway (``epay mock``) on a free 127.0.0.1 port, for a whole test file; a
    file that needs one set up its own way defines its own ``gateway``."""
    from epaycli.mock.server import start_gateway

    running = start_gateway()
    try:
        yield running
    finally:
        running.close()


@pytest.fixture
def receiver():
    """A merchant's notify URL on a free 127.0.0.1 port, recording every hit (mockkit.py)."""
    from mockkit import start_receiver

    merchant, server = start_receiver()
    try:
        yield merchant
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(autouse=True, scope="session")
def fresh_core_caches():
    """Empty core's memo caches (lru_cache) when a test session starts. Mutation testing forks
    each run from a process that already ran the suite: a warm cache would hand a mutant the
    original code's answers and hide it."""
    import functools
    import importlib
    import pkgutil

    import epaycli.core

    for module in pkgutil.iter_modules(epaycli.core.__path__):
        namespace = importlib.import_module(f"epaycli.core.{module.name}")
        for value in list(vars(namespace).values()):
            if isinstance(value, functools._lru_cache_wrapper):
                value.cache_clear()


def tls_server_context(cert, key, folder: Path, stem: str = "server"):
    """A TLS server context for a certificate and key made in a test (cryptography objects),
    written to ``folder`` as PEM files first (ssl loads only files)."""
    import ssl

    from cryptography.hazmat.primitives import serialization

    cert_file, key_file = folder / f"{stem}.crt", folder / f"{stem}.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    return context


def self_signed_context(folder: Path):
    """A TLS server context with a self-signed certificate for 127.0.0.1 (a client that
    verifies refuses it)."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(1)
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .sign(key, hashes.SHA256()))
    return tls_server_context(cert, key, folder)
