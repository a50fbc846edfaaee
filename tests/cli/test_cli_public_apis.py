"""The CLI uses typer's and click's public APIs only (issue 16.8), and its help still reads the
way the README shows it."""

from __future__ import annotations

import re

import pytest
from conftest import ROOT

PACKAGE = ROOT / "epaycli"
PRIVATE = re.compile(r"^\s*(from|import)\s+(typer|click)\.(_\w+)|typer\._\w+|\bmake_metavar\s*=",
                     re.MULTILINE)


def test_no_module_imports_or_patches_typer_internals():
    found = [f"{path.relative_to(PACKAGE)}: {match.group(0).strip()}"
             for path in PACKAGE.rglob("*.py")
             for match in PRIVATE.finditer(path.read_text(encoding="utf-8"))]
    assert found == []


def test_building_the_app_patches_nothing_global():
    from typer.core import TyperArgument

    from epaycli.cli.app import build_app

    before = TyperArgument.make_metavar
    build_app(["check"])
    assert TyperArgument.make_metavar is before


def test_a_required_argument_reads_as_a_plain_name(cli):
    result = cli("check", "notify", "--help")
    assert result.code == 0
    assert "Usage: epay check notify [OPTIONS] URL\n" in result.stdout


@pytest.mark.parametrize("words", [(), ("order",), ("profile",)])
def test_a_group_named_alone_shows_its_help_on_stderr(cli, words):
    result = cli(*words)
    assert result.code == 0
    assert result.stdout == ""
    assert result.stderr.startswith(f"Usage: {' '.join(('epay', *words))} [OPTIONS] COMMAND")


def test_a_group_given_a_wrong_option_is_a_usage_error_not_help(cli):
    result = cli("order", "--bogus")
    assert result.code == 2
    assert result.stderr.startswith("epay: error: No such option: --bogus")
    assert "see 'epay order --help'" in result.stderr


def test_a_command_line_cut_short_is_a_usage_error(cli):
    result = cli("order", "list", "--limit")
    assert result.code == 2
    assert "see 'epay order list --help'" in result.stderr
