"""The error catalogue: every message of the protocol's list is in it, look-up tolerates the
values a gateway interpolates and punctuation differences, and `epay errors` shows it."""

from __future__ import annotations

import json
import tomllib

import pytest
from conftest import ROOT

from epaycli.catalogue.lookup import catalogue, explain, lookup, normalize, parse_catalogue

# Every message the protocol lists (its error table and the real-server notes), verbatim.
PROTOCOL_MESSAGES = {
    "签名校验失败，请返回重试！": "sign_mismatch", "MD5签名校验失败": "sign_mismatch",
    "RSA签名校验失败": "sign_mismatch", "缺少签名参数": "sign_missing",
    "签名校验失败，商户公钥错误": "merchant_public_key_bad",
    "该商户只能使用RSA签名类型": "rsa_only", "该接口只能使用RSA签名类型": "rsa_only",
    "时间戳(timestamp)字段不能为空": "timestamp_missing",
    "时间戳字段不正确，请检查服务器时间": "timestamp_skew",
    "未传入任何参数": "no_parameters", "商户ID不能为空": "pid_empty",
    "商户不存在！": "pid_unknown", "商户ID不存在": "pid_unknown", "商户密钥错误": "key_wrong",
    "商户已封禁，无法支付！": "merchant_banned", "商户已被封禁，无法支付！": "merchant_banned",
    "商户没通过审核，请联系客服": "merchant_unapproved",
    "商户未通过审核，无法支付！": "merchant_unapproved",
    "订单号(out_trade_no)不能为空": "out_trade_no_empty",
    "通知地址(notify_url)不能为空": "notify_url_empty",
    "回调地址(return_url)不能为空": "return_url_empty",
    "商品名称(name)不能为空": "name_empty", "金额(money)不能为空": "money_empty",
    "支付方式(type)不能为空": "type_empty", "用户IP地址(clientip)不能为空": "clientip_empty",
    "金额不合法": "money_invalid", "最大支付金额是1000元": "money_above_max",
    "最小支付金额是0.1元": "money_below_min",
    "订单号(out_trade_no)格式不正确": "out_trade_no_invalid",
    "当前商户未完成实名认证，无法收款": "merchant_not_verified",
    "当前商户未填写联系QQ，无法收款": "merchant_no_qq",
    "该域名不可发起支付，原因：域名没过白名单": "domain_not_allowed",
    "该商品禁止出售": "product_blocked", "系统异常无法完成付款": "buyer_blocked",
    "你今天已无法再发起支付，请明天再试": "buyer_blocked",
    "本次支付需要安全验证，请使用跳转支付接口发起支付": "captcha_required",
    "该订单(20261201-77)已完成支付，请勿重复发起支付": "order_already_paid",
    "该订单(A.b_c|9)支付参数有变化，请更换订单号重新发起支付": "order_params_changed",
    "创建订单失败，请返回重试！": "order_create_failed",
    "当前支付方式单笔最小限额为10元，请选择其他支付方式": "channel_min",
    "当前支付方式单笔最大限额为500元，请选择其他支付方式": "channel_max",
    "订单号不存在": "order_not_found", "订单号不能为空": "order_no_empty",
    "当前订单不存在！": "order_not_found", "支付方式(type)不存在": "type_unknown",
    "金额输入错误": "refund_money_invalid", "退款失败：交易已关闭": "refund_failed",
    "你还未配置支付接口商户！": "no_merchant_configured",
    "商户未开启订单退款API接口": "refund_api_off", "未开启商户后台自助退款": "refund_self_off",
    "退款金额不能大于订单金额": "refund_too_much", "只支持退款已支付状态的订单": "refund_not_paid",
    "该订单已退款！": "refund_already", "商户余额不足，请先充值": "refund_balance_low",
    "No Act!": "unknown_action", "接口方法不存在": "unknown_action", "URL Error!": "unknown_action",
    "监控密钥不正确": "cron_key_wrong",
}


@pytest.mark.parametrize("message,entry_id", PROTOCOL_MESSAGES.items())
def test_every_protocol_message_is_explained(message, entry_id):
    found = lookup(message)
    assert found.found, message
    assert found.matches[0].entry.id == entry_id
    assert found.matches[0].how in ("exact", "template")


