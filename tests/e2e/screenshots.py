"""Screenshots of the journeys for docs/journeys/, taken by the browser tests that walk them.

``journey_screenshot(page, "login-1-password-desktop")`` writes docs/journeys/<name>.png only when
``IDP_JOURNEY_SCREENSHOTS=1``: an ordinary test run leaves the committed pictures alone, and
regenerating them is one command (docs/journeys/README.md). The picture is the viewport, as the
person sees the page without scrolling, which keeps the files small.
"""

from __future__ import annotations

import os
from pathlib import Path

from playwright.sync_api import Page

JOURNEYS = Path(__file__).resolve().parents[2] / "docs" / "journeys"
#: The sizes every journey is walked at: a laptop, and a common phone (CSS pixels).
SIZES = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}


def journey_screenshot(page: Page, name: str) -> None:
    """Save what ``page`` shows as docs/journeys/``name``.png when screenshots are asked for."""
    if os.environ.get("IDP_JOURNEY_SCREENSHOTS") != "1":
        return
    page.screenshot(path=JOURNEYS / f"{name}.png", animations="disabled", caret="hide")
