"""Every example in the README whose command is written out in full is run, in order, and must
print exactly what the README shows (stdout, then stderr): the README stays true. The Chinese
README's examples are run the same way, with EPAY_LANG=zh."""

from __future__ import annotations

import re
import shlex

import pytest
from conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")
READMES = {"en": README, "zh": (ROOT / "README.zh-CN.md").read_text(encoding="utf-8")}


def examples(readme: str = README) -> list[tuple[str, list[str]]]:
    """(command line, expected output lines) from the ```console blocks, in README order."""
    found = []
    for block in re.findall(r"```console\n(.*?)```", readme, flags=re.S):
        lines = block.splitlines()
        index = 0
        while index < len(lines):
            command = lines[index].removeprefix("$ ")
            while command.endswith("\\"):
                index += 1
                command = command[:-1] + lines[index].strip()
            index += 1
            output = []
            while index < len(lines) and not lines[index].startswith("$ "):
                output.append(lines[index])
                index += 1
            found.append((command, output))
    return found


@pytest.mark.parametrize(("language", "at_least"), [("en", 6), ("zh", 3)])
def test_the_readme_has_examples_written_out(language, at_least):
    written_out = [c for c, _ in examples(READMES[language]) if runnable(c)]
    assert len(written_out) >= at_least, written_out


# Commands that finish on their own, offline. Servers (mock, listen) and commands that talk to a
# gateway are shown with their real output too, but run by their own tests.
ONE_SHOT = {"sign", "verify", "profile", "errors", "doctor request"}


def runnable(command: str) -> bool:
    args = command.split()
    return ("…" not in command and len(args) > 2 and args[0] == "epay"
            and (args[1] in ONE_SHOT or " ".join(args[1:3]) in ONE_SHOT))


@pytest.mark.parametrize("language", ["en", "zh"])
def test_every_written_out_example_prints_what_the_readme_shows(cli, isolated_env, monkeypatch,
                                                                language):
    monkeypatch.setenv("EPAY_LANG", language)
    for command, expected in examples(READMES[language]):
        if not runnable(command):  # abbreviated, or a server / network command
            continue
        args = shlex.split(command)
        result = cli(*args[1:])
        shown = (result.stdout + result.stderr).replace(str(isolated_env), "/home/you")
        assert shown.splitlines() == expected, f"$ {command}\n{shown}"
