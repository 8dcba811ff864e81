"""QR scan login in a real browser (Debian's chromium, driven by Playwright) (docs/architecture.md §6).

A relying party sends the browser to the provider's login page; the person opens the QR tab and
the mobile-app simulator (``idp app scan``, speaking HTTP to the served provider) logs in, scans
and approves; the page completes the login by itself and the relying party holds an ID token.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest
from click.testing import CliRunner
from playwright.sync_api import Page, expect

from idp.app import create_app
from idp.cli.main import main
from idp.core.settings import current_settings
from idp.dev.app_simulator import MobileAppSimulator

from conftest import PASSWORD, make_settings
from e2e.browser import starts_with
from e2e.live_provider import LiveProvider, LiveServer, serve_on_free_port
from e2e.screenshots import SIZES
from e2e.test_browser_login_journey import check_page
from qr_steps import APP_REDIRECT, register_bureau_app

pytestmark = pytest.mark.e2e

SCANNED = "已扫码，请在手机上确认"


@pytest.fixture
def phone(live_provider: LiveProvider, person: dict) -> MobileAppSimulator:
    """The bureau app on the person's phone, not yet logged in."""
    bureau_app = register_bureau_app(live_provider.app)
    return MobileAppSimulator(issuer=live_provider.url, client_id=bureau_app.client_id, redirect_uri=APP_REDIRECT,
                              sms_outbox=current_settings(live_provider.app).sms_outbox_path)


def open_qr_tab(page: Page, relying_party: LiveServer, live_provider: LiveProvider) -> str:
    """The person arrives from the relying party and picks the QR tab; returns the typed code."""
    page.goto(f"{relying_party.url}/login")
    expect(page).to_have_url(starts_with(f"{live_provider.url}/login?interaction="))
    check_page(page, "用户登录")
    page.get_by_role("link", name="扫码登录").click()
    expect(page.locator("#qr-code svg")).to_be_visible()
    expect(page.locator("#qr-countdown")).to_have_text(re.compile(r"二维码 1[01]\d 秒后失效"))
    check_page(page, "扫码登录")
    return page.locator("#qr-user-code").inner_text()


def expect_logged_in(page: Page, relying_party: LiveServer, person: dict, acr: str, amr: str) -> None:
    expect(page).to_have_url(starts_with(f"{relying_party.url}/callback?"))
    expect(page.locator("#sub")).to_have_text(person["sub"])
    expect(page.locator("#acr")).to_have_text(acr)
    expect(page.locator("#amr")).to_have_text(amr)


