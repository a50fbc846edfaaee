"""The ``epay`` console script (and ``python -m epaycli``).

Ctrl-C while epay is still loading its modules would land in the middle of an import and print
a traceback: until the error boundary is loaded, Ctrl-C ends the process the way the shell
expects of an interrupted program (killed by SIGINT, status 130, nothing printed). From then
on it is the boundary's: "epay: error: interrupted", exit 130."""

from __future__ import annotations

import signal


def main() -> None:
    """Load the boundary with Ctrl-C quiet, then run the command line through it."""
    loading = signal.getsignal(signal.SIGINT) is signal.default_int_handler
    if loading:
        signal.signal(signal.SIGINT, signal.SIG_DFL)
    from .main import main as run_command_line

    if loading:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    run_command_line()
