"""Merchant profiles: the TOML file (``store``), what a valid profile is (``validate``), which
settings a run uses (``resolve``: flag > EPAY_* > profile > sandbox), and the keys a profile
names (``keys``)."""
