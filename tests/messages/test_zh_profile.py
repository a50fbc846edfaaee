"""中文 for ``epay profile``, ``epay errors`` and ``epay completion`` (issue 17): every message
id has its Chinese with the same fields, the commands under EPAY_LANG=zh speak Chinese with no
English sentence left, the errors catalogue shows each entry's Chinese, and ``--json`` is the
same in both languages."""

from __future__ import annotations

import json

import pytest
from test_zh_order import check_area, no_english_left

from epaycli.catalogue.lookup import catalogue
from epaycli.cli import catalogue as errors_command
from epaycli.cli import profile
from epaycli.messages import load_catalogue
from epaycli.profiles import resolve, store, validate

KEY = "89unJUB8HZ54Hj7x4nUj56HN4nUzUJ8i"


@pytest.mark.parametrize(("prefix", "table", "own"), [
    ("profile", profile.MESSAGES, ("column", "label")),
    ("catalogue", errors_command.MESSAGES, ("column", "label")),
])
def test_every_profile_and_errors_message_has_its_chinese_with_the_same_fields(prefix, table,
                                                                               own):
    check_area(prefix, table, own=own)


def test_every_note_about_profiles_has_its_chinese_and_one_wording():
    merged: dict = {"built_in": resolve.BUILT_IN}
    for table in (resolve.MESSAGES, store.MESSAGES, validate.MESSAGES):
        for message_id, english in table.items():
            assert merged.setdefault(message_id, english) == english, message_id
    check_area("profiles", merged)


def test_every_catalogue_entry_has_its_cause_and_fix_in_chinese():
    chinese = load_catalogue("zh")
    ids = {entry.id for entry in catalogue().entries}
    for entry_id in ids:
        for part in ("cause", "fix"):
            said = chinese.get(f"errors_catalogue.{entry_id}.{part}", "")
            assert any("\u4e00" <= ch <= "\u9fff" for ch in said), (entry_id, part)
    assert {key.split(".")[1] for key in chinese if key.startswith("errors_catalogue.")} == ids


@pytest.fixture
def chinese(monkeypatch):
    monkeypatch.setenv("EPAY_LANG", "zh")


def test_profile_add_list_show_use_remove_speak_chinese(cli, chinese, config_file):
    added = cli("profile", "add", "shop", "--gateway", "https://pay.example.com/submit.php",
                "--pid", "1001", "--key", KEY, "--notify-url", "http://192.168.1.5/notify")
    assert added.code == 0, added.stderr
    assert "网关地址指向一个页面 submit.php：已保存为网站根地址" in added.stderr
    assert "notify_url 指向 192.168.1.5" in added.stderr
    assert "已把配置档 'shop'（默认）保存到 " in added.stderr
    listed = cli("profile", "list")
    assert listed.stdout.split()[:6] == ["默认", "名称", "网关", "协议", "商户ID", "商户密钥"]
    assert "89un…UJ8i" in listed.stdout
    shown = cli("profile", "show", "shop")
    assert shown.stdout.splitlines()[0].split() == ["名称", "shop"]
    assert "异步通知地址" in shown.stdout and KEY not in shown.stdout
    sandbox = cli("profile", "show", "sandbox")
    assert "内置；指向本机网关（epay mock）" in sandbox.stdout
    used = cli("profile", "use", "shop")
    assert used.code == 0 and "默认配置档现在是 'shop'" in used.stderr
    removed = cli("profile", "remove", "shop")
    assert "已删除配置档 'shop'" in removed.stderr and "现在没有默认配置档" in removed.stderr
    empty = cli("profile", "list")
    assert "还没有配置档" in empty.stderr
    for done in (added, listed, shown, sandbox, used, removed, empty):
        no_english_left(done.stdout + done.stderr, "built-in sandbox")


