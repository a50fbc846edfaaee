"""epaycli/messages: which language is chosen, and how a message id becomes text."""

from __future__ import annotations

import subprocess
import sys

import pytest

from epaycli.messages import Messages, choose_language, fold, load_catalogue, load_help, render


@pytest.mark.parametrize(("environ", "profile_lang", "expected"), [
    ({}, None, "en"),
    ({"LANG": "zh_CN.UTF-8"}, None, "zh"),
    ({"LANG": "zh_TW.UTF-8"}, None, "zh"),  # any zh* locale: Simplified Chinese
    ({"LANG": "de_DE.UTF-8"}, None, "en"),
    ({"LANG": "C.UTF-8"}, None, "en"),
    ({"EPAY_LANG": "zh"}, None, "zh"),
    ({"EPAY_LANG": "zh_CN"}, None, "zh"),
    ({"EPAY_LANG": "en", "LANG": "zh_CN.UTF-8"}, None, "en"),  # EPAY_LANG first
    ({"EPAY_LANG": "zh"}, "en", "zh"),  # … before the profile
    ({"LANG": "zh_CN.UTF-8"}, "en", "en"),  # the profile before the locale
    ({"LANG": "en_US.UTF-8"}, "zh", "zh"),
    ({"EPAY_LANG": " "}, "zh", "zh"),  # blank is unset
    ({"LC_ALL": "en_US.UTF-8", "LC_MESSAGES": "zh_CN", "LANG": "zh_CN"}, None, "en"),
    ({"LC_MESSAGES": "zh_CN.UTF-8", "LANG": "en_US"}, None, "zh"),  # the first set wins
    ({"LC_ALL": "", "LANG": "zh_CN.UTF-8"}, None, "zh"),
])
def test_the_language_is_chosen_by_the_first_setting_that_is_set(environ, profile_lang,
                                                                  expected):
    assert choose_language(environ, profile_lang) == expected


@pytest.mark.parametrize("encoding", ["ascii", "ANSI_X3.4-1968", "latin-1", "no-such-codec",
                                      None])
def test_a_stream_that_cannot_write_chinese_gets_english(encoding):
    assert choose_language({"EPAY_LANG": "zh"}, encoding=encoding) == "en"
    assert choose_language({"EPAY_LANG": "zh"}, encoding="gb18030") == "zh"


def test_english_is_the_template_given_and_chinese_comes_from_the_catalogue():
    english = "see '{command} --help'"
    assert Messages("en").text("boundary.see_help", english, command="epay sign") == \
        "see 'epay sign --help'"
    assert Messages("zh").text("boundary.see_help", english, command="epay sign") == \
        "请查看 'epay sign --help'"
    assert Messages("zh", {}).text("unknown.id", "plain {x}", x=1) == "plain 1"


def test_plural_forms_are_chosen_by_the_count():
    template = {"one": "{count} order", "other": "{count} orders"}
    assert [render(template, {"count": n}) for n in (0, 1, 2)] == [
        "0 orders", "1 order", "2 orders"]


def test_the_catalogue_is_flat_ids_to_text():
    catalogue = load_catalogue("zh")
    assert catalogue and all(isinstance(v, str) and v for v in catalogue.values())
    assert "boundary.see_help" in catalogue


def test_english_reads_no_catalogue_and_imports_nothing_new():
    # typer (and with it typing) is imported on every run: the baseline.
    probe = ("import sys, typer; before = set(sys.modules); from epaycli.messages import Messages; "
             "Messages('en').text('a', 'b'); "
             "print(sorted(m for m in set(sys.modules) - before if not m.startswith('epaycli')))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          timeout=60, check=True)
    assert done.stdout.strip() == "[]"


# ---- display width ------------------------------------------------------------------------

from epaycli.messages.width import display_width, wrap  # noqa: E402


def test_a_cjk_character_is_two_columns_and_a_combining_mark_none():
    assert display_width("商户ID") == 6
    assert display_width("ｅ") == 2  # full-width Latin
    assert display_width("e\u0301") == 1
    assert display_width("abc") == 3


def test_chinese_wraps_by_columns_between_characters_and_english_at_spaces():
    text = "对参数签名（用商户密钥做 MD5，或用 --private-key 做 RSA）。只输出签名本身。"
    lines = wrap(text, 20)
    assert all(display_width(line) <= 20 for line in lines)
    assert "".join(lines).replace(" ", "") == text.replace(" ", "")
    assert all(not line.startswith(("，", "。", "）")) for line in lines)
    assert "--private-key" in " ".join(lines).split()  # a flag is never cut
    assert wrap("sign and verify callbacks", 12) == ["sign and", "verify", "callbacks"]


def test_wrap_keeps_indents():
    assert wrap("一二三四五六", 6, indent="  ", subsequent_indent="  ") == ["  一二", "  三四",
                                                                            "  五六"]


def test_help_texts_are_keyed_by_their_folded_english():
    table = load_help("zh")
    assert table[fold("Print one JSON\n   object.")] == "输出一个 JSON 对象。"
    assert fold(" a\n b\n\n\n c ") == "a b\n\nc"
    assert all(english and chinese and english != chinese for english, chinese in table.items())


def test_the_catalogue_is_read_from_every_area_file_and_an_id_given_twice_is_refused(
        monkeypatch):
    import epaycli.messages as messages

    def tables(stem):
        yield "zh.toml", {"boundary": {"see_help": "a"}}
        yield "verify.toml", {"verify": {"valid": "b"}, "boundary": {"see_help": "c"}}

    monkeypatch.setattr(messages, "_tables", tables)
    with pytest.raises(ValueError, match=r"boundary\.see_help is given twice"):
        load_catalogue("zh")


def test_help_texts_come_from_every_area_file(monkeypatch):
    import epaycli.messages as messages

    def tables(stem):
        yield "zh-help.toml", {"help": [{"en": "Sign  it.", "zh": "签名。"}]}
        yield "order.toml", {"help": [{"en": "Query it.", "zh": " 查询。 "}]}

    monkeypatch.setattr(messages, "_tables", tables)
    assert load_help("zh") == {"Sign it.": "签名。", "Query it.": "查询。"}
