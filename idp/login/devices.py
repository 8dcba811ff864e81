"""What a login was made from, as the person's sessions list shows it (docs/account-centre.md):
the browser and system read from the User-Agent once, at login, and the address masked.

Only this description is kept on the login session, never the User-Agent or the full address
(docs/privacy.md): enough for a person to tell their phone from an unknown computer.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from ua_parser import parse

#: A User-Agent longer than any real browser's is cut before parsing (the parser's time grows with it).
USER_AGENT_LIMIT = 512
#: An IPv6 address is shown by its site prefix: the rest names one device of a network.
IPV6_PREFIX = 48


@dataclass(frozen=True)
class LoginDevice:
    browser: str | None
    system: str | None
    masked_ip: str | None


def _name(family: str | None, major: str | None, minor: str | None = None) -> str | None:
    if not family or family == "Other":
        return None
    version = ".".join(part for part in (major, minor) if part)
    return f"{family} {version}" if version else family


def mask_ip(address: str | None) -> str | None:
    """``203.0.113.7`` as ``203.0.113.*``, ``2001:db8:5:1::9`` as ``2001:db8:5::/48``."""
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if isinstance(ip, ipaddress.IPv4Address):
        return ".".join(str(ip).split(".")[:3] + ["*"])
    return str(ipaddress.ip_network(f"{ip}/{IPV6_PREFIX}", strict=False))


def describe_device(user_agent: str | None, address: str | None) -> LoginDevice:
    parsed = parse((user_agent or "")[:USER_AGENT_LIMIT])
    browser = _name(parsed.user_agent.family, parsed.user_agent.major) if parsed.user_agent else None
    system = _name(parsed.os.family, parsed.os.major, parsed.os.minor) if parsed.os else None
    return LoginDevice(browser=browser, system=system, masked_ip=mask_ip(address))
