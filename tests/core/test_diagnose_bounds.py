"""The diagnoser is bounded in work, not just in attempts: the listener runs it on every invalid
notify from the internet, so a large one must cost no more than a small one (the time it takes
is measured by bench/diagnose_time.py; here the bound itself is checked, deterministically)."""

from __future__ import annotations

import hashlib

import pytest

from epaycli.core import diagnose
from epaycli.core.diagnose import MAX_SEARCH_CHARS, MAX_WORK_CHARS, diagnose_md5

KEY = "89unJUB8HZ54Hj7x4nUj56HN4nUzUJ8i"


def callback(size: int, fields: int = 12) -> dict[str, str]:
    per = max(1, size // fields)
    params = {f"f{i:02d}": ("值 a&b+c%" * per)[:per] for i in range(fields)}
    params.update(pid="1001", money="1.00", trade_no="2024010112345678901", sign="0" * 32)
    return params


def counting(monkeypatch) -> list[int]:
    """Record the length of every string the search hashes."""
    seen: list[int] = []
    real = diagnose.md5_hex

    def md5_hex(text: str) -> str:
        seen.append(len(text))
        return real(text)

    monkeypatch.setattr(diagnose, "md5_hex", md5_hex)
    return seen


@pytest.mark.parametrize("size", [16 * 1024, 60 * 1024])
def test_a_large_callback_stops_within_the_work_bound(monkeypatch, size):
    seen = counting(monkeypatch)
    found = diagnose_md5(callback(size), KEY)
    assert found.mistake == "wrong_key"
    assert found.detail.startswith("search stopped after")
    # what was hashed stays within the bound (plus the one candidate that crossed it)
    assert sum(seen) <= MAX_WORK_CHARS + max(seen) + 2 * len(KEY) * len(seen)


def test_past_64_kib_nothing_is_searched(monkeypatch):
    seen = counting(monkeypatch)
    found = diagnose_md5(callback(MAX_SEARCH_CHARS + 1024), KEY)
    assert found.mistake == "wrong_key" and "too large to search" in found.detail
    assert seen == []


def test_an_ordinary_callback_is_searched_in_full(monkeypatch):
    """The bound is far above a real callback: two mistakes at once are still found."""
    params = {"pid": "1001", "trade_no": "2024010112345678901", "out_trade_no": "A1",
              "type": "alipay", "name": "VIP", "money": "1.00", "trade_status": "TRADE_SUCCESS",
              "sign_type": "MD5"}
    signed = "&".join(f"{k}={v}" for k, v in sorted(params.items())) + f"&key={KEY}"
    params["sign"] = hashlib.md5(signed.encode()).hexdigest()
    found = diagnose_md5(params, KEY)
    assert set(found.mistakes) == {"sign_type_included", "key_as_param"}
