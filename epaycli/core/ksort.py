"""PHP's ``ksort``, reproduced: the order an Epay signer written in PHP joins its fields in.

For ordinary names (every standard Epay field) that is plain byte order. Names that look like
numbers follow PHP's rules instead, in three steps, each done the way PHP does it:

1. **The array.** ``$a[$name] = $v`` turns a canonical decimal integer in the 64-bit range
   (``"10"``, ``"-1"``) into an integer key; ``"01"``, ``"-0"``, ``"+5"``, ``" 5"``, ``"1.0"``
   and ``"1e1"`` stay strings (``array_key``).
2. **The comparison** of two keys (``compare_keys``): integers numerically; two strings
   numerically when both are numeric strings, else byte by byte; an integer against a string
   numerically when the string is numeric, else — since PHP 8.2 — the integer's decimal text
   against the string, byte by byte (PHP 7.x to 8.1 compared the integer with the string's
   leading number, or with 0 when it had none). PHP 8 breaks ties by arrival order.
3. **The algorithm** (``zend_sort``). Mixes like ``9``, ``10``, ``1f`` make the comparison
   non-transitive (9 < 10 as numbers, 10 < "1f" < "9" as bytes), so the result depends on
   exactly which pairs get compared: only PHP's own hybrid insertion sort / quicksort, applied
   to the arrival order, gives PHP's answer.

Written from PHP's documentation and from reading its source (Zend/zend_sort.c,
Zend/zend_operators.c, ext/standard/array.c), then checked against PHP 8.2 itself
(tests/vectors/php-ksort*.json).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from enum import StrEnum
from functools import lru_cache
from typing import Any, NamedTuple, TypeVar

from .patterns import lazy

__all__ = [
    "PhpVersion",
    "DEFAULT_VERSION",
    "array_key",
    "numeric_string",
    "compare_keys",
    "zend_sort",
    "ksort_names",
    "may_differ_from_byte_order",
]


class PhpVersion(StrEnum):
    """Which PHP's ``ksort`` rules: they changed twice, and real gateways run all three."""

    PHP82 = "php8.2"  # PHP 8.2 and later: int vs non-numeric string compared as text
    PHP80 = "php8.0"  # PHP 8.0 and 8.1: PHP 8 numeric strings, PHP 7's int-vs-string rule
    PHP7 = "php7"  # PHP 7.x: no trailing whitespace in numeric strings, ties not stable

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {
    PhpVersion.PHP82: "PHP 8.2+",
    PhpVersion.PHP80: "PHP 8.0/8.1",
    PhpVersion.PHP7: "PHP 7",
}

DEFAULT_VERSION = PhpVersion.PHP82

LONG_MAX = 2**63 - 1
LONG_MIN = -(2**63)
_LONG_MIN_DIGITS = "9223372036854775808"
_MAX_LENGTH_OF_LONG = 20  # digits PHP counts before it treats an integer as overflowing

# is_numeric_string's whitespace (note: \v and \f, unlike trim()).
_WHITESPACE = " \t\n\r\x0b\x0c"
# A number as zend_strtod reads it after the sign: digits with an optional fraction and
# exponent, or a fraction alone. ASCII digits only.
_NUMBER = r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
_FULL_NUMERIC = {
    True: lazy(rf"[{_WHITESPACE}]*([+-]?)({_NUMBER})[{_WHITESPACE}]*"),  # PHP 8
    False: lazy(rf"[{_WHITESPACE}]*([+-]?)({_NUMBER})"),  # PHP 7: nothing may trail
}
_LEADING_NUMERIC = lazy(rf"[{_WHITESPACE}]*([+-]?)({_NUMBER})")
_CANONICAL_INTEGER = lazy(r"-?(?:0|[1-9][0-9]{0,18})")

# A name can only be numeric to PHP if, after whitespace, it starts with a sign, a dot or a
# digit; all of these sort before any letter, so after a byte sort only the first name needs
# looking at (canonical.py relies on this for its fast path).
NUMERIC_START = frozenset(_WHITESPACE + "+-.0123456789")


