"""JSON text on one line, the way epay writes it everywhere (``ensure_ascii=False``: Chinese
stays readable), built for the servers' hot paths: ``json.JSONEncoder.encode`` sets a C
encoder up again on every call, which costs a third of encoding a small value. This one is
set up once, on first use (cold start never pays for it)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

_encode: Callable[[Any], str] | None = None


def json_text(value: Any) -> str:
    """``value`` (plain data: dicts, lists, str, numbers, bools, None) as one line of JSON.
    No cycle check: callers pass data they built themselves. Raises ``TypeError`` for a value
    JSON cannot hold, as ``json.dumps`` does."""
    encode = _encode or _set_up()
    return encode(value)


def _set_up() -> Callable[[Any], str]:
    global _encode
    import json

    plain = json.JSONEncoder(ensure_ascii=False)
    # (private to json, and absent from a Python built without its C accelerator)
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:
        _encode = plain.encode
        return _encode
    quote = json.encoder.encode_basestring
    encoder = make(None, plain.default, quote, None, plain.key_separator, plain.item_separator,
                   False, False, True)
    join = "".join

    def encoded(value: Any) -> str:
        return quote(value) if value.__class__ is str else join(encoder(value, 0))

    _encode = encoded
    return encoded
