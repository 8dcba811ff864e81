"""In a real browser: the old enterprise login of the dual-track transition (docs/domain.md §1,
docs/domain.md §1.2 "Dual-track: the old login stays usable for a transition period"; docs/legacy-login.md)."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect

from idp.core.clock import local_day
from idp.core.settings import current_settings
from idp.taxpayers.legacy_import import import_legacy_accounts, read_rows

from e2e.browser import starts_with
from e2e.live_provider import LiveProvider, LiveServer

pytestmark = pytest.mark.e2e

TRADER = "91110000600037341L"
OLD_PASSWORD = "Qiye#Old1"
TRADER_CLAIM = {"id": TRADER, "name": "青岛远洋贸易有限公司", "role": "legacy_enterprise_account",
                "tax_authority": {"code": "13702030000", "name": "国家税务总局青岛市市南区税务局"}}


@pytest.fixture
def sunset(live_provider: LiveProvider, monkeypatch) -> str:
    """The old login of the served provider ends in 30 days; returns that day as the page writes it."""
    with live_provider.app.app_context():
        day = local_day() + timedelta(days=30)
    monkeypatch.setitem(live_provider.app.config, "IDP", dataclasses.replace(
        current_settings(live_provider.app), LEGACY_LOGIN_SUNSET=day.isoformat()))
    return f"{day.year}年{day.month}月{day.day}日"


@pytest.fixture
def legacy_trader(live_provider: LiveProvider) -> None:
    """The trader's old login, imported with the previous e-tax system's salted SHA-256 hash."""
    salt = bytes.fromhex("0011223344556677")
    digest = hashlib.sha256(salt + OLD_PASSWORD.encode()).hexdigest()
    csv = ("taxpayer_number,name,tax_authority_code,tax_authority_name,legacy_password_hash\n"
           f"{TRADER},{TRADER_CLAIM['name']},13702030000,{TRADER_CLAIM['tax_authority']['name']},"
           f"sha256${salt.hex()}${digest}\n")
    with live_provider.app.app_context():
        assert import_legacy_accounts(read_rows(io.StringIO(csv))).count("imported") == 1


def test_old_enterprise_login_shows_the_banner_and_gives_the_relying_party_loa1_for_the_enterprise(
    page: Page, live_provider: LiveProvider, relying_party: LiveServer, sunset: str, legacy_trader: None
):
    """docs/domain.md §1.2 (dual-track): from the login page to the old login with taxpayer number and enterprise
    password, past the banner that names the end date and links registration, to a relying party
    holding a validated ID token at ``urn:qdtax:loa:1``, ``amr`` ``["pwd"]``, for the enterprise."""
    page.goto(f"{relying_party.url}/login")
    expect(page).to_have_url(starts_with(f"{live_provider.url}/login?interaction="))
    page.get_by_role("link", name=f"原企业登录方式（过渡期，{sunset}前可用）").click()

    expect(page).to_have_url(starts_with(f"{live_provider.url}/login/legacy?interaction="))
    expect(page.get_by_role("heading", level=1)).to_have_text("原企业登录方式（过渡期）")
    page.get_by_label("纳税人识别号（统一社会信用代码）").fill(TRADER)
    page.get_by_label("企业密码（原电子税务局）").fill(OLD_PASSWORD)
    page.get_by_role("button", name="登录").click()

    expect(page).to_have_url(starts_with(f"{live_provider.url}/login/legacy/notice"))
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.get_by_role("heading", level=1)).to_have_text("请注册个人账号")
    expect(page.locator("#legacy-signed-in")).to_have_text(
        "您已通过原企业登录方式登录：青岛远洋贸易有限公司（9111**********341L）。")
    banner = page.get_by_role("alert")
    expect(banner).to_contain_text(f"将于{sunset}起停止使用")
    expect(banner).to_contain_text("请尽快以自然人身份注册个人账号")
    expect(page.get_by_role("link", name="注册个人账号")).to_have_attribute("href", "/register")
    page.get_by_role("link", name="继续").click()

    # The relying party's authlib client checked the ID token's signature against the JWKS.
    expect(page).to_have_url(starts_with(f"{relying_party.url}/callback?"))
    expect(page.locator("#acr")).to_have_text("urn:qdtax:loa:1")
    expect(page.locator("#amr")).to_have_text("pwd")
    expect(page.locator("#business")).to_have_text("enterprise")
    expect(page.locator("#entity")).to_have_text(TRADER_CLAIM["name"])
    assert json.loads(page.locator("#entity_claim").inner_text()) == TRADER_CLAIM
    expect(page.locator("#realname_level")).to_have_text("")
