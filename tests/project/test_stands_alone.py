"""A clone of the repository makes sense on its own: nothing the user reads points outside it,
and the protocol and exit codes are documented inside it."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import ROOT

from epaycli.core.errors import ExitCode

OUTSIDE = ("../shared", "/work/shared", "shared/spec", "shared/DESIGN")


def user_facing_files() -> list[Path]:
    return [ROOT / "README.md", ROOT / "pyproject.toml", ROOT / "profiles.example.toml",
            *sorted((ROOT / "docs").glob("*.md"))]


@pytest.mark.parametrize("path", user_facing_files(), ids=lambda p: p.name)
def test_no_file_a_user_reads_points_outside_the_repository(path):
    text = path.read_text(encoding="utf-8")
    assert not [marker for marker in OUTSIDE if marker in text], path


@pytest.mark.parametrize("args", [["--help"], ["sign", "--help"], ["verify", "--help"],
                                  ["profile", "--help"], ["profile", "add", "--help"]])
def test_no_help_points_outside_the_repository(cli, args):
    result = cli(*args)
    assert result.code == 0
    assert not [marker for marker in OUTSIDE if marker in result.stdout + result.stderr]


def test_the_readme_names_the_protocol_and_exit_code_docs():
    # named as paths, not linked: PyPI shows the README without the repository beside it
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for doc in ("docs/protocol.md", "docs/exit-codes.md"):
        assert f"`{doc}`" in readme and (ROOT / doc).is_file(), doc


def test_the_protocol_doc_covers_what_it_promises():
    text = (ROOT / "docs" / "protocol.md").read_text(encoding="utf-8")
    for heading in ("## What is signed", "## The two dialects", "## Endpoints", "## The notify",
                    "## What real servers do"):
        assert heading in text, heading
    assert "](protocol-php-order.md)" in text


def test_every_exit_code_is_in_the_exit_code_doc():
    text = (ROOT / "docs" / "exit-codes.md").read_text(encoding="utf-8")
    for code in ExitCode:
        assert f"| {int(code)} |" in text, code
