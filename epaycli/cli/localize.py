"""``--help`` in Simplified Chinese: every command's and option's help text replaced by its
translation (keyed by the English text, see ``messages/zh-help.toml``), and plain help written
by display width — a CJK character takes two columns, and click's wrapping counts one.

Loaded only when Chinese is chosen: the English path never imports this module."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ..messages import fold, load_help
from ..messages.width import display_width, wrap
from .app import _HelpContext, _HelpFormatter

HEADINGS = {"Usage": "用法", "Options": "选项", "Commands": "命令", "Arguments": "参数"}


def translate_commands(commands: Iterable[Any], table: Mapping[str, str]) -> list[str]:
    """Put the Chinese help on every command, subcommand and option below ``commands``;
    the English texts that have no translation are returned (and left as they are)."""
    missing: list[str] = []

    def chinese(text: str | None) -> str | None:
        if not text:
            return text
        found = table.get(fold(text))
        if found is None:
            missing.append(fold(text))
            return text
        return found

    for command in commands:
        command.context_class = ChineseHelpContext
        english_help = command.help
        command.help = chinese(command.help)
        command.epilog = chinese(command.epilog)
        derived = not command.short_help or (  # the first sentence of the help, or its own
            english_help and fold(english_help).startswith(fold(command.short_help)))
        if not derived:
            command.short_help = chinese(command.short_help)
        elif english_help and command.help != english_help:
            command.short_help = first_chinese_sentence(command.help)
        for param in command.params:
            if getattr(param, "help", None):
                param.help = chinese(param.help)
        missing += translate_commands(getattr(command, "commands", {}).values(), table)
    return missing


def first_chinese_sentence(text: str) -> str:
    paragraph = " ".join(text.split("\n\n", 1)[0].split())
    end = paragraph.find("。")
    return paragraph if end == -1 else paragraph[:end + 1]


class ChineseHelpFormatter(_HelpFormatter):
    """Click's plain help formatter, measuring text by display width; headings in Chinese and
    the help option's own text too."""

    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        super().write_usage(prog, args, f"{HEADINGS['Usage']}：")

    def write_heading(self, heading: str) -> None:
        self.write(f"{'':>{self.current_indent}}{HEADINGS.get(heading, heading)}：\n")

    def write_text(self, text: str) -> None:
        indent = " " * self.current_indent
        for number, paragraph in enumerate(text.split("\n\n")):
            if number:
                self.write("\n")
            if paragraph.startswith("\b"):  # click's "do not rewrap"
                self.write("".join(f"{indent}{line}\n" for line in paragraph.splitlines()[1:]))
                continue
            lines = wrap(paragraph, self.width, indent=indent, subsequent_indent=indent)
            self.write("".join(f"{line}\n" for line in lines))

    # click's own signature: app's formatter only passes these two on as *args/**kwargs
    def write_dl(self, rows: Sequence[tuple[str, str]], col_max: int = 30,  # type: ignore[override]
                 col_spacing: int = 2) -> None:
        rows = [(first, _click_words(_HELP_OPTION.get(second, second))) for first, second in rows]
        first_col = min(max((display_width(first) for first, _ in rows), default=0),
                        col_max) + col_spacing
        text_width = max(self.width - first_col - 2, 10)
        for first, second in rows:
            self.write(f"{'':>{self.current_indent}}{first}")
            if not second:
                self.write("\n")
                continue
            if display_width(first) <= first_col - col_spacing:
                self.write(" " * (first_col - display_width(first)))
            else:
                self.write("\n" + " " * (first_col + self.current_indent))
            lines = [line for part in second.split("\n\n") for line in wrap(part, text_width)]
            self.write(f"{lines[0]}\n" if lines else "\n")
            for line in lines[1:]:
                self.write(f"{'':>{first_col + self.current_indent}}{line}\n")


# click adds the --help option itself, with its own English text, and marks options with its
# own words.
_HELP_OPTION = {"Show this message and exit.": "显示此帮助并退出。"}
_CLICK_WORDS = (("[default: ", "[默认："), ("[required]", "[必填]"), ("[env var: ", "[环境变量："))


def _click_words(text: str) -> str:
    for english, chinese in _CLICK_WORDS:
        text = text.replace(english, chinese)
    return text


class ChineseHelpContext(_HelpContext):
    formatter_class = ChineseHelpFormatter


def chinese_group(base: type) -> type:
    """The root group class for Chinese help: ``base`` with the translation table."""
    return type("ChineseEpayGroup", (base,), {"help_table": load_help("zh"),
                                               "context_class": ChineseHelpContext})
