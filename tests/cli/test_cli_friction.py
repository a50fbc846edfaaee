"""Friction a new user meets (issue 15.8): every option and argument explains itself in
--help; shell completion offers profile names and error ids."""

from __future__ import annotations

import pytest
from typer.main import get_command

from epaycli.cli.app import build_app
from epaycli.env import Environment


def _leaves(command, path):
    children = getattr(command, "commands", None)
    if not children:
        yield path, command
        return
    for name, child in children.items():
        yield from _leaves(child, [*path, name])


def test_every_option_and_argument_has_a_help_text():
    root = get_command(build_app(["--help"], Environment.from_process()))
    silent = [f"{' '.join(path)} {param.opts[0]}" for path, command in _leaves(root, ["epay"])
              for param in command.params
              if param.name != "help" and not getattr(param, "hidden", False)
              and not getattr(param, "help", None)]
    assert silent == []


@pytest.fixture
def completions(cli, monkeypatch):
    """What the bash completion protocol offers for a command line (through epay's boundary)."""
    def offered(*words: str) -> list[str]:
        monkeypatch.setenv("_EPAY_COMPLETE", "complete_bash")
        monkeypatch.setenv("COMP_WORDS", " ".join(["epay", *words]))
        monkeypatch.setenv("COMP_CWORD", str(len(words)))
        result = cli()
        assert result.code == 0 and "Traceback" not in result.stderr, result.stderr
        return result.stdout.split()
    return offered


def test_completion_offers_profile_names(completions, config_file):
    config_file.parent.mkdir(parents=True)
    config_file.write_text('[profiles.shop]\npid = "1"\n[profiles.staging]\npid = "2"\n')
    config_file.chmod(0o600)
    assert completions("sign", "--profile", "s") == ["shop", "staging", "sandbox"]
    assert completions("order", "query", "-p", "sh") == ["shop"]


def test_completion_of_profiles_survives_a_broken_file(completions, config_file):
    config_file.parent.mkdir(parents=True)
    config_file.write_text("this is [ not toml")
    assert completions("sign", "--profile", "") == ["sandbox"]


def test_completion_offers_error_ids(completions):
    offered = completions("errors", "sign_")
    assert "sign_mismatch" in offered and all(o.startswith("sign_") for o in offered)
