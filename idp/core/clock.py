"""Time as the bureau counts it: UTC instants, and the local day for lockouts and caps."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from idp.core.settings import current_settings


def utcnow() -> datetime:
    return datetime.now(UTC)


def local_day(at: datetime | None = None) -> date:
    """The calendar day in ``TIMEZONE`` (Asia/Shanghai) that ``at`` falls on."""
    zone = ZoneInfo(current_settings().TIMEZONE)
    return (at or utcnow()).astimezone(zone).date()


def seconds_from_now(seconds: int) -> datetime:
    return utcnow() + timedelta(seconds=seconds)
