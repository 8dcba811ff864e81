"""Browser fixtures shared by every e2e module: Debian's chromium driven by Playwright, and the
e-tax demo relying party served on its own port (loaded as a pytest plugin from tests/conftest.py)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from conftest import register_client
from e2e.live_provider import LiveProvider, LiveServer, serve_on_free_port
from e2e.relying_party import create_relying_party

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    # Module scope: Playwright's sync API cannot outlive one module's event loop between modules.
    with sync_playwright() as playwright:
        # Debian's chromium: Playwright's own browser download does not work on these machines.
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh browser profile of someone whose browser asks for Chinese pages."""
    context = browser.new_context(locale="zh-CN")
    opened = context.new_page()
    opened.set_default_timeout(10_000)
    yield opened
    context.close()


@pytest.fixture
def relying_party(live_provider: LiveProvider) -> Iterator[LiveServer]:
    """The e-tax demo app, registered with its own served callback URL."""

    def build(url: str):
        registered = register_client(live_provider.app, name="电子税务局演示应用", redirect_uris=[f"{url}/callback"])
        return create_relying_party(issuer=live_provider.url, client_id=registered.client_id,
                                    client_secret=registered.client_secret, redirect_uri=registered.redirect_uri)

    live = serve_on_free_port(build)
    yield live
    live.stop()


def starts_with(url: str) -> re.Pattern:
    return re.compile("^" + re.escape(url))
