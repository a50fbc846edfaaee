"""Reading what the user hands a command: an argument, a file, or standard input — bounded."""

from __future__ import annotations

from pathlib import Path

from ..core.errors import InputError
from ..core.patterns import lazy
from ..env import Environment
from ..files import path_exists, read_limited, user_path

MAX_INPUT_BYTES = 1024 * 1024  # far above any callback; stops a runaway pipe early
# An argument with no '=' that reads as a file name (a suffix, or a path): a missing file.
_FILE_NAME = lazy(r"[^\s?&]+\.(txt|log|json|http|har|csv|dump)|[.~]?/[^\s?&]*")
FIFO_WAIT_SECONDS = 30.0  # a FIFO's writer may be a slow command; past this, say so
_TOO_LARGE = "a callback is a few hundred bytes: paste just that"


def read_text(argument: str | None, env: Environment, *, what: str = "the callback") -> str:
    """The argument itself, or stdin for ``-`` / no argument with something piped in; an
    argument that is no callback (no ``=``) but names a file is that file's text."""
    if argument is not None and argument != "-":
        if "=" not in argument and _names_a_file(argument):
            return read_file(argument, env)
        if "=" not in argument and _reads_as_a_file_name(argument.strip()):
            raise InputError(f"file {argument.strip()!r} does not exist",
                             f"check the path, or give {what} itself")
        return argument
    stdin = env.stdin
    if stdin is None:
        raise InputError("standard input is closed", f"give {what} as an argument")
    if argument is None and env.is_terminal(stdin):
        raise InputError(f"no input: give {what} as an argument, or pipe it in",
                         "e.g. epay verify 'https://shop.example/notify?pid=…' or … | epay verify -")
    return decode(stdin.buffer.read(MAX_INPUT_BYTES + 1), source="standard input")


def read_file(path: str, env: Environment) -> str:
    """``--from FILE`` (``-`` is stdin)."""
    if path == "-":
        return read_text("-", env, what="the parameters")
    where = user_path(path, what=f"file {path!r}", error=InputError)
    raw = read_limited(where, limit=MAX_INPUT_BYTES, what=f"file {path!r}",
                       error=InputError, too_large_hint=_TOO_LARGE, fifo_wait=FIFO_WAIT_SECONDS)
    return decode(raw, source=repr(path))


def _reads_as_a_file_name(text: str) -> bool:
    return "://" not in text and not text.endswith(".php") and bool(_FILE_NAME.fullmatch(text))


def _names_a_file(argument: str) -> bool:
    if not argument.strip() or "\0" in argument or "\n" in argument or len(argument) > 4096:
        return False
    try:
        path = Path(argument).expanduser()
    except RuntimeError:  # ~nosuchuser: not a file, so the argument is read as text
        return False
    return path_exists(path)  # a folder too: reading it says 'is a folder', not 'missing'


def decode(raw: bytes, *, source: str) -> str:
    if len(raw) > MAX_INPUT_BYTES:
        raise InputError(f"{source} is larger than {MAX_INPUT_BYTES // 1024} KiB", _TOO_LARGE)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InputError(
            f"{source} is not UTF-8 text (byte 0x{raw[error.start]:02x} at offset {error.start})",
            "save it as UTF-8 (Epay itself sends UTF-8)",
        ) from None
