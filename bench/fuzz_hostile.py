"""Hostile-input campaign over epay's five surfaces (issue 15, the sweep): pastes (verify and
sign inputs), raw sockets at the listener, a fake gateway answering garbage (order query and
create), corrupt profile files, corrupt journal / state / local-gateway files.

    .venv/bin/python bench/fuzz_hostile.py                 # ~128,000 inputs at most, ≤ 15 min
    .venv/bin/python bench/fuzz_hostile.py --scale 0.1     # a quick look
    .venv/bin/python bench/fuzz_hostile.py --only pastes --seed 7

Everything runs in this process (the CLI through its real boundary, ``cli.main.run``, or the
library), on 127.0.0.1 only, and each class stops at its count or its time budget. A sample of
pastes and corrupt files also goes through the installed ``epay`` as subprocesses. Per class it
prints: inputs, tracebacks (an exception that is not an EpayError — the CLI's "this is a bug"),
"this is a bug" lines seen in CLI output, hangs (an input that took longer than its deadline),
and inputs whose output showed key characters (the whole key or any 8 of its characters in a
row). Exit 1 if any count but inputs is not zero.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from epaycli.core.errors import EpayError  # noqa: E402
from epaycli.core.notify import signed_notify  # noqa: E402
from epaycli.core.php import http_build_query  # noqa: E402
from epaycli.core.signing import Keys, Md5Key  # noqa: E402

KEY = "Qz7TnW4kLp9XvB2mRc8YhJ5dFs3GaE6u"  # this run's merchant key: its windows are looked for
WINDOWS = {KEY[i:i + 8] for i in range(len(KEY) - 7)}
BUG = "this is a bug"


def printed(text: str, secrets: list[str]) -> str:
    """What the CLI would print of ``text``: its output masks the run's secrets (whole, and
    runs of 8 of their characters) in every line it writes (render.Output.clean)."""
    from epaycli.core.redact import scrub_text

    return scrub_text(text, [secret for secret in secrets if secret])


def shows_key(text: str) -> bool:
    return any(window in text for window in WINDOWS)


def around_key(text: str) -> str:
    """The output around the first key characters in it (what an example shows)."""
    at = min(text.index(window) for window in WINDOWS if window in text)
    return text[max(0, at - 120):at + 60]


class Tally:
    def __init__(self, name: str) -> None:
        self.name = name
        self.counts = Counter()
        self.examples: dict[str, str] = {}
        self.started = time.monotonic()

    def add(self, what: str, example: str = "") -> None:
        self.counts[what] += 1
        if what != "inputs" and what not in self.examples:
            self.examples[what] = example[:300]

    def row(self) -> str:
        c = self.counts
        return (f"{self.name:<10} {c['inputs']:>8} {c['tracebacks']:>10} {c['bug_lines']:>9} "
                f"{c['hangs']:>6} {c['key_seen']:>9} {time.monotonic() - self.started:>7.1f}s")


def notify_params(rng: random.Random) -> dict[str, str]:
    fields = {"pid": "1001", "trade_no": f"2026{rng.randrange(10**12):012d}",
              "out_trade_no": f"ORD{rng.randrange(10**6)}", "type": "alipay", "name": "product",
              "money": rng.choice(["1.00", "0.01", "99.99", "1"]), "trade_status": "TRADE_SUCCESS"}
    return signed_notify(fields, Md5Key(KEY))


GARBAGE_VALUES = ["", " ", "\0", "\x7f", "%", "%zz", "%00", "&&&", "==", "[]", "[", "]", "{}",
                  "{", '"', "'", "\\", "\ud800".encode("utf-8", "surrogatepass").decode("latin-1"),
                  "é", "订单", "💳", "\u202e", "1e309", "-0", "NaN", "0x10", "9" * 400,
                  "a" * 5000, "\r\n", "\t", "<script>", "${KEY}", "sign", "MD5", "RSA"]


def mutate_text(rng: random.Random, text: str, pool: list[str]) -> str:
    chars = list(text)
    for _ in range(rng.randint(1, 4)):
        roll = rng.random()
        position = rng.randrange(len(chars) + 1)
        if roll < 0.3 and chars:
            del chars[rng.randrange(len(chars)):rng.randrange(len(chars)) + rng.randint(1, 20)]
        elif roll < 0.6:
            chars[position:position] = list(rng.choice(pool))
        elif roll < 0.8 and chars:
            chars[rng.randrange(len(chars))] = chr(rng.choice([rng.randrange(32, 127),
                                                              rng.randrange(0, 0x3000)]))
        else:
            chars[position:position] = list(chars[rng.randrange(len(chars)):][:30]) if chars else []
    return "".join(chars)


def hostile_paste(rng: random.Random) -> str:
    params = notify_params(rng)
    roll = rng.random()
    if roll < 0.15:  # the key itself, under a name that is not 'key'
        name = rng.choice(["Key", "KEY", "merchant_key", "note", "memo", "secret", "k", "param"])
        params[name] = rng.choice([KEY, f"my key is {KEY}", KEY.lower(), quote(KEY)])
    if roll > 0.9:  # a pasted string-to-sign, with the key on its end
        return "&".join(f"{k}={v}" for k, v in sorted(params.items())
                        if k not in ("sign", "sign_type")) + KEY
    shape = rng.random()
    if shape < 0.35:
        text = http_build_query(params)
    elif shape < 0.55:
        text = "http://shop.example.com/notify?" + http_build_query(params)
    elif shape < 0.75:
        text = json.dumps(params, ensure_ascii=rng.random() < 0.5)
    elif shape < 0.9:
        text = "\n".join(f"{k}={v}" for k, v in params.items())
    else:
        text = json.dumps({"data": params, "nested": [[[params]]]})
    return mutate_text(rng, text, GARBAGE_VALUES + [KEY, "=", "&", "?", "#"]) \
        if rng.random() < 0.8 else text


def run_cli(argv: list[str], stdin: str, environ: dict[str, str]) -> tuple[int, str]:
    from epaycli.cli.main import run
    from epaycli.env import Environment

    streams = [io.TextIOWrapper(io.BytesIO(data), encoding="utf-8", errors="surrogateescape")
               for data in (stdin.encode("utf-8", "surrogateescape"), b"", b"")]
    env = Environment(*streams, environ, clock=lambda: 1_765_000_000.0)
    code = run(argv, env)
    shown = []
    for stream in streams[1:]:
        stream.flush()
        shown.append(stream.buffer.getvalue().decode("utf-8", "replace"))
    return int(code), "".join(shown)


def fuzz_pastes(rng, count, budget, tally, home):
    environ = {"HOME": str(home), "XDG_CONFIG_HOME": str(home / "cfg"),
               "XDG_STATE_HOME": str(home / "state"), "EPAY_KEY": KEY, "NO_COLOR": "1"}
    deadline = time.monotonic() + budget
    for _ in range(count):
        if time.monotonic() > deadline:
            break
        paste = hostile_paste(rng)
        argv = rng.choice([["verify", "-"], ["verify", "--json", "-"], ["sign", "--from", "-"],
                           ["verify", "--amount", "1.00", "-"], ["sign", "--json", "--from", "-"]])
        started = time.monotonic()
        tally.add("inputs")
        try:
            code, output = run_cli(argv, paste, environ)
        except BaseException as error:  # noqa: BLE001 - what escaped the boundary
            tally.add("tracebacks", f"{argv} {paste[:120]!r}: {type(error).__name__}: {error}")
            continue
        if time.monotonic() - started > 5:
            tally.add("hangs", f"{argv} {paste[:120]!r}")
        if BUG in output or code == 1:
            tally.add("bug_lines", f"{argv} {paste[:120]!r} → {output[-300:]!r}")
        if shows_key(output):
            tally.add("key_seen", f"{argv} {paste[:80]!r} → …{around_key(output)!r}")


# ---- raw sockets at the listener -----------------------------------------------------------

def hostile_request(rng: random.Random) -> bytes:
    params = http_build_query(notify_params(rng))
    method = rng.choice([b"GET", b"POST", b"PUT", b"G\x00T", b"", b"GET GET", b"post"])
    target = rng.choice([b"/notify?" + params.encode(), b"/", b"*", b"/notify", b"http://x/",
                         b"/" + os.urandom(rng.randint(0, 40)), b"/notify?" + b"a=" * 300])
    version = rng.choice([b"HTTP/1.1", b"HTTP/1.0", b"HTTP/2", b"HTTP/9.9", b"", b"HTTP/1.1 x"])
    headers = [b"Host: 127.0.0.1"]
    body = params.encode() if method == b"POST" else b""
    for _ in range(rng.randint(0, 4)):
        headers.append(rng.choice([
            b"Content-Length: " + str(rng.choice([len(body), 0, -1, 10**20, len(body) + 9])).encode(),
            b"Transfer-Encoding: chunked", b"Content-Type: application/x-www-form-urlencoded",
            b"Content-Type: multipart/form-data; boundary=" + os.urandom(5).hex().encode(),
            b"X-" + os.urandom(3).hex().encode() + b": " + os.urandom(20),
            b": empty name", b"NoColon", b"Expect: 100-continue", b"Connection: close",
            b"Content-Length: 3\r\nContent-Length: 4", b" folded: line"]))
    if rng.random() < 0.3:
        body = os.urandom(rng.randint(0, 3000))
    request = method + b" " + target + b" " + version + b"\r\n" + b"\r\n".join(headers) \
        + b"\r\n\r\n" + body
    if rng.random() < 0.3:
        cut = rng.randrange(len(request) + 1)
        request = request[:cut]
    if rng.random() < 0.1:
        request = os.urandom(rng.randint(0, 2000))
    return request


def fuzz_listener(rng, count, budget, tally, home):
    from epaycli.listener.server import start_listener

    events, lock = [], threading.Lock()

    def on_event(event):
        if event.get("event") == "internal_error":
            with lock:
                events.append(event)

    read_timeout = 2.0
    listener = start_listener(keys=Keys(md5=Md5Key(KEY)), journal=home / "fuzz-listen.sqlite3",
                              on_event=on_event, read_timeout=read_timeout)
    requests = [hostile_request(random.Random(rng.random())) for _ in range(min(count, 4096))]
    deadline = time.monotonic() + budget
    counter = iter(range(count))
    counter_lock = threading.Lock()

    def worker():
        while time.monotonic() < deadline:
            with counter_lock:
                index = next(counter, None)
            if index is None:
                return
            request = requests[index % len(requests)]
            started = time.monotonic()
            answer = b""
            try:
                with socket.create_connection(("127.0.0.1", listener.port), timeout=10) as sock:
                    sock.sendall(request)
                    sock.shutdown(socket.SHUT_WR)
                    while chunk := sock.recv(65536):
                        answer += chunk
            except TimeoutError:
                tally.add("hangs", repr(request[:100]))
            except OSError:
                pass  # reset by the listener: an answer too
            with lock:
                tally.add("inputs")
                if time.monotonic() - started > read_timeout + 3:
                    tally.add("hangs", f"{time.monotonic() - started:.1f}s {request[:100]!r}")
                if shows_key(answer.decode("latin-1")):
                    tally.add("key_seen", repr(answer[:200]))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    listener.close()
    for event in events:
        tally.add("tracebacks", json.dumps(event)[:300])
    journal_text = (home / "fuzz-listen.sqlite3").read_bytes().decode("latin-1")
    if KEY in journal_text:
        tally.add("key_seen", "the key is in the journal file")


# ---- a fake gateway answering garbage --------------------------------------------------------

def garbage_answer(rng: random.Random) -> tuple[int, dict, bytes, float]:
    def value():
        return rng.choice([None, 0, 1, -1, "1", "abc", "", 1e309 if False else 1.5, [], {},
                           "0.01", "-5", "9" * 30, True, "订单号已存在", KEY,
                           f"签名错误 key={KEY}", "<b>x</b>"])
    document = {k: value() for k in rng.sample(
        ["code", "msg", "trade_no", "out_trade_no", "money", "status", "payurl", "qrcode",
         "sign", "sign_type", "timestamp", "type", "name", "pid", "data", "urlscheme"],
        rng.randint(0, 10))}
    if rng.random() < 0.4:
        document["code"] = rng.choice([1, 0, "1", -1])
    shape = rng.random()
    if shape < 0.5:
        body = json.dumps(document, ensure_ascii=False).encode()
    elif shape < 0.6:
        body = b""
    elif shape < 0.7:
        body = b"<html><body>" + os.urandom(50) + b"</body></html>"
    elif shape < 0.8:
        body = json.dumps(document).encode()[:rng.randint(0, 60)]
    elif shape < 0.9:
        body = json.dumps(document, ensure_ascii=False).encode("gbk", "replace")
    else:
        body = os.urandom(rng.randint(0, 500))
    status = rng.choice([200] * 6 + [500, 502, 404, 301, 302, 204, 418])
    headers = {"Content-Type": rng.choice(["application/json", "text/html", "text/plain",
                                           "application/json; charset=gbk", "", "x/\u00ff"])}
    if status in (301, 302):
        headers["Location"] = rng.choice(["/again", "http://127.0.0.1:9/x", ""])
    trickle = 0.0 if rng.random() > 0.002 else 0.3  # a byte every 0.3 s for 3 s: a slow answer
    return status, headers, body, trickle


def fuzz_gateway(rng, count, budget, tally, home):
    from epaycli.gateway import calls, operations
    from epaycli.gateway.calls import Merchant
    from epaycli.gateway.client import GatewayClient, Settings

    answers = [garbage_answer(random.Random(rng.random())) for _ in range(2048)]
    picker = iter(range(10**9))

    class Garbage(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def _answer(self):
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            status, headers, body, trickle = answers[next(picker) % len(answers)]
            try:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value.encode("latin-1", "replace").decode("latin-1"))
                self.send_header("Content-Length", str(len(body) if not trickle else 10))
                self.end_headers()
                if trickle:
                    for byte in b"0123456789":
                        time.sleep(trickle)
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                else:
                    self.wfile.write(body)
            except OSError:
                pass

        do_GET = do_POST = _answer

    class Server(ThreadingHTTPServer):
        daemon_threads = True

        def handle_error(self, request, client_address):
            pass  # a client that gave up at its deadline resets: the fake gateway's, not epay's

    server = Server(("127.0.0.1", 0), Garbage)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    merchant = Merchant(url, "1001", "v1", Md5Key(KEY), Md5Key(KEY))
    timeout = 1.0
    deadline = time.monotonic() + budget
    with GatewayClient(Settings(timeout=timeout, retries=0)) as client:
        for index in range(count):
            if time.monotonic() > deadline:
                break
            tally.add("inputs")
            started = time.monotonic()
            try:
                if index % 2:  # built once, then sent (as 'epay order query' does)
                    operations.query(client, calls.query_order(merchant, 1_765_000_000,
                                                               out_trade_no=f"F{index}"))
                else:
                    order = calls.validate_order(money="1.00", name="fuzz", out_trade_no=f"F{index}",
                                                 notify_url="http://127.0.0.1:9/n", type="alipay",
                                                 clientip="127.0.0.1", api=True)
                    operations.create(client, calls.create_order(merchant, order, 1_765_000_000),
                                      order, merchant)
                said = ""
            except EpayError as error:
                from epaycli.cli.hints import hint_for

                # the line the CLI would print: the key came by --key or EPAY_KEY
                said = printed(f"{error.message} — {hint_for(error)}", [KEY])
            except Exception as error:  # noqa: BLE001 - the CLI would call it a bug
                tally.add("tracebacks", f"{type(error).__name__}: {error}")
                said = str(error)
            elapsed = time.monotonic() - started
            if elapsed > timeout + 1.0:
                tally.add("hangs", f"{elapsed:.1f}s for a request with --timeout {timeout:g}")
            if shows_key(said):
                tally.add("key_seen", said[:300])
    server.shutdown()
    server.server_close()


# ---- corrupt profile files -------------------------------------------------------------------

PROFILES = f"""# my shops
default = "shop"