def test_profile_errors_are_said_in_chinese(cli, chinese, config_file):
    assert cli("profile", "add", "shop", "--gateway", "https://pay.example.com/", "--pid",
               "1001", "--key", KEY).code == 0
    again = cli("profile", "add", "shop", "--gateway", "https://pay.example.com/", "--pid",
                "1001", "--key", KEY)
    assert again.code == 2 and again.stderr == \
        "epay: 错误：配置档 'shop' 已存在 — 加上 --force 替换它\n"
    bad_pid = cli("profile", "add", "x", "--gateway", "https://pay.example.com/", "--pid",
                  "12a", "--key", KEY)
    assert bad_pid.code == 2 and "pid '12a' 不是数字 — 商户ID是数字" in bad_pid.stderr
    unknown = cli("profile", "show", "nope")
    assert unknown.code == 6 and "没有名为 'nope' 的配置档（已有：shop）" in unknown.stderr
    empty_flag = cli("order", "query", "A1", "--pid", "", "--dry-run")
    assert empty_flag.code == 6 and empty_flag.stderr.startswith("epay: 错误：--pid 为空 — ")
    config_file.write_text("[profiles.shop]\nbogus = 1\n", encoding="utf-8")
    broken = cli("profile", "list")
    assert broken.code == 6 and "有未知字段：bogus" in broken.stderr
    for done in (again, bad_pid, unknown, broken, empty_flag):
        no_english_left(done.stderr)


def test_a_variable_set_empty_is_said_in_chinese_with_the_clis_advice(cli, chinese,
                                                                    monkeypatch):
    monkeypatch.setenv("EPAY_KEY", "")
    done = cli("order", "query", "A1", "--dry-run")
    assert done.code == 6
    assert done.stderr == ("epay: 错误：设置了 EPAY_KEY，但它是空的 — 请给一个值，或不写这个"
                           "选项/变量（是不是用了未设置的 shell 变量？）\n")


def test_the_warning_about_a_profiles_file_others_can_read_is_said_in_chinese(cli, chinese,
                                                                            config_file):
    config_file.parent.mkdir(parents=True)
    config_file.write_text(f'[profiles.shop]\ngateway = "https://pay.example.com/"\n'
                           f'pid = "1001"\nkey = "{KEY}"\n', encoding="utf-8")
    config_file.chmod(0o644)
    done = cli("order", "query", "A1", "--profile", "shop", "--dry-run")
    assert done.code == 0, done.stderr
    assert "其他用户可以读取（权限 644），而它保存着商户密钥" in done.stderr
    listed = cli("profile", "list")
    assert listed.stderr.startswith("警告：配置档文件 ")
    for said in (done, listed):
        no_english_left(said.stderr)


def test_errors_code_and_message_show_the_chinese_explanation(cli, chinese):
    by_code = cli("errors", "-3")
    assert by_code.code == 0, by_code.stderr
    assert by_code.stdout.splitlines()[:2] == ["代码  -3", "含义  商户认证或签名错误"]
    assert "带有这个 code 的消息：" in by_code.stdout
    by_message = cli("errors", "签名校验失败")
    assert by_message.code == 0, by_message.stderr
    text = by_message.stdout
    assert "含义" in text and "原因" in text and "解决办法" in text
    assert "按参数名排序" in text and "The signed string" not in text
    listed = cli("errors", "--list")
    assert listed.stdout.split()[:4] == ["编号", "代码", "消息", "含义"]
    assert "共 55 条" in listed.stderr
    nothing = cli("errors", "12345")
    assert nothing.code == 2 and "不是易支付网关会应答的 code" in nothing.stderr
    shell = cli("completion", "tcsh")
    assert shell.code == 2 and "没有适用于 shell 'tcsh' 的补全脚本" in shell.stderr
    for done in (by_code, by_message, nothing, shell):
        no_english_left(done.stdout + done.stderr, "sign --explain", "epay verify")


def test_profile_and_errors_json_are_the_same_in_both_languages(cli, monkeypatch, config_file):
    assert cli("profile", "add", "shop", "--gateway", "https://pay.example.com/", "--pid",
               "1001", "--key", KEY).code == 0
    runs = [("profile", "list", "--json"), ("profile", "show", "shop", "--json"),
            ("profile", "show", "sandbox", "--json"), ("errors", "-3", "--json"),
            ("errors", "签名校验失败", "--json"), ("errors", "--list", "--json")]
    english = [cli(*args).stdout for args in runs]
    monkeypatch.setenv("EPAY_LANG", "zh")
    assert [cli(*args).stdout for args in runs] == english
    assert all(json.loads(text) for text in english)
