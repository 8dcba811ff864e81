"""The login journey as a taxpayer walks it, in a real browser at a laptop's and a phone's size: where
the person is (the step indicator), what each page says (the masked phone, the failures so far, the
lock and what still works), the taxpayer chooser's tabs, the face steps, the QR page; axe-core on
every page, no English on the Chinese pages, and the pictures of docs/journeys/ taken on the way.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from e2e.accessibility import assert_accessible
from e2e.browser import starts_with
from e2e.language import assert_chinese_only
from e2e.live_provider import LiveProvider, LiveServer
from e2e.screenshots import SIZES, journey_screenshot
from entity_fixtures import AGENCY, BUILDER, CLIENT, TRADER, give_role, load_entities

pytestmark = pytest.mark.e2e

MASKED_PHONE = "138****5678"


def check_page(page: Page, heading: str, screenshot: str | None = None) -> None:
    """What every page of the journey must be: one H1 saying where the person is, accessible,
    Chinese only, nothing wider than the screen."""
    expect(page.get_by_role("heading", level=1)).to_have_text(heading)
    assert_accessible(page)
    assert_chinese_only(page)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    if screenshot:
        journey_screenshot(page, screenshot)


def expect_step(page: Page, current: int, steps: int) -> None:
    """The step indicator: ``steps`` visible, ``current`` marked as the person's."""
    expect(page.locator("#login-steps li:visible")).to_have_count(steps)
    expect(page.locator("#login-steps [aria-current=step]")).to_have_id(f"login-step-{current}")


@pytest.fixture(params=list(SIZES))
def size(request, page: Page) -> str:
    page.set_viewport_size(SIZES[request.param])
    return request.param


def test_enterprise_login_walks_three_steps_and_a_chooser_tab_only_shows_its_list(
    page: Page, live_provider: LiveProvider, relying_party: LiveServer, person: dict, size: str
):
    """Finding 1, 5-8 of issue 18: account and password, the SMS code, then the taxpayer; a tab of
    the chooser with a single taxpayer shows it, and only 进入 signs the person in for it."""
    load_entities(live_provider.app)
    give_role(live_provider.app, TRADER, "tax_officer")
    give_role(live_provider.app, BUILDER, "financial_officer")
    give_role(live_provider.app, AGENCY, "agent_staff")
    page.goto(f"{relying_party.url}/login")
    expect(page).to_have_url(starts_with(f"{live_provider.url}/login?interaction="))
    expect_step(page, 1, 2)  # 自然人业务 needs no taxpayer choice
    entries = page.get_by_role("group", name="办理业务")
    expect(entries.get_by_role("radio", name="自然人业务")).to_be_checked()
    entries.get_by_role("radio", name="企业业务").check()
    expect_step(page, 1, 3)
    for way in ("扫码登录", "税务数字证书登录"):
        expect(page.get_by_role("region", name="其他登录方式").get_by_role("link", name=way)).to_be_visible()
    page.get_by_label("用户名 / 手机号码 / 证件号码").fill(person["username"])
    check_page(page, "用户登录", f"login-1-password-{size}")

    page.get_by_label("个人用户密码").fill("Wrong#2026")
    page.get_by_role("button", name="下一步").click()
    expect(page.get_by_role("alert")).to_contain_text("个人账号或密码错误")
    expect(page.get_by_role("alert")).to_contain_text("今日已连续错误1次，连续5次将锁定密码登录至次日。")
    check_page(page, "用户登录")
    expect(entries.get_by_role("radio", name="企业业务")).to_be_checked()  # the choice survives the error

    page.get_by_label("个人用户密码").fill(person["password"])
    page.get_by_role("button", name="下一步").click()
    expect_step(page, 2, 3)
    expect(page.locator("#sms-sent")).to_have_text(f"验证码已发送至 {MASKED_PHONE}，5 分钟内有效。")
    resend = page.get_by_role("button", name="重新发送验证码")
    expect(resend).to_be_disabled()
    expect(page.locator("#sms-resend-wait")).to_have_text(re.compile(r"^(59|60) 秒后可重新发送$"))
    expect(page.get_by_role("link", name="更换账号")).to_be_visible()
    check_page(page, "短信验证", f"login-2-sms-{size}")

    page.get_by_label("短信验证码").fill(live_provider.last_sms_code())
    page.get_by_role("button", name="登录").click()
    expect_step(page, 3, 3)
    check_page(page, "选择办税身份", f"login-3-taxpayer-{size}")
    page.get_by_role("link", name="代理业务").click()
    expect(page).to_have_url(starts_with(f"{live_provider.url}/select?"))  # a tab is no login
    expect(page.get_by_role("link", name="代理业务")).to_have_attribute("aria-current", "page")
    expect(page.get_by_label("青岛小微科技有限公司", exact=False)).to_be_checked()
    check_page(page, "选择办税身份")
    page.get_by_role("button", name="进入").click()

    expect(page).to_have_url(starts_with(f"{relying_party.url}/callback?"))
    expect(page.locator("#business")).to_have_text("agent")
    expect(page.locator("#entity")).to_have_text("青岛小微科技有限公司")
    expect(page.locator("#entity_claim")).to_contain_text(CLIENT)


