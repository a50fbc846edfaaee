"""``epay monitor`` and ``epay reconcile``: live figures over a sliding window (figures.py,
pure), what the gateway and the listener's journal say each interval (tracker.py), the
incidents and the channels that announce them (alerts.py), the dashboard's lines
(dashboard.py), and the shop's orders against the gateway's (reconcile.py)."""
