"""Self-registration in a real browser (Debian's chromium, driven by Playwright), docs/domain.md §1.3 and §1.5:
from the login page's 【用户注册】 link through the face scan on the development provider's page.
Started from an app's login page, the person ends signed in at the app (docs/architecture.md §5.2);
started from the plain login page, they log in afterwards with password + SMS.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from idp.core.database import db
from idp.models import Person

from conftest import let_sms_cooldown_pass, read_outbox
from e2e.accessibility import assert_accessible
from e2e.browser import starts_with
from e2e.language import assert_chinese_only
from e2e.live_provider import LiveProvider, LiveServer
from e2e.screenshots import SIZES

pytestmark = pytest.mark.e2e

WANG_WU = "440524188001010014"
WANG_WU_PHONE = "13912345678"
WANG_WU_OTHER_PHONE = "13912345600"
PASSWORD = "Register#2026"


def checked(page: Page) -> None:
    """Every page walked: no serious or critical axe-core violation, nothing wider than the screen."""
    assert_accessible(page)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def register(page: Page, live_provider: LiveProvider) -> None:
    """From the registration form to the done page: identity, phone, username, password, face."""
    expect(page.get_by_role("heading", level=1)).to_have_text("自然人用户注册")
    checked(page)
    page.get_by_label("证件类型").select_option(label="居民身份证")
    page.get_by_label("证件号码").fill(WANG_WU)
    page.get_by_label("姓名（与证件一致）").fill("王五")
    page.get_by_role("button", name="下一步").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("验证手机号码")
    checked(page)
    page.get_by_label("手机号码").fill(WANG_WU_PHONE)
    page.get_by_role("button", name="获取短信验证码").click()
    expect(page.locator("#sms-sent")).to_contain_text("139****5678")
    page.get_by_label("短信验证码").fill(live_provider.last_sms_code(WANG_WU_PHONE))
    page.get_by_role("button", name="验证并继续").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("设置用户名（可选）")
    checked(page)
    page.get_by_label("用户名").fill("13912345678")
    page.get_by_role("button", name="下一步").click()
    expect(page.get_by_role("alert")).to_have_text("用户名不能是手机号码格式")
    page.get_by_label("用户名").fill("wangwu_qd")
    page.get_by_role("button", name="下一步").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("设置个人用户密码")
    checked(page)
    page.get_by_label("个人用户密码").fill(PASSWORD)
    page.get_by_label("再次输入密码").fill(PASSWORD)
    page.get_by_role("button", name="下一步").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("人脸识别验证")
    expect(page.locator("#face-notice")).to_contain_text("不保存人脸图像")
    checked(page)
    page.get_by_role("button", name="同意并开始刷脸").click()  # asked once: the scan starts at once

    expect(page.get_by_role("heading", level=1)).to_have_text("模拟人脸识别（开发环境）")
    page.get_by_role("button", name="刷脸通过").click()

    expect(page).to_have_url(f"{live_provider.url}/register/complete")
    expect(page.get_by_role("heading", level=1)).to_have_text("注册成功")
    expect(page.locator("#realname-level")).to_have_text("您的实名认证等级：四级。")
    checked(page)


@pytest.mark.parametrize("size", SIZES)
def test_registering_from_an_apps_login_ends_signed_in_at_the_app(
    page: Page, live_provider: LiveProvider, relying_party: LiveServer, size: str
):
    """Issue 18 finding 2: the app's request survives the registration; password + SMS + face is loa:3
    (docs/domain.md §13) and the app receives the new, level-4 person without a second login."""
    page.set_viewport_size(SIZES[size])
    page.goto(f"{relying_party.url}/login")
    expect(page).to_have_url(starts_with(f"{live_provider.url}/login?interaction="))
    checked(page)
    page.get_by_role("link", name="用户注册").click()
    expect(page).to_have_url(starts_with(f"{live_provider.url}/register?interaction="))
    register(page, live_provider)

    expect(page.locator("#registered")).to_contain_text("您已登录")
    page.get_by_role("link", name="继续").click()
    expect(page).to_have_url(starts_with(f"{relying_party.url}/callback?"))
    expect(page.locator("#welcome")).to_have_text("王五")
    expect(page.locator("#acr")).to_have_text("urn:qdtax:loa:3")
    expect(page.locator("#realname_level")).to_have_text("4")
    with live_provider.app.app_context():
        created = db.session.execute(select(Person).where(Person.doc_number == WANG_WU)).scalar_one()
    expect(page.locator("#sub")).to_have_text(created.sub)


def test_register_with_a_face_scan_then_log_in_with_password_and_sms(
    page: Page, live_provider: LiveProvider, relying_party: LiveServer
):
    """docs/domain.md §1.3: identity check, basic information and face recognition complete the registration;
    the person then logs in through the natural-person entry (password + SMS, docs/domain.md §1.9) and the
    relying party receives a real-name level 4 identity (docs/domain.md §1.5)."""
    page.goto(f"{live_provider.url}/login")
    page.get_by_role("link", name="用户注册").click()
    expect(page).to_have_url(f"{live_provider.url}/register")
    register(page, live_provider)
    expect(page.locator("#registered")).to_contain_text("自然人业务入口")
    with live_provider.app.app_context():
        created = db.session.execute(select(Person).where(Person.doc_number == WANG_WU)).scalar_one()
        assert (created.username, created.realname_level) == ("wangwu_qd", 4)

    let_sms_cooldown_pass(live_provider.app)  # the registration's code went to this phone moments ago
    page.goto(f"{relying_party.url}/login")
    expect(page.get_by_role("heading", level=1)).to_have_text("用户登录")
    page.get_by_label("用户名 / 手机号码 / 证件号码").fill("wangwu_qd")
    page.get_by_label("个人用户密码").fill(PASSWORD)
    page.get_by_role("button", name="下一步").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("短信验证")
    page.get_by_label("短信验证码").fill(live_provider.last_sms_code(WANG_WU_PHONE))
    page.get_by_role("button", name="登录").click()

    expect(page).to_have_url(starts_with(f"{relying_party.url}/callback?"))
    expect(page.locator("#welcome")).to_have_text("王五")
    expect(page.locator("#sub")).to_have_text(created.sub)
    expect(page.locator("#acr")).to_have_text("urn:qdtax:loa:2")
    expect(page.locator("#realname_level")).to_have_text("4")


@pytest.mark.parametrize("size", SIZES)
def test_the_phone_step_shows_the_number_sent_to_and_resends_without_asking_again(
    page: Page, live_provider: LiveProvider, size: str
):
    """Issue 18: once a code is sent the number is shown masked, not asked for again; 更换号码 brings
    the empty field back, and 重新发送验证码 counts down the cooldown, then sends to the stored number."""
    page.set_viewport_size(SIZES[size])
    page.goto(f"{live_provider.url}/register")
    page.get_by_label("证件类型").select_option(label="居民身份证")
    page.get_by_label("证件号码").fill(WANG_WU)
    page.get_by_label("姓名（与证件一致）").fill("王五")
    page.get_by_role("button", name="下一步").click()
    page.get_by_label("手机号码").fill(WANG_WU_PHONE)
    page.get_by_role("button", name="获取短信验证码").click()

    expect(page.locator("#sms-sent")).to_contain_text("验证码已发送至 139****5678")
    expect(page.get_by_label("手机号码")).to_have_count(0)
    expect(page.get_by_role("button", name="重新发送验证码")).to_be_disabled()
    expect(page.locator("#sms-resend-wait")).to_have_text(re.compile(r"^(59|60) 秒后可重新发送$"))
    checked(page)
    assert_chinese_only(page)

    page.get_by_role("link", name="更换号码").click()
    expect(page.get_by_label("手机号码")).to_have_value("")
    checked(page)
    assert_chinese_only(page)
    page.get_by_label("手机号码").fill(WANG_WU_OTHER_PHONE)
    page.get_by_role("button", name="获取短信验证码").click()
    expect(page.locator("#sms-sent")).to_contain_text("验证码已发送至 139****5600")

    let_sms_cooldown_pass(live_provider.app)
    page.reload()
    page.get_by_role("button", name="重新发送验证码").click()
    expect(page.locator("#sms-sent")).to_contain_text("验证码已发送至 139****5600")
    expect(page.get_by_role("button", name="重新发送验证码")).to_be_disabled()
    assert [m["phone"] for m in read_outbox(live_provider.app)] == [WANG_WU_PHONE] + [WANG_WU_OTHER_PHONE] * 2
    page.get_by_label("短信验证码").fill(live_provider.last_sms_code(WANG_WU_OTHER_PHONE))
    page.get_by_role("button", name="验证并继续").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("设置用户名（可选）")
