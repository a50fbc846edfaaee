"""Errors raised with ``fields`` are worded: the boundary says them in the run's language by
their code. Every such raise in the source has its Chinese, with the same ``{fields}``."""

from __future__ import annotations

import ast
import string
from pathlib import Path

import pytest

from epaycli.cli.hints import HINTS, words_for
from epaycli.core.errors import EpayError, GatewayError, InputError
from epaycli.messages import Messages, load_catalogue

PACKAGE = Path(__file__).resolve().parents[2] / "epaycli"


def fields(template: str) -> set[tuple[str, str, str]]:
    return {(name, spec, conversion or "") for _, name, spec, conversion in
            string.Formatter().parse(template) if name is not None}


def worded_raises() -> list[tuple[str, str, str, str | None]]:
    """(where, code, message template, hint template) of every error built with ``fields=``."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if not (isinstance(node, ast.Call) and any(k.arg == "fields" for k in node.keywords)):
                continue
            called = getattr(node.func, "id", None) or getattr(node.func, "attr", "")
            if not (called.endswith(("Error", "Failed")) or
                    any(k.arg == "code" and isinstance(k.value, ast.Constant)
                        for k in node.keywords)):  # UnknownSignType(…, code="…")
                continue  # not an error (dataclasses have fields= too)
            where = f"{path.relative_to(PACKAGE)}:{node.lineno}"
            code = next((k.value for k in node.keywords if k.arg == "code"), None)
            assert isinstance(code, ast.Constant), f"{where}: a worded error names its code="
            # a code worded several ways names each wording (words=): the catalogue's id
            wording = next((k.value for k in node.keywords if k.arg == "words"), code)
            assert isinstance(wording, ast.Constant), f"{where}: words= is a literal id"
            texts = [a.value if isinstance(a, ast.Constant) else None for a in node.args[:2]]
            assert texts and isinstance(texts[0], str), f"{where}: a literal message template"
            hint = texts[1] if len(texts) > 1 else next(
                (k.value.value for k in node.keywords
                 if k.arg == "hint" and isinstance(k.value, ast.Constant)), None)
            # the CLI's advice for the code (cli/hints.py) stands for the wording's own hint
            found.append((where, wording.value, texts[0], None if code.value in HINTS else hint))
    return found


def test_one_code_has_one_wording():
    wordings: dict[str, tuple[str, str | None, str]] = {}
    for where, code, message, hint in worded_raises():
        first = wordings.setdefault(code, (message, hint, where))
        assert first[:2] == (message, hint), f"{code}: worded twice ({first[2]}, {where})"


def test_every_worded_error_has_its_chinese_with_the_same_fields():
    catalogue = load_catalogue("zh")
    for where, code, message, hint in worded_raises():
        chinese = catalogue.get(f"errors.{code}.message")
        assert chinese is not None, f"{where}: errors.{code}.message has no Chinese"
        assert fields(chinese) == fields(message), where
        if hint:
            chinese_hint = catalogue.get(f"errors.{code}.hint")
            assert chinese_hint is not None, f"{where}: errors.{code}.hint has no Chinese"
            assert fields(chinese_hint) == fields(hint), where
    worded = {code for _, code, _, _ in worded_raises()}
    stale = {key for key in catalogue if key.startswith("errors.")
             and key.split(".")[1] not in worded}
    assert not stale


def test_every_cli_hint_has_its_chinese():
    catalogue = load_catalogue("zh")
    assert not {code for code in HINTS if f"hints.{code}" not in catalogue}
    assert not {key for key in catalogue if key.startswith("hints.")
                and key.removeprefix("hints.") not in HINTS}


def test_a_worded_error_is_filled_in_english_and_said_in_chinese_by_its_code():
    error = InputError("money {value!r} is not an amount", "write it as {example}",
                       code="bad_money_test", fields={"value": "1,00", "example": "1.00"})
    assert str(error) == "money '1,00' is not an amount — write it as 1.00"
    chinese = Messages("zh", {"errors.bad_money_test.message": "金额 {value!r} 无效",
                              "errors.bad_money_test.hint": "请写成 {example}"})
    assert words_for(error, chinese) == ("金额 '1,00' 无效", "请写成 1.00")
    assert words_for(error, Messages("en")) == (error.message, error.hint)


def test_plain_words_stay_as_they_are_and_cli_advice_is_said_by_its_code():
    plain = InputError("something odd", "look again", code="missing_md5_key")
    chinese = Messages("zh", {"hints.missing_md5_key": "请传入 --key"})
    assert words_for(plain, chinese) == ("something odd", "请传入 --key")
    assert words_for(EpayError("odd", "again"), chinese) == ("odd", "again")


def test_a_gateway_error_can_be_worded_too():
    error = GatewayError("the gateway said {said}", code="gateway_said_test",
                         fields={"said": "签名错误"}, gateway_code=-1)
    assert error.message == "the gateway said 签名错误" and error.gateway_code == -1
    assert words_for(error, Messages("zh", {"errors.gateway_said_test.message": "网关：{said}"}))[0] \
        == "网关：签名错误"


@pytest.mark.parametrize("label", ["error", "错误"])
def test_the_error_line_keeps_its_shape_in_both_languages(cli, monkeypatch, label):
    if label != "error":
        monkeypatch.setenv("EPAY_LANG", "zh")
    done = cli("sign", "--no-such-option")
    assert done.code == 2
    prefix = "epay: error: " if label == "error" else "epay: 错误："
    assert done.stderr.startswith(prefix) and done.stderr.count("\n") == 1
