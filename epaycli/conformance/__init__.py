"""The notify-handler checker: build notifies as a gateway would (and altered on purpose), send
them, and grade what a shop's handler answers. ``epay trigger notify`` and ``epay check notify``
are thin commands over this package; nothing here prints."""
