"""Password flows in a real browser (Debian's chromium, driven by Playwright): the forced change
after an initial-password login, and "forgot password" by face (docs/domain.md §1.8, §1.10).

The relying party is authlib's Flask client on its own port; the provider is served for real
and its development face provider's page is clicked like a tester would.  The forced change is
walked at a laptop's and a phone's size and ends at the app that asked (issue 18): axe-core and
the Chinese-only check on every page, the pictures of docs/journeys/ taken on the way.
"""

from __future__ import annotations

import io
import time
import types

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select, update

from idp.core.database import db
from idp.core.settings import current_settings
from idp.factors.password import hash_password
from idp.models import Person
from idp.people.accounts_import import import_accounts, read_rows

from e2e.browser import starts_with
from e2e.live_provider import LiveProvider, LiveServer
from e2e.screenshots import SIZES
from e2e.test_browser_login_journey import check_page

pytestmark = pytest.mark.e2e

LI_SI = "370202198001011232"
LI_SI_PHONE = "13900000001"
NEW_PASSWORD = "Qingdao#2027"


def log_in(page: Page, live_provider: LiveProvider, identifier: str, password: str, phone: str) -> None:
    check_page(page, "用户登录")
    page.get_by_label("用户名 / 手机号码 / 证件号码").fill(identifier)
    page.get_by_label("个人用户密码").fill(password)
    page.get_by_role("button", name="下一步").click()
    check_page(page, "短信验证")
    page.get_by_label("短信验证码").fill(live_provider.last_sms_code(phone))
    page.get_by_role("button", name="登录").click()


def choose_new_password(page: Page) -> None:
    page.get_by_label("新密码", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("确认新密码", exact=True).fill(NEW_PASSWORD)
    page.get_by_role("button", name="确定").click()


@pytest.fixture
def handed_back_zhang_san(live_provider: LiveProvider, person: dict) -> dict:
    """Zhang San, whose password staff set back to the initial one (the last six of his document)."""
    with live_provider.app.app_context():
        db.session.execute(update(Person).where(Person.id == person["id"]).values(
            password_hash=hash_password(person["doc_number"][-6:]), password_is_initial=True))
        db.session.commit()
    return person


@pytest.fixture(params=["imported", "handed_back"])
def must_change(request, live_provider: LiveProvider) -> dict:
    """Who must change the password: an imported account, or one handed back with its initial password."""
    if request.param == "imported":
        with live_provider.app.app_context():
            [outcome] = import_accounts(read_rows(io.StringIO(
                f"name,doc_type,doc_number,phone,realname_level\n李四,ID_CARD,{LI_SI},{LI_SI_PHONE},3\n"))).outcomes
            sub = db.session.execute(select(Person.sub).where(Person.doc_number == LI_SI)).scalar_one()
        return {"kind": "imported", "identifier": LI_SI, "initial": LI_SI[-6:], "phone": LI_SI_PHONE, "sub": sub,
                "name": "李四", "realname_level": "3"}
    zhang_san = request.getfixturevalue("handed_back_zhang_san")
    return {"kind": "handed_back", "identifier": zhang_san["username"], "initial": zhang_san["doc_number"][-6:],
            "phone": zhang_san["phone"], "sub": zhang_san["sub"], "name": "张三", "realname_level": "4"}


@pytest.mark.parametrize("size", SIZES)
def test_a_forced_password_change_ends_at_the_app_that_asked(
    page: Page, live_provider: LiveProvider, relying_party: LiveServer, must_change: dict, size: str
):
    """docs/domain.md §1.8: "使用初始密码登录的,登录后系统会要求自然人修改密码,修改完成后用户需要重新登录";
    the app's sign-in request is answered after that second login, at once (issue 18: every flow
    started from an app returns to it), on every page at a laptop's and a phone's size."""
    page.set_viewport_size(SIZES[size])
    pictures = must_change["kind"] == "imported"
    page.goto(f"{relying_party.url}/login")
    log_in(page, live_provider, must_change["identifier"], must_change["initial"], must_change["phone"])

    expect(page).to_have_url(f"{live_provider.url}/password/change-required")
    expect(page.locator("#password-note")).to_contain_text("证件号码后六位")
    check_page(page, "修改初始密码", f"forced-change-1-new-password-{size}" if pictures else None)
    page.get_by_label("新密码", exact=True).fill("Ab#1")
    page.get_by_label("确认新密码", exact=True).fill("Ab#1")
    page.get_by_role("button", name="确定").click()
    expect(page.get_by_role("alert")).to_have_text("密码长度应为8-16位")
    check_page(page, "修改初始密码")
    choose_new_password(page)

    expect(page.locator("#message")).to_have_text("密码修改成功，请使用新密码重新登录。")
    check_page(page, "密码设置成功", f"forced-change-2-done-{size}" if pictures else None)
    page.get_by_role("link", name="重新登录").click()
    expect(page).to_have_url(starts_with(f"{live_provider.url}/login?interaction="))
    page.get_by_label("用户名 / 手机号码 / 证件号码").fill(must_change["identifier"])
    page.get_by_label("个人用户密码").fill(must_change["initial"])
    page.get_by_role("button", name="下一步").click()
    expect(page.get_by_role("alert")).to_contain_text("个人账号或密码错误")

    # No minute passes: the code of the first login was used, so the next one is sent at once.
    log_in(page, live_provider, must_change["identifier"], NEW_PASSWORD, must_change["phone"])
    expect(page).to_have_url(starts_with(f"{relying_party.url}/callback?"))
    # The demo app shows claims only after redeeming the code and validating the ID token.
    expect(page.locator("#sub")).to_have_text(must_change["sub"])
    expect(page.locator("#welcome")).to_have_text(must_change["name"])
    expect(page.locator("#acr")).to_have_text("urn:qdtax:loa:2")
    expect(page.locator("#realname_level")).to_have_text(must_change["realname_level"])


@pytest.mark.parametrize("size", SIZES)
def test_a_forced_change_left_too_long_starts_again_for_the_app_that_asked(
    page: Page, live_provider: LiveProvider, relying_party: LiveServer, must_change: dict, size: str, monkeypatch
):
    """Issue 18: the change page submitted after its time (LOGIN_STEP_TTL) sends the person back to
    the login for the app's request, which then ends at the app, not at the account centre."""
    page.set_viewport_size(SIZES[size])
    page.goto(f"{relying_party.url}/login")
    log_in(page, live_provider, must_change["identifier"], must_change["initial"], must_change["phone"])
    expect(page).to_have_url(f"{live_provider.url}/password/change-required")
    later = time.time() + current_settings(live_provider.app).LOGIN_STEP_TTL + 1
    with monkeypatch.context() as the_person_went_away:
        the_person_went_away.setattr("idp.protocol.pending_steps.time", types.SimpleNamespace(time=lambda: later))
        choose_new_password(page)
        expect(page).to_have_url(starts_with(f"{live_provider.url}/login?interaction="))

    log_in(page, live_provider, must_change["identifier"], must_change["initial"], must_change["phone"])
    choose_new_password(page)
    page.get_by_role("link", name="重新登录").click()
    log_in(page, live_provider, must_change["identifier"], NEW_PASSWORD, must_change["phone"])
    expect(page).to_have_url(starts_with(f"{relying_party.url}/callback?"))
    expect(page.locator("#sub")).to_have_text(must_change["sub"])


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
