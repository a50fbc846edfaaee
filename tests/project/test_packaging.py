"""What people who install epay get: the sdist and the wheel (built once per run), shell
completion driven through its protocol and through real shells, plain help outside a terminal,
and a README whose install section and links work from PyPI's page."""

from __future__ import annotations

import email.parser
import os
import pty
import re
import select
import shutil
import subprocess
import sys
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import ROOT, epay_executable

BOX_DRAWING = re.compile("[\u2500-\u259f]")
SKIPPED_PARTS = {"__pycache__", ".pytest_cache", ".hypothesis"}


def source_files(folder: str) -> set[str]:
    """Files under ROOT/folder as paths relative to ROOT, without caches and bytecode."""
    return {path.relative_to(ROOT).as_posix() for path in (ROOT / folder).rglob("*")
            if path.is_file() and not SKIPPED_PARTS & set(path.parts) and path.suffix != ".pyc"}


# --- the sdist and the wheel -----------------------------------------------------------------

@dataclass
class Dists:
    sdist: Path
    wheel: Path


@pytest.fixture(scope="module")
def dists(tmp_path_factory) -> Dists:
    """`python -m build` from this tree, as a packager runs it (isolated: setuptools from PyPI)."""
    pytest.importorskip("build", reason="building needs the test extra: pip install -e '.[test]'")
    out = tmp_path_factory.mktemp("dist")
    done = subprocess.run([sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)],
                          capture_output=True, text=True, timeout=540)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    sdists, wheels = list(out.glob("*.tar.gz")), list(out.glob("*.whl"))
    assert len(sdists) == len(wheels) == 1, sorted(p.name for p in out.iterdir())
    return Dists(sdists[0], wheels[0])


def sdist_names(dists: Dists) -> set[str]:
    with tarfile.open(dists.sdist) as archive:
        names = archive.getnames()
    top = names[0].split("/")[0]
    return {name.removeprefix(top + "/") for name in names}


def wheel_metadata(dists: Dists) -> email.message.Message:
    with zipfile.ZipFile(dists.wheel) as wheel:
        name = next(n for n in wheel.namelist() if n.endswith(".dist-info/METADATA"))
        return email.parser.Parser().parsestr(wheel.read(name).decode("utf-8"))


