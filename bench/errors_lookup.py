"""What explaining a gateway error costs: the catalogue lookup every gateway error goes through
(``explain``), and ``epay errors`` on a message it does not know (``lookup``).

Run by hand: python bench/errors_lookup.py [--runs N]
Prints the median and p90 per shape in milliseconds and PASS/MISS against the target; exits 0
(a measurement is not a failure).
"""

from __future__ import annotations

import argparse
import statistics
import time

from epaycli.catalogue.lookup import catalogue

TARGET_MS = 1.0  # explain() is on the path of every gateway error
SHAPES = {
    "known message": "该订单(A1)支付参数有变化，请更换订单号重新发起支付",
    "unknown message": "Warning: file_put_contents(/www/cache/x.php): failed to open stream",
    "unknown Chinese": "请求过于频繁，请稍后再试，当前服务繁忙中",
    "HTML page (4 KiB)": "<html><body>" + "服务器内部错误 something went wrong " * 120
                         + "</body></html>",
}


def timed(function, text: str, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        function(text)
        times.append((time.perf_counter() - start) * 1000)
    return sorted(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    options = parser.parse_args()
    book = catalogue()
    book.lookup("warm up")
    print(f"{'shape':<20} {'call':<8} {'median ms':>10} {'p90 ms':>8}")
    for label, text in SHAPES.items():
        for name, function in (("explain", lambda t: book.explain(-1, t)),
                               ("lookup", book.lookup)):
            times = timed(function, text, options.runs)
            median, p90 = statistics.median(times), times[int(len(times) * 0.9) - 1]
            verdict = "" if name == "lookup" else ("PASS" if median <= TARGET_MS else "MISS")
            print(f"{label:<20} {name:<8} {median:>10.2f} {p90:>8.2f} {verdict}")
    print(f"target: explain ≤ {TARGET_MS:g} ms median (every gateway error pays it)")


if __name__ == "__main__":
    main()