[profiles.shop]
gateway = "https://pay.example.com/"
pid = "1001"
key = "{KEY}"
notify_url = "https://shop.example.com/notify"

[profiles.v2]
gateway = "https://pay.example.com/"
dialect = "v2"
pid = "1002"
private_key = "/nonexistent/merchant.pem"
"""
TOML_BITS = ["[", "]", "[[profiles]]", "[profiles]", "=", '"', "'''", '"""', "\\u0000", "\\",
             "key = 1", "pid = true", "pid = [1, 2]", "x = {a = 1}", "default = 5",
             "\ufeff", "\r\n", "#", "[profiles.shop.sub]", "gateway = 'ftp://x'",
             "dialect = 'v9'", "key = ''", f"key = \"{KEY} \"", "a.b.c = 1", "\x00", "\udcff"]


def fuzz_profiles(rng, count, budget, tally, home):
    from epaycli.profiles.keys import redacted, signer_for
    from epaycli.profiles.resolve import current
    from epaycli.profiles.store import load_store

    config = home / "cfg" / "epay" / "profiles.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    environ = {"HOME": str(home), "XDG_CONFIG_HOME": str(home / "cfg")}
    deadline = time.monotonic() + budget
    for _ in range(count):
        if time.monotonic() > deadline:
            break
        text = mutate_text(rng, PROFILES, TOML_BITS)
        data = text.encode("utf-8", "surrogateescape" if rng.random() < 0.5 else "replace")
        if rng.random() < 0.1 and data:
            data = bytearray(data)
            for _ in range(rng.randint(1, 5)):
                data[rng.randrange(len(data))] = rng.randrange(256)
            data = bytes(data)
        config.write_bytes(data)
        config.chmod(rng.choice([0o600, 0o644]))
        tally.add("inputs")
        said, secrets = "", []
        try:
            store = load_store(config)
            # what the CLI's output learns: the keys of the profiles it could read
            secrets = [p.key for p in store.profiles.values()] + \
                [p.ngrok_authtoken for p in store.profiles.values()]
            for profile in store.profiles.values():
                # the key as shown; other fields are the user's text (a path is shown whole,
                # and a mutation may splice key characters into one)
                said += redacted(profile)["key"] + redacted(profile)["ngrok_authtoken"]
            resolved = current(rng.choice([None, "shop", "v2", "nope"]), {}, environ)
            signer_for(resolved, {"a": "1"})
            said += " ".join(resolved.notes)
        except EpayError as error:
            said += str(error)
        except Exception as error:  # noqa: BLE001
            tally.add("tracebacks", f"{type(error).__name__}: {error} ← {text[:200]!r}")
        said = printed(said, secrets)
        if shows_key(said):
            tally.add("key_seen", around_key(said))