def array_key(name: str) -> int | str:
    """The key PHP's array gives ``name``: an int for a canonical decimal integer in range."""
    if _CANONICAL_INTEGER.fullmatch(name) and name != "-0":
        value = int(name)
        if LONG_MIN <= value <= LONG_MAX:
            return value
    return name


class Number(NamedTuple):
    """A numeric string's value as PHP reads it."""

    is_double: bool
    value: int | float
    overflow: int  # +1/-1: an integer too long for 64 bits, read as a float (PHP's oflow)


# A sort compares each name many times: read each one once (bounded, for hostile inputs).
@lru_cache(maxsize=4096)
def numeric_string(text: str, *, trailing_whitespace: bool = True) -> Number | None:
    """PHP's ``is_numeric_string`` (no errors allowed): the value, or None if not numeric.

    ``" 5"``, ``"5 "`` (PHP 8), ``"5."``, ``".5"``, ``"1e1"``, ``"-0"`` are numeric;
    ``"0x1A"``, ``"inf"``, ``"1e"``, ``"1_0"`` are not."""
    match = _FULL_NUMERIC[trailing_whitespace].fullmatch(text)
    if match is None:
        return None
    return _read_number(match.group(1), match.group(2), text[match.end(2):])


@lru_cache(maxsize=4096)
def leading_number(text: str) -> Number | None:
    """``is_numeric_string`` with errors allowed: the number a string starts with ("1f" → 1)."""
    match = _LEADING_NUMERIC.match(text)
    if match is None:
        return None
    return _read_number(match.group(1), match.group(2), text[match.end(2):])


def _read_number(sign: str, number: str, rest: str) -> Number:
    digits = number.lstrip("0")
    integer_part = digits.partition(".")[0].partition("e")[0].partition("E")[0]
    is_integer = integer_part == digits and number[:1] != "."
    # PHP counts the integer digits before a '.' or exponent: 20 or more overflow a long.
    if len(integer_part) >= _MAX_LENGTH_OF_LONG:
        return Number(True, float(sign + number), -1 if sign == "-" else 1)
    if is_integer:
        # 19 digits: compared as text with the digits of LONG_MIN (whatever follows included,
        # as PHP's strcmp does); only "-9223372036854775808" itself still fits.
        if len(digits) == _MAX_LENGTH_OF_LONG - 1:
            tail = digits + rest.partition("\0")[0]  # strcmp stops at a NUL
            if not (tail < _LONG_MIN_DIGITS or (tail == _LONG_MIN_DIGITS and sign == "-")):
                return Number(True, float(sign + number), -1 if sign == "-" else 1)
        value = int(digits or "0")
        return Number(False, -value if sign == "-" else value, 0)
    return Number(True, float(sign + number), 0)


def _sign_of(difference: float) -> int:
    return 1 if difference > 0 else -1 if difference < 0 else 0  # NaN compares as equal


def _three_way(a: Any, b: Any) -> int:
    return 0 if a == b else -1 if a < b else 1


def _byte_compare(a: str, b: str) -> int:
    # Code-point order of str is the byte order of its UTF-8: what PHP's memcmp sees.
    return 0 if a == b else -1 if a < b else 1


def _smart_strcmp(a: str, b: str, trailing_whitespace: bool) -> int:
    """Two string keys: numerically when both are numeric strings, else as bytes."""
    first = numeric_string(a, trailing_whitespace=trailing_whitespace)
    second = numeric_string(b, trailing_whitespace=trailing_whitespace) if first else None
    if first is None or second is None:
        return _byte_compare(a, b)
    if first.overflow and first.overflow == second.overflow and first.value - second.value == 0:
        return _byte_compare(a, b)  # both overflowed alike: floats lost the difference
    if first.is_double or second.is_double:
        if not first.is_double:
            if second.overflow:
                return -second.overflow
        elif not second.is_double:
            if first.overflow:
                return first.overflow
        elif first.value == second.value and first.value in (float("inf"), float("-inf")):
            return _byte_compare(a, b)
        return _sign_of(float(first.value) - float(second.value))
    return _three_way(first.value, second.value)


