"""epay's local order memory (epaycli/state.py): what it remembers, where it lives, and a file
it cannot use. (The notify built from a paid order is tested in tests/core/test_notify.py.)"""

from __future__ import annotations

from decimal import Decimal

import pytest

from epaycli.state import LocalState, RecordedOrder, state_dir


def test_state_remembers_orders_and_prefers_the_newest(tmp_path):
    state = LocalState(tmp_path / "s" / "state.sqlite3")
    first = RecordedOrder("http://g/", "1000", "A-1", "T1", Decimal("1.00"), "n", "alipay", 10)
    state.record_order(first)
    state.record_order(RecordedOrder("http://other/", "2000", "A-1", "T9", Decimal("9.99"), "n",
                                     "wxpay", 5))
    assert state.find_order("A-1") == first
    assert state.find_order("A-1", pid="2000").money == Decimal("9.99")
    assert state.find_order("nope") is None
    state.record_order(RecordedOrder("http://g/", "1000", "A-1", "T2", Decimal("2.00"), "n",
                                     "alipay", 20))
    assert state.find_order("A-1", pid="1000").trade_no == "T2"
    assert [o.trade_no for o in state.list_orders()] == ["T2", "T9"]
    assert LocalState(state.path).find_order("A-1").to_dict()["money"] == "2.00"


def test_state_dir_follows_xdg():
    assert str(state_dir({"XDG_STATE_HOME": "/x"})) == "/x/epay"
    assert str(state_dir({"HOME": "/h"})) == "/h/.local/state/epay"


def test_unusable_state_file_is_a_config_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    from epaycli.core.errors import ConfigError

    with pytest.raises(ConfigError, match="state file"):
        LocalState(blocker / "state.sqlite3")
