"""The order a notify is about: from flags or from the shop's own ``--create-order-cmd``; the
gateway-shaped numbers (trade_no) a notify carries; a wrong key for the forgery cases."""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from ..core.errors import EpayError, InputError
from ..core.money import parse_amount
from ..core.signing import Md5Key, RsaKeys, Signer

BEIJING = timezone(timedelta(hours=8))  # gateways write trade_no in Beijing time
COMMAND_SECONDS = 30


def gateway_trade_no(now: int) -> str:
    """A trade_no as Epay writes one: YYYYmmddHHMMSS (Beijing time) + 5 random digits."""
    stamp = datetime.fromtimestamp(now, BEIJING).strftime("%Y%m%d%H%M%S")
    return stamp + f"{secrets.randbelow(100000):05d}"


def random_out_trade_no(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(6)}"


def random_md5_key() -> str:
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    return "".join(secrets.choice(alphabet) for _ in range(32))


def wrong_signer(signer: Signer) -> Signer:
    """A key that is not the shop's, of the same kind, made fresh for the run."""
    if isinstance(signer, Md5Key):
        return Md5Key(random_md5_key())
    from cryptography.hazmat.primitives.asymmetric import rsa

    return RsaKeys(private=rsa.generate_private_key(public_exponent=65537, key_size=2048))


@dataclass(frozen=True)
class CreatedOrder:
    """What a ``--create-order-cmd`` printed (the amount may be left to ``--amount``)."""

    out_trade_no: str
    amount: Decimal | None = None


@dataclass(frozen=True)
class ShopOrder:
    """The shop's order the check is about, its amount known."""

    out_trade_no: str
    amount: Decimal


def parse_created_order(text: str) -> CreatedOrder:
    """What a ``--create-order-cmd`` printed: a JSON object with ``out_trade_no`` and
    ``money`` (or ``amount``), or a first line ``OUT_TRADE_NO [AMOUNT]``."""
    stripped = text.strip()
    hint = "print {example} or a line {line}"
    shapes = {"example": '{"out_trade_no": "…", "money": "1.00"}', "line": '"OUT_TRADE_NO 1.00"'}
    if not stripped:
        raise InputError("--create-order-cmd printed nothing", hint,
                         code="order_cmd_printed_nothing", fields=shapes)
    if stripped.startswith("{"):
        try:
            document = json.loads(stripped)
        except ValueError:
            raise InputError("--create-order-cmd printed JSON that does not parse", hint,
                             code="order_cmd_bad_json", fields=shapes) from None
        number = document.get("out_trade_no") if isinstance(document, dict) else None
        if not isinstance(number, str | int) or not str(number).strip():
            raise InputError("--create-order-cmd printed JSON without out_trade_no", hint,
                             code="order_cmd_no_number", fields=shapes)
        money = document.get("money", document.get("amount"))
        return CreatedOrder(str(number).strip(),
                            parse_amount(str(money)) if money is not None else None)
    words = stripped.splitlines()[0].split()
    if len(words) > 2:
        raise InputError("--create-order-cmd printed more than OUT_TRADE_NO [AMOUNT]", hint,
                         code="order_cmd_too_much", fields=shapes)
    return CreatedOrder(words[0], parse_amount(words[1]) if len(words) == 2 else None)


def order_from_command(command: str, environ: Mapping[str, str]) -> CreatedOrder:
    """Run the shop's command that creates an order (no shell: use ``sh -c '…'`` for pipes)."""
    import shlex
    import subprocess

    try:
        argv = shlex.split(command)
    except ValueError as error:
        raise InputError("--create-order-cmd cannot be split into words: {reason}",
                         "check its quotes", code="order_cmd_unsplittable",
                         fields={"reason": str(error)}) from None
    if not argv:
        raise InputError("--create-order-cmd is empty", "give the command that creates an order",
                         code="order_cmd_empty", fields={})
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=COMMAND_SECONDS,
                              env=dict(environ), stdin=subprocess.DEVNULL, check=False)
    except FileNotFoundError:
        raise InputError("--create-order-cmd: {program!r} was not found",
                         "give the full path of the program", code="order_cmd_not_found",
                         fields={"program": argv[0]}) from None
    except subprocess.TimeoutExpired:
        raise EpayError("--create-order-cmd did not finish within {seconds} s",
                        "make it print the new order and exit", code="order_cmd_timeout",
                        fields={"seconds": COMMAND_SECONDS}) from None
    except OSError as error:
        raise InputError("--create-order-cmd could not run: {reason}", "check the command",
                         code="order_cmd_cannot_run", fields={"reason": error.strerror}) from None
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or [""])[-1][:120]
        exited = {"status": done.returncode, "said": last}
        if last:
            raise EpayError("--create-order-cmd exited with {status}: {said}",
                            "run it by hand to see why", code="order_cmd_failed_saying",
                            fields=exited)
        raise EpayError("--create-order-cmd exited with {status}", "run it by hand to see why",
                        code="order_cmd_failed", fields=exited)
    return parse_created_order(done.stdout)


def shop_order(order: str | None, amount: str | None, command: str | None,
               environ: Mapping[str, str]) -> ShopOrder:
    """The shop's real order the valid cases are about: ``--order`` with ``--amount``, or what
    ``--create-order-cmd`` printed (its amount, or ``--amount``)."""
    if order and command:
        raise InputError("--order and --create-order-cmd both given", "give one of them",
                         code="order_and_cmd", fields={})
    given = parse_amount(amount) if amount is not None else None
    if command:
        created = order_from_command(command, environ)
        money = created.amount if created.amount is not None else given
        if money is None:
            raise InputError("--create-order-cmd printed order {order!r} without its amount",
                             "print the amount too, or pass --amount",
                             code="order_cmd_no_amount", fields={"order": created.out_trade_no})
        return ShopOrder(created.out_trade_no, money)
    if not order or not order.strip():
        raise InputError("the check needs a real, unpaid order in the shop",
                         "pass --order OUT_TRADE_NO --amount X, or --create-order-cmd \"…\"",
                         code="check_no_order", fields={})
    if given is None:
        raise InputError("the amount of order {order!r} is needed",
                         "pass --amount X (the order's amount in the shop)",
                         code="check_no_amount", fields={"order": order.strip()})
    return ShopOrder(order.strip(), given)
