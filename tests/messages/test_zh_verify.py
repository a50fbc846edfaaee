"""中文 for ``epay verify`` and ``epay sign`` (issue 17): every verdict line, diagnosis, problem
and note core or the command words has its Chinese with the same fields; real runs under
EPAY_LANG=zh leave no English sentence; ``--json`` is the same in both languages but its words;
English stays as it was."""

from __future__ import annotations

import json
from urllib.parse import quote, urlencode

import pytest
from test_zh import ENGLISH_RUN, NOT_PROSE, fields

from epaycli.cli.inputs import WHAT_TEXTS as INPUT_TEXTS
from epaycli.cli.sign import MESSAGES as SIGN_MESSAGES
from epaycli.cli.verify import MESSAGES as VERIFY_MESSAGES
from epaycli.core.callback import NOTES, PROBLEMS, REASONS
from epaycli.core.canonical import ORDER_TEXTS, canonical_string
from epaycli.core.diagnose import DETAILS, MISTAKES
from epaycli.core.money import MONEY_TEXTS
from epaycli.core.params import WHAT_TEXTS
from epaycli.core.php import PHP_TEXTS
from epaycli.core.signing import KEY_TEXTS, md5_hex
from epaycli.messages import Messages, load_catalogue
from epaycli.profiles.resolve import RUN_NOTES


def _tables() -> dict[str, dict[str, str]]:
    """Every English table of this area, by its catalogue prefix, flattened to id → template."""
    mistakes = {f"{m.id}.{part}": getattr(m, part) for m in MISTAKES.values()
                for part in ("title", "fix")}
    problems = {f"{code}.{part}": template for code, pair in PROBLEMS.items()
                for part, template in zip(("message", "fix"), pair, strict=True)}
    return {"verify.lines": VERIFY_MESSAGES, "verify.mistakes": {**mistakes, "and": "; and "},
            "verify.details": DETAILS, "verify.problems": problems, "verify.reason": REASONS,
            "verify.notes": NOTES, "run_notes": RUN_NOTES, "php": PHP_TEXTS,
            "order": ORDER_TEXTS, "money": MONEY_TEXTS, "keys": KEY_TEXTS,
            "params": WHAT_TEXTS, "sign": SIGN_MESSAGES,
            "inputs": INPUT_TEXTS}


@pytest.mark.parametrize("prefix", list(_tables()))
def test_every_message_has_its_chinese_with_the_same_fields_and_none_is_stale(prefix):
    catalogue = load_catalogue("zh")
    table = _tables()[prefix]
    for message_id, english in table.items():
        chinese = catalogue.get(f"{prefix}.{message_id}")
        assert chinese is not None, f"{prefix}.{message_id} has no Chinese"
        assert fields(chinese) == fields(english), f"{prefix}.{message_id}"
    known = {f"{prefix}.{message_id}" for message_id in table}
    assert not {key for key in catalogue if key.startswith(f"{prefix}.")} - known


KEY = "89unJUB8HZ54Hj7x4nUj56HN4nUzUJ8i"
PAID = {"pid": "1001", "trade_no": "2026120112000000001", "out_trade_no": "A1",
        "type": "alipay", "name": "VIP 会员", "money": "1.00", "trade_status": "TRADE_SUCCESS"}


def _query(params: dict[str, str], sign: str | None) -> str:
    signed = {} if sign is None else {"sign": sign, "sign_type": "MD5"}
    return urlencode({**params, **signed})


def _joined(params: dict[str, str], value=lambda v: v) -> str:
    return "&".join(f"{k}={value(v)}" for k, v in sorted(params.items()))


# (name, callback, the mistake's title in Chinese): each signed with one known mistake
BROKEN = [
    ("key_as_param", _query(PAID, md5_hex(canonical_string(PAID) + "&key=" + KEY)),
     "密钥被当成参数 '&key=KEY' 拼在了后面"),
    ("url_encoded_values", _query(PAID, md5_hex(_joined(PAID, quote) + KEY)),
     "参数值在签名前做了 URL 编码"),
    ("sign_type_included",
     _query(PAID, md5_hex(_joined({**PAID, "sign_type": "MD5"}) + KEY)),
     "sign_type 被算进了待签名字符串"),
    ("money_reformatted", _query({**PAID, "money": "1"}, md5_hex(canonical_string(PAID) + KEY)),
     "金额 money 在签名和验签之间被重新格式化了"),
    ("wrong_key", _query(PAID, md5_hex(canonical_string(PAID) + "w" * 32)),
     "没有已知的错误能解释这个签名"),
    ("missing_sign", _query(PAID, None), "没有 sign 参数"),
]


def no_english_sentence(text: str) -> None:
    for line in text.splitlines():
        assert not ENGLISH_RUN.search(NOT_PROSE.sub(" ", line)), line


@pytest.fixture
def chinese(monkeypatch):
    monkeypatch.setenv("EPAY_LANG", "zh")


