"""The account centre in a real browser (Debian's chromium, driven by Playwright): a username
added, and a password change on an old login that goes through the login pages and comes back
(docs/domain.md §1.10, §1.13; docs/account-centre.md)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import update

from idp.core.database import db
from idp.models import LoginSession

from conftest import PASSWORD, let_sms_cooldown_pass
from e2e.live_provider import LiveProvider

pytestmark = pytest.mark.e2e

NEW_PASSWORD = "Laoshan#2027"


def log_in(page: Page, live_provider: LiveProvider, identifier: str = "zhangsan") -> None:
    let_sms_cooldown_pass(live_provider.app)
    expect(page.get_by_role("heading", level=1)).to_have_text("用户登录")
    page.get_by_label("用户名 / 手机号码 / 证件号码").fill(identifier)
    page.get_by_label("个人用户密码").fill(PASSWORD)
    page.get_by_role("button", name="下一步").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("短信验证")
    page.get_by_label("短信验证码").fill(live_provider.last_sms_code())
    page.get_by_role("button", name="登录").click()


def test_a_person_adds_a_username_then_changes_the_password_after_logging_in_again(
    page: Page, live_provider: LiveProvider, person: dict
):
    """docs/domain.md §1.13: a username added in the account centre logs in at once; §1.10: the personal password
    is changed there, after a new login when the first is older than ACCOUNT_REAUTH_MAX_AGE."""
    page.goto(f"{live_provider.url}/login")
    log_in(page, live_provider)
    expect(page).to_have_url(f"{live_provider.url}/account")
    expect(page.locator("#document")).to_have_text("1101**********002X")
    expect(page.locator("#phone")).to_have_text("138****5678")

    page.get_by_role("link", name="修改用户名").click()
    page.get_by_label("新用户名").fill("13912345678")
    page.get_by_role("button", name="保存").click()
    expect(page.get_by_role("alert")).to_have_text("用户名不能是手机号码格式")
    page.get_by_label("新用户名").fill("zhang_laoshan")
    page.get_by_role("button", name="保存").click()
    expect(page.locator("#saved")).to_have_text("用户名已保存。")
    expect(page.locator("#username")).to_have_text("zhang_laoshan")

    with live_provider.app.app_context():  # a quarter of an hour passes
        db.session.execute(update(LoginSession).values(auth_time=LoginSession.auth_time - 901))
        db.session.commit()
    page.get_by_role("link", name="个人密码修改").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("请重新验证身份")
    page.get_by_role("link", name="重新登录").click()
    log_in(page, live_provider, identifier="zhang_laoshan")
    expect(page).to_have_url(f"{live_provider.url}/account/password")

    page.get_by_label("当前密码").fill(PASSWORD)
    page.get_by_label("新密码", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("确认新密码").fill(NEW_PASSWORD)
    page.get_by_role("button", name="保存").click()
    expect(page.locator("#saved")).to_contain_text("密码已修改")

    page.get_by_role("link", name="English").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Account centre")
    expect(page.locator("#realname-level")).to_have_text("Level 4")
