"""A security key registered in the account centre and used to log in, in a real browser
(Debian's chromium, driven by Playwright) with Chromium's CDP virtual authenticator: a CTAP2
platform key with user verification.

The provider is served as ``http://localhost:<port>``: browsers refuse an IP address as a
WebAuthn relying-party id, and the rp id is the issuer's host name.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Page, expect
from sqlalchemy import select

from idp.app import create_app
from idp.core.database import db
from idp.models import SecurityKey

from conftest import PASSWORD, let_sms_cooldown_pass, make_settings, read_outbox
from e2e.live_provider import LiveProvider, serve_on_free_port

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def localhost_server(database_url: str, instance_dir: Path):
    live = serve_on_free_port(lambda url: create_app(
        make_settings(database_url, instance_dir, ISSUER=url.replace("127.0.0.1", "localhost"))))
    yield live
    live.stop()
    with live.app.app_context():
        db.engine.dispose()


@pytest.fixture
def provider(localhost_server, app: Flask) -> LiveProvider:
    """``app`` is requested for conftest's table cleanup (same database)."""
    return LiveProvider(localhost_server.url.replace("127.0.0.1", "localhost"), localhost_server.app)


@pytest.fixture
def page(page: Page) -> Page:
    """The shared browser page with one virtual CTAP2 authenticator that verifies its user."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    cdp.send("WebAuthn.addVirtualAuthenticator", {"options": {
        "protocol": "ctap2", "transport": "internal", "hasResidentKey": True,
        "hasUserVerification": True, "isUserVerified": True, "automaticPresenceSimulation": True,
    }})
    return page


def enter_password(page: Page, provider: LiveProvider, heading: str) -> None:
    """The first login page; ``heading`` is the second-factor page's: the SMS code's, or the choice
    offered (with no SMS sent) to a person with a security key."""
    let_sms_cooldown_pass(provider.app)
    page.goto(f"{provider.url}/login")
    page.get_by_label("用户名 / 手机号码 / 证件号码").fill("zhangsan")
    page.get_by_label("个人用户密码").fill(PASSWORD)
    page.get_by_role("button", name="下一步").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(heading)


def test_a_key_registered_in_the_account_centre_then_logs_in_with_the_password_at_loa2(
    page: Page, provider: LiveProvider, person: dict
):
    """Register a key after a fresh password + SMS login; the next login offers the
    key first and sends no SMS, and is password + security key with user verification: loa:2,
    ``amr`` pwd + hwk."""
    enter_password(page, provider, "短信验证")
    expect(page.locator("#use-security-key")).to_have_count(0)  # no key yet, none offered
    page.get_by_label("短信验证码").fill(provider.last_sms_code())
    page.get_by_role("button", name="登录").click()
    expect(page.locator("#strength")).to_have_attribute("data-amr", "pwd sms mfa")

    page.locator("#security-keys").click()
    expect(page.locator("#no-security-keys")).to_be_visible()
    page.locator("#add-security-key").click()
    page.get_by_label("密钥名称").fill("笔记本指纹")
    page.get_by_role("button", name="注册").click()
    expect(page.locator("#saved")).to_have_text("安全密钥已注册。")
    expect(page.get_by_label("密钥名称")).to_have_value("笔记本指纹")
    with provider.app.app_context():
        assert db.session.execute(select(SecurityKey.name)).scalars().all() == ["笔记本指纹"]

    page.context.clear_cookies()  # a new visit; the authenticator stays plugged in
    sent = len(read_outbox(provider.app))
    enter_password(page, provider, "选择验证方式")
    expect(page.get_by_label("短信验证码")).to_have_count(0)  # no code sent, none asked for
    expect(page.get_by_role("button", name="发送短信验证码")).to_be_visible()
    page.get_by_role("link", name="使用安全密钥").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("安全密钥验证")
    page.get_by_role("button", name="使用安全密钥登录").click()

    expect(page.locator("#strength")).to_have_attribute("data-amr", "pwd hwk mfa")
    expect(page.locator("#strength")).to_contain_text("密码 + 安全密钥（二级）")
    with provider.app.app_context():
        key = db.session.execute(select(SecurityKey)).scalar_one()
        assert key.last_used_at is not None
    assert len(read_outbox(provider.app)) == sent
