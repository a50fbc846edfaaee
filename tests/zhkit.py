"""What the 中文 tests share: how to tell an English sentence left in Chinese output."""

from __future__ import annotations

import re

# Three English words in a row, once commands, flags, URLs, paths and names=values are gone.
ENGLISH_RUN = re.compile(r"\b[a-z]{2,}(?:[ ,]+[a-z]{2,}){2,}\b")
NOT_PROSE = re.compile(r"\S*\$\([^)]*\)\S*|https?://\S+|\b(?:eval )?epay(?: [a-z][\w-]*)*|--?[\w-]+"
                       r"|\S*[=_/$.~]\S*|`[^`]*`")


# Names a Chinese line quotes as they are: protocol fields and profile settings.
NAMES = re.compile(r"\b(?:pid|key|gateway|money|name|type|sign|act|param|device|dialect|lang"
                   r"|private_key|public_key|platform_key|notify_url|return_url|trade_no"
                   r"|out_trade_no|trade_status|sign_type|realmoney|status|timestamp)\b")


def english_left(text: str) -> list[str]:
    """The lines of ``text`` that still hold an English sentence (ids, field names, flags,
    URLs, paths, commands and name=value pairs aside)."""
    return [line for line in text.splitlines()
            if ENGLISH_RUN.search(NAMES.sub(" ", NOT_PROSE.sub(" ", line)))]


def table_ids(prefix: str, table: dict) -> dict:
    """A module's English table keyed by the catalogue's ids (for the completeness tests)."""
    return {f"{prefix}.{key}": english for key, english in table.items()}
