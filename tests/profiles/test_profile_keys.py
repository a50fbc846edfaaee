"""One way from a profile to keys (issue 16.3): profile_keys loads what is asked, and the rule
about the sandbox key lives there once."""

from __future__ import annotations

import pytest
from conftest import load_vectors

from epaycli.core.errors import InputError, KeyFormatError
from epaycli.core.models import SANDBOX_KEY, SANDBOX_PROFILE, Profile
from epaycli.profiles.keys import notify_keys, profile_keys
from epaycli.profiles.resolve import Resolved
from epaycli.state import LocalState, state_path

V2 = load_vectors("v2-rsa")
KEY = "89unJUB8HZ54Hj7x4nUu845u5JUu56HN"


def own(**fields) -> Resolved:
    return Resolved(Profile("mine", **fields), dict.fromkeys(fields, "profile 'mine'"))


def test_rsa_keys_are_loaded_only_when_asked_for():
    resolved = own(key=KEY, private_key="/nonexistent/private.pem",
                   public_key=V2["platform_public_key_pem"])
    keys = profile_keys(resolved)  # the missing private key file is not read
    assert keys.md5 is not None and keys.merchant is None and keys.platform is None
    assert profile_keys(resolved, public=True).platform.public is not None
    with pytest.raises(KeyFormatError):
        profile_keys(resolved, private=True)


def test_inline_pem_keys_load_as_the_profile_gives_them():
    keys = profile_keys(own(private_key=V2["merchant_private_key_pem"],
                            public_key=V2["platform_public_key_pem"]), private=True, public=True)
    assert keys.md5 is None
    assert keys.merchant.private is not None and keys.platform.public is not None
    assert keys.for_callbacks().rsa is keys.platform


def test_the_sandbox_key_is_left_out_for_a_pid_of_ones_own_when_asked():
    resolved = Resolved(SANDBOX_PROFILE.updated(pid="4242"),
                        {"key": "built-in sandbox", "pid": "EPAY_PID"})
    assert profile_keys(resolved).md5.secret == SANDBOX_KEY
    assert profile_keys(resolved, own_pid_refuses_sandbox_key=True).md5 is None
    sandbox = Resolved(SANDBOX_PROFILE, {"key": "built-in sandbox", "pid": "built-in sandbox"})
    assert profile_keys(sandbox, own_pid_refuses_sandbox_key=True).md5.secret == SANDBOX_KEY


def test_notify_keys_need_at_least_one_key():
    assert notify_keys(own(key=KEY)).md5.secret == KEY
    with pytest.raises(InputError, match="no key to check notifies with"):
        notify_keys(own(pid="1"))


def test_the_orders_file_is_named_in_one_place(tmp_path):
    environ = {"XDG_STATE_HOME": str(tmp_path)}
    assert LocalState.existing(environ) is None
    assert not state_path(environ).exists()  # looking did not create it
    assert LocalState.default(environ).path == state_path(environ)
    assert LocalState.existing(environ).path == state_path(environ)
