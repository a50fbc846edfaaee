"""The README stays true: CI runs its test command, every command in --help is documented, and
the example profiles file is valid and complete."""

from __future__ import annotations

import re
import tomllib

from conftest import ROOT

from epaycli.core.models import PROFILE_FIELDS
from epaycli.profiles.store import _store_from_document

README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_ci_runs_the_readme_test_command():
    steps = (ROOT / ".ci" / "run").read_text().splitlines()
    command = ("python3 -m venv .venv && .venv/bin/pip install -e '.[test]'"
               " && .venv/bin/python -m pytest")
    assert command in steps  # a line of its own, run as it is written
    assert f"```sh\n{command}\n```" in README


def listed_commands(help_text: str) -> list[str]:
    """The names in the "Commands:" section of plain (piped) help."""
    section = help_text.split("\nCommands:\n", 1)[1].split("\n\n", 1)[0]
    return re.findall(r"^  (\w[\w-]*)  ", section, re.MULTILINE)


def test_every_command_in_help_is_in_the_readme(cli):
    commands = set(listed_commands(cli("--help").stdout))
    assert {"sign", "verify", "profile"} <= commands
    for command in commands:
        assert f"## `epay {command}`" in README, command
    subcommands = listed_commands(cli("profile", "--help").stdout)
    assert {"add", "list", "show", "use", "remove", "path"} <= set(subcommands)
    for sub in subcommands:
        assert f"epay profile {sub}" in README, sub


def test_every_exit_code_is_documented():
    from epaycli.core.errors import ExitCode

    for code in ExitCode:
        assert f"| {int(code)} |" in README


def test_example_profiles_file_is_valid_and_documents_every_field():
    path = ROOT / "profiles.example.toml"
    document = tomllib.loads(path.read_text(encoding="utf-8"))
    store = _store_from_document(document, path)
    assert store.default in store.profiles
    documented = {key for table in document["profiles"].values() for key in table}
    assert documented == set(PROFILE_FIELDS) - {"name"}


# ---- the Chinese README ---------------------------------------------------------------------

README_ZH = (ROOT / "README.zh-CN.md").read_text(encoding="utf-8")


def test_the_chinese_readme_is_linked_from_the_first_lines_and_links_back():
    # named, not linked: PyPI shows README.md without the files beside it
    assert "`README.zh-CN.md`" in "\n".join(README.splitlines()[:5])
    assert "(README.md)" in "\n".join(README_ZH.splitlines()[:5])


def test_the_chinese_readme_has_the_same_sections_and_the_same_two_commands():
    def sections(text):
        return re.findall(r"^##+ .*$", text, flags=re.M)

    assert [s for s in sections(README_ZH) if "`" in s] == \
        [s for s in sections(README) if "`" in s]
    assert len(sections(README_ZH)) == len(sections(README))
    for command in ("python3 -m venv .venv && .venv/bin/pip install -e . && .venv/bin/epay demo",
                    "python3 -m venv .venv && .venv/bin/pip install -e '.[test]'"
                    " && .venv/bin/python -m pytest"):
        assert f"```sh\n{command}\n```" in README and f"```sh\n{command}\n```" in README_ZH


def test_the_chinese_docs_exist_for_what_a_merchant_reads_first():
    for page in ("protocol.md", "exit-codes.md"):
        english = (ROOT / "docs" / page).read_text(encoding="utf-8")
        chinese = (ROOT / "docs" / "zh-CN" / page).read_text(encoding="utf-8")
        assert f"(zh-CN/{page})" in english and f"(../{page})" in chinese
