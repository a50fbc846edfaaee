"""core/errors.py: what an edge can rely on when it turns an error into words and an exit code."""

from __future__ import annotations

import pytest

from epaycli.core.errors import (
    CheckFailed,
    ConfigError,
    EpayError,
    ExitCode,
    GatewayError,
    InputError,
    KeyFormatError,
    NetworkError,
    SignatureError,
)


def test_an_error_reads_as_its_message_then_its_hint():
    assert str(EpayError("it broke", "fix it")) == "it broke — fix it"
    assert str(EpayError("it broke")) == "it broke"
    assert str(EpayError("it broke", "")) == "it broke"
    error = InputError("bad", "better")
    assert (error.message, error.hint) == ("bad", "better")
    assert error.args == ("bad",)


@pytest.mark.parametrize("kind, code, exit_code", [
    (EpayError, "error", ExitCode.ERROR), (InputError, "bad_input", ExitCode.USAGE),
    (KeyFormatError, "bad_key", ExitCode.CONFIG), (ConfigError, "bad_config", ExitCode.CONFIG),
    (SignatureError, "signature_invalid", ExitCode.SIGNATURE_INVALID),
    (GatewayError, "gateway_error", ExitCode.GATEWAY_ERROR),
    (NetworkError, "network", ExitCode.NETWORK), (CheckFailed, "check_failed", ExitCode.CHECK_FAILED),
])
def test_each_kind_has_its_code_and_exit_code_unless_told_otherwise(kind, code, exit_code):
    plain = kind("m")
    assert plain.code == code and plain.exit_code == exit_code and isinstance(plain, EpayError)
    assert plain.hint is None
    assert kind("m", code="specific").code == "specific"
    assert kind("m").code == code  # a code given to one error does not stick to its class


def test_a_gateway_error_keeps_what_the_gateway_said():
    error = GatewayError("the gateway refused", "check the pid", code="gateway_refused",
                         gateway_code=-1, gateway_message="商户不存在", explanation={"id": "x"})
    assert (error.message, error.hint, error.code) == ("the gateway refused", "check the pid",
                                                       "gateway_refused")
    assert (error.gateway_code, error.gateway_message, error.explanation) == (-1, "商户不存在",
                                                                              {"id": "x"})
    assert str(error) == "the gateway refused — check the pid"
    bare = GatewayError("no")
    assert (bare.hint, bare.code, bare.gateway_code, bare.gateway_message, bare.explanation) == (
        None, "gateway_error", None, "", None)


def test_exit_codes_never_change():
    assert [int(c) for c in ExitCode] == [0, 1, 2, 3, 4, 5, 6, 7, 130]
