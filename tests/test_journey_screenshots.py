"""docs/journeys/README.md lists exactly the screenshots the browser tests committed there."""

from __future__ import annotations

import re
from pathlib import Path

JOURNEYS = Path(__file__).resolve().parent.parent / "docs" / "journeys"


def test_the_journey_index_lists_every_screenshot_and_no_missing_one():
    listed = set(re.findall(r"\(([\w.-]+\.png)\)", (JOURNEYS / "README.md").read_text(encoding="utf-8")))
    present = {path.name for path in JOURNEYS.glob("*.png")}
    assert sorted(present - listed) == [], "screenshots not listed in docs/journeys/README.md"
    assert sorted(listed - present) == [], "listed in docs/journeys/README.md but not generated"