# ---- corrupt journal / state / local-gateway files -------------------------------------------

def _random_value(rng: random.Random):
    return rng.choice([None, 0, -1, 2**63 - 1, 1.5, 1e308, float("inf"), "", "x", "not json",
                       "[1, 2]", '{"a": 1}', '[["a"]]', '{"problems": [1]}', "null", "{",
                       b"\xff\xfe", b"", "9" * 50, '{"url": 1, "status": "x"}',
                       "[[1, 2]]", '{"money": [1]}', "é" * 30])


def _mutate_database(rng: random.Random, path: Path, tables: dict[str, list[str]]) -> str:
    roll = rng.random()
    if roll < 0.75:
        table = rng.choice(list(tables))
        statements = []
        with sqlite3.connect(path) as connection:
            connection.executescript("PRAGMA writable_schema = 1; UPDATE sqlite_schema SET sql = "
                                     "replace(sql, 'NOT NULL', '') WHERE type = 'table';")
        with sqlite3.connect(path) as connection:
            for _ in range(rng.randint(1, 3)):
                column = rng.choice(tables[table])
                value = _random_value(rng)
                if rng.random() < 0.15:
                    statement = (f"UPDATE {table} SET {column} = CAST(x'ff41' AS TEXT) "
                                 f"WHERE rowid = {rng.randint(1, 6)}")
                    connection.execute(statement)
                else:
                    statement = f"UPDATE {table} SET {column} = ? WHERE rowid = {rng.randint(1, 6)}"
                    connection.execute(statement, (value,))
                statements.append(f"{statement} ← {value!r}")
        return "; ".join(statements)
    if roll < 0.87:
        table = rng.choice(list(tables))
        kept = rng.sample(tables[table], rng.randint(1, len(tables[table])))
        with sqlite3.connect(path) as connection:
            connection.executescript(f"CREATE TABLE slim AS SELECT {', '.join(kept)} FROM {table};"
                                     f"DROP TABLE {table}; ALTER TABLE slim RENAME TO {table};")
        return f"{table} keeps {kept}"
    data = bytearray(path.read_bytes())
    for _ in range(rng.randint(1, 40)):
        data[rng.randrange(len(data))] = rng.randrange(256)
    if rng.random() < 0.2:
        data = data[:rng.randrange(len(data))]
    path.write_bytes(bytes(data))
    return "bytes flipped"


