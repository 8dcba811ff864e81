"""A person logs in to a relying party in a real browser (Debian's chromium, driven by Playwright).

The relying party is authlib's Flask client on its own port; the provider is served for real.
Every check is on what the person sees or what the relying party received.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from e2e.accessibility import assert_accessible
from e2e.browser import starts_with
from e2e.live_provider import LiveProvider, LiveServer

pytestmark = pytest.mark.e2e

MASKED_PHONE = "138****5678"


def expect_logged_in_at_relying_party(page: Page, relying_party: LiveServer, person: dict) -> None:
    """The relying party validated the ID token and shows who logged in and how."""
    expect(page).to_have_url(starts_with(f"{relying_party.url}/callback?"))
    expect(page.locator("#sub")).to_have_text(person["sub"])
    expect(page.locator("#acr")).to_have_text("urn:qdtax:loa:2")
    expect(page.locator("#amr")).to_have_text("pwd sms mfa")
    expect(page.locator("#realname_level")).to_have_text("4")


def test_relying_party_login_with_password_and_sms_yields_loa2_id_token(
    page: Page, live_provider: LiveProvider, relying_party: LiveServer, person: dict
):
    """OIDC Core 3.1: the app sends the browser to the provider's Chinese login page; after
    password and SMS code the app holds a validated ID token at ``urn:qdtax:loa:2``."""
    page.goto(f"{relying_party.url}/login")
    expect(page).to_have_url(starts_with(f"{live_provider.url}/login?interaction="))
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.get_by_role("heading", level=1)).to_have_text("用户登录")

    page.get_by_label("用户名 / 手机号码 / 证件号码").fill(person["username"])
    page.get_by_label("个人用户密码").fill(person["password"])
    page.get_by_role("button", name="下一步").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("短信验证")
    expect(page.locator("#sms-sent")).to_contain_text(MASKED_PHONE)
    expect(page.locator("body")).not_to_contain_text(person["phone"])
    page.get_by_label("短信验证码").fill(live_provider.last_sms_code())
    page.get_by_role("button", name="登录").click()

    expect_logged_in_at_relying_party(page, relying_party, person)


def test_language_switch_shows_english_pages_and_english_errors(
    page: Page, live_provider: LiveProvider, relying_party: LiveServer, person: dict
):
    """The language link turns the login pages English without losing the app's pending request."""
    page.goto(f"{relying_party.url}/login")
    expect(page.get_by_role("heading", level=1)).to_have_text("用户登录")
    page.get_by_role("link", name="English").click()

    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    page.get_by_label("Username / phone number / ID number").fill(person["username"])
    page.get_by_label("Personal password").fill("not-the-password")
    page.get_by_role("button", name="Next").click()
    expect(page.get_by_role("alert")).to_contain_text("Wrong account or password.")
    expect(page.locator("#failures-so-far")).to_have_text(
        "Failed attempts in a row today: 1; at 5, password sign-in locks until tomorrow.")

    page.get_by_label("Personal password").fill(person["password"])
    page.get_by_role("button", name="Next").click()
    expect(page.locator("#sms-sent")).to_have_text(
        f"A code was sent to {MASKED_PHONE}; it is valid for 5 minutes.")
    page.get_by_label("SMS code").fill(live_provider.last_sms_code())
    page.get_by_role("button", name="Sign in").click()

    expect_logged_in_at_relying_party(page, relying_party, person)


def test_wrong_sms_code_is_refused_in_chinese_and_the_right_code_then_logs_in(
    page: Page, live_provider: LiveProvider, relying_party: LiveServer, person: dict
):
    """A mistyped SMS code costs one try, not the login: the person retypes it and gets in."""
    page.goto(f"{relying_party.url}/login")
    page.get_by_label("用户名 / 手机号码 / 证件号码").fill(person["username"])
    page.get_by_label("个人用户密码").fill(person["password"])
    page.get_by_role("button", name="下一步").click()
    expect(page.locator("#sms-sent")).to_contain_text(MASKED_PHONE)

    code = live_provider.last_sms_code()
    page.get_by_label("短信验证码").fill(f"{(int(code) + 1) % 1_000_000:06d}")
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("alert")).to_contain_text("短信验证码错误，请重新输入")
    expect(page.locator("#failures-so-far")).to_have_text("今日已连续错误1次，连续5次将锁定短信验证码登录至次日。")
    expect(page).to_have_url(starts_with(f"{live_provider.url}/login/sms"))

    page.get_by_label("短信验证码").fill(code)
    page.get_by_role("button", name="登录").click()

    expect_logged_in_at_relying_party(page, relying_party, person)


@pytest.mark.parametrize("size", [{"width": 1280, "height": 800}, {"width": 390, "height": 844}],
                         ids=["desktop", "phone"])
def test_an_expired_apps_request_is_said_on_the_login_page(page: Page, live_provider: LiveProvider, size: dict):
    """An interaction id this browser no longer holds: a notice, not a silent ordinary login."""
    page.set_viewport_size(size)
    page.goto(f"{live_provider.url}/login?interaction=expired-long-ago")
    expect(page.get_by_role("status")).to_contain_text("您从应用发起的登录请求已失效或已完成")
    assert_accessible(page)
