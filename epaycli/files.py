"""Reading a file the user named, bounded, with one-line errors of the caller's kind."""

from __future__ import annotations

import stat
from pathlib import Path

from .core.errors import EpayError


def read_limited(path: Path, *, limit: int, what: str, error: type[EpayError],
                 too_large_hint: str) -> bytes:
    """At most ``limit`` bytes of a regular file; anything else is an ``error`` saying why.

    Regular files only: a FIFO or a device (``/dev/zero``) would block or never end.
    """
    try:
        if not stat.S_ISREG(path.stat().st_mode):
            raise error(f"{what} is not a regular file", "point at the file itself")
        with path.open("rb") as stream:
            data = stream.read(limit + 1)
    except FileNotFoundError:
        raise error(f"{what} does not exist", "check the path") from None
    except OSError as failure:
        raise error(f"cannot read {what}: {failure.strerror}",
                    "check the path and its permissions") from None
    if len(data) > limit:
        raise error(f"{what} is larger than {limit // 1024} KiB", too_large_hint)
    return data
