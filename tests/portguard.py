"""The test suite talks only to ports it opened itself (issue 15.7).

A test that sends to a fixed port — the listener's default 8788, the mock's 8787 — reaches
whatever a developer has running there (their own ``epay listen`` would receive test notifies),
and in CI it only passes because nothing listens. So every process of the test run records the
ports it binds, and a connection to a loopback port that no process of the run bound is a
violation; ``tests/conftest.py`` fails the test during which one happened.

Processes share one file (``PORTGUARD_FILE``): a line ``bound PORT`` for each port bound, a line
``connect PORT WHERE`` for each violation. Python subprocesses started with the test
environment install the guard too: ``tests/portguard_site/sitecustomize.py`` is on their
``PYTHONPATH``. Port 9 (discard, privileged: nothing of a developer's listens there) is the
suite's "nothing answers here" and is allowed.
"""

from __future__ import annotations

import os
import socket
import threading
import traceback

ENV = "PORTGUARD_FILE"
ROOT_ENV = "PORTGUARD_ROOT"  # the first pytest process: the run is it and its descendants
ALLOWED = frozenset({9})
_LOOPBACK = ("127.", "::1", "localhost", "::ffff:127.")
_bound: set[int] = set()
_lock = threading.Lock()
_installed = False


def install() -> None:
    """Wrap ``socket.socket``'s bind/connect/connect_ex in this process (once)."""
    global _installed
    if _installed or not os.environ.get(ENV):
        return
    _installed = True
    original_bind = socket.socket.bind
    original_connect = socket.socket.connect
    original_connect_ex = socket.socket.connect_ex

    def bind(self, address):
        original_bind(self, address)
        if self.family in (socket.AF_INET, socket.AF_INET6):
            _record_bound(self.getsockname()[1])

    def connect(self, address):
        _check(self, address)
        return original_connect(self, address)

    def connect_ex(self, address):
        _check(self, address)
        return original_connect_ex(self, address)

    socket.socket.bind = bind
    socket.socket.connect = connect
    socket.socket.connect_ex = connect_ex


def _record_bound(port: int) -> None:
    with _lock:
        if port in _bound:
            return
        _bound.add(port)
        _append(f"bound {port}")


def _append(line: str) -> None:
    with open(os.environ[ENV], "a", encoding="utf-8") as log:
        log.write(line.replace("\n", " ") + "\n")


def _bound_by_the_run() -> set[int]:
    try:
        with open(os.environ[ENV], encoding="utf-8") as log:
            return {int(line.split()[1]) for line in log if line.startswith("bound ")}
    except (OSError, ValueError):
        return set()


def _check(sock: socket.socket, address) -> None:
    if sock.family not in (socket.AF_INET, socket.AF_INET6) or not isinstance(address, tuple):
        return
    host, port = str(address[0]), address[1]
    if not host.startswith(_LOOPBACK) or port in ALLOWED or port in _bound:
        return
    if port in _bound_by_the_run() or _listened_on_by_the_run(port):
        with _lock:  # another process of the run (a CLI subprocess) bound it
            _bound.add(port)
        return
    where = " < ".join(f"{frame.name} ({os.path.basename(frame.filename)}:{frame.lineno})"
                       for frame in reversed(traceback.extract_stack(limit=8)[:-2]))
    _append(f"connect {port} pid {os.getpid()}: {where}")


def _listened_on_by_the_run(port: int) -> bool:
    """Whether a process of the run listens on ``port`` (Linux: /proc) — for a subprocess
    started with an environment of its own, which records nothing. Elsewhere: assumed."""
    if not os.path.isdir("/proc/net"):
        return True
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table, encoding="ascii") as rows:
                for row in list(rows)[1:]:
                    fields = row.split()
                    if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                        inodes.add(f"socket:[{fields[9]}]")
        except OSError:
            continue
    if not inodes:
        return False
    for pid in _the_run():
        try:
            if any(os.readlink(f"/proc/{pid}/fd/{fd}") in inodes
                   for fd in os.listdir(f"/proc/{pid}/fd")):
                return True
        except OSError:
            continue
    return False


def _the_run() -> list[int]:
    """The test run's processes: the first pytest process and everything it started."""
    root = int(os.environ.get(ROOT_ENV) or os.getpid())
    children: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat", encoding="ascii", errors="replace") as stat:
                    parent = int(stat.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(parent, []).append(int(name))
    found, waiting = [], [root]
    while waiting:
        pid = waiting.pop()
        found.append(pid)
        waiting.extend(children.get(pid, []))
    return found


def violations(since: int = 0) -> tuple[list[str], int]:
    """The violations logged after byte ``since`` of the file, and where the file ends."""
    try:
        with open(os.environ[ENV], encoding="utf-8") as log:
            log.seek(since)
            text = log.read()
    except OSError:
        return [], since
    return ([line for line in text.splitlines() if line.startswith("connect ")],
            since + len(text.encode("utf-8")))