def test_twine_check_passes(dists):
    pytest.importorskip("twine", reason="twine comes with the test extra")
    done = subprocess.run([sys.executable, "-m", "twine", "check", "--strict",
                           str(dists.sdist), str(dists.wheel)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("PASSED") == 2, done.stdout


def test_wheel_holds_the_licence_py_typed_and_every_package_file(dists):
    with zipfile.ZipFile(dists.wheel) as wheel:
        names = set(wheel.namelist())
        licences = [n for n in names if n.endswith(".dist-info/licenses/LICENSE")]
        assert len(licences) == 1, sorted(names)
        assert wheel.read(licences[0]).decode() == (ROOT / "LICENSE").read_text()
    assert "epaycli/py.typed" in names
    # Data files inside the package (py.typed, catalogues…) ship, not only modules.
    assert source_files("epaycli") <= names
    assert not {n for n in names if n.startswith(("tests/", "bench/"))}


def test_wheel_metadata_is_what_an_installer_looks_for(dists):
    metadata = wheel_metadata(dists)
    assert metadata["Name"] == "epaycli"
    assert metadata["License-Expression"] == "MIT"
    assert metadata.get_all("License-File") == ["LICENSE"]
    assert metadata["Requires-Python"] == ">=3.11"
    assert metadata["Author"] and "epay" in metadata["Keywords"].split(",")
    classifiers = metadata.get_all("Classifier")
    for version in ("3.11", "3.12", "3.13"):
        assert f"Programming Language :: Python :: {version}" in classifiers
    assert "Typing :: Typed" in classifiers
    # With an SPDX expression, a licence classifier is redundant (and rejected by setuptools).
    assert not [c for c in classifiers if c.startswith("License ::")]
    assert metadata["Description-Content-Type"] == "text/markdown"
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert metadata.get_payload().strip() == readme.strip()


def test_classifiers_are_ones_pypi_accepts(dists):
    trove = pytest.importorskip("trove_classifiers", reason="comes with the test extra")
    classifiers = wheel_metadata(dists).get_all("Classifier")
    assert classifiers and not set(classifiers) - trove.classifiers


def test_wheel_installs_the_epay_command(dists):
    with zipfile.ZipFile(dists.wheel) as wheel:
        name = next(n for n in wheel.namelist() if n.endswith(".dist-info/entry_points.txt"))
        entry_points = wheel.read(name).decode()
    assert re.search(r"^\[console_scripts\]\s*\nepay = epaycli\.cli\.console:main$", entry_points,
                     re.MULTILINE), entry_points


def tracked_files() -> set[str] | None:
    """What git tracks in this tree; None outside a git checkout (an unpacked sdist)."""
    if not (ROOT / ".git").exists() or shutil.which("git") is None:
        return None
    done = subprocess.run(["git", "-C", str(ROOT), "ls-files", "-z"], capture_output=True,
                          timeout=60)
    return set(done.stdout.decode().split("\0")) - {""} if done.returncode == 0 else None


# Tracked files a packager has no use for.
NOT_SHIPPED = {".gitignore"}


def test_sdist_holds_the_tests_their_data_and_the_documents(dists):
    names = sdist_names(dists)
    missing = (source_files("tests") | source_files("epaycli") | source_files("bench")) - names
    assert not missing, sorted(missing)
    tracked = tracked_files()
    if tracked is not None:  # every file of the project: what the suite reads is among them
        assert not tracked - NOT_SHIPPED - names, sorted(tracked - NOT_SHIPPED - names)
    for document in ("LICENSE", "CHANGELOG.md", "CONTRIBUTING.md", "README.md", "README.zh-CN.md",
                     "docs/zh-CN/protocol.md",
                     "profiles.example.toml", "pyproject.toml", ".ci/run"):
        assert document in names, document
    assert "tests/conftest.py" in names and any(re.fullmatch(r"tests/vectors/.+\.json", n)
                                                for n in names)
    assert not {n for n in names if "__pycache__" in n or n.endswith(".pyc")}


# What the unpacked sdist runs: the file check above proves that everything the suite reads is
# shipped; this proves the shipped tree imports its own epaycli and runs, over a cross-section
# that touches every kind of data file (vectors, catalogues, README examples, docs, inspector
# page, the local gateway and listener) without running the whole suite a second time.
SDIST_SUITE = ["tests/core", "tests/messages", "tests/catalogue", "tests/project",
               "tests/cli/test_cli.py", "tests/mock/test_mock_http.py",
               "tests/listener/test_inspector.py", "tests/demo"]


@pytest.mark.sdist  # its own step in .ci/run
def test_unpacked_sdist_passes_its_own_tests(dists, tmp_path):
    """What a distro packager runs. The unpacked tree's own epaycli is the one imported."""
    with tarfile.open(dists.sdist) as archive:
        # The "data" filter (Python >= 3.11.4) refuses links and paths out of the folder.
        safe = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
        archive.extractall(tmp_path / "sdist", **safe)
    (unpacked,) = (tmp_path / "sdist").iterdir()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    imported = subprocess.run([sys.executable, "-c", "import epaycli; print(epaycli.__file__)"],
                              cwd=unpacked, capture_output=True, text=True, env=env, timeout=60)
    assert Path(imported.stdout.strip()).is_relative_to(unpacked), imported.stdout
    assert all((unpacked / part).exists() for part in SDIST_SUITE)
    # Its own packaging tests would build again, from the sdist: once per run is enough.
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider",
                           "--ignore=tests/project/test_packaging.py", *SDIST_SUITE],
                          cwd=unpacked, capture_output=True, text=True, env=env, timeout=540)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert re.search(r"\d+ passed", done.stdout)


# --- shell completion ----------------------------------------------------------------------

def complete(shell: str, words: list[str], env: dict[str, str]) -> str:
    """Ask the real console script for completions, as the scripts of `epay completion` do."""
    if shell == "bash":
        protocol = {"COMP_WORDS": " ".join(words), "COMP_CWORD": str(len(words) - 1)}
    else:
        protocol = {"_TYPER_COMPLETE_ARGS": " ".join(words),
                    "_TYPER_COMPLETE_FISH_ACTION": "get-args"}
    done = subprocess.run([epay_executable()], capture_output=True, text=True, timeout=60,
                          env={**env, "_EPAY_COMPLETE": f"complete_{shell}", **protocol})
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    return done.stdout


@pytest.fixture
def env(isolated_env):
    return {**os.environ, "HOME": str(isolated_env)}


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
@pytest.mark.parametrize(("words", "expected"), [
    (["epay", "pro"], "profile"),
    (["epay", "sign", "--bl"], "--blanks"),
    (["epay", "sign", "--blanks", "dr"], "drop"),
    (["epay", "profile", "re"], "remove"),
    (["epay", "completion", "z"], "zsh"),
])
def test_completion_protocol_completes_commands_options_and_values(shell, words, expected, env):
    out = complete(shell, words, env)
    if shell == "bash":
        assert out.split() == [expected]
    elif shell == "zsh":
        assert re.findall(r'\(\("([^"]+)"', out) == [expected], out
    else:
        assert [line.split("\t")[0] for line in out.splitlines() if line.startswith(words[-1])] \
            == [expected], out