def _columns(path: Path) -> dict[str, list[str]]:
    with sqlite3.connect(path) as connection:
        tables = [row[0] for row in connection.execute(
            "SELECT name FROM sqlite_schema WHERE type='table' AND name NOT LIKE 'sqlite_%'")]
        return {t: [r[1] for r in connection.execute(f"PRAGMA table_info({t})")] for t in tables}


def _base_files(home: Path) -> dict[str, Path]:
    import httpx

    from epaycli.listener.server import start_listener
    from epaycli.mock.server import start_gateway
    from epaycli.state import LocalState, RecordedOrder

    base = home / "base"
    base.mkdir()
    journal = base / "listen.sqlite3"
    rng = random.Random(1)
    with start_listener(keys=Keys(md5=Md5Key(KEY)), journal=journal) as listener:
        for _ in range(4):
            httpx.get(listener.url, params=notify_params(rng))
        httpx.post(listener.url, data=notify_params(rng))
        httpx.get(listener.url)
    state = LocalState(base / "state.sqlite3")
    from decimal import Decimal
    for number in range(6):
        state.record_order(RecordedOrder("http://gw/", "1001", f"S{number}", f"T{number}",
                                         Decimal("1.00"), "n", "alipay", 1_765_000_000 + number))
    mock_dir = base / "mock"
    with start_gateway(data_dir=mock_dir) as gw, httpx.Client() as client:
        from epaycli.core.request import sign_request
        for number in range(4):
            fields = {"pid": gw.pid, "type": "alipay", "out_trade_no": f"M{number}",
                      "notify_url": "http://127.0.0.1:9/n", "name": "x", "money": "1.00",
                      "clientip": "127.0.0.1"}
            client.post(gw.url + "mapi.php", data=sign_request(fields, Md5Key(gw.key)).params)
    for path in (journal, base / "state.sqlite3", mock_dir / "gateway.db"):
        with sqlite3.connect(path) as connection:
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return {"journal": journal, "state": base / "state.sqlite3", "mock": mock_dir}


