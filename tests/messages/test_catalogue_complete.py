"""Every sentence written in the source as ``Text("id", "template", …)`` has its Chinese under
the same id, with the same ``{fields}`` (module tables are checked by each area's test)."""

from __future__ import annotations

import ast
import string
from pathlib import Path

import pytest

from epaycli.messages import load_catalogue

PACKAGE = Path(__file__).resolve().parents[2] / "epaycli"


def fields(template: str) -> set[tuple[str, str, str]]:
    return {(name, spec, conversion or "") for _, name, spec, conversion in
            string.Formatter().parse(template) if name is not None}


def inline_texts() -> list[tuple[str, str, str]]:
    """(where, id, template) of every Text built from a literal id and a literal template."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if not (isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Text"
                    and len(node.args) >= 2):
                continue
            message_id, template = node.args[:2]
            if isinstance(message_id, ast.Constant) and isinstance(template, ast.Constant):
                found.append((f"{path.relative_to(PACKAGE)}:{node.lineno}", message_id.value,
                              template.value))
    return found


def test_the_source_writes_some_inline_texts():
    assert inline_texts()  # the walk finds them (else the test below checks nothing)


def test_every_inline_text_has_its_chinese_with_the_same_fields():
    catalogue = load_catalogue("zh")
    missing = [(where, message_id) for where, message_id, _ in inline_texts()
               if message_id not in catalogue]
    assert not missing
    for where, message_id, template in inline_texts():
        assert fields(catalogue[message_id]) == fields(template), where


def english_tables():
    from epaycli.files import FILE_NAMES
    from epaycli.listener.http import REFUSALS

    return {"files": FILE_NAMES,  # how a file is named in an error
            "refusals": REFUSALS}  # why the listener refused a request


@pytest.mark.parametrize("prefix", ["files", "refusals"])
def test_every_sentence_of_a_table_has_its_chinese_and_none_is_stale(prefix):
    table = english_tables()[prefix]
    catalogue = load_catalogue("zh")
    for name, english in table.items():
        assert fields(catalogue[f"{prefix}.{name}"]) == fields(english), name
    assert not {key for key in catalogue if key.startswith(f"{prefix}.")} - {
        f"{prefix}.{name}" for name in table}
