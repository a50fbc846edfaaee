"""The HTML the local gateway shows a person: the cashier (pay / fail), its outcome, and the
"站点提示信息" page real servers answer submit.php errors with."""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

from .store import Order

if TYPE_CHECKING:
    from .notifier import NotifyOutcome

_STYLE = ("body{font-family:sans-serif;max-width:34em;margin:3em auto;padding:0 1em;color:#222}"
          "table{border-collapse:collapse;margin:1em 0}td{padding:.3em .8em;border-bottom:1px solid #ddd}"
          "button{font-size:1.1em;padding:.5em 1.4em;margin-right:1em;cursor:pointer}"
          ".pay{background:#1677ff;color:#fff;border:0}.fail{background:#eee;border:1px solid #aaa}"
          ".note{color:#666;font-size:.9em}")
TYPES = ("alipay", "wxpay", "qqpay", "bank", "jdpay", "paypal")


def _page(title: str, body: str) -> bytes:
    return (f'<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
            f"<body>{body}</body></html>").encode()


def message_page(message: str) -> bytes:
    """What real servers show for an error on a browser page."""
    return _page("站点提示信息", f'<div class="container"><h3>站点提示信息</h3>'
                               f"<p>{escape(message)}</p></div>")


def _shown(value: str, stored_escaped: bool) -> str:
    # Under real quirks the stored text is already HTML-escaped, as a real server prints it.
    return value if stored_escaped else escape(value)


def cashier_page(order: Order, *, stored_escaped: bool) -> bytes:
    action = f"/cashier/{escape(order.trade_no)}"
    rows = [("商品 product", _shown(order.name, stored_escaped)),
            ("金额 amount", f"￥{order.money:f}"),
            ("商户订单号 out_trade_no", escape(order.out_trade_no)),
            ("订单号 trade_no", escape(order.trade_no)),
            ("支付方式 type", escape(order.type) or "(none chosen)")]
    table = "".join(f"<tr><td>{label}</td><td>{value}</td></tr>" for label, value in rows)
    if order.closed:
        return _page("订单已关闭", f"<h2>订单已关闭 (closed)</h2><table>{table}</table>")
    if order.status != 0:
        state = {1: "已支付 (paid)", 2: "已退款 (refunded)"}.get(order.status, str(order.status))
        return _page("收银台", f"<h2>{state}</h2><table>{table}</table>")
    chooser = ""
    if not order.type:
        options = "".join(f'<option value="{t}">{t}</option>' for t in TYPES)
        chooser = (f'<p><label>支付方式 <select name="type"><option value="">'
                   f"(none: notified as type=0)</option>{options}</select></label></p>")
    return _page("收银台 (epay local gateway)", (
        f"<h2>收银台</h2><p class=note>Local Epay gateway: no money moves.</p>"
        f"<table>{table}</table>"
        f'<form method="post" action="{action}">{chooser}'
        f'<button class="pay" name="action" value="pay">支付 Pay</button>'
        f'<button class="fail" name="action" value="fail">失败 Fail</button></form>'))


def paid_page(order: Order, notify: NotifyOutcome, return_link: str) -> bytes:
    delivered = "delivered" if notify.get("delivered") else (notify.get("error") or
                                                             f"answered {notify.get('status')}")
    link = (f'<p><a href="{escape(return_link)}">返回商户 Return to the merchant</a></p>'
            if return_link else "")
    return _page("支付成功", (
        f"<h2>支付成功 (paid)</h2><p>订单 {escape(order.trade_no)} ￥{order.money:f}</p>"
        f"<p class=note>notify: {escape(str(delivered))}</p>{link}"))


def failed_page(order: Order) -> bytes:
    return _page("支付失败", f"<h2>支付失败 (failed)</h2><p>订单 {escape(order.trade_no)} "
                             f"is still unpaid; no notify was sent.</p>"
                             f'<p><a href="/cashier/{escape(order.trade_no)}">back</a></p>')