def _read_journal(path: Path, rng: random.Random) -> str:
    from epaycli.cli.events import _row, _shown_fields
    from epaycli.listener.journal import Journal
    from epaycli.listener.replay import build_replay

    said = []
    with Journal(path, readonly=True) as book:
        records = book.records(invalid_only=rng.random() < 0.3,
                               since=1_000_000.0 if rng.random() < 0.3 else None,
                               limit=rng.choice([None, 2]))
        for record in records:
            said.append(json.dumps(record, ensure_ascii=False))
            said.append(str(_row(record)))
            said.append(str(_shown_fields(book.record(record["id"]))))
            try:
                replay = build_replay(record, "http://127.0.0.1:9/n",
                                      changes={"money": "2.00"} if rng.random() < 0.5 else None)
                said.append(json.dumps(replay.to_dict(), ensure_ascii=False))
            except EpayError as error:
                said.append(str(error))
    return "\n".join(said)


def _read_state(path: Path, rng: random.Random) -> str:
    from epaycli.state import LocalState

    state = LocalState(path)
    orders = state.list_orders()
    found = state.find_order(f"S{rng.randrange(6)}")
    return json.dumps([o.to_dict() for o in orders]) + str(found)


def _read_mock(folder: Path, rng: random.Random) -> str:
    from epaycli.mock.store import GatewayStore

    store = GatewayStore(folder)
    try:
        said = [str(store.merchant(1001)), str(store.orders(1001, limit=10, offset=0, status=None)),
                str(store.order(1001, out_trade_no=f"M{rng.randrange(4)}")),
                str(store.pending_notifies()), str(store.deliveries()),
                str(store.counts(1001, 0.0))]
    finally:
        store.close()
    return "\n".join(said)


