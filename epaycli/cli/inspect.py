"""What ``epay listen --inspect`` and ``epay events serve`` share: the inspector's settings
from the resolved profile (the key it re-signs with stays inside a closure; the page sees it
masked only)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ..core.redact import mask
from ..profiles.keys import signer_for
from ..profiles.resolve import Resolved

if TYPE_CHECKING:
    from ..listener.inspector import InspectorConfig


_HOST_HELP = ("Serve the inspector on this address instead of 127.0.0.1; a random token printed "
              "with the URL is then required.")
_PORT_HELP = "The inspector's port (default 4041, or a free one when 4041 is taken; 0: a free one)."

InspectHostOption = Annotated[str | None, typer.Option("--inspect-host", metavar="ADDR",
                                                       help=_HOST_HELP)]
InspectPortOption = Annotated[int | None, typer.Option("--inspect-port", metavar="N",
                                                       help=_PORT_HELP)]
ServeHostOption = Annotated[str | None, typer.Option("--host", metavar="ADDR", help=_HOST_HELP)]
ServePortOption = Annotated[int | None, typer.Option("--port", metavar="N", help=_PORT_HELP)]


def inspector_config(resolved: Resolved, journal: Path, *, host: str | None, port: int | None,
                     targets: Mapping[str, str | None], request_base: str | None, language: str = "en"
                     ) -> InspectorConfig:
    """The inspector for this profile: replays to ``targets``; re-signs with the profile's
    key (or private key for V2) when it has one. ``language``: the run's (the page's)."""
    from urllib.parse import urlsplit

    from ..listener.inspector import InspectorConfig

    profile = resolved.profile
    can_sign = bool(profile.key or profile.private_key)
    given = {name: url for name, url in targets.items() if url}
    if request_base is None and given:  # the copied curl goes where replays go
        parts = urlsplit(next(iter(given.values())))
        request_base = f"{parts.scheme}://{parts.netloc}"
    return InspectorConfig(
        journal=journal, host=host or "127.0.0.1", port=port,
        targets=given,
        signer_for=(lambda params: signer_for(resolved, params)) if can_sign else None,
        key_shown=mask(profile.key) if profile.key else "{key}",
        secrets=tuple(s for s in (profile.key, profile.private_key) if s),
        request_base=request_base, language=language)

