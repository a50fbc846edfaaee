"""中文: the text epay words in Simplified Chinese, chosen by EPAY_LANG or the locale, and the
English it keeps wherever a script reads (--json keys and values, ids, exit codes)."""

from __future__ import annotations

import json
import string

import pytest

from epaycli.doctor.messages import MESSAGES as DOCTOR_MESSAGES
from epaycli.messages import load_catalogue


def fields(template: str) -> set[tuple[str, str, str]]:
    return {(name, spec, conversion or "") for _, name, spec, conversion in
            string.Formatter().parse(template) if name is not None}


def test_every_doctor_message_has_its_chinese_with_the_same_fields():
    catalogue = load_catalogue("zh")
    for code, (message, fix) in DOCTOR_MESSAGES.items():
        assert fields(catalogue[f"doctor.{code}.message"]) == fields(message), code
        if fix:
            assert fields(catalogue[f"doctor.{code}.fix"]) == fields(fix), code
    known = {f"doctor.{code}.{part}" for code in DOCTOR_MESSAGES for part in ("message", "fix")}
    assert not {key for key in catalogue if key.startswith("doctor.")} - known  # none stale


@pytest.fixture
def chinese(monkeypatch):
    monkeypatch.setenv("EPAY_LANG", "zh")


def test_doctor_speaks_chinese_when_asked(cli, chinese):
    done = cli("doctor", "--offline")
    assert done.code == 0, done.stderr
    assert "配置档 sandbox" in done.stdout and "修复：" in done.stdout
    assert done.stdout.splitlines()[-1] == "2 项通过，3 项警告，0 项失败"
    assert "fix:" not in done.stdout and "passed" not in done.stdout


@pytest.mark.parametrize("variable", ["LANG", "LC_ALL", "LC_MESSAGES"])
def test_a_chinese_locale_is_enough(cli, monkeypatch, variable):
    monkeypatch.setenv(variable, "zh_CN.UTF-8")
    assert "项通过" in cli("doctor", "--offline").stdout


def test_doctor_json_is_the_same_in_both_languages_but_its_words(cli, monkeypatch):
    english = json.loads(cli("doctor", "--offline", "--json").stdout)
    monkeypatch.setenv("EPAY_LANG", "zh")
    chinese = json.loads(cli("doctor", "--offline", "--json").stdout)

    def without_words(report):
        return {**report, "checks": [{k: v for k, v in check.items()
                                      if k not in ("message", "fix")}
                                     for check in report["checks"]]}

    assert without_words(chinese) == without_words(english)
    assert [c["message"] for c in chinese["checks"]] != [c["message"] for c in english["checks"]]


def test_a_failed_doctor_says_so_in_chinese_with_exit_7(cli, chinese, monkeypatch):
    monkeypatch.setenv("EPAY_GATEWAY", "ftp://127.0.0.1:9/")
    done = cli("doctor", "--offline")
    assert done.code == 7
    assert "项检查中有" in done.stderr and "epay doctor" in done.stderr


def test_english_is_kept_for_a_stream_that_cannot_write_chinese(chinese, tmp_path):
    import io
    import os

    from epaycli.cli.main import run
    from epaycli.env import Environment

    out = io.TextIOWrapper(io.BytesIO(), encoding="ascii", errors="strict")
    err = io.TextIOWrapper(io.BytesIO(), encoding="ascii", errors="strict")
    env = Environment(None, out, err, {**os.environ, "EPAY_LANG": "zh",
                                       "XDG_CONFIG_HOME": str(tmp_path)})
    assert run(["doctor", "--offline", "--json"], env) == 0
    out.flush()
    report = json.loads(out.buffer.getvalue().decode("ascii"))
    assert report["checks"][0]["message"].startswith("profile sandbox (v1) has what it needs")


# ---- --help --------------------------------------------------------------------------------

import subprocess  # noqa: E402
import sys  # noqa: E402

from zhkit import english_left  # noqa: E402

from epaycli.messages.width import display_width  # noqa: E402


def command_paths() -> list[list[str]]:
    from typer.main import get_command

    from epaycli.cli.app import build_app
    from epaycli.env import Environment

    root = get_command(build_app([], Environment(None, sys.stdout, sys.stderr, {})))
    paths: list[list[str]] = []

    def walk(command, path):
        paths.append(path)
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, [*path, name])

    walk(root, [])
    return paths


