"""The local Epay-compatible gateway (``epay mock``): V1 and V2 as real servers speak them, a
cashier page, notify delivery with retries and faults, state in SQLite.
Start it from code with ``epaycli.mock.server.start_gateway``."""
