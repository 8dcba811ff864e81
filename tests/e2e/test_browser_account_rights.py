"""The personal-information rights of the account centre in a real browser (Debian's chromium,
driven by Playwright), at desktop and phone size: download my data, withdraw face consent, close
the account (PIPL articles 44-47; docs/privacy.md)."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import Page, expect

from idp.core.database import db
from idp.models import FaceConsent

from conftest import let_sms_cooldown_pass
from e2e.accessibility import assert_accessible
from e2e.live_provider import LiveProvider
from e2e.screenshots import SIZES
from e2e.test_browser_account_centre import log_in

pytestmark = pytest.mark.e2e



def assert_fits_the_screen(page: Page) -> None:
    """Nothing wider than the viewport: no sideways scrolling on a phone."""
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


@pytest.mark.parametrize("size", SIZES)
def test_a_person_downloads_their_data_withdraws_face_consent_and_closes_the_account(
    page: Page, live_provider: LiveProvider, person: dict, size: str
):
    page.set_viewport_size(SIZES[size])
    with live_provider.app.app_context():
        db.session.add(FaceConsent(doc_type="ID_CARD", doc_number=person["doc_number"], notice_version="2026-11"))
        db.session.commit()
    page.goto(f"{live_provider.url}/login")
    log_in(page, live_provider)
    page.get_by_role("link", name="个人信息权利").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("个人信息权利")
    assert_fits_the_screen(page)
    assert_accessible(page)

    with page.expect_download() as download:
        page.get_by_role("button", name="下载我的数据").click()
    assert download.value.suggested_filename.startswith("qdtax-personal-data-")
    document = json.loads(open(download.value.path(), encoding="utf-8").read())
    assert document["profile"]["name"] == "张三"

    expect(page.locator("#face-state")).to_contain_text("您已同意人脸识别")
    page.get_by_role("button", name="撤回人脸识别授权").click()
    expect(page.get_by_role("status")).to_have_text("已撤回人脸识别授权。")
    expect(page.get_by_role("link", name="重新授权人脸识别")).to_be_visible()

    page.get_by_role("link", name="注销账号").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("注销账号")
    assert_fits_the_screen(page)
    assert_accessible(page)
    expect(page.get_by_role("button", name="刷脸确认注销")).to_have_count(0)  # consent was withdrawn
    let_sms_cooldown_pass(live_provider.app)
    page.get_by_role("button", name="发送验证码至138****5678").click()
    expect(page.locator("#sms-sent")).to_be_visible()
    page.get_by_label("短信验证码").fill(live_provider.last_sms_code())
    page.get_by_label("我已了解注销的后果，确认注销账号").check()
    page.get_by_role("button", name="确认注销").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("账号已注销")
    assert_fits_the_screen(page)
    assert_accessible(page)

    page.goto(f"{live_provider.url}/account")
    expect(page.get_by_role("heading", level=1)).to_have_text("用户登录")
