"""The catalogue of errors Epay gateways answer (data in errors.toml, look-up in lookup.py)."""
