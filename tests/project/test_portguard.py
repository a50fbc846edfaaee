"""The suite fails a test that sends to a fixed port (issue 15.7): tests/portguard.py, checked
on a sample run in a fresh pytest process."""

from __future__ import annotations

import _socket
import os
import subprocess
import sys

from conftest import TESTS


def _a_port_nobody_bound() -> int:
    # the C socket: bypasses the guard, so this probe is not recorded as the run's own port
    probe = _socket.socket(_socket.AF_INET, _socket.SOCK_STREAM)
    try:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
    finally:
        probe.close()


def test_a_test_that_connects_to_a_fixed_port_fails(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PORTGUARD_")}
    env["PORTGUARD_SAMPLE_PORT"] = str(_a_port_nobody_bound())
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "-rA", str(TESTS / "portguard_sample.py")], cwd=TESTS.parent,
                          capture_output=True, text=True, env=env, timeout=120)
    report = done.stdout
    assert "ERROR tests/portguard_sample.py::test_connects_to_a_fixed_port" in report, report
    assert "ERROR tests/portguard_sample.py::test_a_subprocess_connects_to_a_fixed_port" in report
    assert "PASSED tests/portguard_sample.py::test_connects_to_its_own_port" in report
    assert "ERROR tests/portguard_sample.py::test_connects_to_its_own_port" not in report
    assert "a test connected to a port the test run did not open" in report