def test_login_page_completes_after_idp_app_scan_approves(page: Page, live_provider: LiveProvider,
                                                          relying_party: LiveServer, phone, person: dict):
    """The simulator command logs in as the app (password + SMS), scans, approves: the waiting
    page logs in by itself at the app session's strength plus ``mca``."""
    user_code = open_qr_tab(page, relying_party, live_provider)
    result = CliRunner().invoke(main, [
        "app", "scan", user_code, "--as", person["username"], "--password", PASSWORD,
        "--issuer", live_provider.url, "--client-id", phone.client_id, "--redirect-uri", APP_REDIRECT,
        "--sms-outbox", str(phone.sms_outbox)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "requested by: 电子税务局演示应用" in result.output
    assert "from:         127.0.0.1" in result.output
    expect_logged_in(page, relying_party, person, "urn:qdtax:loa:2", "pwd sms mca mfa")


@pytest.mark.parametrize("size", SIZES)
def test_page_shows_the_scan_and_logs_in_within_a_second_of_approval(page: Page, live_provider: LiveProvider,
                                                                    relying_party: LiveServer, phone,
                                                                    person: dict, size: str):
    """Issue 18: the journey from the app and back to it, every page checked at a laptop's and a
    phone's size; the app holds the login once it redeemed the code and validated the ID token."""
    page.set_viewport_size(SIZES[size])
    user_code = open_qr_tab(page, relying_party, live_provider)
    phone.login(person["username"], PASSWORD)
    phone.scan(user_code)
    expect(page.locator("#qr-status")).to_have_text(SCANNED)
    check_page(page, "扫码登录", f"login-qr-scanned-{size}")
    # Logged in = the provider answered the page's completion with the login session made and
    # the authorization request resumed (what the relying party does next is its own time).
    with page.expect_response(lambda response: "/login/qr/complete" in response.url, timeout=5_000) as completed:
        approved_at = time.perf_counter()
        phone.approve(user_code)
    latency = time.perf_counter() - approved_at
    assert completed.value.status == 302
    print(f"approval-to-login latency: {latency * 1000:.0f} ms")
    assert latency < 1.0
    expect_logged_in(page, relying_party, person, "urn:qdtax:loa:2", "pwd sms mca mfa")


def test_face_checked_app_session_logs_the_browser_in_at_loa3(page: Page, live_provider: LiveProvider,
                                                              relying_party: LiveServer, phone, person: dict):
    user_code = open_qr_tab(page, relying_party, live_provider)
    phone.login(person["username"], PASSWORD, face=True)
    phone.scan(user_code)
    phone.approve(user_code)
    expect_logged_in(page, relying_party, person, "urn:qdtax:loa:3", "pwd face mca mfa")


def test_declining_on_the_phone_shows_on_the_page(page: Page, live_provider: LiveProvider,
                                                  relying_party: LiveServer, phone, person: dict):
    user_code = open_qr_tab(page, relying_party, live_provider)
    phone.login(person["username"], PASSWORD)
    phone.scan(user_code)
    phone.deny(user_code)
    expect(page.locator("#qr-status")).to_have_text("您已在手机上取消本次登录")
    expect(page).to_have_url(starts_with(f"{live_provider.url}/login/qr"))


def provider_with(database_url, instance_dir, **settings) -> Iterator[LiveServer]:
    """Another provider on the same database, with ``settings`` changed."""
    live = serve_on_free_port(lambda url: create_app(make_settings(database_url, instance_dir, ISSUER=url,
                                                                   **settings)))
    yield live
    live.stop()


@pytest.fixture
def short_lived_codes(database_url, instance_dir, app) -> Iterator[LiveServer]:
    """A provider whose QR codes live 3 seconds."""
    yield from provider_with(database_url, instance_dir, QR_CODE_TTL=3)


def test_an_expired_code_is_replaced_by_a_fresh_one(page: Page, short_lived_codes: LiveServer):
    page.goto(f"{short_lived_codes.url}/login/qr")
    first = page.locator("#qr-user-code").inner_text()
    expect(page.locator("#qr-user-code")).not_to_have_text(first, timeout=8_000)
    expect(page.locator("#qr-code svg")).to_be_visible()
    expect(page.locator("#qr-countdown")).to_have_text(re.compile(r"二维码 [1-3] 秒后失效"))


@pytest.fixture
def no_waiting_polls(database_url, instance_dir, app) -> Iterator[LiveServer]:
    """A provider whose workers let no status check wait (all their long-poll places taken)."""
    yield from provider_with(database_url, instance_dir, QR_WAITING_POLLS_PER_WORKER=0)


def test_the_page_still_logs_in_when_the_server_cannot_wait(page: Page, no_waiting_polls: LiveServer,
                                                            person: dict):
    """Every status check answers at once with ``ask_again_in``: the page asks again a second
    later instead of at once, and still shows the scan and finishes the login."""
    checks = []
    page.on("request", lambda request: checks.append(request) if "/login/qr/status" in request.url else None)
    page.goto(f"{no_waiting_polls.url}/login/qr")
    user_code = page.locator("#qr-user-code").inner_text()
    with page.expect_response(lambda response: "/login/qr/status" in response.url) as answered:
        pass
    assert answered.value.json()["status"] == "pending" and answered.value.json()["ask_again_in"] == 1
    bureau_app = register_bureau_app(no_waiting_polls.app)
    phone = MobileAppSimulator(issuer=no_waiting_polls.url, client_id=bureau_app.client_id,
                               redirect_uri=APP_REDIRECT,
                               sms_outbox=current_settings(no_waiting_polls.app).sms_outbox_path)
    phone.login(person["username"], PASSWORD)
    phone.scan(user_code)
    expect(page.locator("#qr-status")).to_have_text(SCANNED)
    phone.approve(user_code)
    expect(page).to_have_url(f"{no_waiting_polls.url}/account", timeout=5_000)
    assert len(checks) < 15  # about one a second, not a tight loop
