"""中文 for ``epay verify`` and ``epay sign`` (issue 17): every verdict line, diagnosis, problem
and note core or the command words has its Chinese with the same fields; real runs under
EPAY_LANG=zh leave no English sentence; ``--json`` is the same in both languages but its words;
English stays as it was."""

from __future__ import annotations

import json
import re
from urllib.parse import quote, urlencode

import pytest
from core.test_callback import MD5_KEYS, NOTIFY, NOW, V2, WORDING, _scenario
from test_zh import fields
from zhkit import english_left

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
    assert not english_left(text)


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


# ---- epay sign ---------------------------------------------------------------------------


def test_sign_says_its_warnings_and_explain_in_chinese_and_prints_the_same_sign(cli, monkeypatch):
    args = ("sign", "total_fee=1", "subject=x", "9=a", "10=b", "note= ", "--key", KEY)
    english = cli(*args)
    monkeypatch.setenv("EPAY_LANG", "zh")
    chinese = cli(*args)
    assert chinese.code == english.code == 0
    assert chinese.stdout == english.stdout  # the sign itself: what S=$(epay sign …) reads
    assert "警告：这些是支付宝风格的参数名，易支付网关不认：total_fee（易支付叫 money），" \
           "subject（易支付叫 name）（加 --strict 时会拒绝签名）" in chinese.stderr
    assert "警告：没有 pid：每个易支付请求都要用 pid 带上你的商户ID" in chinese.stderr
    assert "note：只含空白，已按 --blanks keep 签名" in chinese.stderr
    assert "'9', '10'：不同 PHP 版本对这类参数名的排序不同；已按 PHP 8.2+ ksort 顺序签名" \
        in chinese.stderr
    no_english_sentence(chinese.stderr)
    explained = cli("sign", "pid=1001", "money=1.00", "--key", KEY, "--explain")
    assert [line.split()[0] for line in explained.stdout.splitlines()] == \
        ["排序拼接", "签名原文", "算法", "自动添加", "签名"]
    assert "密钥直接拼在末尾（没有 '&key='），MD5，小写十六进制" in explained.stdout
    no_english_sentence(explained.stdout)


def test_sign_json_is_the_same_in_both_languages(cli, monkeypatch):
    args = ("sign", "pid=1001", "money=1.00", "--key", KEY, "--json")
    english = cli(*args).stdout
    monkeypatch.setenv("EPAY_LANG", "zh")
    assert cli(*args).stdout == english


# ---- errors ------------------------------------------------------------------------------

# (command line, stdin, the Chinese error line's start)
ERRORS = [
    (("sign", "total_fee=1", "--strict", "--key", KEY), None,
     "epay: 错误：这些是支付宝风格的参数名，易支付网关不认：total_fee（易支付叫 money）；"
     "没有 pid：每个易支付请求都要用 pid 带上你的商户ID — 按易支付的叫法命名"),
    (("sign", "pid=1", "money=0", "--strict", "--key", KEY), None,
     "epay: 错误：金额 money '0' 为零：网关会拒绝（金额(money)不能为空） — 以元为单位"),
    (("sign",), None, "epay: 错误：没有可签名的参数 — 用 k=v 参数或 --from FILE 给出参数"),
    (("sign", "a"), None, "epay: 错误：有一个参数不是 name=value：'a' — 每个参数写成 name=value"),
    (("sign", "pid=1", "sign_type=RSA", "--key", KEY), None,
     "epay: 错误：sign_type 是 RSA，但没有给出 RSA 私钥 — 传入 --private-key 文件（商户私钥）"),
    (("verify", "--key", KEY), None, "epay: 错误：没有输入：请把回调作为参数给出，或通过管道传入"),
    (("verify", "--key", KEY, "-"), "", "epay: 错误：输入为空 — 请粘贴完整的 URL"),
    (("verify", "--key", KEY, "missing.txt"), None,
     "epay: 错误：文件 'missing.txt' 不存在 — 检查路径，或直接给出回调本身"),
    (("verify", "--key", KEY, "pid=1&pid=2"), None,
     "epay: 错误：参数 'pid' 出现了不止一次 — 请只粘贴一个回调"),
    (("verify", "--key", KEY, "-"), b"pid=1&name=\xb5\xe3",
     "epay: 错误：标准输入不是 UTF-8 文本（偏移 11 处的字节 0xb5） — 把它存为 UTF-8"),
    (("verify", "--key", KEY, "pid=%B5%E3"), None,
     "epay: 错误：'pid' 的值不是 UTF-8（字节 %B5%E3） — 易支付发送 UTF-8"),
    (("verify", "--key", KEY, "https://shop.example.com/notify.php"), None,
     "epay: 错误：URL 没有查询字符串 — 请粘贴完整的 URL"),
    (("verify", "--key", KEY, "--amount", "1.001", "pid=1"), None,
     "epay: 错误：金额 '1.001' 无效 — 以元为单位"),
    (("verify", "--key", KEY, "pid=1&sign_type=HMAC&sign=x"), None, ""),
    (("verify", "--public-key", "-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----",
      "pid=1&sign_type=RSA&sign=x"), None,
     "epay: 错误：平台公钥是 PEM，但不是 RSA 公钥（SPKI，PEM 或纯 base64） — 请确认复制完整"),
    (("sign", "pid=1", "money=1.005", "--key", KEY), None, "警告：金额 money '1.005' 超过 2 位"
     "小数：网关会存成 1.00，异步通知里带的也是这个金额（加 --strict 时会拒绝签名）"),
]


