"""Talking to an Epay gateway, V1 (MD5) and V2 (RSA).

- ``calls``: what is sent — ``Merchant``, ``validate_order``, one builder per request
  (``create_order``, ``submit_page``, ``query_order``, ``list_orders``, ``refund_order``,
  ``refund_query``, ``close_order``, ``merchant_info``, ``settles``, ``sandbox_pay``), each a
  ``Call`` that ``--dry-run`` shows. Pure.
- ``replies``: reading answers leniently (``parse_reply``, ``order_fields``); errors become
  ``GatewayError`` explained by the catalogue; V2 answers verified. Pure.
- ``client``: ``GatewayClient`` (sync) and ``AsyncGatewayClient`` / ``send_all`` (bounded
  concurrency) over httpx; transport failures become ``NetworkError``.
- ``operations``: what the commands do, one function each (``create``, ``query``,
  ``query_many``, ``list_all``, ``refund``, ``wait_paid``, ``sandbox_pay`` …).

Only ``client`` imports httpx.
"""
