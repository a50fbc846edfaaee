"""The layout rules of DESIGN.md, checked: arrows point one way, core is pure, rich stays in
render, and heavy libraries stay off the start-up path of commands that do not use them."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT

PACKAGE = ROOT / "epaycli"
# What core may not touch: network, files, clock, processes, printing libraries.
IMPURE = {"os", "pathlib", "time", "datetime", "socket", "http", "urllib.request", "httpx",
          "rich", "typer", "sqlite3", "subprocess", "shutil", "tempfile", "io", "sys", "pyngrok",
          "segno", "tomllib", "tomli_w", "tomlkit"}
HEAVY = ["httpx", "rich", "pyngrok", "cryptography", "segno", "http.server", "pydantic"]


def modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def imports_of(path: Path) -> list[str]:
    """Absolute names of everything a module imports (relative imports resolved)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    package = parts[:-1]  # the package a relative import starts from (also for __init__)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                prefix = ".".join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module or ""
            found.append(prefix)
            found.extend(f"{prefix}.{alias.name}" for alias in node.names)
    return found


def layer(name: str) -> str:
    parts = name.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "epaycli" else ""


@pytest.mark.parametrize("path", [p for p in modules() if "core" in p.parts],
                         ids=lambda p: p.name)
def test_core_imports_only_core_and_nothing_impure(path):
    for name in imports_of(path):
        if name.startswith("epaycli"):
            assert name.startswith("epaycli.core"), f"{path.name} imports {name}"
        assert name.split(".")[0] not in IMPURE and name not in IMPURE, f"{path.name}: {name}"
    tree = ast.parse(path.read_text(encoding="utf-8"))
    calls = {n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call)
             and isinstance(n.func, ast.Name)}
    assert not calls & {"print", "open", "input"}, path.name


def test_arrows_point_one_way():
    """cli → (profiles, settings, render, …) → core; nothing below cli imports cli."""
    for path in modules():
        own = path.relative_to(PACKAGE).parts[0].removesuffix(".py")
        for name in imports_of(path):
            if own not in ("cli", "__main__") and name.startswith("epaycli.cli"):
                pytest.fail(f"{path} imports the CLI ({name})")


def test_only_render_imports_rich():
    for path in modules():
        if path.name != "render.py":
            assert not any(n.split(".")[0] == "rich" for n in imports_of(path)), path


def test_library_code_never_exits_through_typer():
    for path in modules():
        if "cli" not in path.parts:
            assert "typer" not in {n.split(".")[0] for n in imports_of(path)}, path


def test_advice_for_an_error_lives_in_one_table():
    """issue 16.5: the CLI's advice per error code is cli/hints.py, read by the one boundary;
    no command keeps its own table or rewrites an error's hint on the way out."""
    tables = []
    for path in modules():
        if "cli" not in path.parts or path.name == "hints.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets = node.targets if isinstance(node, ast.Assign) else \
                [node.target] if isinstance(node, ast.AnnAssign) else []
            for target in targets:
                if isinstance(target, ast.Attribute) and target.attr == "hint":
                    tables.append(f"{path.name}: sets .hint")
                if isinstance(target, ast.Name) and "HINT" in target.id.upper():
                    tables.append(f"{path.name}: {target.id}")
    assert tables == []


# The layers below the CLI, each with what it may import of epaycli.
LAYERS = {
    "env.py": set(),
    "files.py": {"core"},
    "state.py": {"core", "files"},
    "render.py": {"core", "env", "messages"},  # messages: display widths
    "profiles": {"core", "files", "profiles", "messages"},  # messages: a profile's lang
}
# Modules the reshape introduced: each must exist and be held to the rules above.
RESHAPED = ["core/php.py", "core/endpoints.py", "core/redact.py", "core/request.py",
            "core/notify.py", "profiles/store.py", "profiles/validate.py", "profiles/resolve.py",
            "profiles/keys.py", "env.py", "state.py"]
# Only the boundary reads the process's streams and environment variables; everything else is
# handed an Environment. The CLI's layers take the clock from it too (core cannot import time);
# a server engine (mock, listener) owns its clock, injectable, defaulting to time.time.
GLOBALS = {("sys", "stdout"), ("sys", "stdin"), ("sys", "stderr"), ("os", "environ"),
           ("os", "getenv")}
CLOCKLESS = {"cli", "profiles", "render.py", "state.py", "files.py"}
BOUNDARY = {"env.py", "cli/main.py"}


def test_the_reshaped_modules_exist():
    assert all((PACKAGE / name).is_file() for name in RESHAPED), RESHAPED


@pytest.mark.parametrize("path", [p for p in modules() if p.relative_to(PACKAGE).parts[0]
                                  in LAYERS], ids=lambda p: str(p.relative_to(PACKAGE)))
def test_each_layer_imports_only_what_is_below_it(path):
    allowed = LAYERS[path.relative_to(PACKAGE).parts[0]]
    for name in imports_of(path):
        if name.startswith("epaycli.") and name != "epaycli.__version__":
            assert layer(name).removesuffix(".py") in {a.removesuffix(".py") for a in allowed}, \
                f"{path.name} imports {name}"
        assert name.split(".")[0] not in ("typer", "httpx", "pyngrok"), f"{path.name}: {name}"


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_only_the_boundary_reads_process_globals(path):
    if str(path.relative_to(PACKAGE)) in BOUNDARY:
        return
    tree = ast.parse(path.read_text(encoding="utf-8"))
    forbidden = GLOBALS | ({("time", "time")} if path.relative_to(PACKAGE).parts[0] in CLOCKLESS
                           else set())
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            assert (node.value.id, node.attr) not in forbidden, \
                f"{path.relative_to(PACKAGE)}:{node.lineno} reads {node.value.id}.{node.attr}"
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            assert node.func.id != "print", f"{path.relative_to(PACKAGE)}:{node.lineno} prints"


PROBE = """
import sys, json
from epaycli.cli.main import run
code = run(sys.argv[1:])
print(json.dumps({"code": int(code), "loaded": [m for m in %r if m in sys.modules]}), file=sys.stderr)
""" % (HEAVY,)


@pytest.mark.parametrize("args", [
    ["sign", "pid=1001", "money=1.00", "--key", "89unJUB8HZ54Hj7x4nUj56HN4nUzUJ8i"],
    ["verify", "--key", "89unJUB8HZ54Hj7x4nUj56HN4nUzUJ8i",
     "pid=1001&money=1&sign=680ee946154b218c2f3d51a2ee783add&sign_type=MD5"],
    ["profile", "path"],
    ["errors", "-1"],
    ["errors", "该订单(A1)支付参数有变化，请更换订单号重新发起支付"],
    ["errors", "--list"],
    ["order", "create", "--amount", "1.00", "--name", "x", "--dry-run"],
    ["order", "query", "A1", "--dry-run", "--json"],
    ["demo", "--help"],
    ["sign", "pid=1001", "money=-1", "--json", "--url", "https://pay.example.com",
     "--key", "89unJUB8HZ54Hj7x4nUj56HN4nUzUJ8i"],
    ["verify", "--json", "--amount", "1", "--key", "89unJUB8HZ54Hj7x4nUj56HN4nUzUJ8i",
     "pid=1001&amp;money=1&amp;sign=680ee946154b218c2f3d51a2ee783add&amp;sign_type=MD5"],
])
def test_heavy_libraries_stay_off_the_md5_path(args, tmp_path):
    done = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True,
                          env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}, timeout=60)
    report = json.loads(done.stderr.strip().splitlines()[-1])
    assert report["loaded"] == [], report
