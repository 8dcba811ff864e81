"""In a real browser: enterprise login with a taxpayer choice and a switch (docs/domain.md §2.3), and a
relying party asking for urn:qdtax:loa:3 mid-session getting a face check only (docs/domain.md §13)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from e2e.browser import starts_with
from e2e.live_provider import LiveProvider, LiveServer
from entity_fixtures import BUILDER, TRADER, give_role, load_entities

pytestmark = pytest.mark.e2e


def log_in(page: Page, live_provider: LiveProvider, person: dict, entry_label: str | None = None) -> None:
    page.get_by_label("用户名 / 手机号码 / 证件号码").fill(person["username"])
    page.get_by_label("个人用户密码").fill(person["password"])
    if entry_label:
        page.get_by_label(entry_label).check()
    page.get_by_role("button", name="下一步").click()
    page.get_by_label("短信验证码").fill(live_provider.last_sms_code())
    page.get_by_role("button", name="登录").click()


def test_enterprise_login_chooses_a_taxpayer_then_switches_without_a_new_login(
    page: Page, live_provider: LiveProvider, relying_party: LiveServer, person: dict
):
    """docs/domain.md §1.1, §1.8: enterprise business reaches through to the person, who picks and later switches."""
    load_entities(live_provider.app)
    give_role(live_provider.app, BUILDER, "financial_officer")
    give_role(live_provider.app, TRADER, "tax_officer")
    page.goto(f"{relying_party.url}/login")
    log_in(page, live_provider, person, entry_label="企业业务")

    expect(page.get_by_role("heading", level=1)).to_have_text("选择办税身份")
    page.get_by_label("青岛远洋贸易有限公司", exact=False).check()
    page.get_by_role("button", name="进入").click()
    expect(page).to_have_url(starts_with(f"{relying_party.url}/callback?"))
    expect(page.locator("#business")).to_have_text("enterprise")
    expect(page.locator("#entity")).to_have_text("青岛远洋贸易有限公司")
    first_auth_time = page.locator("#auth_time").inner_text()

    page.goto(f"{relying_party.url}/login?prompt=select_account&business_entry=enterprise")
    expect(page.get_by_role("heading", level=1)).to_have_text("选择办税身份")
    page.get_by_label("青岛海川建筑安装有限公司", exact=False).check()
    page.get_by_role("button", name="进入").click()
    expect(page).to_have_url(starts_with(f"{relying_party.url}/callback?"))
    expect(page.locator("#entity")).to_have_text("青岛海川建筑安装有限公司")
    expect(page.locator("#auth_time")).to_have_text(first_auth_time)


def test_asking_for_loa3_mid_session_needs_only_a_face_check(
    page: Page, live_provider: LiveProvider, relying_party: LiveServer, person: dict
):
    """docs/domain.md §1.5: key business asks for a face scan; the password is not asked again."""
    page.goto(f"{relying_party.url}/login")
    log_in(page, live_provider, person)
    expect(page.locator("#acr")).to_have_text("urn:qdtax:loa:2")

    page.goto(f"{relying_party.url}/login?acr_values=urn:qdtax:loa:3")
    expect(page).to_have_url(starts_with(f"{live_provider.url}/step-up"))
    expect(page.locator("body")).not_to_contain_text("个人用户密码")
    page.get_by_role("button", name="同意并开始刷脸").click()
    page.get_by_role("button", name="刷脸通过").click()

    expect(page).to_have_url(starts_with(f"{relying_party.url}/callback?"))
    expect(page.locator("#acr")).to_have_text("urn:qdtax:loa:3")
    expect(page.locator("#amr")).to_have_text("pwd sms face mfa")
