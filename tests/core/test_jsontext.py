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


def test_it_is_set_up_once(encoder):
    encoder({"a": 1})
    first = jsontext._encode
    encoder([2])
    assert first is not None and jsontext._encode is first


def test_numbers_json_has_no_literal_for_are_written_as_json_dumps_writes_them(encoder):
    # (a measured time can be inf; json.dumps writes it rather than refusing the line)
    value = {"ms": float("inf"), "low": -float("inf"), "nan": float("nan")}
    assert encoder(value) == '{"ms": Infinity, "low": -Infinity, "nan": NaN}'
    assert encoder(value) == json.dumps(value, ensure_ascii=False)


def test_a_key_json_cannot_hold_is_a_type_error_not_left_out(encoder):
    with pytest.raises(TypeError):
        encoder({(1, 2): "pair", "kept": 1})
    assert encoder({1: "one", None: "none"}) == '{"1": "one", "null": "none"}'


def test_json_s_c_encoder_is_set_up_when_there_is_one(monkeypatch):
    # (the reason the module exists: json.dumps builds a C encoder a call, this one once)
    made = []

    def make_encoder(*args):
        made.append(args)
        return c_make_encoder(*args)

    c_make_encoder = json.encoder.c_make_encoder
    if c_make_encoder is None:
        pytest.skip("this Python's json has no C encoder")
    monkeypatch.setattr(json.encoder, "c_make_encoder", make_encoder)
    monkeypatch.setattr(jsontext, "_encode", None)
    assert json_text({"b": 1, "a": [True]}) + json_text([None]) == '{"b": 1, "a": [true]}[null]'
    assert len(made) == 1
