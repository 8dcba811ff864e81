"""In a real browser, at desktop and phone size: an error page mid-login is no dead end (返回应用 to
the app that asked, or 重新开始这一步 back into the login, which then ends at the app), and the
third-party consent page says whom the person acts for, with 切换 (docs/architecture.md §12.1).
Every page is checked with axe-core and for English UI text (tests/e2e/language.py; the protocol
code is marked translate=no)."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Page, expect

from conftest import register_client
from e2e.accessibility import assert_accessible
from e2e.browser import starts_with
from e2e.language import assert_chinese_only
from e2e.live_provider import LiveProvider, LiveServer, serve_on_free_port
from e2e.relying_party import create_relying_party
from e2e.screenshots import SIZES, journey_screenshot
from e2e.test_browser_entity_and_step_up import log_in
from entity_fixtures import BUILDER, give_role, load_entities

pytestmark = pytest.mark.e2e

def assert_chinese_page(page: Page) -> None:
    """Chinese throughout (the protocol code is marked translate=no), no sideways scrolling, axe-clean."""
    assert_chinese_only(page)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), "sideways scrolling"
    assert_accessible(page)


@pytest.fixture
def third_party_app(live_provider: LiveProvider) -> Iterator[LiveServer]:
    """A third-party bookkeeping app: the provider asks the person's consent before it gets a code."""

    def build(url: str):
        registered = register_client(live_provider.app, name="第三方记账软件", first_party=False,
                                     redirect_uris=[f"{url}/callback"])
        return create_relying_party(issuer=live_provider.url, client_id=registered.client_id,
                                    client_secret=registered.client_secret, redirect_uri=registered.redirect_uri)

    live = serve_on_free_port(build)
    yield live
    live.stop()


def expire_the_form(page: Page) -> None:
    """The login form's CSRF token goes stale, as when its browser session ended meanwhile."""
    page.evaluate("document.querySelector('input[name=csrf_token]').value = 'stale'")


def submit_an_expired_login_form(page: Page, live_provider: LiveProvider, relying_party: LiveServer, person: dict,
                                 size: str) -> None:
    """From the app's login, at ``size``: the password form is posted after its token went stale."""
    page.set_viewport_size(SIZES[size])
    page.goto(f"{relying_party.url}/login")
    expect(page).to_have_url(starts_with(f"{live_provider.url}/login?"))
    expire_the_form(page)
    page.get_by_label("用户名 / 手机号码 / 证件号码").fill(person["username"])
    page.get_by_label("个人用户密码").fill(person["password"])
    page.get_by_role("button", name="下一步").click()


@pytest.mark.parametrize("size", SIZES)
def test_an_expired_login_form_leads_back_into_the_login_and_on_to_the_app(
    page: Page, live_provider: LiveProvider, relying_party: LiveServer, person: dict, size: str
):
    submit_an_expired_login_form(page, live_provider, relying_party, person, size)

    expect(page.get_by_role("heading", level=1)).to_have_text("页面已过期")
    expect(page.locator("main")).not_to_contain_text("刷新")
    expect(page.locator("#help")).to_contain_text("12366")
    expect(page.get_by_role("link", name="返回应用")).to_be_visible()
    assert_chinese_page(page)
    journey_screenshot(page, f"error-1-expired-form-{size}")

    page.get_by_role("link", name="重新开始这一步").click()
    expect(page).to_have_url(starts_with(f"{live_provider.url}/login?"))
    log_in(page, live_provider, person)
    expect(page).to_have_url(starts_with(f"{relying_party.url}/callback?"))
    expect(page.locator("#welcome")).to_have_text("张三")


@pytest.mark.parametrize("size", SIZES)
def test_an_error_page_returns_to_the_app_with_access_denied(
    page: Page, live_provider: LiveProvider, relying_party: LiveServer, person: dict, size: str
):
    submit_an_expired_login_form(page, live_provider, relying_party, person, size)
    expect(page.get_by_role("heading", level=1)).to_have_text("页面已过期")

    with page.expect_navigation():
        page.get_by_role("link", name="返回应用").click()
    answer = urlsplit(page.url)
    assert f"{answer.scheme}://{answer.netloc}{answer.path}" == f"{relying_party.url}/callback"
    params = parse_qs(answer.query)
    # The app's own state comes back, so the app can tell which of its requests ended this way.
    assert params["error"] == ["access_denied"] and params["iss"] == [live_provider.url] and params["state"][0]


