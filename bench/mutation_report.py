"""Per-module mutation score of epaycli/core from the results of the last `mutmut run`.

Run from the project root after `mutmut run` (see bench/README.md). Reads mutmut's result
files (mutants/epaycli/core/*.py.meta) and prints, for each module, how many mutants there
were, how many the tests killed, how many survived, and the score. `--survivors` also lists
every surviving mutant by name (show one with `mutmut show NAME`).

A timeout counts as killed (the mutant made a test hang, and a hang fails a test run); a
mutant that no test even reaches ("no tests") counts as survived. Exit status 0 always: a
score is a measurement, not a failure.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

# mutmut 3.x exit codes of a mutant's test run (mutmut/stats.py).
KILLED = {1, 3, 36, 24, -24, 152, 255, 37}  # failed, pytest error, timeouts, type check
SURVIVED = {0}
NO_TESTS = {5, 33}
SKIPPED = {34}


def load(results: Path) -> dict[str, dict[str, int | None]]:
    by_module: dict[str, dict[str, int | None]] = {}
    for meta in sorted(results.glob("*.py.meta")):
        codes = json.loads(meta.read_text(encoding="utf-8")).get("exit_code_by_key", {})
        if codes:
            by_module[meta.name.removesuffix(".py.meta")] = codes
    return by_module


def tally(codes: dict[str, int | None]) -> Counter:
    counts = Counter()
    for code in codes.values():
        if code in KILLED:
            counts["killed"] += 1
        elif code in SURVIVED:
            counts["survived"] += 1
        elif code in NO_TESTS:
            counts["no_tests"] += 1
        elif code in SKIPPED:
            counts["skipped"] += 1
        elif code is None:
            counts["not_checked"] += 1
        else:
            counts["other"] += 1
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=Path("mutants/epaycli/core"),
                        help="where mutmut keeps its results (default: %(default)s)")
    parser.add_argument("--survivors", action="store_true", help="list every surviving mutant")
    options = parser.parse_args(argv)
    if not options.results.is_dir():
        print(f"no mutmut results in {options.results}: run `mutmut run --max-children 2` "
              "from the project root first", file=sys.stderr)
        return 1
    by_module = load(options.results)
    header = f"{'module':<12} {'mutants':>7} {'killed':>7} {'survived':>8} {'no tests':>8} " \
             f"{'unchecked':>9} {'score':>7}"
    print(header)
    print("-" * len(header))
    total = Counter()
    for module, codes in by_module.items():
        counts = tally(codes)
        total.update(counts)
        print(_row(module, len(codes), counts))
    print("-" * len(header))
    print(_row("core", sum(len(c) for c in by_module.values()), total))
    if options.survivors:
        print()
        for _module, codes in by_module.items():
            for name, code in sorted(codes.items(), key=lambda item: _mutant_order(item[0])):
                if code in SURVIVED or code in NO_TESTS:
                    print(f"{name}{'  (no tests)' if code in NO_TESTS else ''}")
    return 0


def _row(module: str, mutants: int, counts: Counter) -> str:
    judged = counts["killed"] + counts["survived"] + counts["no_tests"]
    score = f"{100 * counts['killed'] / judged:.1f}%" if judged else "-"
    return (f"{module:<12} {mutants:>7} {counts['killed']:>7} {counts['survived']:>8} "
            f"{counts['no_tests']:>8} {counts['not_checked'] + counts['other']:>9} {score:>7}")


def _mutant_order(name: str) -> tuple[str, int]:
    stem, _, number = name.rpartition("__mutmut_")
    return stem, int(number) if number.isdigit() else 0


if __name__ == "__main__":
    raise SystemExit(main())