def test_a_locked_password_says_until_when_and_what_still_works(
    page: Page, live_provider: LiveProvider, relying_party: LiveServer, person: dict, size: str
):
    """Finding 5: the fifth wrong password locks password login only, until the next day."""
    page.goto(f"{relying_party.url}/login")
    page.get_by_label("用户名 / 手机号码 / 证件号码").fill(person["username"])
    for failures in range(1, 6):
        page.get_by_label("个人用户密码").fill("Wrong#2026")
        page.get_by_role("button", name="下一步").click()
        if failures < 5:
            expect(page.locator("#failures-so-far")).to_have_text(
                f"今日已连续错误{failures}次，连续5次将锁定密码登录至次日。")
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("个人用户密码登录已锁定至次日0时（北京时间），其他登录方式不受影响。")
    expect(alert).to_contain_text("12366")
    expect(alert.get_by_role("link", name="忘记密码")).to_be_visible()
    check_page(page, "用户登录", f"login-lockout-{size}")
    alert.get_by_role("link", name="扫码登录").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("扫码登录")

    page.get_by_role("link", name="English").click()
    page.get_by_role("link", name="Sign in with a password").click()
    page.get_by_label("Username / phone number / ID number").fill(person["username"])
    page.get_by_label("Personal password").fill(person["password"])
    page.get_by_role("button", name="Next").click()
    expect(page.get_by_role("alert")).to_contain_text(
        "password sign-in is locked until midnight (Beijing time); other ways to sign in still work.")
    assert_accessible(page)


def test_face_as_second_factor_asks_consent_once(
    page: Page, live_provider: LiveProvider, relying_party: LiveServer, person: dict, size: str
):
    """Finding 9: one consent button starts the scan; each page has one H1."""
    page.goto(f"{relying_party.url}/login")
    page.get_by_label("用户名 / 手机号码 / 证件号码").fill(person["username"])
    page.get_by_label("个人用户密码").fill(person["password"])
    page.get_by_role("button", name="下一步").click()
    page.get_by_role("link", name="使用刷脸验证").click()
    expect_step(page, 2, 2)
    check_page(page, "人脸信息处理告知与同意", f"login-2-face-consent-{size}")
    page.get_by_role("button", name="同意并开始刷脸").click()
    check_page(page, "模拟人脸识别（开发环境）")
    page.get_by_role("button", name="刷脸通过").click()
    expect(page).to_have_url(starts_with(f"{relying_party.url}/callback?"))
    expect(page.locator("#acr")).to_have_text("urn:qdtax:loa:3")


def test_step_up_says_why_and_its_cancel_returns_to_the_app(
    page: Page, live_provider: LiveProvider, relying_party: LiveServer, person: dict, size: str
):
    """Finding 9: 该业务需要人脸识别验证, with a cancel that hands the app access_denied."""
    page.goto(f"{relying_party.url}/login")
    page.get_by_label("用户名 / 手机号码 / 证件号码").fill(person["username"])
    page.get_by_label("个人用户密码").fill(person["password"])
    page.get_by_role("button", name="下一步").click()
    page.get_by_label("短信验证码").fill(live_provider.last_sms_code())
    page.get_by_role("button", name="登录").click()
    expect(page.locator("#acr")).to_have_text("urn:qdtax:loa:2")

    page.goto(f"{relying_party.url}/login?acr_values=urn:qdtax:loa:3")
    expect(page).to_have_url(starts_with(f"{live_provider.url}/step-up"))
    expect(page.locator("#step-up-why")).to_have_text("该业务需要人脸识别验证，请完成刷脸后继续办理。")
    expect(page.locator("#step-up-app")).to_have_text("办理业务的应用：电子税务局演示应用")
    check_page(page, "人脸识别验证", f"login-step-up-{size}")
    page.get_by_role("button", name="取消，返回应用").click()
    expect(page).to_have_url(starts_with(f"{relying_party.url}/callback?error=access_denied"))
    expect(page.locator("#error")).to_have_text("access_denied")

    page.goto(f"{relying_party.url}/login?acr_values=urn:qdtax:loa:3")
    page.get_by_role("button", name="同意并开始刷脸").click()
    page.get_by_role("button", name="刷脸通过").click()
    expect(page).to_have_url(starts_with(f"{relying_party.url}/callback?"))
    expect(page.locator("#acr")).to_have_text("urn:qdtax:loa:3")


def test_qr_page_names_its_code_links_the_app_on_a_phone_and_keeps_the_code_across_languages(
    page: Page, live_provider: LiveProvider, relying_party: LiveServer, person: dict, size: str
):
    """Finding 13."""
    page.goto(f"{relying_party.url}/login")
    page.get_by_role("link", name="扫码登录").click()
    expect(page.get_by_role("img", name="登录二维码")).to_be_visible()
    open_app = page.get_by_role("link", name="打开青岛税务APP")
    if size == "phone":
        expect(open_app).to_be_visible()
        expect(open_app).to_have_attribute("href", re.compile("^" + re.escape(f"{live_provider.url}/qr/")))
    else:
        expect(open_app).to_be_hidden()
    user_code = page.locator("#qr-user-code").inner_text()
    check_page(page, "扫码登录", f"login-qr-{size}")

    page.get_by_role("link", name="English").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in with a QR code")
    expect(page.get_by_role("img", name="Login QR code")).to_be_visible()
    expect(page.locator("#qr-user-code")).to_have_text(user_code)
    assert_accessible(page)