def test_every_entry_is_complete_and_ids_are_unique():
    book = catalogue()
    ids = [entry.id for entry in book.entries]
    assert len(ids) == len(set(ids))
    for entry in book.entries:
        assert entry.zh and entry.en and entry.cause and entry.fix, entry.id
        assert entry.messages or entry.codes, entry.id


def test_interpolated_values_are_read_back_as_sent():
    match = lookup("该订单(Order-2026.12|x)已完成支付，请勿重复发起支付").matches[0]
    assert match.values == {"out_trade_no": "Order-2026.12|x"}
    assert lookup("最大支付金额是1000.50元").matches[0].values == {"amount": "1000.50"}
    assert lookup("退款失败：余额不足").matches[0].values == {"reason": "余额不足"}


@pytest.mark.parametrize("variant", [
    "该订单（ABC）支付参数有变化,请更换订单号重新发起支付",  # full-width brackets, ascii comma
    "该订单(ABC)支付参数有变化 请更换订单号重新发起支付。",
    "  该订单 (ABC) 支付参数有变化，请更换订单号重新发起支付！ ",
])
def test_punctuation_and_width_do_not_matter(variant):
    assert lookup(variant).matches[0].entry.id == "order_params_changed"


def test_a_message_inside_a_longer_text_is_found():
    page = "<html><title>站点提示信息</title><body>支付方式(type)不存在 返回</body></html>"
    assert lookup(page).matches[0].entry.id == "type_unknown"
    assert explain(-1, "gateway says: 商户密钥错误 (api.php)").id == "key_wrong"


def test_a_fragment_finds_its_message():
    found = lookup("该订单(x1)已完成支付")
    assert found.found and found.matches[0].entry.id == "order_already_paid"
    assert found.matches[0].how == "partial"


def test_codes_list_their_messages_and_meaning():
    found = lookup("-3")
    assert found.code.code == -3 and "signature" in found.code.en
    assert {"sign_mismatch", "key_wrong", "pid_unknown"} <= {m.entry.id for m in found.matches}
    assert lookup("-5").matches[0].entry.id == "unknown_action"
    assert lookup("0").code.code == 0


@pytest.mark.parametrize("code", ["1001", "2003"])
def test_tutorial_codes_are_known_and_said_to_come_from_elsewhere(code):
    found = lookup(code)
    assert found.found
    assert found.code.source == "other"
    assert "other gateways" in found.code.en
    entry = found.matches[0].entry
    assert entry.from_other_gateways and "no Epay server" in entry.cause
    assert explain(int(code), "").id == entry.id


def test_unknown_input_gets_the_closest_entries_not_silence():
    found = lookup("签名校验失败了啊啊")  # a typo'd signature message
    assert found.matches and found.matches[0].entry.id == "sign_mismatch"
    nonsense = lookup("zzzz qqqq")
    assert not nonsense.found
    assert len(nonsense.matches) == 3 and all(m.how == "closest" for m in nonsense.matches)


def test_lookup_by_id_and_explain_of_unknown():
    assert lookup("refund_api_off").matches[0].how == "id"
    assert explain(-1, "something no gateway says") is None
    assert explain("-3", "") is None  # many entries carry -3: no guess


def test_normalize_folds_width_case_and_punctuation():
    assert normalize("（Ａbc）！,  1.00") == "abc100"


def test_parse_catalogue_compiles_templates():
    book = parse_catalogue({"entry": [{"id": "t", "codes": [-1], "messages": ["X是{n}元"],
                                       "zh": "z", "en": "e", "cause": "c", "fix": "f"}]})
    assert book.lookup("X是12元").matches[0].values == {"n": "12"}
    assert not book.lookup("Y是12元").found


def test_catalogue_ships_in_the_wheel():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    data = project["tool"]["setuptools"]["package-data"]
    assert "catalogue/*.toml" in data["epaycli"]
    assert (ROOT / "epaycli" / "catalogue" / "errors.toml").is_file()


# ---- epay errors ----------------------------------------------------------------------------