def test_every_help_text_of_every_command_and_option_has_its_chinese():
    from typer.main import get_command

    from epaycli.cli.app import build_app
    from epaycli.cli.localize import translate_commands
    from epaycli.env import Environment
    from epaycli.messages import load_help

    english = get_command(build_app([], Environment(None, sys.stdout, sys.stderr, {})))
    assert translate_commands([english], load_help("zh")) == []


@pytest.mark.parametrize("path", command_paths(), ids=lambda p: " ".join(p) or "epay")
def test_chinese_help_leaves_no_english_sentence_and_fits_80_columns(cli, chinese, monkeypatch,
                                                                      path):
    monkeypatch.setenv("COLUMNS", "80")
    done = cli(*path, "--help")
    assert done.code == 0, done.stderr
    assert "选项：" in done.stdout and done.stdout.startswith("用法：")
    assert not english_left(done.stdout)
    for line in done.stdout.splitlines():
        assert display_width(line) <= 80 or " " not in line.strip(), line


def test_english_help_loads_no_catalogue():
    probe = ("import sys; from epaycli.cli.main import run; run(['sign', '--help']); "
             "print('epaycli.cli.localize' in sys.modules, 'tomllib' in sys.modules, "
             "file=sys.stderr)")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          timeout=60, env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"})
    assert done.stderr.strip().splitlines()[-1] == "False False", done.stderr
    assert "Sign parameters" in done.stdout


# ---- the profile's lang --------------------------------------------------------------------


@pytest.fixture
def profile_in_chinese(cli, monkeypatch):
    for variable in ("EPAY_LANG", "LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(variable, raising=False)
    done = cli("profile", "add", "shop", "--gateway", "http://127.0.0.1:9/", "--pid", "1001",
               "--key", "89unJUB8HZ54Hj7x4nUj56HN4nUzUJ8i", "--lang", "zh", "--default")
    assert done.code == 0, done.stderr


def test_the_profiles_lang_chooses_chinese_for_its_commands_and_help(cli, profile_in_chinese):
    assert "项通过" in cli("doctor", "--offline").stdout
    assert cli("--help").stdout.startswith("用法：")
    assert cli("doctor", "--help").stdout.startswith("用法：")


def test_epay_lang_and_another_profile_outrank_the_profiles_lang(cli, profile_in_chinese,
                                                               monkeypatch):
    assert "passed" in cli("doctor", "--offline", "--profile", "sandbox").stdout
    monkeypatch.setenv("EPAY_LANG", "en")
    assert "passed" in cli("doctor", "--offline").stdout
    assert cli("--help").stdout.startswith("Usage:")


def test_the_profiles_lang_outranks_the_locale(cli, profile_in_chinese, monkeypatch):
    monkeypatch.setenv("LANG", "en_US.UTF-8")
    assert "项通过" in cli("doctor", "--offline").stdout


def test_a_lang_epay_does_not_speak_is_refused_when_added(cli):
    done = cli("profile", "add", "shop", "--gateway", "http://127.0.0.1:9/", "--pid", "1001",
               "--key", "89unJUB8HZ54Hj7x4nUj56HN4nUzUJ8i", "--lang", "fr")
    assert done.code == 2 and "use en (English) or zh" in done.stderr


def test_doctor_request_says_a_diagnosed_sign_mismatch_in_chinese(cli, chinese):
    """The diagnosis core words (``&key=`` appended) keeps its words into doctor's line."""
    from epaycli.core.canonical import canonical_string
    from epaycli.core.signing import md5_hex

    key = "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6"
    request = {"pid": "1001", "out_trade_no": "20261206-0001", "type": "alipay",
               "notify_url": "https://shop.example.com/n", "return_url": "https://shop.example.com/r",
               "name": "VIP", "money": "1.00"}
    request["sign"] = md5_hex(canonical_string(request) + "&key=" + key)
    done = cli("doctor", "request", *(f"{k}={v}" for k, v in request.items()), "sign_type=MD5",
               "--offline", "--key", key)
    line = next(line for line in done.stdout.splitlines() if "request.sign" in line)
    assert "&key=" in line and not english_left(line), line
    assert key not in done.stdout
