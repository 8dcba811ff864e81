"""Password flows in a real browser (Debian's chromium, driven by Playwright): the forced change
after an initial-password login, and "forgot password" by face (docs/domain.md §1.8, §1.10).

The relying party is authlib's Flask client on its own port; the provider is served for real
and its development face provider's page is clicked like a tester would.
"""

from __future__ import annotations

import io

import pytest
from playwright.sync_api import Page, expect

from idp.people.accounts_import import import_accounts, read_rows

from conftest import let_sms_cooldown_pass
from e2e.browser import starts_with
from e2e.live_provider import LiveProvider, LiveServer

pytestmark = pytest.mark.e2e

LI_SI = "370202198001011232"
LI_SI_PHONE = "13900000001"
NEW_PASSWORD = "Qingdao#2027"


@pytest.fixture
def imported_li_si(live_provider: LiveProvider) -> str:
    """Li Si, migrated from the old system at real-name level 3 without a password hash."""
    with live_provider.app.app_context():
        [outcome] = import_accounts(read_rows(io.StringIO(
            f"name,doc_type,doc_number,phone,realname_level\n李四,ID_CARD,{LI_SI},{LI_SI_PHONE},3\n"))).outcomes
        assert outcome.status == "imported"
    return LI_SI


def log_in(page: Page, live_provider: LiveProvider, identifier: str, password: str, phone: str) -> None:
    expect(page.get_by_role("heading", level=1)).to_have_text("用户登录")
    page.get_by_label("用户名 / 手机号码 / 证件号码").fill(identifier)
    page.get_by_label("个人用户密码").fill(password)
    page.get_by_role("button", name="下一步").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("短信验证")
    page.get_by_label("短信验证码").fill(live_provider.last_sms_code(phone))
    page.get_by_role("button", name="登录").click()


def choose_new_password(page: Page) -> None:
    page.get_by_label("新密码", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("确认新密码", exact=True).fill(NEW_PASSWORD)
    page.get_by_role("button", name="确定").click()


def test_initial_password_login_forces_a_change_then_a_fresh_login_reaches_the_app(
    page: Page, live_provider: LiveProvider, relying_party: LiveServer, imported_li_si: str
):
    """docs/domain.md §1.8: "使用初始密码登录的,登录后系统会要求自然人修改密码,修改完成后用户需要重新登录";
    the app's sign-in request is answered after that second login."""
    page.goto(f"{relying_party.url}/login")
    log_in(page, live_provider, LI_SI, LI_SI[-6:], LI_SI_PHONE)

    expect(page).to_have_url(f"{live_provider.url}/password/change-required")
    expect(page.get_by_role("heading", level=1)).to_have_text("修改初始密码")
    expect(page.locator("#password-note")).to_contain_text("证件号码后六位")
    page.get_by_label("新密码", exact=True).fill("Ab#1")
    page.get_by_label("确认新密码", exact=True).fill("Ab#1")
    page.get_by_role("button", name="确定").click()
    expect(page.get_by_role("alert")).to_have_text("密码长度应为8-16位")
    choose_new_password(page)

    expect(page.locator("#message")).to_have_text("密码修改成功，请使用新密码重新登录。")
    let_sms_cooldown_pass(live_provider.app)  # the person reads the page; a minute passes
    page.get_by_role("link", name="重新登录").click()
    expect(page).to_have_url(starts_with(f"{live_provider.url}/login?interaction="))
    page.get_by_label("用户名 / 手机号码 / 证件号码").fill(LI_SI)
    page.get_by_label("个人用户密码").fill(LI_SI[-6:])
    page.get_by_role("button", name="下一步").click()
    expect(page.get_by_role("alert")).to_contain_text("个人账号或密码错误")

    log_in(page, live_provider, LI_SI, NEW_PASSWORD, LI_SI_PHONE)
    expect(page).to_have_url(starts_with(f"{relying_party.url}/callback?"))
    expect(page.locator("#welcome")).to_have_text("李四")
    expect(page.locator("#acr")).to_have_text("urn:qdtax:loa:2")
    expect(page.locator("#realname_level")).to_have_text("3")


def test_forgot_password_by_face_then_logging_in_with_the_new_password(
    page: Page, live_provider: LiveProvider, relying_party: LiveServer, person: dict
):
    """docs/domain.md §1.8 and §1.10: "忘记密码" from the login page, verified by a face scan on the provider's
    page, a new password, then the app's sign-in continues with it."""
    page.goto(f"{relying_party.url}/login")
    page.get_by_role("link", name="忘记密码").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("忘记密码")
    page.get_by_label("用户名 / 手机号码 / 证件号码").fill("nobody_here")
    page.get_by_role("button", name="下一步").click()
    expect(page.get_by_role("alert")).to_contain_text("该用户未注册")
    expect(page.get_by_role("alert").get_by_role("link", name="用户注册")).to_be_visible()

    page.get_by_label("用户名 / 手机号码 / 证件号码").fill(person["username"])
    page.get_by_role("button", name="下一步").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("验证身份")
    expect(page.locator("#sms-target")).to_contain_text("138****5678")
    page.get_by_role("link", name="改用刷脸验证").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("人脸信息处理告知与同意")
    page.get_by_role("button", name="同意并开始刷脸").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("模拟人脸识别（开发环境）")
    page.get_by_role("button", name="刷脸通过").click()

    expect(page).to_have_url(f"{live_provider.url}/password/forgot/new")
    expect(page.get_by_role("heading", level=1)).to_have_text("设置新密码")
    choose_new_password(page)
    expect(page.locator("#message")).to_have_text("密码已重置，您在所有设备上的登录均已退出，请使用新密码登录。")

    page.get_by_role("link", name="重新登录").click()
    log_in(page, live_provider, person["username"], NEW_PASSWORD, person["phone"])
    expect(page).to_have_url(starts_with(f"{relying_party.url}/callback?"))
    expect(page.locator("#sub")).to_have_text(person["sub"])
