"""The pages outside the login journey, in a real browser at desktop and phone size (issue 18):
the account centre, the switch-taxpayer chooser, registration, password reset, a page not
found and signing out.  Each page passes axe-core (no serious or critical violation), fits the
screen and, served in Chinese, shows no English UI text."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from conftest import let_sms_cooldown_pass
from e2e.accessibility import assert_accessible
from e2e.browser import starts_with
from e2e.language import assert_chinese_only
from e2e.live_provider import LiveProvider, LiveServer
from e2e.screenshots import SIZES, journey_screenshot
from e2e.test_browser_account_centre import log_in
from entity_fixtures import BUILDER, TRADER, give_role, load_entities

pytestmark = pytest.mark.e2e

#: Every account-centre page a logged-in person can open, by the link or address that opens it.
ACCOUNT_PAGES = {
    "/account/sessions": "登录设备管理", "/account/password": "个人密码修改", "/account/username": "修改用户名",
    "/account/phone": "更换手机号码", "/account/realname": "个人实名等级", "/account/security-keys": "安全密钥",
    "/account/app-code": "动态口令", "/consents": "已授权的第三方应用", "/account/privacy": "个人信息权利",
    "/account/close": "注销账号", "/account/reauth": "请重新验证身份",
}
NEW_PASSWORD = "Laoshan#2027"


def assert_fits_the_screen(page: Page) -> None:
    """Nothing wider than the viewport: no sideways scrolling on a phone."""
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), page.url


def assert_page_serves_everyone(page: Page) -> None:
    assert_accessible(page)
    assert_chinese_only(page)
    assert_fits_the_screen(page)
    expect(page.locator("#site-footer")).to_contain_text("主办单位：国家税务总局青岛市税务局")
    expect(page.locator("#site-footer")).to_contain_text("纳税缴费服务热线：12366")


@pytest.mark.parametrize("size", SIZES)
def test_every_account_centre_page_then_signing_out_and_a_page_not_found(
    page: Page, live_provider: LiveProvider, person: dict, size: str
):
    page.set_viewport_size(SIZES[size])
    page.goto(f"{live_provider.url}/login")
    log_in(page, live_provider)
    expect(page.get_by_role("heading", level=1)).to_have_text("账户中心")
    expect(page.locator("#strength")).to_have_text("密码 + 短信验证码（二级）")
    journey_screenshot(page, f"account-1-home-{size}")
    assert_page_serves_everyone(page)

    for path, heading in ACCOUNT_PAGES.items():
        page.goto(live_provider.url + path)
        expect(page.get_by_role("heading", level=1)).to_contain_text(heading)
        assert_page_serves_everyone(page)

    page.goto(f"{live_provider.url}/account/sessions")
    this_device = page.locator(".session.current")
    expect(this_device).to_contain_text("本机")
    expect(this_device).to_contain_text(re.compile(r"Chrome \d+\s+·\s+Linux"))
    expect(this_device).to_contain_text("127.0.0.*")
    journey_screenshot(page, f"account-2-sessions-{size}")

    page.goto(f"{live_provider.url}/account")
    page.get_by_role("button", name="退出登录").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("退出登录")
    expect(page.get_by_role("status")).to_have_text("您已安全退出。")
    journey_screenshot(page, f"account-3-signed-out-{size}")
    assert_page_serves_everyone(page)
    page.get_by_role("link", name="重新登录").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("用户登录")

    page.goto(f"{live_provider.url}/no-such-page")
    expect(page.get_by_role("heading", level=1)).to_have_text("页面不存在")
    journey_screenshot(page, f"site-not-found-{size}")
    assert_page_serves_everyone(page)
    page.get_by_role("link", name="返回首页").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("用户登录")


@pytest.mark.parametrize("size", SIZES)
def test_switching_taxpayer_from_the_account_centre_and_from_an_app_and_turning_back(
    page: Page, live_provider: LiveProvider, relying_party: LiveServer, person: dict, size: str
):
    """Issue 18, finding 12: the chooser lists each taxpayer as an entry and has a way back, to
    where the person came from."""
    page.set_viewport_size(SIZES[size])
    load_entities(live_provider.app)
    give_role(live_provider.app, BUILDER, "financial_officer")
    give_role(live_provider.app, TRADER, "tax_officer")
    page.goto(f"{live_provider.url}/login")
    log_in(page, live_provider)
    page.get_by_role("link", name="选择办税身份").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("选择办税身份")
    page.locator("#entry-enterprise").click()
    trader = page.get_by_label("青岛远洋贸易有限公司", exact=False)
    expect(trader).to_be_visible()
    expect(page.locator("label.choice", has=trader)).to_contain_text("纳税人识别号：9111**********341L")
    expect(page.locator("label.choice", has=trader)).to_contain_text("身份：办税员")
    journey_screenshot(page, f"switch-1-from-account-centre-{size}")
    assert_page_serves_everyone(page)
    page.get_by_role("link", name="返回账户中心").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("账户中心")

    page.goto(f"{relying_party.url}/login?business_entry=enterprise&prompt=select_account")
    expect(page.get_by_role("heading", level=1)).to_have_text("选择办税身份")
    journey_screenshot(page, f"switch-2-from-an-app-{size}")
    assert_page_serves_everyone(page)
    page.get_by_role("button", name="取消，返回“电子税务局演示应用”").click()
    expect(page).to_have_url(starts_with(f"{relying_party.url}/callback?error=access_denied"))


@pytest.mark.parametrize("size", SIZES)
def test_registration_pages_from_the_document_to_the_done_page(page: Page, live_provider: LiveProvider, size: str):
    page.set_viewport_size(SIZES[size])
    page.goto(f"{live_provider.url}/register")
    expect(page.get_by_role("heading", level=1)).to_have_text("自然人用户注册")
    expect(page.get_by_label("证件类型")).to_have_value("ID_CARD")
    expect(page.locator("#country")).to_be_hidden()  # no issuing country for a 居民身份证
    journey_screenshot(page, f"register-1-document-{size}")
    assert_page_serves_everyone(page)
    page.get_by_label("证件类型").select_option(label="外国护照")
    expect(page.get_by_label("签发国家三位字母代码（仅外国护照填写，如 USA）")).to_be_visible()
    assert_page_serves_everyone(page)
    page.get_by_label("证件类型").select_option(label="居民身份证")
    expect(page.locator("#country")).to_be_hidden()

    page.get_by_label("证件号码").fill("440524188001010014")
    page.get_by_label("姓名（与证件一致）").fill("王五")
    page.get_by_role("button", name="下一步").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("验证手机号码")
    assert_page_serves_everyone(page)
    page.get_by_label("手机号码").fill("13912345678")
    page.get_by_role("button", name="获取短信验证码").click()
    expect(page.locator("#sms-sent")).to_contain_text("139****5678")
    journey_screenshot(page, f"register-2-phone-{size}")
    assert_page_serves_everyone(page)
    page.get_by_label("短信验证码").fill(live_provider.last_sms_code("13912345678"))
    page.get_by_role("button", name="验证并继续").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("设置用户名（可选）")
    assert_page_serves_everyone(page)
    page.get_by_label("用户名").fill("wangwu_qd")
    page.get_by_role("button", name="下一步").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("设置个人用户密码")
    assert_page_serves_everyone(page)
    page.get_by_label("个人用户密码").fill(NEW_PASSWORD)
    page.get_by_label("再次输入密码").fill(NEW_PASSWORD)
    page.get_by_role("button", name="下一步").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("人脸识别验证")
    assert_page_serves_everyone(page)
    page.get_by_role("button", name="同意并开始刷脸").click()  # asked once: the scan starts at once
    page.get_by_role("button", name="刷脸通过").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("注册成功")
    journey_screenshot(page, f"register-3-done-{size}")
    assert_page_serves_everyone(page)


@pytest.mark.parametrize("size", SIZES)
def test_password_reset_pages_by_sms(page: Page, live_provider: LiveProvider, person: dict, size: str):
    page.set_viewport_size(SIZES[size])
    page.goto(f"{live_provider.url}/password/forgot")
    expect(page.get_by_role("heading", level=1)).to_have_text("忘记密码")
    journey_screenshot(page, f"reset-1-identify-{size}")
    assert_page_serves_everyone(page)
    page.get_by_label("用户名 / 手机号码 / 证件号码").fill("nobody_here")
    page.get_by_role("button", name="下一步").click()
    expect(page.get_by_role("alert")).to_contain_text("该用户未注册")
    assert_page_serves_everyone(page)

    page.get_by_label("用户名 / 手机号码 / 证件号码").fill(person["username"])
    page.get_by_role("button", name="下一步").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("验证身份")
    assert_page_serves_everyone(page)
    let_sms_cooldown_pass(live_provider.app)
    page.locator("#forgot-send-code").click()
    expect(page.locator("#sms-sent")).to_contain_text("138****5678")
    journey_screenshot(page, f"reset-2-verify-{size}")
    page.get_by_label("短信验证码").fill(live_provider.last_sms_code())
    page.get_by_role("button", name="下一步").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("设置新密码")
    assert_page_serves_everyone(page)
    page.get_by_label("新密码", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("确认新密码", exact=True).fill(NEW_PASSWORD)
    page.get_by_role("button", name="确定").click()
    expect(page.locator("#message")).to_contain_text("密码已重置")
    journey_screenshot(page, f"reset-3-done-{size}")
    assert_page_serves_everyone(page)
