"""How long the diagnoser takes on the worst inputs up to 64 KiB (MD5 and RSA).

Run by hand: python bench/diagnose_time.py [--repeats N]
Prints the slowest shapes and PASS/MISS against the target; exits 0 (a measurement is not a
failure) unless the diagnoser itself crashes.
"""

from __future__ import annotations

import argparse
import json
import random
import string
import sys
import time
from pathlib import Path

from epaycli.core.callback import Expectations, check_callback
from epaycli.core.signing import Keys, Md5Key, RsaKeys, load_public_key

TARGET_MS = 100.0
KEY = "89unJUB8HZ54Hj7x4nUj56HN4nUzUJ8i"
SIZES = (300, 4 * 1024, 16 * 1024, 32 * 1024, 64 * 1024 - 512)
FIELD_COUNTS = (1, 6, 12, 24, 25, 40, 63)
ALPHABET = string.ascii_letters + string.digits + " &=+%.中文会员\t"
VECTORS = Path(__file__).parent.parent / "tests" / "vectors" / "v2-rsa.json"


def shapes(rng: random.Random):
    """(label, params): many fields or few, one huge value or even ones, blanks, money, type,
    fields in front of pid (the notify_url quirk), wrong order — each a path of the search."""
    for size in SIZES:
        for count in FIELD_COUNTS:
            for layout in ("even", "one-huge", "blanks", "numeric"):
                per = max(1, size // count)
                values = ["".join(rng.choices(ALPHABET, k=per)) for _ in range(count)]
                if layout == "one-huge":
                    values = [values[0] * 1] + ["x"] * (count - 1)
                    values[0] = "".join(rng.choices(ALPHABET, k=size))
                if layout == "blanks":
                    values = [v if i % 3 else " " for i, v in enumerate(values)]
                names = [f"f{i:02d}" for i in range(count)]
                if layout == "numeric":  # names PHP sorts by number (and not transitively)
                    names = [rng.choice(["9", "10", "1e1", "1f", "-1", " 5", "08", "1.0"]) + str(i)
                             for i in range(count)]
                params = {"z_front": "1"} | dict(zip(names, values, strict=True))
                params.update(pid="1001", trade_no="2024010112345678901", money="1.00",
                              trade_status="TRADE_SUCCESS", param="", sign_type="MD5")
                yield f"{size:>6} B {count:>2} fields {layout:<8}", params


def time_one(params, keys, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        report = check_callback(params, keys, Expectations(now=1_700_000_000))
        best = min(best, time.perf_counter() - started)
        assert not report.genuine
    return best * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="best of N per shape")
    args = parser.parse_args()
    rng = random.Random(5)
    vectors = json.loads(VECTORS.read_text(encoding="utf-8"))
    rsa = RsaKeys(public=load_public_key(vectors["platform_public_key_pem"]))
    results = []
    for label, params in shapes(rng):
        md5_params = {**params, "sign": "0" * 32}
        results.append((time_one(md5_params, Keys(md5=Md5Key(KEY)), args.repeats), "MD5", label))
        rsa_params = {**params, "sign_type": "RSA", "timestamp": "1700000000",
                      "sign": "A" * 344}
        results.append((time_one(rsa_params, Keys(rsa=rsa), args.repeats), "RSA", label))
    results.sort(reverse=True)
    print(f"{len(results)} shapes up to 64 KiB, best of {args.repeats} each; slowest:")
    for ms, kind, label in results[:10]:
        print(f"  {ms:7.1f} ms  {kind}  {label}")
    worst = results[0][0]
    verdict = "PASS" if worst <= TARGET_MS else "MISS"
    print(f"\nworst {worst:.1f} ms  target <= {TARGET_MS:.0f} ms  {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
