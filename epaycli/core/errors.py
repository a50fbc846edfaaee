"""One exception tree for all of epay, and the exit codes the CLI maps it to.

Core speaks in codes: an error says what is wrong (``message``) and carries a stable ``code``;
its ``hint`` never names a command-line flag. Each edge (the CLI, the listener, the local
gateway) turns the code into advice in its own words (``epaycli/cli/hints.py`` for the CLI).

An error raised with ``fields`` is *worded*: its message and hint are English templates filled
from the fields, so an edge can say it in another language by its code (the catalogue's
``errors.<code>.message`` and ``.hint``, with the same ``{fields}``). One code, one wording;
where one code (which the CLI's advice is keyed by) is worded several ways, each wording has
its own id, ``words=``, which then names the catalogue's entries instead of the code.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import IntEnum


class ExitCode(IntEnum):
    """Documented exit codes; scripts rely on them, so values never change."""

    OK = 0
    ERROR = 1
    USAGE = 2
    SIGNATURE_INVALID = 3
    GATEWAY_ERROR = 4
    NETWORK = 5
    CONFIG = 6
    CHECK_FAILED = 7
    INTERRUPTED = 130


class EpayError(Exception):
    """Base of every error epay raises on purpose.

    ``message`` says what is wrong, ``hint`` what to do about it, ``code`` which error it is
    (for edges that word the advice themselves). None of them may contain a key.
    """

    exit_code: ExitCode = ExitCode.ERROR
    code: str = "error"
    # (message, hint) templates and the fields that fill them; None: plain English words
    templates: tuple[str, str | None] | None = None
    fields: Mapping[str, object] = {}
    words: str | None = None  # the wording's id in the catalogue, when it is not the code

    def __init__(self, message: str, hint: str | None = None, *, code: str | None = None,
                 fields: Mapping[str, object] | None = None, words: str | None = None) -> None:
        self.words = words
        if fields is not None:
            self.templates, self.fields = (message, hint), dict(fields)
            message = message.format_map(fields)
            hint = hint.format_map(fields) if hint else hint
        super().__init__(message)
        self.message = message
        self.hint = hint
        if code is not None:
            self.code = code

    def __str__(self) -> str:
        return f"{self.message} — {self.hint}" if self.hint else self.message

    @property
    def said(self) -> str:
        """The message, as a Text an edge can say by its id when the error is worded (to quote
        it inside another message); else the plain message."""
        if self.templates is None:
            return self.message
        from .words import Text

        return Text(f"errors.{self.words or self.code}.message", self.templates[0],
                    **self.fields)


class InputError(EpayError):
    """What the user gave us cannot be read (pasted callback, argument, file)."""

    exit_code = ExitCode.USAGE
    code = "bad_input"


class KeyFormatError(EpayError):
    """A merchant key, RSA private key or public key is missing or cannot be used.

    Codes: ``missing_md5_key``, ``missing_private_key``, ``missing_public_key``, ``bad_key``.
    """

    exit_code = ExitCode.CONFIG
    code = "bad_key"


class ConfigError(EpayError):
    """Profiles file, profile or settings are missing or wrong."""

    exit_code = ExitCode.CONFIG
    code = "bad_config"


class SignatureError(EpayError):
    """A signature does not verify (raised only where a caller asked for an exception)."""

    exit_code = ExitCode.SIGNATURE_INVALID
    code = "signature_invalid"


class GatewayError(EpayError):
    """The gateway answered, with an error: ``gateway_code`` and ``gateway_message`` are what it
    said, ``explanation`` what the catalogue knows about it."""

    exit_code = ExitCode.GATEWAY_ERROR
    code = "gateway_error"

    def __init__(self, message: str, hint: str | None = None, *, code: str | None = None,
                 fields: Mapping[str, object] | None = None, gateway_code: object = None,
                 gateway_message: str = "", explanation: object = None) -> None:
        super().__init__(message, hint, code=code, fields=fields)
        self.gateway_code = gateway_code
        self.gateway_message = gateway_message
        self.explanation = explanation


class NetworkError(EpayError):
    """The gateway or handler could not be reached in time, or answered garbage."""

    exit_code = ExitCode.NETWORK
    code = "network"


class OutputError(EpayError):
    """What epay printed could not be written: a full disk, a closed pipe, or a terminal whose
    encoding cannot show the text (Chinese on an ASCII terminal)."""

    exit_code = ExitCode.ERROR
    code = "output_failed"


class CheckFailed(EpayError):
    """A conformance or doctor check did not pass."""

    exit_code = ExitCode.CHECK_FAILED
    code = "check_failed"