def test_a_genuine_callback_is_said_in_chinese_and_valid_stays_for_scripts(cli, chinese):
    done = cli("verify", "--key", KEY, "--amount", "1.00",
               _query(PAID, md5_hex(canonical_string(PAID) + KEY)))
    assert done.code == 0, done.stderr
    assert done.stdout == "valid\n"
    assert "真实的 MD5 回调：pid 1001，out_trade_no A1，money 1.00" in done.stderr
    no_english_sentence(done.stderr)


@pytest.mark.parametrize(("name", "callback", "title"), BROKEN, ids=[b[0] for b in BROKEN])
def test_a_broken_callback_is_diagnosed_in_chinese(cli, chinese, name, callback, title):
    done = cli("verify", "--key", KEY, callback)
    assert done.code == 3
    assert done.stdout == "invalid\n"
    assert "签名错误：签名不匹配，不要发货" in done.stderr and title in done.stderr
    assert "  修复：" in done.stderr
    no_english_sentence(done.stderr)


def test_a_tampered_amount_and_a_reformatted_money_say_their_detail_in_chinese(cli, chinese):
    tampered = _query({**PAID, "money": "9.90"}, md5_hex(canonical_string(
        {**PAID, "money": "9.90"}) + KEY))
    done = cli("verify", "--key", KEY, "--amount", "1.00", "--pid", "1002", tampered)
    assert done.code == 3
    assert "已拒绝：签名是真的，但有一项检查未通过，不要发货（pid_mismatch, amount_mismatch）" \
        in done.stderr
    assert "money 是 9.90，不是你订单的 1.00：金额被篡改了" in done.stderr
    no_english_sentence(done.stderr)
    money = cli("verify", "--key", KEY, BROKEN[3][1])
    assert "  详情：签名针对的是 money=1.00，但收到的是 money=1" in money.stderr
    assert "  发送方签名的字符串：money=1.00&" in money.stderr


def test_the_sandbox_key_note_is_said_in_chinese(cli, chinese):
    done = cli("verify", _query(PAID, md5_hex(canonical_string(PAID) + KEY)))
    assert "用的是内置沙箱配置档的密钥（没有配置任何配置档）" in done.stderr
    no_english_sentence(done.stderr)


@pytest.mark.parametrize(("name", "callback", "title"),
                         [*BROKEN, ("valid", _query(PAID, md5_hex(canonical_string(PAID) + KEY)),
                                    "")], ids=[*(b[0] for b in BROKEN), "valid"])
def test_json_is_the_same_in_both_languages_but_its_words(cli, monkeypatch, name, callback,
                                                          title):
    args = ("verify", "--key", KEY, "--amount", "1.00", "--json", callback)
    english_run = cli(*args)
    monkeypatch.setenv("EPAY_LANG", "zh")
    chinese_run = cli(*args)
    assert chinese_run.code == english_run.code
    english, chinese = json.loads(english_run.stdout), json.loads(chinese_run.stdout)
    words = ("message", "fix", "reason", "title", "detail", "notes")

    def without_words(value):
        if isinstance(value, dict):
            return {k: without_words(v) for k, v in value.items() if k not in words}
        if isinstance(value, list):
            return [without_words(v) for v in value]
        return value

    assert without_words(chinese) == without_words(english)
    if title:
        assert title in chinese["diagnosis"]["title"] if chinese["diagnosis"] else \
            title in chinese["reason"]
        assert chinese["reason"] != english["reason"]
        no_english_sentence(chinese["reason"])


def test_english_is_worded_as_before(cli):
    done = cli("verify", "--key", KEY, BROKEN[3][1])
    assert done.stderr.splitlines()[-6:-1] == [
        "bad signature: the sign does not match — do not credit",
        "✗ the MD5 sign does not match: money was re-formatted between signing and checking",
        "  fix: sign and verify money exactly as sent (never cast it to a number in between); "
        "compare amounts numerically only after the signature passes",
        "  detail: the sign covers money=1.00, but money=1 arrived",
        "  the sender signed: money=1.00&name=VIP 会员&out_trade_no=A1&pid=1001&"
        "trade_no=2026120112000000001&trade_status=TRADE_SUCCESS&type=alipay",
    ]


def test_two_mistakes_at_once_are_listed_in_chinese():
    from epaycli.core.diagnose import diagnose_md5

    both = {**PAID, "sign": md5_hex(_joined({**PAID, "sign_type": "MD5"}, quote) + KEY),
            "sign_type": "MD5"}
    diagnosis = diagnose_md5(both, KEY)
    assert diagnosis.mistakes == ("sign_type_included", "url_encoded_values")
    assert Messages("zh").say(diagnosis.title) == \
        "sign_type 被算进了待签名字符串；并且参数值在签名前做了 URL 编码"
    assert diagnosis.title == ("sign_type was included in the signed string; and the values "
                               "were URL-encoded before signing")
