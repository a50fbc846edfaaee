"""Installs tests/portguard.py in Python subprocesses of the test run (their PYTHONPATH names
this folder; see that module)."""

import os

if os.environ.get("PORTGUARD_FILE"):
    import importlib.util

    _spec = importlib.util.spec_from_file_location(
        "_epay_portguard", os.path.join(os.path.dirname(os.path.dirname(__file__)),
                                        "portguard.py"))
    _guard = importlib.util.module_from_spec(_spec)
    _spec.loader.exec_module(_guard)
    _guard.install()
