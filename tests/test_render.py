"""render.Output.json_line: one line of JSON a server prints per event."""

from __future__ import annotations

import io
import json

import pytest

from epaycli.env import Environment
from epaycli.render import Output

KEY = "89unJUB8HZ54Hj7x4nUj56HN4nUzUJ8i"


def printed(value, secrets=()) -> str:
    stdout = io.StringIO()
    Output(Environment(None, stdout, io.StringIO(), {}), secrets=secrets).json_line(value)
    return stdout.getvalue()


@pytest.mark.parametrize("value", [
    {"event": "notify", "name": "会员 ½", "n": 1, "ok": True, "none": None},
    {"plain": "ascii only", "list": [1, 2]},
])
def test_a_line_is_the_json_of_the_value_and_nothing_else(value):
    line = printed(value)
    assert line.endswith("\n") and line.count("\n") == 1
    assert line == json.dumps(value, ensure_ascii=False) + "\n"


@pytest.mark.parametrize("control", ["\x7f", "\x80", "\x9b", "\x9f"])
def test_del_and_c1_controls_are_written_as_json_escapes(control):
    for text in (f"a{control}b", f"会{control}员"):
        line = printed({"name": text})
        assert control not in line and f"\\u{ord(control):04x}" in line
        assert json.loads(line) == {"name": text}


def test_a_secret_in_a_line_is_masked():
    line = printed({"answer": f"echo {KEY}", "cut": KEY[4:20]}, secrets=(KEY,))
    assert KEY not in line and KEY[4:20] not in line and "89un…UJ8i" in line


class Counted(io.StringIO):
    """A stream that counts its flushes."""

    flushes = 0

    def flush(self) -> None:
        self.flushes += 1
        super().flush()


def test_lines_held_back_are_put_out_by_one_flush():
    stdout = Counted()
    out = Output(Environment(None, stdout, io.StringIO(), {}))
    out.json_line({"n": 1}, flush=False)
    out.json_line({"n": 2}, flush=False)
    assert stdout.flushes == 0 and stdout.getvalue().count("\n") == 2
    out.flush()
    assert stdout.flushes == 1
    out.json_line({"n": 3})
    assert stdout.flushes == 2


def test_a_flush_into_a_closed_pipe_is_an_output_error():
    from epaycli.core.errors import OutputError

    class Closed(io.StringIO):
        def flush(self) -> None:
            raise BrokenPipeError(32, "Broken pipe")

    with pytest.raises(OutputError):
        Output(Environment(None, Closed(), io.StringIO(), {})).flush()
