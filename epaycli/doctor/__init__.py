"""``epay doctor``: set-up checks (the profile, the gateway, the credentials, the notify_url,
the clock, latency) and the lint of a payment request, each check a small function returning
``Finding``s. Nothing here prints: the CLI renders the ``Report``."""
