"""Screenshots of the journeys for docs/journeys/, taken by the browser tests that walk them.

``journey_screenshot(page, "login-1-password-desktop")`` writes docs/journeys/<name>.png only when
``IDP_JOURNEY_SCREENSHOTS=1``: an ordinary test run leaves the committed pictures alone, and
regenerating them is one command (docs/journeys/README.md). The picture is the viewport, as the
person sees the page without scrolling, which keeps the files small.
"""

from __future__ import annotations

import os
import subprocess
from functools import cache
from pathlib import Path

import pytest
from playwright.sync_api import Page

JOURNEYS = Path(__file__).resolve().parents[2] / "docs" / "journeys"
#: The sizes every journey is walked at: a laptop, and a common phone (CSS pixels).
SIZES = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}


@cache
def _has_chinese_font() -> bool:
    listed = subprocess.run(["fc-list", ":lang=zh", "family"], capture_output=True, text=True, check=False)
    return bool(listed.stdout.strip())


def journey_screenshot(page: Page, name: str) -> None:
    """Save what ``page`` shows as docs/journeys/``name``.png when screenshots are asked for."""
    if os.environ.get("IDP_JOURNEY_SCREENSHOTS") != "1":
        return
    if not _has_chinese_font():
        # Without one chromium draws every Chinese character as a box: pictures nobody can read.
        pytest.fail("no Chinese font for the screenshots: install Debian's fonts-noto-cjk")
    page.screenshot(path=JOURNEYS / f"{name}.png", animations="disabled", caret="hide")
