"""What a login was made from, as the sessions list shows it (idp/login/devices.py): the address
masked however it arrives, and nothing invented for a User-Agent no browser sent."""

from __future__ import annotations

import pytest

from idp.login.devices import describe_device, mask_ip


@pytest.mark.parametrize(("address", "shown"), [
    ("203.0.113.77", "203.0.113.*"),
    ("::ffff:203.0.113.77", "203.0.113.*"),  # IPv4 through a dual-stack socket
    ("2001:db8:5:1::9", "2001:db8:5::/48"),
    ("", None), (None, None), ("not an address", None),
])
def test_an_address_is_shown_masked_or_not_at_all(address, shown):
    assert mask_ip(address) == shown


def test_a_user_agent_no_browser_sends_names_no_browser_or_system():
    device = describe_device("curl/8.5.0", "198.51.100.1")
    assert (device.browser, device.system, device.masked_ip) == ("curl 8", None, "198.51.100.*")
    assert describe_device("", None) == describe_device(None, None)
    assert describe_device(None, None).browser is None and describe_device(None, None).system is None


def test_an_oversized_user_agent_is_read_only_as_far_as_a_real_one_goes():
    device = describe_device("Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/131.0.0.0 " + "x" * 100_000, None)
    assert device.system == "Windows 10"
