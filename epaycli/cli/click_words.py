"""Click's usage errors in the run's language (``epay: 错误：缺少参数 'INPUT'。``).

The click that typer vends writes its messages as fixed English f-strings, with
no gettext hook to install a translation into, and an exception keeps only the finished text
(``Invalid value for '--blanks': 'x' is not one of 'keep', 'drop'.``). So the boundary reads
that text back against click's own formats — the table below, one entry per format, fields
named — and says the same message from the catalogue (``usage.<id>``, zh/usage.toml). An
inner message (what is wrong with the value) is matched the same way. A message the table does
not know is left in English rather than guessed at; tests/messages/test_zh_usage.py runs real
usage errors, so a click that rewords one fails there.

Loaded only when Chinese is chosen: English passes click's text through untouched.
"""

from __future__ import annotations

import re
from functools import cache

from ..messages import Messages

# click's message formats, most specific first (a field matches any text, shortest first).
CLICK_FORMATS = {
    "no_such_option_possible": "No such option: {name} (Possible options: {options})",
    "no_such_option": "No such option: {name}",
    "requires_argument": "Option {name} requires an argument.",
    "requires_arguments": "Option {name} requires {count} arguments.",
    "takes_no_value": "Option {name} does not take a value.",
    "extra_arguments": "Got unexpected extra argument(s) ({arguments})",
    "no_such_command": "No such command {name}.",
    "missing_command": "Missing command.",
    "missing_argument_choice": "Missing argument {name}. Choose from:\n\t{choices}",
    "missing_option_choice": "Missing option {name}. Choose from:\n\t{choices}",
    "missing_argument": "Missing argument {name}.",
    "missing_option": "Missing option {name}.",
    "missing_parameter": "Missing parameter {name}.",
    "invalid_value_for": "Invalid value for {name}: {problem}",
    "invalid_value": "Invalid value: {problem}",
    "argument_takes": "Argument {name} takes {count} values.",
    # what is wrong with a value (the {problem} above)
    "not_one_of": "{value} is not one of {choices}.",
    "not_a_boolean": "{value} is not a valid boolean. Recognized values: {choices}",
    "not_an_integer": "{value} is not a valid int.",
    "not_a_float": "{value} is not a valid float.",
    "not_valid": "{value} is not a valid {kind}.",
    "out_of_range": "{value} is not in the range {range}.",
    "no_format_matches": "{value} does not match the formats {formats}.",
    "takes_values": "Takes {count} values but {given} given.",
    "values_required": "{count} values are required, but {given} given.",
}
# fields that hold a message of their own
_NESTED = ("problem",)


@cache
def _patterns() -> list[tuple[str, re.Pattern[str]]]:
    def compiled(english: str) -> re.Pattern[str]:
        parts = re.split(r"\{(\w+)\}", english)
        regex = "".join(re.escape(part) if index % 2 == 0 else f"(?P<{part}>.+?)"
                        for index, part in enumerate(parts))
        return re.compile(regex, re.DOTALL)

    return [(message_id, compiled(english)) for message_id, english in CLICK_FORMATS.items()]


def say_click(message: str, messages: Messages) -> str:
    """Click's ``message`` in ``messages``' language (as it is when no format matches)."""
    if messages.language == "en":
        return message
    for message_id, pattern in _patterns():
        found = pattern.fullmatch(message)
        if found is None:
            continue
        fields = {name: say_click(value, messages) if name in _NESTED else value
                  for name, value in found.groupdict().items()}
        return messages.text(f"usage.{message_id}", CLICK_FORMATS[message_id], **fields)
    return message
