"""The ``epay`` console script (and ``python -m epaycli``).

Ctrl-C while epay is still loading its modules would land in the middle of an import and print
a traceback: until the error boundary is loaded, Ctrl-C ends the process the way the shell
expects of an interrupted program (killed by SIGINT, status 130, nothing printed). From then
on it is the boundary's: "epay: error: interrupted", exit 130.

What loading creates (modules, classes, functions: typer's and epay's) lives until the process
ends, so the cyclic garbage collector has nothing to find in it: it is off while they load, and
they are then frozen out of its view. Its passes over them were ~12 % of what `epay sign` does
(instructions counted under valgrind), during the imports and again at exit."""

from __future__ import annotations

import gc
import signal


def main() -> None:
    """Load the boundary with Ctrl-C quiet, then run the command line through it."""
    loading = signal.getsignal(signal.SIGINT) is signal.default_int_handler
    if loading:
        signal.signal(signal.SIGINT, signal.SIG_DFL)
    collecting = gc.isenabled()
    gc.disable()
    from .main import main as run_command_line

    gc.freeze()
    if collecting:
        gc.enable()
    if loading:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    run_command_line()