def fuzz_stores(rng, count, budget, tally, home):
    bases = _base_files(home)
    shapes = {"journal": _columns(bases["journal"]), "state": _columns(bases["state"]),
              "mock": _columns(bases["mock"] / "gateway.db")}
    readers = {"journal": _read_journal, "state": _read_state, "mock": _read_mock}
    work = home / "work"
    deadline = time.monotonic() + budget
    for index in range(count):
        if time.monotonic() > deadline:
            break
        kind = ("journal", "state", "mock")[index % 3]
        if work.exists():
            shutil.rmtree(work)
        work.mkdir()
        if kind == "mock":
            target_dir = work / "mock"
            shutil.copytree(bases["mock"], target_dir)
            target, opened = target_dir / "gateway.db", target_dir
        else:
            target = work / bases[kind].name
            shutil.copy(bases[kind], target)
            opened = target
        tally.add("inputs")
        try:
            what = _mutate_database(rng, target, shapes[kind])
        except sqlite3.Error:
            what = "mutation refused by SQLite"
        started = time.monotonic()
        said = ""
        try:
            said = readers[kind](opened, rng)
        except EpayError as error:
            said = str(error)
        except Exception as error:  # noqa: BLE001
            import traceback

            where = traceback.extract_tb(error.__traceback__)[-1]
            tally.add("tracebacks", f"{kind}: {what}: {type(error).__name__}: {error} at "
                                    f"{Path(where.filename).name}:{where.lineno}")
        if time.monotonic() - started > 15:
            tally.add("hangs", f"{kind}: {what}")
        if shows_key(said) and kind != "mock":  # the mock's own merchant key is its data
            tally.add("key_seen", said[:300])


