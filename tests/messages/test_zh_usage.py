"""中文 for click's usage errors (issue 17.4): the boundary reads click's English message back
against click's formats (cli/click_words.py) and says it from the catalogue; English stays
byte-identical, and a message no format matches is left as click wrote it."""

from __future__ import annotations

import pytest
from test_zh import fields
from test_zh_verify import no_english_sentence

from epaycli.cli.click_words import CLICK_FORMATS, say_click
from epaycli.messages import Messages, load_catalogue


def test_every_click_format_has_its_chinese_with_the_same_fields_and_none_is_stale():
    catalogue = load_catalogue("zh")
    for message_id, english in CLICK_FORMATS.items():
        assert fields(catalogue[f"usage.{message_id}"]) == fields(english), message_id
    assert {key for key in catalogue if key.startswith("usage.")} == \
        {f"usage.{message_id}" for message_id in CLICK_FORMATS}


# (command line, the command whose help to see, click's English message, its Chinese)
USAGE_ERRORS = [
    (("sign", "--nope"), "epay sign", "No such option: --nope (Possible options: --now)",
     "没有这个选项：--nope（可用的选项：--now）"),
    (("verify", "--amount"), "epay verify", "Option '--amount' requires an argument.",
     "选项 '--amount' 需要一个值。"),
    (("verify", "a=1", "b=2"), "epay verify", "Got unexpected extra argument(s) (b=2)", "多余的参数（b=2）"),
    (("order", "create"), "epay order create", "Missing option '--amount' / '-a'.", "缺少选项 '--amount' / '-a'。"),
    (("events", "show"), "epay events show", "Missing argument 'ID'.", "缺少参数 'ID'。"),
    (("sign", "--blanks", "x"), "epay sign",
     "Invalid value for '--blanks': 'x' is not one of 'keep', 'drop'.",
     "'--blanks' 的值无效：'x' 不是 'keep', 'drop' 之一。"),
    (("mock", "--port", "x"), "epay mock",
     "Invalid value for '--port': 'x' is not a valid int.",
     "'--port' 的值无效：'x' 不是有效的整数。"),
    (("order", "list", "--limit", "-5"), "epay order list",
     "Invalid value for '--limit': -5 is not in the range 1<=x<=50.",
     "'--limit' 的值无效：-5 不在范围 1<=x<=50 内。"),
    (("verify", "--json=3", "a=1"), "epay verify", "Option '--json' does not take a value.",
     "选项 '--json' 不接受值。"),
    (("nosuch",), "epay", "No such command 'nosuch'.", "没有这个命令 'nosuch'。"),
]


@pytest.mark.parametrize(("argv", "command", "english", "chinese"), USAGE_ERRORS,
                         ids=[" ".join(error[0]) for error in USAGE_ERRORS])
def test_a_usage_error_is_said_in_chinese_and_kept_in_english(cli, monkeypatch, argv, command,
                                                              english, chinese):
    english_run = cli(*argv)
    assert english_run.code == 2
    assert english_run.stderr == f"epay: error: {english} — see '{command} --help'\n"
    monkeypatch.setenv("EPAY_LANG", "zh")
    chinese_run = cli(*argv)
    assert chinese_run.code == 2
    assert chinese_run.stderr == f"epay: 错误：{chinese} — 请查看 '{command} --help'\n"
    no_english_sentence(chinese_run.stderr)


def test_a_message_no_format_matches_stays_as_click_wrote_it():
    chinese = Messages("zh")
    assert say_click("Something click never said.", chinese) == "Something click never said."
    assert say_click("Invalid value for 'X': an epay callback's own words", chinese) == \
        "'X' 的值无效：an epay callback's own words"
    assert say_click("Missing option '--amount'.", Messages("en")) == \
        "Missing option '--amount'."