def _int_vs_string_82(integer: int, text: str) -> int:
    """PHP >= 8.2: numerically if the string is numeric, else the int's text, as bytes."""
    number = numeric_string(text)
    if number is None:
        return _byte_compare(str(integer), text)
    if number.is_double:
        return _three_way(float(integer), number.value)
    return _three_way(integer, number.value)


def _int_vs_string_legacy(integer: int, text: str) -> int:
    """PHP 7.x-8.1: against the string's leading number, or 0 when it has none."""
    number = leading_number(text)
    if number is None:
        return _three_way(integer, 0)
    if number.is_double:
        return _sign_of(float(integer) - number.value)
    return _three_way(integer, number.value)


# The diagnoser sorts many subsets of one callback's names: the same pairs again and again.
@lru_cache(maxsize=65536)
def compare_keys(a: int | str, b: int | str, version: PhpVersion = DEFAULT_VERSION) -> int:
    """PHP's ksort comparison of two array keys (SORT_REGULAR), without the tie-break."""
    if isinstance(a, int):
        if isinstance(b, int):
            return 1 if a > b else -1  # as PHP: two int keys are never equal
        return _int_vs_string(a, b, version)
    if isinstance(b, int):
        return -_int_vs_string(b, a, version)
    return _smart_strcmp(a, b, version is not PhpVersion.PHP7)


def _int_vs_string(integer: int, text: str, version: PhpVersion) -> int:
    if version is PhpVersion.PHP82:
        return _int_vs_string_82(integer, text)
    return _int_vs_string_legacy(integer, text)


# ---- zend_sort -------------------------------------------------------------------------------

T = TypeVar("T")
_Greater = Callable[[Any, Any], bool]


def zend_sort(items: list[T], greater: Callable[[T, T], bool]) -> None:
    """Sort ``items`` in place exactly as PHP's ``zend_sort`` does, making the same
    comparisons in the same order. ``greater(a, b)`` is PHP's ``cmp(a, b) > 0``."""
    _hybrid_sort(items, 0, len(items), greater)


def _hybrid_sort(a: list[Any], start: int, count: int, greater: _Greater) -> None:
    while True:
        if count <= 16:
            _insertion_sort(a, start, count, greater)
            return
        end = start + count
        offset = count >> 1
        pivot = start + offset
        if count >> 10:  # from 1024 elements: median of five
            delta = offset >> 1
            _sort5(a, start, start + delta, pivot, pivot + delta, end - 1, greater)
        else:
            _sort3(a, start, pivot, end - 1, greater)
        a[start + 1], a[pivot] = a[pivot], a[start + 1]
        i = _partition(a, start + 1, end, greater)
        pivot = start + 1
        a[pivot], a[i - 1] = a[i - 1], a[pivot]
        # Recurse into the smaller side, loop on the larger one.
        if (i - 1) - start < end - i:
            _hybrid_sort(a, start, i - start - 1, greater)
            start, count = i, end - i
        else:
            _hybrid_sort(a, i, end - i, greater)
            count = i - start - 1


def _partition(a: list[Any], pivot: int, end: int, greater: _Greater) -> int:
    """The partition loop with the pivot parked at ``pivot``; returns PHP's final ``i``."""
    i = pivot + 1
    j = end - 1
    while True:
        while greater(a[pivot], a[i]):
            i += 1
            if i == j:
                return i
        j -= 1
        if j == i:
            return i
        while greater(a[j], a[pivot]):
            j -= 1
            if j == i:
                return i
        a[i], a[j] = a[j], a[i]
        i += 1
        if i == j:
            return i


def _swap_if_greater(a: list[Any], x: int, y: int, greater: _Greater) -> bool:
    if greater(a[x], a[y]):
        a[x], a[y] = a[y], a[x]
        return True
    return False


def _sort3(a: list[Any], x: int, y: int, z: int, greater: _Greater) -> None:
    if not greater(a[x], a[y]):
        if not greater(a[y], a[z]):
            return
        a[y], a[z] = a[z], a[y]
        _swap_if_greater(a, x, y, greater)
        return
    if not greater(a[z], a[y]):
        a[x], a[z] = a[z], a[x]
        return
    a[x], a[y] = a[y], a[x]
    _swap_if_greater(a, y, z, greater)


