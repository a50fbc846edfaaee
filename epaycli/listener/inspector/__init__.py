"""The inspector: a web page of everything the listener journaled — the list (live), one
request whole with its diagnosis, replay with edits — served by a small server beside the
listener (``epay listen --inspect``) or on its own over a journal (``epay events serve``)."""

from __future__ import annotations

import threading
from collections.abc import Callable

from .server import DEFAULT_PORT, Inspector, InspectorConfig, start_inspector

__all__ = ["DEFAULT_PORT", "Inspector", "InspectorConfig", "serve_journal", "start_inspector"]


def serve_journal(config: InspectorConfig, on_ready: Callable[[Inspector], object],
                  stop: threading.Event) -> None:
    """``epay events serve``: the inspector alone until ``stop`` is set (or Ctrl+C)."""
    with start_inspector(config) as inspector:
        on_ready(inspector)
        try:
            while not stop.wait(0.25):
                pass
        except KeyboardInterrupt:
            pass