# ---- the real CLI, as subprocesses (a sample) ------------------------------------------------

def subprocess_sample(rng, count, tally, home):
    epay = str(Path(sys.executable).with_name("epay"))
    environ = {**os.environ, "HOME": str(home), "XDG_CONFIG_HOME": str(home / "cfg-sub"),
               "XDG_STATE_HOME": str(home / "state-sub"), "EPAY_KEY": KEY, "NO_COLOR": "1"}
    journal = home / "sub-journal.sqlite3"
    for index in range(count):
        tally.add("inputs")
        if index % 2:
            argv, stdin = [epay, "verify", "-"], hostile_paste(rng)
        else:
            data = bytearray(_base_journal_bytes(home))
            for _ in range(rng.randint(1, 30)):
                data[rng.randrange(len(data))] = rng.randrange(256)
            journal.write_bytes(bytes(data))
            argv, stdin = [epay, "events", "list", "--journal", str(journal)], ""
        try:
            done = subprocess.run(argv, input=stdin.encode("utf-8", "surrogateescape"),
                                  capture_output=True, env=environ, timeout=30)
        except subprocess.TimeoutExpired:
            tally.add("hangs", str(argv))
            continue
        output = (done.stdout + done.stderr).decode("utf-8", "replace")
        if "Traceback" in output:
            tally.add("tracebacks", output[-300:])
        if BUG in output or done.returncode == 1:
            tally.add("bug_lines", output[-300:])
        if shows_key(output):
            tally.add("key_seen", f"{stdin[:80]!r} → …{around_key(output)!r}")


def _base_journal_bytes(home: Path) -> bytes:
    if not (home / "base").exists():
        _base_files(home)
    return (home / "base" / "listen.sqlite3").read_bytes()


# class: (driver, inputs, seconds at most)
CLASSES = {"pastes": (fuzz_pastes, 30_000, 240), "listener": (fuzz_listener, 45_000, 150),
           "gateway": (fuzz_gateway, 8_000, 120), "profiles": (fuzz_profiles, 30_000, 90),
           "stores": (fuzz_stores, 15_000, 240)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="times each class's count")
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--only", choices=[*CLASSES, "subprocess"], action="append")
    parser.add_argument("--subprocesses", type=int, default=60, help="real CLI runs (sample)")
    parser.add_argument("--examples", action="store_true", help="print one example of each finding")
    options = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="epay-fuzz-"))
    rows = []
    try:
        print(f"{'class':<10} {'inputs':>8} {'tracebacks':>10} {'bug_lines':>9} {'hangs':>6} "
              f"{'key_seen':>9} {'time':>8}", flush=True)
        for name, (function, count, budget) in CLASSES.items():
            if options.only and name not in options.only and not (
                    name == "stores" and "subprocess" in options.only):
                continue
            tally = Tally(name)
            rng = random.Random(f"{options.seed}-{name}")
            function(rng, max(1, int(count * options.scale)), budget * max(options.scale, 0.2),
                     tally, home)
            rows.append(tally)
            print(tally.row(), flush=True)
        if options.subprocesses and (not options.only or "subprocess" in options.only):
            tally = Tally("cli-proc")
            subprocess_sample(random.Random(options.seed), options.subprocesses, tally, home)
            rows.append(tally)
            print(tally.row(), flush=True)
        total = sum(t.counts["inputs"] for t in rows)
        findings = sum(t.counts[k] for t in rows for k in ("tracebacks", "bug_lines", "hangs",
                                                            "key_seen"))
        print(f"{'total':<10} {total:>8}   findings: {findings}")
        if options.examples:
            for tally in rows:
                for what, example in tally.examples.items():
                    print(f"  {tally.name}/{what}: {example}")
        return 1 if findings else 0
    finally:
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
