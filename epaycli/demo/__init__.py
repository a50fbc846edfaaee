"""``epay demo``: the whole payment round trip on a local gateway started for the purpose.

- ``roundtrip``: the engine — starts the local gateway and epay's notify listener on free ports
  with a temporary data folder, runs each step (create, cashier, pay, notify, query, refund,
  query again) through the real client over HTTP, and returns the steps as plain data. It
  never prints.
- ``timeline``: the steps as readable lines (what was signed, sent and received; each check).
"""
