"""core.jsontext: one line of JSON, as json.dumps(ensure_ascii=False) writes it."""

from __future__ import annotations

import json

import pytest

from epaycli.core import jsontext
from epaycli.core.jsontext import json_text
from epaycli.core.words import Text

VALUES = [
    "plain",
    "无类型 \x7f\u2028 \"quoted\" back\\slash",
    {"event": "notify", "id": 7, "ms": 1.5, "valid": True, "forward": None,
     "params": {"name": "商品", "money": "1.00"}, "problems": [], "list": [1, "二", None]},
    [],
    12,
]


@pytest.fixture(params=["c", "python"])
def encoder(request, monkeypatch):
    """Both ways json_text is set up: with json's C encoder, and without it."""
    monkeypatch.setattr(jsontext, "_encode", None)
    if request.param == "python":
        monkeypatch.setattr(json.encoder, "c_make_encoder", None)
    yield json_text
    monkeypatch.setattr(jsontext, "_encode", None)


@pytest.mark.parametrize("value", VALUES)
def test_it_writes_what_json_dumps_writes_on_one_line(encoder, value):
    line = encoder(value)
    assert line == json.dumps(value, ensure_ascii=False)
    assert "\n" not in line and json.loads(line) == value


def test_a_worded_text_is_written_as_the_string_it_is(encoder):
    said = Text("test.id", "paid {money}", money="1.00")
    assert encoder({"reason": said}) == '{"reason": "paid 1.00"}'
    assert encoder(said) == '"paid 1.00"'


def test_a_value_json_cannot_hold_is_a_type_error(encoder):
    with pytest.raises(TypeError):
        encoder({"amounts": {1, 2}})


def test_it_is_set_up_once():
    json_text({"a": 1})
    first = jsontext._encode
    json_text([2])
    assert first is not None and jsontext._encode is first
