"""Reading a file the user named, bounded, with one-line errors of the caller's kind."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from .core.errors import EpayError
from .core.words import Texts

# How a file is named in an error (``what``), said in the run's language like the error itself.
FILE_NAMES = {
    "file": "file {path!r}",
    "profiles_file": "the profiles file {path}",
    "key_path": "the {what} path",
    "key_file": "{what} file {path!r}",
    "config_too_large": "point EPAY_CONFIG at the right file",
    "key_too_large": "point at the PEM file itself",
    # the keys, as a file or path of theirs is named
    "merchant_private": "merchant private key",
    "platform_public": "platform public key",
    "platform_private": "platform private key",
    "sign_with": "key given to --sign-with",
}
file_name = Texts("files", FILE_NAMES)


def user_path(text: str, *, what: str, error: type[EpayError]) -> Path:
    """``text`` as a path, ``~`` expanded; a NUL in it, or ``~nosuchuser``, is an ``error``."""
    if "\0" in text:
        raise error("{what} contains a NUL character", "check the path: it was cut or garbled",
                    code="path_nul", fields={"what": what})
    try:
        return Path(text).expanduser()
    except RuntimeError:  # ~name for a user this machine does not have
        user = text[1:].split("/", 1)[0]
        raise error("{what} starts with ~{user}, and there is no user {user!r} here",
                    "give the path in full, or ~/… for your own home",
                    code="path_no_such_user", fields={"what": what, "user": user}) from None


def path_exists(path: Path) -> bool:
    """``path.exists()`` that is simply False for a path no file can have (NUL, too long)."""
    try:
        return path.exists()
    except (OSError, ValueError):
        return False


def read_limited(path: Path, *, limit: int, what: str, error: type[EpayError],
                 too_large_hint: str, fifo_wait: float = 2.0) -> bytes:
    """At most ``limit`` bytes of a file; anything else is an ``error`` saying why.

    Regular files, pipes and FIFOs (``--from <(…)``, ``/dev/stdin``) and devices that end or
    are cut by the bound (``/dev/null``, ``/dev/zero``). A terminal or a directory is refused: one
    would wait for typing, the other has no bytes. A FIFO nobody writes to is an error after
    ``fifo_wait`` seconds, never a hang.
    """
    if "\0" in str(path):
        raise error("{what} contains a NUL character", "check the path: it was cut or garbled",
                    code="path_nul", fields={"what": what})
    try:
        mode = path.stat().st_mode
        if stat.S_ISDIR(mode):
            raise error("{what} is a folder", "point at the file itself",
                        code="file_is_folder", fields={"what": what})
        if not (stat.S_ISREG(mode) or stat.S_ISFIFO(mode) or stat.S_ISCHR(mode)):
            raise error("{what} is not a file, a pipe or a device", "point at the file itself",
                        code="file_not_readable_kind", fields={"what": what})
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        try:
            if os.isatty(descriptor):
                raise error("{what} is a terminal", "pipe the input in, or name a file",
                            code="file_is_terminal", fields={"what": what})
            if stat.S_ISFIFO(mode) and not _wait_for_writer(descriptor, fifo_wait):
                raise error("nothing was written to {what} within {seconds:g} s",
                            "start the program that writes to it first",
                            code="fifo_silent", fields={"what": what, "seconds": fifo_wait})
            os.set_blocking(descriptor, True)  # opened without waiting; now read to the end
            with os.fdopen(descriptor, "rb", closefd=False) as stream:
                data = stream.read(limit + 1)
        finally:
            os.close(descriptor)
    except FileNotFoundError:
        raise error("{what} does not exist", "check the path",
                    code="file_missing", fields={"what": what}) from None
    except OSError as failure:
        raise error("cannot read {what}: {reason}", "check the path and its permissions",
                    code="file_unreadable",
                    fields={"what": what, "reason": failure.strerror or failure}) from None
    except ValueError:  # a path the OS cannot even look up
        raise error("{what} is not a usable path", "check the path",
                    code="path_unusable", fields={"what": what}) from None
    if len(data) > limit:
        raise error("{what} is larger than {kib} KiB", "{hint}", code="file_too_large",
                    fields={"what": what, "kib": limit // 1024, "hint": too_large_hint})
    return data


def _wait_for_writer(descriptor: int, seconds: float) -> bool:
    """Whether a FIFO has data or a writer that came and went (Linux reports neither for a FIFO
    no writer has opened yet, so this waits for one)."""
    import select

    poller = select.poll()
    poller.register(descriptor, select.POLLIN)
    return bool(poller.poll(seconds * 1000))


def private_database(path: Path) -> None:
    """Make the SQLite file ``path`` the owner's only (0600) before SQLite opens it: SQLite
    creates the ``-wal`` and ``-shm`` files with the database's mode, so a database made 0600
    only after opening leaves them 0644. Files an older epay left open to all are closed too."""
    os.close(os.open(path, os.O_CREAT | os.O_RDONLY, 0o600))
    for name in (path.name, f"{path.name}-wal", f"{path.name}-shm", f"{path.name}-journal"):
        try:
            os.chmod(path.with_name(name), 0o600)
        except FileNotFoundError:
            pass