def test_errors_command_explains_a_message_with_values(cli):
    result = cli("errors", "该订单(A1)支付参数有变化，请更换订单号重新发起支付")
    assert result.code == 0
    assert "order_params_changed" in result.stdout
    assert "out_trade_no=A1" in result.stdout
    assert "fix" in result.stdout


def test_errors_command_takes_negative_codes(cli):
    result = cli("errors", "-1")
    assert result.code == 0, result.stderr
    assert "Generic error" in result.stdout


def test_errors_command_json_and_list(cli):
    result = cli("errors", "1001", "--json")
    document = json.loads(result.stdout)
    assert document["found"] and document["code"]["source"] == "other"
    listed = cli("errors", "--list", "--json")
    entries = json.loads(listed.stdout)["entries"]
    assert len(entries) == len(catalogue().entries)
    table = cli("errors", "--list")
    assert table.code == 0 and "sign_mismatch" in table.stdout


def test_errors_command_unknown_text_exits_2_with_closest_and_their_similarity(cli):
    result = cli("errors", "zzzz")
    assert result.code == 2  # 1 is for bugs (issue 15.8)
    assert "closest" in result.stderr
    assert result.stdout.count("similarity") == 3


@pytest.mark.parametrize("code", ["404", "77", "-9", "200", "502"])
def test_errors_command_never_ends_on_an_empty_list(cli, code):
    result = cli("errors", code)
    assert result.code == 2
    assert "closest" not in result.stderr and not result.stdout.strip()
    assert "--list" in result.stderr and "-3" in result.stderr  # the codes Epay answers
    assert "1001" not in result.stderr  # a tutorial's code, not an Epay one


def test_errors_command_reads_an_http_status(cli):
    result = cli("errors", "500")  # issue 14.10: printed "the closest:" and nothing
    assert result.code == 0
    assert "HTTP status" in result.stderr
    assert "http_500_empty" in result.stdout


def test_the_common_meaning_ranks_first():
    assert lookup("签名错误").matches[0].entry.id == "sign_mismatch"  # issue 14.10
    assert lookup("验签失败").matches[0].entry.id == "sign_mismatch"
    assert lookup("sign error").matches[0].entry.id == "sign_mismatch"


@pytest.mark.parametrize("said", ["订单号已存在", "订单号已存在！", "商户订单号重复"])
def test_an_order_number_taken_is_not_an_order_not_found(said):
    found = lookup(said)  # issue 15.8: it answered order_not_found, the opposite meaning
    assert found.found
    assert found.matches[0].entry.id == "out_trade_no_exists"
    assert "order_not_found" not in [m.entry.id for m in found.matches]
    assert found.matches[0].entry.from_other_gateways


def test_a_negation_on_one_side_is_no_fragment():
    assert [m.entry.id for m in lookup("订单号存在").matches][:1] != ["order_not_found"]
    assert not any(m.entry.id == "out_trade_no_exists" for m in lookup("订单号不存在").matches)
    assert lookup("该订单(x1)已完成支付").matches[0].entry.id == "order_already_paid"


def test_errors_command_shows_how_similar_a_fragment_is(cli):
    result = cli("errors", "订单号不在")
    assert result.code == 0
    assert "similarity" in result.stdout and "order_not_found" in result.stdout


@pytest.mark.parametrize("answer,entry_id", [
    ("链接数据库失败，请联系管理员", "gateway_database_error"),  # Rainbow's PdoHelper
    ("连接数据库失败", "gateway_database_error"),
    ("数据库连接失败: Connection refused", "gateway_database_error"),
    ("SQLSTATE[HY000] [2002] Connection refused", "gateway_database_error"),
    ("Warning: mysqli_query(): MySQL server has gone away in /www/db.php", "gateway_database_error"),
    ("PHP Fatal error:  Uncaught Error: Call to undefined function curl_init()", "gateway_php_error"),
    ("<br />\n<b>Fatal error</b>:  Allowed memory size of 134217728 bytes exhausted",
     "gateway_php_error"),
    ("Parse error: syntax error, unexpected '}' in /www/pay/submit.php on line 3",
     "gateway_php_error"),
])
def test_the_gateways_internal_errors_are_known(answer, entry_id):
    entry = explain(None, answer)  # issue 14.6: three unrelated guesses before
    assert entry is not None and entry.id == entry_id
    assert entry.en.startswith("The gateway reports an internal error")
    assert "not the cause" in entry.cause  # the URL, key and request are not blamed


