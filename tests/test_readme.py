"""The README stays true: CI runs its test command, every command in --help is documented, and
the example profiles file is valid and complete."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from epaycli.core.models import PROFILE_FIELDS
from epaycli.profiles.store import _store_from_document

ROOT = Path(__file__).parent.parent
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
