"""The dual-track transition (docs/domain.md §1.2): until when the old enterprise login stays usable.

``LEGACY_LOGIN_SUNSET`` is the first day (in ``TIMEZONE``, Asia/Shanghai) on which the old login
is refused: at its page, for a browser session it made earlier, and at every refresh of a grant
it made.  Without the setting there is no old login at all.
"""

from __future__ import annotations

from datetime import date

from idp.core.clock import local_day
from idp.core.settings import current_settings


def sunset_day() -> date | None:
    """The first day the old enterprise login is refused (None: it is not offered)."""
    return current_settings().legacy_login_sunset


def check_legacy_login_open() -> bool:
    """True while today (Asia/Shanghai) is before the sunset day."""
    sunset = sunset_day()
    return sunset is not None and local_day() < sunset
