"""What the local gateway answers: V1 (submit.php, mapi.php, api.php), V2 (api/pay/*,
api/merchant/*, api.php?s=…), the cashier and the sandbox calls. No sockets here: the server
hands in the method, path and parameters and writes back the ``Reply``."""

from __future__ import annotations

import hmac
import json
import re
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from functools import lru_cache
from typing import TYPE_CHECKING

from ..core.endpoints import V2_ROUTES
from ..core.errors import ConfigError
from ..core.models import SANDBOX_KEY, SANDBOX_PID, Dialect
from ..core.money import format_wire
from ..core.php import is_empty
from ..core.signing import (
    Md5Key,
    RsaKeys,
    SignType,
    load_private_key,
    load_public_key,
    sign,
    verify,
)
from . import cashier
from .notifier import Faults, NotifyOutcome, parse_faults
from .quirks import Quirks
from .store import GatewayStore, Merchant, Order

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey

    from .notifier import Notifier

BEIJING = timezone(timedelta(hours=8))  # trade_no and times are Beijing time on every server
OUT_TRADE_NO = re.compile(r"[A-Za-z0-9._\-|]+")
OUT_TRADE_NO_MAX = 150
NOTIFY_URL_MAX = 255  # real servers silently cut longer URLs
REUSE_WINDOW_SECONDS = 10 * 86400
NO_FAULTS = Faults()  # frozen: one shared default
TIMESTAMP_WINDOW_SECONDS = 300
PAYMENT_TYPES = ("alipay", "wxpay", "qqpay", "bank", "jdpay", "paypal")
REFUND_MONEY = re.compile(r"[0-9]+(\.[0-9]{1,2})?|[0-9]*\.[0-9]{1,2}")
V2_PID = "1001"
SANDBOX_CALLS = {"/sandbox/pay": "sandbox_pay", "/sandbox/renotify": "sandbox_renotify",
                 "/sandbox/merchant": "sandbox_new_merchant",
                 "/sandbox/merchant/settings": "sandbox_merchant_settings"}


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    content_type: str = "application/json; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)


# A V2 route's handler: (the signed parameters, the merchant they authenticate, its sign type).
V2Handler = Callable[[Mapping[str, str], Merchant, SignType], Reply]