@pytest.mark.parametrize(("argv", "stdin", "start"), ERRORS,
                         ids=[" ".join(e[0][:3]) + f" {n}" for n, e in enumerate(ERRORS)])
def test_errors_of_sign_verify_and_core_are_said_in_chinese(cli, chinese, argv, stdin, start):
    done = cli(*argv, stdin=stdin)
    if not start:  # a callback's own sign_type that is unknown: a verdict, not an error
        assert done.code == 3 and "sign_type 'HMAC' 既不是 MD5 也不是 RSA" in done.stderr
        no_english_sentence(done.stderr)
        return
    if start.startswith("警告"):  # a warning, and the sign on stdout
        assert done.code == 0 and done.stderr.startswith(start)
        return
    assert done.code in (2, 6), done.stderr
    assert done.stderr.startswith(start), done.stderr
    assert done.stderr.count("\n") == 1
    no_english_sentence(done.stderr)


# ---- every problem and every mistake, said ------------------------------------------------


@pytest.mark.parametrize("code", sorted(WORDING))
def test_each_problem_is_said_in_chinese_with_no_english_left(code):
    from epaycli.core.callback import Expectations, check_callback
    from epaycli.core.signing import Keys, RsaKeys, load_private_key, load_public_key, rsa_sign

    params, expect = _scenario(code)
    keys = MD5_KEYS
    if params is None:  # an RSA callback signed without a timestamp
        params = {**NOTIFY, "sign_type": "RSA"}
        params = {**params, "sign": rsa_sign(params, load_private_key(
            V2["platform_private_key_pem"]))}
        keys = Keys(rsa=RsaKeys(public=load_public_key(V2["platform_public_key_pem"])))
        expect = Expectations(now=NOW)
    report = check_callback(params, keys, expect)
    problem = next(p for p in report.problems if p.code == code)
    say = Messages("zh").say
    for english in (problem.message, problem.fix, report.reason):
        chinese = say(english)
        assert chinese != english
        no_english_sentence(chinese)


@pytest.mark.parametrize("mistake", sorted(MISTAKES))
def test_each_mistake_is_said_in_chinese(mistake):
    from epaycli.core.diagnose import Diagnosis

    diagnosis = Diagnosis((mistake,))
    for english in (diagnosis.title, diagnosis.fix):
        chinese = Messages("zh").say(english)
        assert chinese != english
        no_english_sentence(chinese)


@pytest.mark.parametrize("prefix", list(_tables()))
def test_no_chinese_template_of_this_area_keeps_an_english_sentence(prefix):
    catalogue = load_catalogue("zh")
    for message_id in _tables()[prefix]:
        chinese = catalogue[f"{prefix}.{message_id}"]
        no_english_sentence(re.sub(r"\{[^{}]*\}", " ", chinese))


def test_the_errors_of_core_sign_verify_and_inputs_keep_no_english_sentence():
    from test_worded_errors import worded_raises

    catalogue = load_catalogue("zh")
    mine = [code for where, code, _, _ in worded_raises()
            if where.startswith(("core/", "cli/sign.py", "cli/verify.py", "cli/inputs.py"))]
    assert len(mine) > 40
    for code in mine:
        for part in ("message", "hint"):
            no_english_sentence(re.sub(r"\{[^{}]*\}", " ", catalogue.get(f"errors.{code}.{part}",
                                                                        "")))


def test_an_ascii_terminal_gets_exactly_the_english_lines(cli, tmp_path):
    import io
    import os

    from epaycli.cli.main import run
    from epaycli.env import Environment

    def streams():
        return [io.TextIOWrapper(io.BytesIO(), encoding="ascii", errors="strict")
                for _ in range(2)]

    said = {}
    for language in ("en", "zh"):
        out, err = streams()
        env = Environment(None, out, err, {**os.environ, "EPAY_LANG": language,
                                           "XDG_CONFIG_HOME": str(tmp_path)})
        ascii_only = {**PAID, "name": "VIP", "money": "1"}
        callback = _query(ascii_only, md5_hex(canonical_string({**ascii_only, "money": "1.00"})
                                              + KEY))  # money re-formatted: every line kind
        code = run(["verify", "--key", KEY, "--amount", "1.00", callback], env)
        out.flush(), err.flush()
        said[language] = (code, out.buffer.getvalue(), err.buffer.getvalue())
    assert said["zh"] == said["en"]
    # (verify's English has '—' and '✗', which ASCII cannot show either: said as such, exit 1)
    assert said["en"][0] == 1 and b"the ascii encoding of this terminal" in said["en"][2]
