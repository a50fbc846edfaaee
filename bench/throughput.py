"""Signatures verified per second on one core: the library's verify functions next to bare
loops doing the same arithmetic, in the same run.

Run by hand: python bench/throughput.py [--seconds S] [--repeats R]
Prints ops/s and PASS/MISS (library >= 0.7x bare); always exits 0 once the vectors verify.
"""

from __future__ import annotations

import argparse
import base64
import gc
import hashlib
import hmac
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from epaycli.core.signing import load_public_key, md5_verify, rsa_verify

TARGET_RATIO = 0.7
BATCH = 200  # calls between clock reads: keeps perf_counter out of the per-op cost
RSA_VECTORS = Path(__file__).resolve().parent.parent / "tests" / "vectors" / "v2-rsa.json"

# Bare-loop figures on the reference machine; printed as context, never compared against.
REFERENCE_BARE_OPS = {"MD5": 430_000, "RSA-2048": 58_000}

MD5_KEY = "89unJUB8HZ54Hj7x4nUj56HN4nUzUJ8i"
MD5_NOTIFY = {
    "pid": "1001",
    "trade_no": "2024010112345678901",
    "out_trade_no": "20240101123456",
    "type": "wxpay",
    "name": "VIP会员",
    "money": "1",
    "trade_status": "TRADE_SUCCESS",
    "param": "uid=5",
    "sign_type": "MD5",
    "sign": "680ee946154b218c2f3d51a2ee783add",
}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0,
                        help="duration of one timed repeat of one contender (default 2)")
    parser.add_argument("--repeats", type=int, default=3, help="repeats; the best one counts")
    return parser.parse_args()


def pin_to_one_core() -> str:
    """Single-core figures: pin so the scheduler cannot migrate us mid-measurement."""
    if not hasattr(os, "sched_setaffinity"):
        return "not pinned (no os.sched_setaffinity on this platform)"
    core = min(os.sched_getaffinity(0))  # core 0 may not be ours inside a container
    try:
        os.sched_setaffinity(0, {core})
    except OSError as error:
        return f"not pinned ({error.strerror})"
    return f"pinned to CPU {core}"


# ---- bare contenders: the protocol's arithmetic, nothing else ---------------------------------


def bare_canonical(params: dict[str, str]) -> str:
    return "&".join([f"{k}={params[k]}" for k in sorted(params)
                      if k != "sign" and k != "sign_type" and params[k] != ""])


def bare_md5_verify(params: dict[str, str], key: str) -> bool:
    expected = hashlib.md5((bare_canonical(params) + key).encode()).hexdigest()
    return hmac.compare_digest(params["sign"].encode(), expected.encode())


def bare_md5_hash_only(signed_bytes: bytes, sign: bytes) -> bool:
    return hmac.compare_digest(sign, hashlib.md5(signed_bytes).hexdigest().encode())


def bare_rsa_verify(canonical: str, sign: str, public_key) -> bool:
    public_key.verify(base64.b64decode(sign), canonical.encode(), padding.PKCS1v15(),
                      hashes.SHA256())
    return True  # verify() raises on a bad signature


# ---- timing ------------------------------------------------------------------------------------


def ops_per_second(fn: Callable[..., bool], args: tuple, seconds: float) -> float:
    """Calls per second of fn(*args) over about ``seconds``, in batches, gc off (like timeit)."""
    calls = 0
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        started = time.perf_counter()
        deadline = started + seconds
        while True:
            for _ in range(BATCH):
                fn(*args)
            calls += BATCH
            now = time.perf_counter()
            if now >= deadline:
                return calls / (now - started)
    finally:
        if gc_was_enabled:
            gc.enable()


def best_of(contenders: dict[str, tuple[Callable[..., bool], tuple]], seconds: float,
            repeats: int) -> dict[str, float]:
    """Best ops/s of each contender; repeats interleave the contenders so noise hits all."""
    best = dict.fromkeys(contenders, 0.0)
    for _ in range(repeats):
        for label, (fn, args) in contenders.items():
            best[label] = max(best[label], ops_per_second(fn, args, seconds))
    return best


# ---- the two suites ------------------------------------------------------------------------------


def md5_contenders() -> dict[str, tuple[Callable[..., bool], tuple]]:
    signed_bytes = (bare_canonical(MD5_NOTIFY) + MD5_KEY).encode()
    sign = MD5_NOTIFY["sign"].encode()
    contenders = {
        "library md5_verify": (md5_verify, (MD5_NOTIFY, MD5_KEY)),
        "bare: canonical + md5 + compare": (bare_md5_verify, (MD5_NOTIFY, MD5_KEY)),
        "bare: md5 of precomputed string + compare (pure hash cost)":
            (bare_md5_hash_only, (signed_bytes, sign)),
    }
    require_all_true(contenders, "MD5")
    return contenders


def rsa_contenders() -> dict[str, tuple[Callable[..., bool], tuple]]:
    vectors = json.loads(RSA_VECTORS.read_text(encoding="utf-8"))
    case = next(c for c in vectors["platform_signed"] if c["id"] == "v2-notify")
    public_key = load_public_key(vectors["platform_public_key_pem"])
    params = {**case["params"], "sign": case["rsa_sign"]}
    contenders = {
        "library rsa_verify": (rsa_verify, (params, public_key)),
        "bare: cryptography verify, precomputed canonical":
            (bare_rsa_verify, (case["canonical_rsa"], case["rsa_sign"], public_key)),
    }
    require_all_true(contenders, "RSA")
    return contenders


def require_all_true(contenders, suite: str) -> None:
    """Timing a verify that says False would time the wrong (early-exit) path."""
    for label, (fn, args) in contenders.items():
        if fn(*args) is not True:
            sys.exit(f"throughput: {suite} vector does not verify with {label!r}; not timing")


# ---- report ---------------------------------------------------------------------------------------


def print_suite(name: str, results: dict[str, float]) -> None:
    library_label, bare_label, *_ = results
    ratio = results[library_label] / results[bare_label]
    print(f"\n{name}")
    for label, ops in results.items():
        print(f"  {label:58} {ops:>11,.0f} ops/s  {1e6 / ops:7.2f} µs/op")
    verdict = "PASS" if ratio >= TARGET_RATIO else "MISS"
    print(f"  library / bare = {ratio:.2f}x   target >= {TARGET_RATIO}x   {verdict}")
    print(f"  (reference machine, bare loop: ~{REFERENCE_BARE_OPS[name]:,} ops/s; context only)")


def main() -> int:
    args = parse_args()
    print(f"python {sys.version.split()[0]}; {pin_to_one_core()}; "
          f"best of {args.repeats} x {args.seconds:g} s per contender")
    suites = {"MD5": md5_contenders(), "RSA-2048": rsa_contenders()}  # asserts before timing
    for name, contenders in suites.items():
        print_suite(name, best_of(contenders, args.seconds, args.repeats))
    return 0


if __name__ == "__main__":
    sys.exit(main())