@pytest.mark.parametrize("shell", ["bash", "zsh"])
def test_completion_offers_nothing_for_what_does_not_exist(shell, env):
    out = complete(shell, ["epay", "zz"], env)
    assert out.strip() in ("", "_files"), out


def test_completion_lists_every_command(env):
    assert set(complete("bash", ["epay", ""], env).split()) >= {"sign", "verify", "profile",
                                                                 "completion"}


def shell_env(env: dict[str, str]) -> dict[str, str]:
    """PATH leads to this epay, as it would after an install."""
    return {**env, "PATH": f"{Path(epay_executable()).parent}{os.pathsep}{env.get('PATH', '')}"}


def test_bash_completes_through_the_printed_script(env):
    if not shutil.which("bash"):
        pytest.skip("bash is not installed")
    script = ('eval "$(epay completion bash)"\n'
              'COMP_WORDS=(epay pro); COMP_CWORD=1; _epay_completion epay; echo "${COMPREPLY[*]}"\n'
              'COMP_WORDS=(epay sign --bl); COMP_CWORD=2; _epay_completion epay; '
              'echo "${COMPREPLY[*]}"\n'
              'complete -p epay\n')
    done = subprocess.run(["bash", "--norc", "--noprofile", "-c", script], capture_output=True,
                          text=True, env=shell_env(env), timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["profile", "--blanks",
                                        "complete -o default -F _epay_completion epay"]


def test_zsh_completes_through_the_printed_script(env):
    if not shutil.which("zsh"):
        pytest.skip("zsh is not installed")
    # compsys needs an interactive terminal; stand-ins for compdef and _arguments show what the
    # script would hand to it.
    script = ('compdef() { print -r -- "compdef $*"; }\n'
              '_arguments() { print -r -- "$@"; }\n'
              'eval "$(epay completion zsh)"\n'
              'words=(epay pro); CURRENT=2; _epay_completion\n'
              'words=(epay sign --bl); CURRENT=3; _epay_completion\n')
    done = subprocess.run(["zsh", "-f", "-c", script], capture_output=True, text=True,
                          env=shell_env(env), timeout=60)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "compdef _epay_completion epay"
    assert lines[1].startswith('*: :(("profile":"Manage merchant profiles')
    assert lines[2].startswith('*: :(("--blanks":"Whitespace-only values')


def test_fish_completes_through_the_printed_script(env):
    if not shutil.which("fish"):
        pytest.skip("fish is not installed")
    script = 'epay completion fish | source; complete -C "epay pro"; complete -C "epay sign --bl"'
    done = subprocess.run(["fish", "--no-config", "-c", script], capture_output=True, text=True,
                          env=shell_env(env), timeout=60)
    assert done.returncode == 0, done.stderr
    assert [line.split("\t")[0] for line in done.stdout.splitlines()] == ["profile", "--blanks"]


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_prints_the_script_for_the_shell(shell, cli):
    result = cli("completion", shell)
    assert result.code == 0 and result.stderr == ""
    assert f"_EPAY_COMPLETE=complete_{shell}" in result.stdout
    assert "epay" in result.stdout.splitlines()[-1]


@pytest.mark.parametrize(("args", "says"), [
    (["completion"], "epay: error: which shell? — name one: epay completion bash"),
    (["completion", "sh"], "epay: error: no completion for the shell 'sh' — name one"),
    (["completion", "bash", "zsh"], "epay: error: Got unexpected extra argument(s) (zsh)"),
])
def test_completion_without_a_known_shell_is_a_usage_error(args, says, cli):
    result = cli(*args)
    assert result.code == 2 and result.stdout == ""
    assert result.stderr.startswith(says) and result.stderr.count("\n") == 1, result.stderr


# --- help outside a terminal ---------------------------------------------------------------

def command_paths() -> list[list[str]]:
    """Every command and group under epay, as the words that name it."""
    import typer

    from epaycli.cli.app import build_app

    paths: list[list[str]] = []

    def walk(command, path):
        paths.append(path)
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, [*path, name])

    walk(typer.main.get_command(build_app()), [])
    return paths


def assert_plain(text: str) -> None:
    assert "\x1b" not in text, text
    assert not BOX_DRAWING.search(text), text
    for line in text.splitlines():
        assert line == line.rstrip(), f"padded: {line!r}"
        assert not re.search(r"\w\.\.\.$", line), f"cut short: {line!r}"  # not "[ARGS]..."
        # A word broken at its hyphen ("--private-" / "key"); "FILE|-" ends in a lone hyphen.
        assert not re.search(r"\w-$", line), f"broken at a hyphen: {line!r}"


