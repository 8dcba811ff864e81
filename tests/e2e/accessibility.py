"""The accessibility check of the browser tests: axe-core (Deque's engine, from npm:
``npm ci --prefix tests/e2e/axe``) run on the page as the person sees it.

The engine is evaluated through the DevTools protocol rather than added as a ``<script>``: the
provider's Content-Security-Policy (``script-src 'self'``) rightly refuses inline scripts, and the
check must see the page with that policy in force.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest
from playwright.sync_api import Page

AXE = Path(__file__).parent / "axe" / "node_modules" / "axe-core" / "axe.min.js"
#: What fails a page: the impacts axe ranks as barriers, not its minor and moderate advice.
FAILING_IMPACTS = ("serious", "critical")


@cache
def _axe_source() -> str:
    if not AXE.exists():
        pytest.fail("axe-core is not installed; run `npm ci --prefix tests/e2e/axe` (`bash .ci/test` does)")
    return AXE.read_text(encoding="utf-8")


def assert_accessible(page: Page) -> None:
    """No serious or critical axe-core violation on the page as it is now."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(_axe_source())
    violations = page.evaluate("""async () => (await axe.run(document, {resultTypes: ['violations']}))
        .violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                               nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}))""")
    barriers = [v for v in violations if v["impact"] in FAILING_IMPACTS]
    assert not barriers, f"axe-core on {page.url}: " + "; ".join(
        f"{v['id']} ({v['impact']}): {v['help']} at {v['nodes']}" for v in barriers)
