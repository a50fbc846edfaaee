"""A new user's bad input on the server commands: every failure is one line
``epay: error: … — fix`` with a documented exit code (found by trying epay from a fresh HOME)."""

from __future__ import annotations

import socket

import pytest

ERROR_PREFIX = "epay: error: "


@pytest.fixture(autouse=True)
def fresh_state_dirs(tmp_path, monkeypatch):
    """The servers write state and data under XDG_STATE_HOME / XDG_DATA_HOME: keep them in tmp."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))


def one_error_line(result, *, notes_allowed: bool = False) -> str:
    """The error line; with ``notes_allowed``, status notes printed before it are fine."""
    lines = result.stderr.splitlines()
    assert lines and (notes_allowed or len(lines) == 1), result.stderr
    assert sum(line.startswith(ERROR_PREFIX) for line in lines) == 1, result.stderr
    line = lines[-1]
    assert line.startswith(ERROR_PREFIX), line
    assert " — " in line, f"no fix after the error: {line}"
    assert "Traceback" not in result.stderr
    return line


@pytest.fixture
def busy_port():
    """A port some other program already listens on."""
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    try:
        yield taken.getsockname()[1]
    finally:
        taken.close()


@pytest.mark.parametrize("args", [
    ["--port", "-1"],
    ["--port", "99999"],
    ["--latency", "-5"],
    ["--quirks", "foo"],
    ["--durability", "x"],
])
def test_mock_bad_option_value_says_how_to_fix_it(cli, tmp_path, args):
    result = cli("mock", "--in-memory", "--no-profiles", *args)
    assert result.code == 2
    one_error_line(result)


def test_mock_data_folder_that_is_a_file_is_a_config_error_not_a_stdout_one(cli, tmp_path):
    not_a_folder = tmp_path / "plain-file"
    not_a_folder.write_text("x", encoding="utf-8")
    result = cli("mock", "--port", "0", "--no-profiles", "--data", str(not_a_folder))
    line = one_error_line(result)
    assert result.code == 6
    assert "standard output" not in line
    assert "plain-file" in line


def test_listen_port_in_use_advises_listen_not_mock(cli, tmp_path, busy_port):
    result = cli("listen", "--port", str(busy_port), "--journal", str(tmp_path / "j.sqlite3"))
    line = one_error_line(result, notes_allowed=True)
    assert result.code == 6
    assert "already in use" in line
    assert "epay mock" not in line


def test_mock_port_in_use_advises_another_port(cli, busy_port):
    result = cli("mock", "--port", str(busy_port), "--in-memory", "--no-profiles")
    line = one_error_line(result)
    assert result.code == 6
    assert "--port" in line


def test_verify_given_a_folder_says_it_is_a_folder_not_missing(cli, tmp_path):
    folder = tmp_path / "callbacks"
    folder.mkdir()
    result = cli("verify", str(folder))
    line = one_error_line(result)
    assert result.code == 2
    assert "is a folder" in line
    assert "does not exist" not in line


@pytest.fixture
def empty_404_site():
    """A real HTTP server on 127.0.0.1 that is no Epay gateway: every path is an empty 404."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class NotAGateway(BaseHTTPRequestHandler):
        def _empty_404(self):
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_GET = do_POST = _empty_404

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), NotAGateway)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_gateway_url_answering_empty_404_is_not_explained_as_a_500(cli, empty_404_site):
    result = cli("order", "list", "--gateway", empty_404_site, "--pid", "1000",
                 "--key", "SandboxKey0nlyForLocalTests00000")
    line = one_error_line(result, notes_allowed=True)
    assert result.code == 4
    assert "404" in line
    assert "500" not in line
    assert "SandboxKey0nlyForLocalTests00000" not in result.stderr


def _raw_http(url: str, request: bytes, timeout: float = 10) -> bytes:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=timeout) as conn:
        conn.sendall(request)
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
        return answer


def test_listener_survives_a_content_length_too_big_for_the_journal(tmp_path):
    """A Content-Length beyond 64 bits was journaled as an int SQLite cannot hold: the journal's
    writer thread died and every later notify hung. It must be refused and the next one answered."""
    import httpx

    from epaycli.core.signing import Keys, Md5Key, sign
    from epaycli.listener.journal import Journal
    from epaycli.listener.server import start_listener

    key = "SandboxKey0nlyForLocalTests00000"
    journal = tmp_path / "journal.sqlite3"
    with start_listener(keys=Keys(md5=Md5Key(key)), journal=journal, pid="1000") as listener:
        path = "/" + listener.url.split("/", 3)[3]
        huge = (f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n"
                "Connection: close\r\n\r\nx").encode()
        assert _raw_http(listener.url, huge).split(b" ")[1] == b"413"
        params = {"pid": "1000", "trade_no": "T1", "out_trade_no": "O1", "type": "alipay",
                  "name": "n", "money": "1.00", "trade_status": "TRADE_SUCCESS"}
        params["sign"] = sign(params, Md5Key(key))
        params["sign_type"] = "MD5"
        answer = httpx.get(listener.url, params=params, timeout=10)
        assert answer.text == "success"
    with Journal(journal) as readback:
        assert readback.count() >= 2


@pytest.mark.parametrize("args, command", [
    (["sign", "pid=1", "--key"], "epay sign"),
    (["order", "list", "--limit"], "epay order list"),
    (["events", "replay", "1", "--to"], "epay events replay"),
])
def test_option_missing_its_value_points_at_that_commands_help(cli, args, command):
    result = cli(*args)
    line = one_error_line(result)
    assert result.code == 2
    assert line.endswith(f"see '{command} --help'"), line


def test_order_create_refused_before_sending_is_one_error_line(cli):
    """The sandbox's placeholder notify_url note waits until the order is valid."""
    result = cli("order", "create", "--amount", "abc", "--name", "x", "--dry-run")
    assert result.code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("epay: error: "), result.stderr
    valid = cli("order", "create", "--amount", "1.00", "--name", "x", "--dry-run")
    assert valid.code == 0 and "sandbox default" in valid.stderr