@pytest.mark.parametrize("path", command_paths(), ids=lambda p: " ".join(["epay", *p]))
def test_every_help_page_is_plain_text_outside_a_terminal(path, cli):
    result = cli(*path, "--help")
    assert result.code == 0, result.stderr
    assert result.stdout.startswith("Usage: epay")
    assert_plain(result.stdout)


def test_help_wraps_at_any_width_without_breaking_a_word(cli, monkeypatch):
    for columns in range(50, 101):
        monkeypatch.setenv("COLUMNS", str(columns))  # the width click wraps plain help to
        for path in ([], ["sign"], ["verify"], ["profile", "add"]):
            text = cli(*path, "--help").stdout
            assert_plain(text)
            assert max(len(line) for line in text.splitlines()) <= max(columns, 50)


def test_help_lists_each_command_by_its_whole_first_sentence(cli):
    listing = " ".join(cli("--help").stdout.split())
    assert "sign Sign parameters (MD5 with the merchant key, or RSA with --private-key)." in listing
    assert "verify Verify a pasted notify or return callback; exit 0 if genuine, 3 if not." \
        in listing


def test_help_piped_through_cat_is_plain_even_under_ci(env):
    """`epay --help | cat` in GitHub Actions, where rich would force colour on."""
    done = subprocess.run(["sh", "-c", '"$0" --help | cat', epay_executable()],
                          capture_output=True, text=True, timeout=60,
                          env={**env, "GITHUB_ACTIONS": "true"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Usage: epay [OPTIONS] COMMAND [ARGS]...")
    assert_plain(done.stdout)


def run_on_a_terminal(args: list[str], env: dict[str, str]) -> str:
    """Output of the real console script with a pseudo-terminal as stdout."""
    leader, follower = pty.openpty()
    try:
        process = subprocess.Popen([epay_executable(), *args], stdin=subprocess.DEVNULL,
                                   stdout=follower, stderr=follower, env=env)
    finally:
        os.close(follower)
    seen = b""
    try:
        while True:
            ready, _, _ = select.select([leader], [], [], 30)
            if not ready:
                break
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            seen += chunk
        assert process.wait(timeout=30) == 0, seen
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(leader)
    return seen.decode("utf-8").replace("\r\n", "\n")


@pytest.mark.parametrize("setting", [{"NO_COLOR": "1"}, {"TERM": "dumb"}])
def test_help_on_a_terminal_is_plain_with_no_color_or_a_dumb_terminal(setting, env):
    text = run_on_a_terminal(["sign", "--help"], {**env, "TERM": "xterm-256color", **setting})
    assert text.startswith("Usage: epay sign")
    assert_plain(text)


def test_help_on_a_colour_terminal_is_drawn_by_rich(env):
    env = {k: v for k, v in env.items() if k not in ("NO_COLOR", "TERM")}
    text = run_on_a_terminal(["sign", "--help"], {**env, "TERM": "xterm-256color"})
    assert "\x1b[" in text and BOX_DRAWING.search(text)


PROBE = """
import json, sys
from epaycli.cli.main import run
code = run(sys.argv[1:])
print(json.dumps({"code": int(code), "rich": "rich" in sys.modules}), file=sys.stderr)
"""


@pytest.mark.parametrize("args", [["--help"], ["sign", "--help"], ["completion", "bash"]])
def test_plain_help_and_the_completion_script_do_not_import_rich(args, tmp_path):
    done = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True,
                          env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}, timeout=60)
    report = done.stderr.strip().splitlines()[-1]
    assert report == '{"code": 0, "rich": false}', done.stderr


# --- the README, as PyPI shows it ----------------------------------------------------------

README = (ROOT / "README.md").read_text(encoding="utf-8")


def install_section() -> str:
    return README.split("\n## Install\n", 1)[1].split("\n## ", 1)[0]


def test_readme_install_section_leads_with_pipx_and_uv():
    section = install_section()
    first_block = section.split("```sh\n", 1)[1].split("```", 1)[0]
    assert first_block.startswith("pipx install epaycli")
    assert "uv tool install epaycli" in first_block
    assert "`epay` on PyPI is" in section  # the name someone else's project has
    assert "uv tool install --compile-bytecode epaycli" in section
    assert "PYTHONDONTWRITEBYTECODE" in section
    for shell in ("bash", "zsh", "fish"):
        assert f"epay completion {shell}" in section


def test_readme_links_work_from_pypi():
    """PyPI shows the README without the repository: a relative link there leads nowhere."""
    targets = re.findall(r"\]\(([^)]*)\)", README) + re.findall(r'(?:href|src)="([^"]*)"', README)
    relative = [t for t in targets if not re.match(r"https?://", t)]
    assert not relative, relative
