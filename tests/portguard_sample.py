"""Run only by tests/test_portguard.py (its name does not start with test_, so the suite does
not collect it): one test that connects to a fixed port nobody in the run bound, one that
connects to a port it opened itself."""

import os
import socket


def test_connects_to_a_fixed_port():
    port = int(os.environ["PORTGUARD_SAMPLE_PORT"])
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", port)) != 0  # refused: nothing listens there


def test_connects_to_its_own_port():
    with socket.create_server(("127.0.0.1", 0)) as server, \
            socket.create_connection(server.getsockname()) as client:
        assert client


def test_a_subprocess_connects_to_a_fixed_port():
    import subprocess
    import sys

    code = ("import os, socket; s = socket.socket(); "
            "s.connect_ex(('127.0.0.1', int(os.environ['PORTGUARD_SAMPLE_PORT'])))")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
