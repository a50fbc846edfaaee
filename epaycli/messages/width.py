"""Text measured and wrapped by display width: a CJK character takes two terminal columns,
so wrapping by character count (textwrap, click) makes Chinese lines twice too long."""

from __future__ import annotations

import unicodedata

# Chinese lines may break between any two characters, except before closing punctuation and
# after opening punctuation (the usual 禁则 rules, kept small).
_NO_BREAK_BEFORE = frozenset("，。、；：？！）》」』】〕…,.;:?!)]}%")
_NO_BREAK_AFTER = frozenset("（《「『【〔([{")


def char_width(char: str) -> int:
    if unicodedata.combining(char) or char in "\u200b\u200d":
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def display_width(text: str) -> int:
    if text.isascii():
        return len(text)
    return sum(char_width(char) for char in text)


def _tokens(paragraph: str) -> list[str]:
    """Words (Latin runs with their trailing space) and single wide characters."""
    tokens: list[str] = []
    word = ""
    for char in paragraph:
        if char == " ":
            tokens.append(word + " ")
            word = ""
        elif char_width(char) == 2:
            if word:
                tokens.append(word)
                word = ""
            tokens.append(char)
        else:
            word += char
    if word:
        tokens.append(word)
    return tokens


def wrap(text: str, width: int, *, indent: str = "", subsequent_indent: str = "") -> list[str]:
    """One paragraph's lines, none wider than ``width`` columns (a longer word stands alone).
    Closing punctuation never starts a line, nor does opening punctuation end one: the
    character before it moves down with it."""
    lines: list[str] = []
    prefix, line = indent, list[str]()
    for token in _tokens(" ".join(text.split())):
        if line and _width(prefix, [*line, token]) > width:
            carried: list[str] = []
            while len(line) > 1 and (token[:1] in _NO_BREAK_BEFORE
                                     or line[-1][-1:] in _NO_BREAK_AFTER):
                carried.insert(0, line.pop())
                if carried[0][:1] not in _NO_BREAK_BEFORE:
                    break
            lines.append((prefix + "".join(line)).rstrip())
            prefix, line = subsequent_indent, carried
        line.append(token)
    if line:
        lines.append((prefix + "".join(line)).rstrip())
    return lines


def _width(prefix: str, tokens: list[str]) -> int:
    return display_width(prefix + "".join(tokens).rstrip())