def _sort4(a: list[Any], w: int, x: int, y: int, z: int, greater: _Greater) -> None:
    _sort3(a, w, x, y, greater)
    if _swap_if_greater(a, y, z, greater) and _swap_if_greater(a, x, y, greater):
        _swap_if_greater(a, w, x, greater)


def _sort5(a: list[Any], v: int, w: int, x: int, y: int, z: int, greater: _Greater) -> None:
    _sort4(a, v, w, x, y, greater)
    if (_swap_if_greater(a, y, z, greater) and _swap_if_greater(a, x, y, greater)
            and _swap_if_greater(a, w, x, greater)):
        _swap_if_greater(a, v, w, greater)


def _insertion_sort(a: list[Any], start: int, count: int, greater: _Greater) -> None:
    if count <= 1:
        return
    if count == 2:
        _swap_if_greater(a, start, start + 1, greater)
        return
    if count == 3:
        _sort3(a, start, start + 1, start + 2, greater)
        return
    if count == 4:
        _sort4(a, start, start + 1, start + 2, start + 3, greater)
        return
    if count == 5:
        _sort5(a, start, start + 1, start + 2, start + 3, start + 4, greater)
        return
    end = start + count
    sentry = start + 6
    # The first six slots: scan back one slot at a time.
    for i in range(start + 1, sentry):
        j = i - 1
        if not greater(a[j], a[i]):
            continue
        while j != start:
            j -= 1
            if not greater(a[j], a[i]):
                j += 1
                break
        a.insert(j, a.pop(i))
    # Then two slots at a time, settling the last step with one or two more comparisons.
    for i in range(sentry, end):
        j = i - 1
        if not greater(a[j], a[i]):
            continue
        while True:
            j -= 2
            if not greater(a[j], a[i]):
                j += 1
                if not greater(a[j], a[i]):
                    j += 1
                break
            if j == start:
                break
            if j == start + 1:
                j -= 1
                if greater(a[i], a[j]):  # note the reversed operands, as in PHP
                    j += 1
                break
        a.insert(j, a.pop(i))


# ---- ksort -----------------------------------------------------------------------------------


class _Entry(NamedTuple):
    key: int | str
    position: int  # arrival order: PHP 8's tie-break
    name: str


def _is_numeric_key(name: str, version: PhpVersion) -> tuple[bool, bool]:
    """(numeric to PHP's comparison, an int key)."""
    key = array_key(name)
    if isinstance(key, int):
        return True, True
    if version is PhpVersion.PHP7:
        return numeric_string(name, trailing_whitespace=False) is not None, False
    return numeric_string(name) is not None, False


def may_differ_from_byte_order(names: Iterable[str], version: PhpVersion = DEFAULT_VERSION) -> bool:
    """Whether PHP's order of ``names`` can differ from byte order at all.

    Two numeric names are needed for a numeric comparison; before PHP 8.2 one integer key is
    enough (it is compared with a non-numeric string as with 0)."""
    numeric = 0
    for name in names:
        if name[:1] not in NUMERIC_START:
            continue
        is_numeric, is_int = _is_numeric_key(name, version)
        if is_int and version is not PhpVersion.PHP82:
            return True
        numeric += is_numeric
        if numeric >= 2:
            return True
    return False


def ksort_names(names: Sequence[str], version: PhpVersion = DEFAULT_VERSION) -> list[str]:
    """``names`` (distinct, in arrival order) as PHP's ``ksort`` orders them."""
    if not may_differ_from_byte_order(names, version):
        return sorted(names)
    entries = [_Entry(array_key(name), position, name) for position, name in enumerate(names)]
    zend_sort(entries, _greater_for(version))
    return [entry.name for entry in entries]


def _greater_for(version: PhpVersion) -> Callable[[_Entry, _Entry], bool]:
    if version is PhpVersion.PHP7:  # no tie-break: PHP 7's sort was not stable
        return lambda a, b: compare_keys(a.key, b.key, version) > 0

    def greater(a: _Entry, b: _Entry) -> bool:
        result = compare_keys(a.key, b.key, version)
        return result > 0 if result else a.position > b.position

    return greater
