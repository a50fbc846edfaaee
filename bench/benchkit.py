"""What the bench scripts share: the repository root, the example handler, its key, a free
127.0.0.1 port and waiting for a server to accept connections. Scripts run as
`python bench/NAME.py`, so this module is importable as `benchkit`."""

from __future__ import annotations

import socket
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HANDLER = ROOT / "examples" / "handlers" / "correct_handler.py"
KEY = "89unJUB8HZ54Hj7x4nUj56HN4nUzUJ8i"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(port: int, what: str, deadline: float = 10.0) -> None:
    """Return once `port` accepts connections; exit the script if it does not in time."""
    stop = time.monotonic() + deadline
    while time.monotonic() < stop:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise SystemExit(f"the {what} did not start on port {port}")