def test_explaining_an_unknown_answer_makes_no_guesses(monkeypatch):
    from epaycli.catalogue import lookup as module

    def guessed(*_args, **_kwargs):
        raise AssertionError("a fuzzy pass whose result explain() throws away")

    monkeypatch.setattr(module.Catalogue, "_closest", guessed)
    assert explain(-1, "something no gateway says") is None  # issue 14.10: 14 ms an error
    assert explain(-1, "<html>" + "服务器繁忙 busy " * 300 + "</html>") is None


@pytest.mark.parametrize("args", [("errors",), ("errors", "-3", "--list"), ("errors", "   ")])
def test_errors_command_bad_input(cli, args):
    result = cli(*args)
    assert result.code == 2
    assert result.stderr.startswith("epay: error: ") and " — " in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=200, deadline=None)
@given(index=st.integers(min_value=0, max_value=len(PROTOCOL_MESSAGES) - 1),
       noise=st.lists(st.sampled_from(list(" ，,。.！!（）()：:、")), max_size=6),
       seed=st.randoms())
def test_punctuation_anywhere_does_not_break_a_match(index, noise, seed):
    message, entry_id = list(PROTOCOL_MESSAGES.items())[index]
    chars = list(message)
    for mark in noise:
        chars.insert(seed.randint(0, len(chars)), mark)
    assert lookup("".join(chars)).matches[0].entry.id == entry_id


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=200))
def test_any_text_gets_an_answer(text):
    found = lookup(text)
    assert len(found.matches) <= 9 or found.code is not None
    json.dumps(found.to_dict(), ensure_ascii=False)


# Ids are data (JSON, `epay errors ID`, the client's explanations): never renamed, never
# translated. A new entry adds its id here; none leaves.
STABLE_IDS = (
    "sign_mismatch", "sign_missing", "merchant_public_key_bad", "rsa_only", "timestamp_missing",
    "timestamp_skew", "no_parameters", "pid_empty", "pid_unknown", "key_wrong",
    "merchant_banned", "merchant_unapproved", "merchant_not_verified", "merchant_no_qq",
    "out_trade_no_empty", "notify_url_empty", "return_url_empty", "name_empty", "money_empty",
    "type_empty", "clientip_empty", "money_invalid", "money_above_max", "money_below_min",
    "out_trade_no_invalid", "domain_not_allowed", "product_blocked", "buyer_blocked",
    "captcha_required", "order_already_paid", "order_params_changed", "order_create_failed",
    "channel_min", "channel_max", "type_unknown", "no_merchant_configured", "order_not_found",
    "out_trade_no_exists", "order_no_empty", "refund_money_invalid", "refund_failed",
    "refund_api_off", "refund_self_off", "refund_too_much", "refund_not_paid", "refund_already",
    "refund_balance_low", "unknown_action", "cron_key_wrong", "tutorial_1001", "tutorial_2003",
    "http_error_page", "http_500_empty", "gateway_database_error", "gateway_php_error",
)


def test_entry_ids_are_stable_ascii_names():
    ids = [entry.id for entry in catalogue().entries]
    assert set(STABLE_IDS) <= set(ids), set(STABLE_IDS) - set(ids)
    assert all(entry_id.isascii() and entry_id.replace("_", "").isalnum() for entry_id in ids)


def test_the_json_of_a_lookup_keys_by_ids_and_enums(cli):
    document = json.loads(cli("errors", "签名错误", "--json").stdout)
    assert document["matches"][0]["id"] == "sign_mismatch"
    assert document["matches"][0]["how"] == "alias"
    guessed = json.loads(cli("errors", "zzzz", "--json").stdout)
    assert not guessed["found"] and {m["how"] for m in guessed["matches"]} == {"closest"}
