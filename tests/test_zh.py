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