class Refused(Exception):
    """An error answer: a gateway code and its exact message."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, str]
    form: dict[str, str]

    def v1_params(self) -> dict[str, str]:
        """A server takes the query when it has a pid, else the body; it never merges them."""
        return self.query if "pid" in self.query else self.form


class Gateway:
    """One local gateway's behaviour over its store, notifier and keys."""

    def __init__(self, store: GatewayStore, *, quirks: Quirks, base_url: str,
                 platform_private_pem: str, platform_public_pem: str,
                 merchant_public_pem: str, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.quirks = quirks
        self.base_url = base_url
        self.clock = clock
        self.platform_private = _private_key(platform_private_pem)
        self.platform_public_pem = platform_public_pem
        self.notifier: Notifier | None = None  # set by the server once the notifier exists
        now = int(clock())
        self.sandbox = store.ensure_merchant(int(SANDBOX_PID), SANDBOX_KEY, refund_api=True,
                                             now=now)
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
        self.v2_merchant = store.ensure_merchant(
            int(V2_PID), "".join(secrets.choice(alphabet) for _ in range(32)), rsa_only=True,
            refund_api=True, public_key=merchant_public_pem, now=now)
        if self.v2_merchant.public_key != merchant_public_pem:  # key files made anew
            self.v2_merchant = store.update_merchant(self.v2_merchant.pid,
                                                     public_key=merchant_public_pem)
        self._public_keys: dict[str, RSAPublicKey] = {}

    # ---- dispatch ---------------------------------------------------------------------

    def handle(self, request: Request) -> Reply:
        path = request.path
        try:
            if path == "/submit.php":
                return self.submit(request)
            if path == "/mapi.php":
                return self.mapi(request)
            if path == "/api.php":
                if "s" in request.query:
                    return self.v2(request, request.query["s"].strip("/"))
                return self.api(request)
            if path.startswith("/api/"):
                return self.v2(request, path[len("/api/"):].strip("/"))
            if path.startswith("/cashier/"):
                return self.cashier(request, path[len("/cashier/"):])
            if path in SANDBOX_CALLS:
                call: Callable[[Request], Reply] = getattr(self, SANDBOX_CALLS[path])
                try:
                    return call(request)
                except Refused as refusal:  # the sandbox calls answer every error as -1
                    raise Refused(-1, refusal.message) from None
            if path in ("/", "/index.php", "/index.html"):
                return self.index()
        except Refused as refusal:
            return self.json({"code": refusal.code, "msg": refusal.message})
        return Reply(404, cashier.message_page("URL Error!"), "text/html; charset=utf-8")

    # ---- answers ----------------------------------------------------------------------

    def json(self, value: Mapping[str, object], status: int = 200) -> Reply:
        if self.quirks.php_json:  # as PHP's json_encode writes it
            text = json.dumps(value, separators=(",", ":")).replace("/", "\\/")
        else:
            text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
        return Reply(status, text.encode("utf-8"))

    def html(self, page: bytes, status: int = 200, content_type: str = "text/html") -> Reply:
        return Reply(status, page, f"{content_type}; charset=utf-8")

    def signed_json(self, value: Mapping[str, object]) -> Reply:
        """A V2 success: signed with the platform key over its top-level fields as text."""
        value = {**value, "timestamp": str(int(self.clock())), "sign_type": "RSA"}
        value["sign"] = sign(_signable(value), RsaKeys(private=self.platform_private))
        return self.json(value)

    def index(self) -> Reply:
        return self.html(cashier.message_page(
            f"epay local gateway: V1 submit.php / mapi.php / api.php, V2 api/pay/*. "
            f"Sandbox merchant pid {SANDBOX_PID}; V2 merchant pid {V2_PID}."))

    # ---- merchants and signatures -----------------------------------------------------

    def _merchant(self, params: Mapping[str, str]) -> Merchant:
        pid = params.get("pid", "")
        if is_empty(pid) and pid != "0":
            raise Refused(-1, "商户ID不能为空")
        merchant = self.store.merchant(pid)
        if merchant is None:
            raise Refused(-1, "商户不存在！")
        if not merchant.active:
            raise Refused(-1, "商户已封禁，无法支付！")
        return merchant

    def _public_key(self, merchant: Merchant) -> RSAPublicKey:
        if merchant.public_key not in self._public_keys:
            self._public_keys[merchant.public_key] = load_public_key(merchant.public_key)
        return self._public_keys[merchant.public_key]

    def _check_sign(self, params: Mapping[str, str], merchant: Merchant, *, v2: bool) -> SignType:
        """The merchant's sign, checked as this endpoint does; the sign type that held."""
        if not params.get("sign"):
            raise Refused(-1, "缺少签名参数")
        declared = params.get("sign_type", "").upper()
        sign_type = SignType.RSA if declared == "RSA" else SignType.MD5
        failed = ("RSA签名校验失败" if sign_type is SignType.RSA else "MD5签名校验失败") if v2 \
            else "签名校验失败，请返回重试！"
        if sign_type is SignType.RSA:
            if not merchant.public_key:
                raise Refused(-1, "签名校验失败，商户公钥错误")
            genuine = verify(params, RsaKeys(public=self._public_key(merchant)))
        else:
            if merchant.rsa_only:
                raise Refused(-1, "该商户只能使用RSA签名类型")
            genuine = verify(params, Md5Key(merchant.key))
        if not genuine:
            raise Refused(-1, failed)
        return sign_type

    def _api_merchant(self, params: Mapping[str, str]) -> Merchant:
        """api.php's plain pid + key (no signature)."""
        merchant = self.store.merchant(params.get("pid", ""))
        if merchant is None:
            raise Refused(-3, "商户ID不存在")
        if not hmac.compare_digest(params.get("key", "").encode("utf-8", "surrogatepass"),
                                   merchant.key.encode("utf-8")):
            raise Refused(-3, "商户密钥错误")
        return merchant

    # ---- creating orders --------------------------------------------------------------

    def _empty(self, value: str) -> bool:
        return is_empty(value) if self.quirks.loose_money else value.strip() == ""

    def _new_order(self, params: Mapping[str, str], merchant: Merchant, *, page: bool,
                   sign_type: SignType, v2: bool) -> tuple[Order, bool]:
        """Validate and store (or reuse) an order; (order, reused)."""
        require = [("out_trade_no", "订单号(out_trade_no)不能为空"),
                   ("notify_url", "通知地址(notify_url)不能为空")]
        if page:
            require.append(("return_url", "回调地址(return_url)不能为空"))
        require += [("name", "商品名称(name)不能为空"), ("money", "金额(money)不能为空")]
        if not page:
            require += [("type", "支付方式(type)不能为空"), ("clientip", "用户IP地址(clientip)不能为空")]
        for name, message in require:
            if self._empty(params.get(name, "")):
                raise Refused(-1, message)
        money, problem = self.quirks.parse_money(params["money"])
        if money is None:  # (then problem says why)
            raise Refused(-1, problem or "金额不合法")
        sent_number = params["out_trade_no"]
        number = sent_number
        if not OUT_TRADE_NO.fullmatch(number) or (len(number) > OUT_TRADE_NO_MAX
                                                 and not self.quirks.cut_out_trade_no):
            raise Refused(-1, "订单号(out_trade_no)格式不正确")
        number = number[:OUT_TRADE_NO_MAX]
        if self.quirks.max_money is not None and money > self.quirks.max_money:
            raise Refused(-1, f"最大支付金额是{self.quirks.max_money:f}元")
        payment_type = params.get("type", "")
        if payment_type and payment_type not in PAYMENT_TYPES:
            raise Refused(-1, "支付方式(type)不存在")
        stored = {
            "name": self.quirks.store_name(params["name"]),
            "notify_url": self.quirks.store_text(params["notify_url"])[:NOTIFY_URL_MAX],
            "return_url": self.quirks.store_text(params.get("return_url", ""))[:NOTIFY_URL_MAX],
            "param": self.quirks.store_text(params.get("param", "")),
            "money": format_wire(money),
        }
        now = self.clock()
        earlier = self.store.order_for_reuse(merchant.pid, sent_number, now - REUSE_WINDOW_SECONDS)
        if earlier is not None:
            if earlier.status != 0:
                raise Refused(-1, f"该订单({number})已完成支付，请勿重复发起支付")
            same = (earlier.name == stored["name"] and earlier.notify_url == stored["notify_url"]
                    and earlier.return_url == stored["return_url"]
                    and earlier.param == stored["param"] and earlier.money == money)
            if not same:
                raise Refused(-1, f"该订单({number})支付参数有变化，请更换订单号重新发起支付")
            if not earlier.closed:
                return earlier, True
        values = {
            "pid": merchant.pid, "out_trade_no": number, "sent_out_trade_no": sent_number,
            "type": payment_type, **stored, "clientip": params.get("clientip", ""),
            "device": params.get("device", "") or "pc",
            "dialect": (Dialect.V2 if sign_type is SignType.RSA else Dialect.V1).value,
            "addtime": _beijing(now), "created_at": now,
        }
        for _ in range(20):
            trade_no = _trade_no(now)
            order = self.store.insert_order({"trade_no": trade_no, **values})
            if order is not None:
                return order, False
        raise Refused(-1, "创建订单失败，请返回重试！")

    def payurl(self, order: Order) -> str:
        return f"{self.base_url}cashier/{order.trade_no}"

    def submit(self, request: Request) -> Reply:
        params = request.v1_params()
        if "pid" not in params:
            return Reply(200, "你还未配置支付接口商户！".encode(), "text/plain; charset=utf-8")
        try:
            merchant = self._merchant(params)
            sign_type = self._check_sign(params, merchant, v2=False)
            order, _ = self._new_order(params, merchant, page=True, sign_type=sign_type, v2=False)
        except Refused as refusal:
            return self.html(cashier.message_page(refusal.message))
        return Reply(302, b"", "text/html; charset=utf-8", {"Location": self.payurl(order)})

    def mapi(self, request: Request) -> Reply:
        if self.quirks.mapi_post_only:
            params = request.form if request.method == "POST" else {}
        else:
            params = request.v1_params()
        if "pid" not in params:
            raise Refused(-4, "未传入任何参数")
        merchant = self._merchant(params)
        sign_type = self._check_sign(params, merchant, v2=False)
        try:
            order, _ = self._new_order(params, merchant, page=False, sign_type=sign_type, v2=False)
        except Refused as refusal:
            if refusal.message == "支付方式(type)不存在" and self.quirks.php_json:
                # a real server answers this one with its HTML message page, labelled JSON
                return self.html(cashier.message_page(refusal.message),
                                 content_type="application/json")
            raise
        answer = {"code": 1, "trade_no": order.trade_no}
        answer[_pay_field(order)] = self.payurl(order)
        return self.json(answer)

    # ---- api.php ----------------------------------------------------------------------

    def api(self, request: Request) -> Reply:
        act = request.query.get("act", "")
        if act == "refund":
            return self.api_refund(request.form)
        params = request.query
        if act == "query":
            merchant = self._api_merchant(params)
            counts = self.store.counts(merchant.pid, _today_start(self.clock()))
            return self.json({"code": 1, "pid": merchant.pid, "key": merchant.key,
                              "active": int(merchant.active),
                              "money": format_wire(counts["paid_money"]), "type": 1,
                              "account": "", "username": merchant.username,
                              "orders": counts["orders"], "orders_today": counts["orders_today"],
                              "orders_lastday": counts["orders_lastday"]})
        if act == "settle":
            self._api_merchant(params)
            _page_args(params, default=10)
            return self.json({"code": 1, "msg": "查询结算记录成功！",
                              "data": None if self.quirks.settle_null else []})
        if act == "order":
            merchant = self._api_merchant(params)
            order = self._find_order(merchant, params)
            return self.json({"code": 1, "msg": "succ", **self._order_fields(order)})
        if act == "orders":
            merchant = self._api_merchant(params)
            limit, offset = _page_args(params, default=10)
            status = params.get("status", "")
            rows = self.store.orders(merchant.pid, limit=limit, offset=offset,
                                     status=int(status) if status.isdigit() else None)
            if not rows and self.quirks.orders_empty_500:
                return Reply(500, b"", "text/html; charset=utf-8")  # count(null) on PHP 8
            data = [self._order_fields(order) for order in rows]
            return self.json({"code": 1, "msg": "查询订单记录成功！", "count": len(data),
                              "data": data})
        raise Refused(-5, "No Act!")

    def _find_order(self, merchant: Merchant, params: Mapping[str, str], *,
                    missing: str = "订单号不存在") -> Order:
        """The order named by trade_no or out_trade_no; `missing` is the server's message when
        there is none (the refund action words it differently)."""
        trade_no = params.get("trade_no", "")
        out_trade_no = params.get("out_trade_no", "")
        if not trade_no and not out_trade_no:
            raise Refused(-1, "订单号不能为空")
        order = self.store.order(merchant.pid, trade_no=trade_no, out_trade_no=out_trade_no)
        if order is None:
            raise Refused(-1, missing)
        return order

    def _order_fields(self, order: Order) -> dict[str, object]:
        """An order as api.php writes it (PHP 8.2 types: numbers, strings, false and null)."""
        return {
            "trade_no": order.trade_no, "out_trade_no": order.out_trade_no,
            "api_trade_no": order.api_trade_no or None, "type": order.type or False,
            "pid": order.pid, "addtime": order.addtime, "endtime": order.endtime,
            "name": order.name, "money": format_wire(order.money), "param": order.param or None,
            "buyer": order.buyer or None, "status": order.status,
            "payurl": None if self.quirks.php_json else self.payurl(order),
        }

    def api_refund(self, params: Mapping[str, str]) -> Reply:
        merchant = self._api_merchant(params)
        order, money, _ = self._refund(merchant, params, out_refund_no="")
        return self.json({"code": 0, "msg": f"退款成功！退款金额￥{money}",
                          "trade_no": order.trade_no, "out_trade_no": order.out_trade_no,
                          "money": money})

    def _refund(self, merchant: Merchant, params: Mapping[str, str], *,
                out_refund_no: str) -> tuple[Order, str, str]:
        if not merchant.refund_api:
            raise Refused(-2, "商户未开启订单退款API接口")
        order = self._find_order(merchant, params, missing="当前订单不存在！")
        money = params.get("money", "")
        if not REFUND_MONEY.fullmatch(money) or Decimal(money) <= 0:
            raise Refused(-1, "金额输入错误")
        if order.status != 1:
            raise Refused(-1, "只支持退款已支付状态的订单")
        if Decimal(money) > order.money:
            raise Refused(-1, "退款金额不能大于订单金额")
        refund_no = _trade_no(self.clock())
        if not self.store.refund(order.trade_no, money=money, refund_no=refund_no,
                                 out_refund_no=out_refund_no, pid=merchant.pid,
                                 addtime=_beijing(self.clock())):
            raise Refused(-1, "只支持退款已支付状态的订单")  # a concurrent refund won
        return order, money, refund_no

    # ---- V2 ---------------------------------------------------------------------------

    def v2(self, request: Request, route: str) -> Reply:
        if route not in V2_ROUTES:
            raise Refused(-5, "接口方法不存在")
        page = route == "pay/submit"
        params = request.form if request.method == "POST" else (request.query if page else {})
        params = {k: v for k, v in params.items() if not (k == "s" and request.path == "/api.php")}
        try:
            merchant, sign_type = self._v2_auth(params)
            if page:
                order, _ = self._new_order(params, merchant, page=True, sign_type=sign_type,
                                           v2=True)
                return Reply(302, b"", "text/html; charset=utf-8",
                             {"Location": self.payurl(order)})
        except Refused as refusal:
            if page:
                return self.html(cashier.message_page(refusal.message))
            raise
        handler: V2Handler = getattr(self, "v2_" + route.replace("/", "_"))
        return handler(params, merchant, sign_type)

    def _v2_auth(self, params: Mapping[str, str]) -> tuple[Merchant, SignType]:
        if "pid" not in params:
            raise Refused(-4, "未传入任何参数")
        merchant = self._merchant(params)
        stamp = params.get("timestamp", "")
        if not stamp:
            raise Refused(-1, "时间戳(timestamp)字段不能为空")
        if not (stamp.isascii() and stamp.isdigit() and len(stamp) <= 12) or \
                abs(int(stamp) - self.clock()) > TIMESTAMP_WINDOW_SECONDS:
            raise Refused(-1, "时间戳字段不正确，请检查服务器时间")
        return merchant, self._check_sign(params, merchant, v2=True)

    def v2_pay_create(self, params: Mapping[str, str], merchant: Merchant,
                      sign_type: SignType) -> Reply:
        order, _ = self._new_order(params, merchant, page=False, sign_type=sign_type, v2=True)
        pay_type = "qrcode" if _pay_field(order) == "qrcode" else "jump"
        return self.signed_json({"code": 0, "trade_no": order.trade_no, "pay_type": pay_type,
                                 "pay_info": self.payurl(order)})

    def v2_pay_query(self, params: Mapping[str, str], merchant: Merchant,
                     sign_type: SignType) -> Reply:
        order = self._find_order(merchant, params)
        fields = {"code": 0, "msg": "succ", **_as_text(self._order_fields(order)),
                  "bill_trade_no": order.api_trade_no or "", "clientip": order.clientip,
                  "refundmoney": order.refundmoney or ""}
        fields["payurl"] = self.payurl(order)
        return self.signed_json({k: v for k, v in fields.items() if v != ""})

    def v2_pay_refund(self, params: Mapping[str, str], merchant: Merchant,
                      sign_type: SignType) -> Reply:
        out_refund_no = params.get("out_refund_no", "")
        if out_refund_no and self.store.find_refund(merchant.pid, out_refund_no=out_refund_no):
            raise Refused(-1, "该订单已退款！")
        order, money, refund_no = self._refund(merchant, params, out_refund_no=out_refund_no)
        answer = {"code": 0, "msg": "退款成功", "refund_no": refund_no,
                  "out_refund_no": out_refund_no, "trade_no": order.trade_no,
                  "out_trade_no": order.out_trade_no, "money": money}
        return self.signed_json({k: v for k, v in answer.items() if v != ""})

    def v2_pay_refundquery(self, params: Mapping[str, str], merchant: Merchant,
                           sign_type: SignType) -> Reply:
        refund_no, out_refund_no = params.get("refund_no", ""), params.get("out_refund_no", "")
        if not refund_no and not out_refund_no:
            raise Refused(-1, "退款单号不能为空")
        found = self.store.find_refund(merchant.pid, refund_no=refund_no,
                                       out_refund_no=out_refund_no)
        if found is None:
            raise Refused(-1, "退款记录不存在")
        order = self._stored_order(found["trade_no"])
        answer = {"code": 0, "msg": "succ", **found, "out_trade_no": order.out_trade_no,
                  "status": "1"}
        return self.signed_json({k: v for k, v in answer.items() if v != ""})

    def v2_pay_close(self, params: Mapping[str, str], merchant: Merchant,
                     sign_type: SignType) -> Reply:
        order = self._find_order(merchant, params)
        if order.status != 0:
            raise Refused(-1, "只能关闭未支付的订单")
        self.store.close_order(order.trade_no)
        return self.signed_json({"code": 0, "msg": "succ", "trade_no": order.trade_no,
                                 "out_trade_no": order.out_trade_no})

    def v2_merchant_info(self, params: Mapping[str, str], merchant: Merchant,
                         sign_type: SignType) -> Reply:
        counts = self.store.counts(merchant.pid, _today_start(self.clock()))
        return self.signed_json({
            "code": 0, "pid": str(merchant.pid), "status": "1", "pay_status": "1",
            "settle_status": "1", "money": format_wire(counts["paid_money"]), "settle_type": "1",
            "order_num": str(counts["orders"]), "order_num_today": str(counts["orders_today"]),
            "order_num_lastday": str(counts["orders_lastday"])})

    def v2_merchant_orders(self, params: Mapping[str, str], merchant: Merchant,
                           sign_type: SignType) -> Reply:
        limit, offset = _page_args(params, default=10)
        status = params.get("status", "")
        rows = self.store.orders(merchant.pid, limit=limit, offset=offset,
                                 status=int(status) if status.isdigit() else None)
        # a list cannot be signed as flat fields: this answer comes back unsigned
        return self.json({"code": 0, "msg": "succ", "total": len(rows),
                          "data": [_as_text(self._order_fields(order)) for order in rows]})

    # ---- paying (cashier and sandbox) -------------------------------------------------

    def pay(self, order: Order, *, payment_type: str = "", faults: Faults = NO_FAULTS
            ) -> NotifyOutcome:
        """Mark ``order`` paid and make the first notify attempt; the notify's outcome."""
        if order.closed:
            raise Refused(-1, "订单已关闭")
        if order.status == 1:
            raise Refused(-1, "该订单已支付")
        if order.status == 2:
            raise Refused(-1, "该订单已退款！")
        chosen = order.type or payment_type
        if payment_type and payment_type not in PAYMENT_TYPES:
            raise Refused(-1, "支付方式(type)不存在")
        if not chosen and not self.quirks.type0_unsigned:
            chosen = PAYMENT_TYPES[0]
        now = self.clock()
        v2 = order.dialect == Dialect.V2
        notifier = self._started_notifier()
        faults = notifier.order_faults(faults)
        if not self.store.mark_paid(order.trade_no, type=chosen, endtime=_beijing(now),
                                    paid_at=now, api_trade_no=("4200" + _trade_no(now)) if v2
                                    else "", buyer="sandbox-buyer" if v2 else "",
                                    faults=faults.text()):
            raise Refused(-1, "该订单已支付")
        return notifier.paid(self._stored_order(order.trade_no), faults)

    def _started_notifier(self) -> Notifier:
        if self.notifier is None:
            raise RuntimeError("the gateway's notifier is not started (start_gateway starts it)")
        return self.notifier

    # An order or merchant this gateway holds (just written, or named by a refund or an order)
    # read back: a row damaged since is a damaged data file, as the store's read errors are.

    def _stored_order(self, trade_no: str) -> Order:
        order = self.store.order_by_trade_no(trade_no)
        if order is None:
            raise self._lost(trade_no)
        return order

    def stored_merchant(self, pid: int) -> Merchant:
        merchant = self.store.merchant(pid)
        if merchant is None:
            raise self._lost(pid)
        return merchant

    def _lost(self, number: object) -> ConfigError:
        return ConfigError("the gateway's data file {path} no longer holds a row it wrote "
                           "({number})", "move it aside (the gateway starts a new one), or "
                           "choose another --data folder", code="mock_data_unreadable",
                           words="mock_data_lost",
                           fields={"path": str(self.store.path or ":memory:"), "number": number})

    def return_link(self, order: Order) -> str:
        """The browser's way back: return_url with the same signed fields as the notify."""
        if not order.return_url:
            return ""
        from .notifier import notify_get_url, notify_params

        params = notify_params(order, self.stored_merchant(order.pid), quirks=self.quirks,
                               platform_private=self.platform_private, now=int(self.clock()),
                               faults=Faults())
        return notify_get_url(order.return_url, params)

    def cashier(self, request: Request, trade_no: str) -> Reply:
        order = self.store.order_by_trade_no(trade_no.strip("/"))
        if order is None:
            return self.html(cashier.message_page("当前订单不存在！"), 404)
        escaped = self.quirks.stored_forms
        if request.method != "POST":
            return self.html(cashier.cashier_page(order, stored_escaped=escaped))
        action = request.form.get("action", "")
        if action == "fail":
            return self.html(cashier.failed_page(order))
        if action != "pay":
            return self.html(cashier.message_page("action must be pay or fail"), 400)
        try:
            notify = self.pay(order, payment_type=request.form.get("type", ""),
                              faults=parse_faults([request.form.get("fault", "")]))
        except Refused as refusal:
            return self.html(cashier.message_page(refusal.message), 409)
        except Exception as error:  # noqa: BLE001 - an unknown fault name from the form
            return self.html(cashier.message_page(str(error)), 400)
        paid = self._stored_order(order.trade_no)
        return self.html(cashier.paid_page(paid, notify, self.return_link(paid)))

    def _sandbox_order(self, params: Mapping[str, str]) -> tuple[Merchant, Order]:
        merchant = self._api_merchant(params)
        trade_no, out_trade_no = params.get("trade_no", ""), params.get("out_trade_no", "")
        if not trade_no and not out_trade_no:
            raise Refused(-1, "订单号不能为空")
        order = self.store.order(merchant.pid, trade_no=trade_no, out_trade_no=out_trade_no)
        if order is None:
            raise Refused(-1, "当前订单不存在！")
        return merchant, order

    def sandbox_pay(self, request: Request) -> Reply:
        if request.method != "POST":
            raise Refused(-1, "sandbox/pay takes a POST form")
        params = request.form
        _merchant, order = self._sandbox_order(params)
        result = params.get("result", "paid") or "paid"
        if result not in ("paid", "failed"):
            raise Refused(-1, "result must be paid or failed")
        try:
            faults = parse_faults([params.get("fault", "")])
        except Exception as error:  # noqa: BLE001 - core InputError: said in the gateway's shape
            raise Refused(-1, str(error)) from None
        answer = {"code": 1, "trade_no": order.trade_no, "out_trade_no": order.out_trade_no}
        if result == "failed":
            if order.status != 0 or order.closed:
                raise Refused(-1, "只能让未支付的订单支付失败")
            return self.json({**answer, "msg": "支付失败（模拟），订单仍未支付", "status": 0,
                              "notify": None})
        notify = self.pay(order, payment_type=params.get("type", ""), faults=faults)
        return self.json({**answer, "msg": "支付成功", "status": 1, "notify": notify})

    def sandbox_renotify(self, request: Request) -> Reply:
        if request.method != "POST":
            raise Refused(-1, "sandbox/renotify takes a POST form")
        _, order = self._sandbox_order(request.form)
        if order.status == 0:
            raise Refused(-1, "订单未支付")
        notify = self._started_notifier().renotify(order.trade_no)
        return self.json({"code": 1, "msg": "已重新通知", "trade_no": order.trade_no,
                          "out_trade_no": order.out_trade_no, "notify": notify})

    def sandbox_new_merchant(self, request: Request) -> Reply:
        if request.method != "POST":
            raise Refused(-1, "sandbox/merchant takes a POST")
        merchant = self.store.create_merchant(refund_api=self.quirks.refund_api_default,
                                              now=int(self.clock()))
        return self.json({"code": 1, "msg": "succ", "pid": merchant.pid, "key": merchant.key,
                          "refund_api": int(merchant.refund_api)})

    def sandbox_merchant_settings(self, request: Request) -> Reply:
        if request.method != "POST":
            raise Refused(-1, "sandbox/merchant/settings takes a POST form")
        merchant = self._api_merchant(request.form)
        changes: dict[str, bool | None] = {}
        for name in ("refund_api", "rsa_only", "active"):
            value = request.form.get(name)
            if value is not None and value not in ("0", "1"):
                raise Refused(-1, f"{name} must be 0 or 1")
            changes[name] = None if value is None else value == "1"
        if changes["rsa_only"] and not merchant.public_key:
            raise Refused(-1, "this merchant has no RSA public key")
        updated = self.store.update_merchant(merchant.pid, refund_api=changes["refund_api"],
                                             rsa_only=changes["rsa_only"],
                                             active=changes["active"])
        return self.json({"code": 1, "msg": "succ", "pid": updated.pid,
                          "refund_api": int(updated.refund_api), "rsa_only": int(updated.rsa_only),
                          "active": int(updated.active)})


@lru_cache(maxsize=8)
def _private_key(pem: str) -> RSAPrivateKey:
    """Loading checks the key (~0.1 s): once per key per process, not per gateway started."""
    return load_private_key(pem)


def _pay_field(order: Order) -> str:
    """Which of payurl / qrcode a real server tends to answer: a QR code for WeChat/QQ on a PC."""
    return "qrcode" if order.type in ("wxpay", "qqpay") and order.device == "pc" else "payurl"


def _page_args(params: Mapping[str, str], *, default: int) -> tuple[int, int]:
    limit_text, offset_text = params.get("limit", ""), params.get("offset", "")
    limit = int(limit_text) if limit_text.isdigit() else default
    offset = int(offset_text) if offset_text.isdigit() else 0
    return min(limit, 50), offset


def _signable(value: Mapping[str, object]) -> dict[str, str]:
    return {k: str(v) for k, v in value.items() if v is not None and not isinstance(v, (list, dict))}


def _as_text(fields: Mapping[str, object]) -> dict[str, str]:
    """Fields as a V2 answer carries them: text, absent values empty."""
    return {k: "" if v is None or v is False else str(v) for k, v in fields.items()}


def _beijing(moment: float) -> str:
    return datetime.fromtimestamp(moment, BEIJING).strftime("%Y-%m-%d %H:%M:%S")


def _today_start(moment: float) -> float:
    local = datetime.fromtimestamp(moment, BEIJING)
    return local.replace(hour=0, minute=0, second=0, microsecond=0).timestamp()


def _trade_no(moment: float) -> str:
    """19 digits: Beijing time to the second, then 5 random digits."""
    stamp = datetime.fromtimestamp(moment, BEIJING).strftime("%Y%m%d%H%M%S")
    return f"{stamp}{secrets.randbelow(100000):05d}"
