"""Profiles files people really have (issue 15.6, 15.8): saved by Notepad with a BOM, copied
from the example with mode 0644, its placeholder key left in, comments the user wrote; and
`profile add` on a terminal checking each answer as it is given."""

from __future__ import annotations

import os
import pty

import pytest
from conftest import epay_executable
from test_console_script import KEY, end_terminal, exit_code_of

PROFILES = """\
# my shops — keep this comment
default = "shop"

[profiles.shop]   # the live one
gateway = "https://pay.example.com/"
pid = "1001"
key = "{key}"  # from the admin page

# staging below
[profiles.staging]
gateway = "https://staging.example.com/"
pid = "1002"
key = "{key}"
"""


def _write(config_file, text: str | bytes, mode: int = 0o600) -> None:
    config_file.parent.mkdir(parents=True, exist_ok=True)
    config_file.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    config_file.chmod(mode)


def test_a_file_saved_with_a_bom_is_read(cli, config_file):
    _write(config_file, b"\xef\xbb\xbf" + PROFILES.format(key=KEY).encode())
    listed = cli("profile", "list")
    assert listed.code == 0, listed.stderr
    assert "shop" in listed.stdout and "staging" in listed.stdout
    assert cli("profile", "use", "staging").code == 0
    assert cli("profile", "show", "--json").code == 0


def test_a_file_others_can_read_is_used_with_a_warning_and_the_fix(cli, config_file):
    _write(config_file, PROFILES.format(key=KEY), mode=0o644)
    for command in (["profile", "list"], ["sign", "a=1"], ["verify", "a=1&sign=x"]):
        result = cli(*command)
        assert "can be read by other users (mode 644)" in result.stderr, command
        assert f"chmod 600 {config_file}" in result.stderr
    _write(config_file, PROFILES.format(key=KEY), mode=0o600)
    assert "other users" not in cli("profile", "list").stderr


def test_the_examples_placeholder_key_is_refused_with_why(cli, config_file):
    placeholder = "REPLACE_WITH_YOUR_32_CHARACTER_KEY"
    _write(config_file, PROFILES.format(key=placeholder))
    signed = cli("sign", "a=1")
    assert signed.code == 6 and signed.stdout == ""
    assert "placeholder" in signed.stderr and "epay: error:" in signed.stderr
    assert cli("sign", "a=1", "--key", placeholder).code == 6
    added = cli("profile", "add", "x", "--gateway", "https://p.example.com", "--pid", "1",
                "--key", placeholder)
    assert added.code == 6 and "placeholder" in added.stderr


def test_add_use_and_remove_keep_the_users_comments(cli, config_file):
    _write(config_file, PROFILES.format(key=KEY))
    assert cli("profile", "add", "third", "--gateway", "https://third.example.com", "--pid",
               "1003", "--key", KEY).code == 0
    assert cli("profile", "use", "staging").code == 0
    assert cli("profile", "add", "shop", "--gateway", "https://pay.example.com/", "--pid",
               "2001", "--key", KEY, "--force").code == 0
    assert cli("profile", "remove", "third").code == 0
    text = config_file.read_text()
    for comment in ("# my shops — keep this comment", "# the live one", "# from the admin page",
                    "# staging below"):
        assert comment in text, text
    assert 'default = "staging"' in text and 'pid = "2001"' in text and "third" not in text
    assert os.stat(config_file).st_mode & 0o777 == 0o600
    listed = cli("profile", "list", "--json")
    assert listed.code == 0 and "staging" in listed.stdout


class _Transcript:
    """What the terminal showed, read on until each marker appears after the last one."""

    def __init__(self, fd: int) -> None:
        self.fd, self.text, self._at = fd, b"", 0

    def wait_for(self, marker: bytes) -> None:
        while marker not in self.text[self._at:]:
            self.text += _read_some(self.fd)
        self._at = self.text.index(marker, self._at) + len(marker)


def _read_some(fd: int, timeout: float = 10.0) -> bytes:
    import select

    ready, _, _ = select.select([fd], [], [], timeout)
    if not ready:
        raise AssertionError("the terminal showed nothing more")
    chunk = os.read(fd, 4096)
    if not chunk:
        raise AssertionError("the terminal closed")
    return chunk


@pytest.fixture
def env(isolated_env):
    return {**os.environ, "HOME": str(isolated_env), "NO_COLOR": "1"}


def test_interactive_add_checks_the_pid_before_the_key_is_asked(env, isolated_env):
    child, leader = pty.fork()
    if child == 0:  # pragma: no cover - the child process
        os.execve(epay_executable(), ["epay", "profile", "add", "shop"], env)
    seen = _Transcript(leader)
    try:
        seen.wait_for(b"Gateway")
        os.write(leader, b"not a url\n")
        seen.wait_for(b"not an http(s) URL")
        seen.wait_for(b"Gateway")  # asked again
        os.write(leader, b"https://pay.example.com\n")
        seen.wait_for(b"Merchant id")
        os.write(leader, b"abc\n")
        seen.wait_for(b"is not a number")
        assert "商户密钥".encode() not in seen.text  # said before the key is asked
        seen.wait_for(b"Merchant id")
        os.write(leader, b"1001\n")
        seen.wait_for("商户密钥): ".encode())
        os.write(leader, KEY.encode() + b"\n")
        seen.wait_for(b"saved profile")
        assert exit_code_of(child) == 0
    finally:
        end_terminal(child, leader)
    assert KEY.encode() not in seen.text
    saved = (isolated_env / ".config" / "epay" / "profiles.toml").read_text()
    assert 'pid = "1001"' in saved and 'gateway = "https://pay.example.com/"' in saved


def test_a_key_pasted_into_a_field_name_is_masked_when_the_field_is_refused(cli, tmp_path,
                                                                           monkeypatch):
    """Found by bench/fuzz_hostile.py: a key spliced into a name was quoted whole."""
    config = tmp_path / "profiles.toml"
    config.write_text('[profiles.shop]\ngateway = "https://pay.example.com/"\npid = "1001"\n'
                      'nQz7TnW4kLp9XvB2mRc8YhJ5dFs3GaEotify_url = "x"\n', encoding="utf-8")
    config.chmod(0o600)
    monkeypatch.setenv("EPAY_CONFIG", str(config))
    done = cli("sign", "pid=1001", "money=1", "--profile", "shop")
    assert done.code == 6 and "unknown fields" in done.stderr
    assert "nQz7TnW4kLp9XvB2" not in done.stderr and "nQz7…" in done.stderr
