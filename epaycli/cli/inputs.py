"""Reading what the user hands a command: an argument, a file, or standard input — bounded."""

from __future__ import annotations

from pathlib import Path

from ..core.errors import InputError
from ..core.patterns import lazy
from ..core.words import Texts
from ..env import Environment
from ..files import file_name, path_exists, read_limited, user_path

MAX_INPUT_BYTES = 1024 * 1024  # far above any callback; stops a runaway pipe early
# An argument with no '=' that reads as a file name (a suffix, or a path): a missing file.
_FILE_NAME = lazy(r"[^\s?&]+\.(txt|log|json|http|har|csv|dump)|[.~]?/[^\s?&]*")
FIFO_WAIT_SECONDS = 30.0  # a FIFO's writer may be a slow command; past this, say so
# What is read, as the errors below name it (``inputs.<id>``).
WHAT_TEXTS = {"callback": "the callback", "parameters": "the parameters",
              "stdin": "standard input",
              "too_large": "a callback is a few hundred bytes: paste just that"}


_what = Texts("inputs", WHAT_TEXTS)


def read_text(argument: str | None, env: Environment, *, what: str = "callback") -> str:
    """The argument itself, or stdin for ``-`` / no argument with something piped in; an
    argument that is no callback (no ``=``) but names a file is that file's text. ``what``
    (a ``WHAT_TEXTS`` id) names what is read in errors."""
    if argument is not None and argument != "-":
        if "=" not in argument and _names_a_file(argument):
            return read_file(argument, env)
        if "=" not in argument and _reads_as_a_file_name(argument.strip()):
            raise InputError("file {path!r} does not exist", "check the path, or give {what} itself",
                             code="input_file_missing",
                             fields={"path": argument.strip(), "what": _what(what)})
        return argument
    stdin = env.stdin
    if stdin is None:
        raise InputError("standard input is closed", "give {what} as an argument",
                         code="stdin_closed", fields={"what": _what(what)})
    if argument is None and env.is_terminal(stdin):
        raise InputError("no input: give {what} as an argument, or pipe it in",
                         "e.g. epay verify 'https://shop.example/notify?pid=…' or … | epay verify -",
                         code="no_input", fields={"what": _what(what)})
    return decode(stdin.buffer.read(MAX_INPUT_BYTES + 1), source=_what("stdin"))


def read_file(path: str, env: Environment) -> str:
    """``--from FILE`` (``-`` is stdin)."""
    if path == "-":
        return read_text("-", env, what="parameters")
    where = user_path(path, what=file_name("file", path=path), error=InputError)
    raw = read_limited(where, limit=MAX_INPUT_BYTES, what=file_name("file", path=path),
                       error=InputError, too_large_hint=_what("too_large"), fifo_wait=FIFO_WAIT_SECONDS)
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
        raise InputError("{source} is larger than {kib} KiB",
                         "a callback is a few hundred bytes: paste just that",
                         code="input_too_large",
                         fields={"source": source, "kib": MAX_INPUT_BYTES // 1024})
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InputError(
            "{source} is not UTF-8 text (byte 0x{byte:02x} at offset {offset})",
            "save it as UTF-8 (Epay itself sends UTF-8)", code="input_not_utf8",
            fields={"source": source, "byte": raw[error.start], "offset": error.start},
        ) from None