@pytest.mark.parametrize("size", SIZES)
def test_an_expired_certificate_page_says_so_and_offers_a_fresh_copy(
    page: Page, live_provider: LiveProvider, relying_party: LiveServer, size: str
):
    """Issue 18: the certificate login's script is told in JSON that the page expired, shows that,
    and 重新开始这一步 opens the page again for the same app's request."""
    page.set_viewport_size(SIZES[size])
    page.goto(f"{relying_party.url}/login")
    page.get_by_role("link", name="税务数字证书登录").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("税务数字证书登录")
    certificate_page = page.url
    page.evaluate("document.getElementById('certificate-login').dataset.csrf = 'stale'")
    page.get_by_role("button", name="读取证书并登录").click()

    expect(page.get_by_role("alert")).to_have_text("页面已过期，刚才的操作未被处理。请重新开始这一步。")
    assert_chinese_page(page)
    page.get_by_role("link", name="重新开始这一步").click()
    expect(page).to_have_url(certificate_page)
    expect(page.get_by_role("alert")).to_be_hidden()
    expect(page.get_by_role("link", name="重新开始这一步")).to_be_hidden()


@pytest.mark.parametrize("size", SIZES)
def test_the_certificate_page_tells_a_taxpayer_what_to_run_and_whom_to_call(
    page: Page, live_provider: LiveProvider, size: str
):
    """Issue 18: the page names the certificate assistant and where help comes from, in Chinese
    (not a developer's document), and when the provider cannot be reached its script says so."""
    page.set_viewport_size(SIZES[size])
    page.goto(f"{live_provider.url}/login/certificate")
    help_text = page.locator("#certificate-help")
    expect(help_text).to_contain_text("证书助手")
    expect(help_text).to_contain_text("纳税缴费服务热线 12366")
    assert_chinese_page(page)

    page.route("**/login/certificate/challenge", lambda route: route.abort("connectionrefused"))
    page.get_by_role("button", name="读取证书并登录").click()
    expect(page.get_by_role("alert")).to_have_text("系统暂时无法使用，请稍后再试。")
    assert_chinese_page(page)


@pytest.mark.parametrize("size", SIZES)
def test_an_invalid_request_explains_itself_and_offers_the_login_not_the_unknown_app(
    page: Page, live_provider: LiveProvider, size: str
):
    page.set_viewport_size(SIZES[size])
    page.goto(f"{live_provider.url}/authorize?client_id=nobody&response_type=code&scope=openid"
              "&redirect_uri=https://evil.test/cb&state=s1")
    expect(page.locator("#message")).to_contain_text("应用发来的登录请求无效")
    expect(page.locator("#error-code")).to_have_text("错误代码：invalid_client")
    expect(page.locator("#error-code code")).to_have_attribute("translate", "no")
    expect(page.get_by_role("link", name="返回应用")).to_have_count(0)
    expect(page.get_by_role("link", name="重新登录")).to_have_attribute("href", "/login")
    assert_chinese_page(page)
    journey_screenshot(page, f"error-2-invalid-request-{size}")


@pytest.mark.parametrize("size", SIZES)
def test_consent_shows_the_taxpayer_and_switching_comes_back_to_it(
    page: Page, live_provider: LiveProvider, relying_party: LiveServer, third_party_app: LiveServer,
    person: dict, size: str
):
    page.set_viewport_size(SIZES[size])
    load_entities(live_provider.app)
    give_role(live_provider.app, BUILDER, "financial_officer")
    page.goto(f"{relying_party.url}/login")
    log_in(page, live_provider, person, entry_label="企业业务")
    expect(page).to_have_url(starts_with(f"{relying_party.url}/callback?"))
    expect(page.locator("#entity")).to_have_text("青岛海川建筑安装有限公司")

    page.goto(f"{third_party_app.url}/login")
    expect(page.get_by_role("heading", level=1)).to_have_text("授权确认")
    expect(page.locator("#consent-entity")).to_contain_text("办税身份：青岛海川建筑安装有限公司（9137**********346H）")
    assert_chinese_page(page)
    journey_screenshot(page, f"consent-1-taxpayer-{size}")

    page.get_by_role("link", name="切换办税身份").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("选择办税身份")
    assert_chinese_page(page)
    journey_screenshot(page, f"consent-2-switch-{size}")
    page.get_by_role("link", name="自然人业务").click()
    page.get_by_label("自然人业务").check()
    page.get_by_role("button", name="进入").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("授权确认")
    expect(page.locator("#consent-entity")).to_contain_text("办税身份：自然人业务（本人）")
    page.get_by_role("button", name="同意授权").click()
    expect(page).to_have_url(starts_with(f"{third_party_app.url}/callback?"))
    expect(page.locator("#business")).to_have_text("natural_person")
    expect(page.locator("#entity")).to_have_text("")
