"""One exception tree for all of epay, and the exit codes the CLI maps it to."""

from __future__ import annotations

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

    ``message`` says what is wrong, ``hint`` what to do about it. Neither may contain a key:
    they are printed as they are.
    """

    exit_code: ExitCode = ExitCode.ERROR

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} — {self.hint}" if self.hint else self.message


class InputError(EpayError):
    """What the user gave us cannot be read (pasted callback, argument, file)."""

    exit_code = ExitCode.USAGE


class KeyFormatError(EpayError):
    """A merchant key, RSA private key or public key cannot be used."""

    exit_code = ExitCode.CONFIG


class ConfigError(EpayError):
    """Profiles file, profile or settings are missing or wrong."""

    exit_code = ExitCode.CONFIG


class SignatureError(EpayError):
    """A signature does not verify (raised only where a caller asked for an exception)."""

    exit_code = ExitCode.SIGNATURE_INVALID


class GatewayError(EpayError):
    """The gateway answered, with an error."""

    exit_code = ExitCode.GATEWAY_ERROR


class NetworkError(EpayError):
    """The gateway or handler could not be reached in time."""

    exit_code = ExitCode.NETWORK


class CheckFailed(EpayError):
    """A conformance or doctor check did not pass."""

    exit_code = ExitCode.CHECK_FAILED
