"""Every example in the README whose command is written out in full is run, in order, and must
print exactly what the README shows (stdout, then stderr): the README stays true."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

README = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")


def examples() -> list[tuple[str, list[str]]]:
    """(command line, expected output lines) from the ```console blocks, in README order."""
    found = []
    for block in re.findall(r"```console\n(.*?)```", README, flags=re.S):
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


def test_the_readme_has_examples_written_out():
    runnable = [c for c, _ in examples() if "…" not in c]
    assert len(runnable) >= 6, runnable


def test_every_written_out_example_prints_what_the_readme_shows(cli, isolated_env):
    for command, expected in examples():
        if "…" in command:  # an abbreviated command line: not runnable as written
            continue
        args = shlex.split(command)
        assert args[0] == "epay", command
        result = cli(*args[1:])
        shown = (result.stdout + result.stderr).replace(str(isolated_env), "/home/you")
        assert shown.splitlines() == expected, f"$ {command}\n{shown}"
