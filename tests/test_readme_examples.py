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
    written_out = [c for c, _ in examples() if runnable(c)]
    assert len(written_out) >= 6, written_out


# Commands that finish on their own, offline. Servers (mock, listen) and commands that talk to a
# gateway are shown with their real output too, but run by their own tests.
ONE_SHOT = {"sign", "verify", "profile", "errors"}


def runnable(command: str) -> bool:
    args = command.split()
    return "…" not in command and len(args) > 1 and args[0] == "epay" and args[1] in ONE_SHOT


def test_every_written_out_example_prints_what_the_readme_shows(cli, isolated_env):
    for command, expected in examples():
        if not runnable(command):  # abbreviated, or a server / network command
            continue
        args = shlex.split(command)
        result = cli(*args[1:])
        shown = (result.stdout + result.stderr).replace(str(isolated_env), "/home/you")
        assert shown.splitlines() == expected, f"$ {command}\n{shown}"
