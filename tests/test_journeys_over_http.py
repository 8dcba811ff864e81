"""Registration and password reset started from an app's login page, over real HTTP (``requests``
against the live provider): the person ends at the app's redirect_uri with a code
(docs/architecture.md §5.2)."""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import requests
from test_registration import NEW_DOC, NEW_NAME, NEW_PASSWORD, NEW_PHONE

from conftest import authorization_request, csrf_from, hidden_value, let_sms_cooldown_pass, register_client
from e2e.live_provider import LiveProvider
from http_browser import follow_until, log_in_over_http

RESET_PASSWORD = "Laoshan@2027"


def link(html: str, link_id: str) -> str:
    return unescape(re.search(rf'<a [^>]*href="([^"]*)"[^>]*id="{link_id}"', html).group(1))


def apps_login_page(browser: requests.Session, live_provider: LiveProvider) -> tuple[str, dict, requests.Response]:
    """The app sends the browser to /authorize; returns its redirect_uri, the request and the login page."""
    rp = register_client(live_provider.app)
    request = authorization_request(rp)
    page = follow_until(browser, f"{live_provider.url}/authorize?{urlencode(request.params)}", rp.redirect_uri)
    assert isinstance(page, requests.Response) and page.url.startswith(f"{live_provider.url}/login?interaction=")
    return rp.redirect_uri, request.params, page


def post(browser: requests.Session, url: str, page: requests.Response, **data) -> requests.Response:
    """Submit a form of ``page`` as a browser does (its CSRF token), without following the answer."""
    return browser.post(url, data={"csrf_token": csrf_from(page.text), **data}, allow_redirects=False, timeout=10)


def next_page(browser: requests.Session, answer: requests.Response) -> requests.Response:
    assert answer.status_code == 302, answer.text
    return browser.get(urljoin(answer.url, answer.headers["Location"]), timeout=10)


def assert_code_for(callback: str, redirect_uri: str, params: dict) -> None:
    assert callback.startswith(redirect_uri + "?"), callback
    answer = {k: v[0] for k, v in parse_qs(urlsplit(callback).query).items()}
    assert answer["state"] == params["state"] and answer["code"]



def reset_by_sms_and_log_in_again(browser: requests.Session, live_provider: LiveProvider, verify: requests.Response,
                                  login: requests.Response, redirect_uri: str, params: dict) -> None:
    """From the reset's verification page: the SMS code, a new password, then 重新登录 leads back to
    the app's own login page, and that login ends at the app with a code."""
    base = live_provider.url
    sent = post(browser, f"{base}/password/forgot/sms/send", verify)
    new = next_page(browser, post(browser, f"{base}/password/forgot/sms", sent, code=live_provider.last_sms_code()))
    done = post(browser, f"{base}/password/forgot/new", new, new_password=RESET_PASSWORD,
                confirm_password=RESET_PASSWORD)
    relogin = urljoin(base, link(done.text, "relogin"))
    assert relogin == login.url
    let_sms_cooldown_pass(live_provider.app)
    callback = log_in_over_http(base, relogin, redirect_uri, live_provider.last_sms_code,
                                password=RESET_PASSWORD, browser=browser)
    assert_code_for(callback, redirect_uri, params)

def test_a_registration_from_an_apps_login_ends_at_the_app_with_a_code(live_provider: LiveProvider):
    base = live_provider.url
    with requests.Session() as browser:
        redirect_uri, params, login = apps_login_page(browser, live_provider)
        start = browser.get(urljoin(base, link(login.text, "register-link")), timeout=10)
        phone = next_page(browser, post(browser, f"{base}/register", start, doc_type="ID_CARD", doc_number=NEW_DOC,
                                        name=NEW_NAME, country="", interaction=hidden_value(start.text, "interaction")))
        sent = next_page(browser, post(browser, f"{base}/register/phone", phone, phone=NEW_PHONE))
        username = next_page(browser, post(browser, f"{base}/register/phone/verify", sent,
                                           code=live_provider.last_sms_code(NEW_PHONE)))
        password = next_page(browser, post(browser, f"{base}/register/username", username, skip="1"))
        face = next_page(browser, post(browser, f"{base}/register/password", password, password=NEW_PASSWORD,
                                       confirm_password=NEW_PASSWORD))
        face = next_page(browser, post(browser, f"{base}/register/face/consent", face))
        provider_page = next_page(browser, post(browser, f"{base}/register/face/start", face))
        back = post(browser, provider_page.url, provider_page, outcome="pass")
        done = next_page(browser, back)
        assert done.url == f"{base}/register/complete" and "四级" in done.text
        callback = follow_until(browser, urljoin(base, link(done.text, "continue-to-app")), redirect_uri)
        assert isinstance(callback, str)
        assert_code_for(callback, redirect_uri, params)


def test_a_reset_from_an_apps_login_returns_to_it_and_ends_at_the_app_with_a_code(
    live_provider: LiveProvider, person: dict
):
    base = live_provider.url
    with requests.Session() as browser:
        redirect_uri, params, login = apps_login_page(browser, live_provider)
        identify = browser.get(urljoin(base, link(login.text, "forgot-password")), timeout=10)
        verify = next_page(browser, post(browser, f"{base}/password/forgot", identify, identifier="zhangsan",
                                         interaction=hidden_value(identify.text, "interaction")))
        reset_by_sms_and_log_in_again(browser, live_provider, verify, login, redirect_uri, params)


def test_forgot_password_after_a_face_lockout_keeps_the_apps_request_and_ends_at_the_app(
    live_provider: LiveProvider, person: dict
):
    """Issue 18: the fifth failed scan locks face login (docs/domain.md §1.14); the result page's
    忘记密码 carries the app's request like the login page's own link, so the reset ends at the app."""
    base = live_provider.url
    with requests.Session() as browser:
        redirect_uri, params, login = apps_login_page(browser, live_provider)
        interaction = hidden_value(login.text, "interaction")
        next_page(browser, post(browser, f"{base}/login", login, interaction=interaction,
                                identifier="zhangsan", password=person["password"]))
        consent = browser.get(f"{base}/login/face", timeout=10)
        assert consent.status_code == 200
        post(browser, f"{base}/login/face/consent", consent)
        for _ in range(5):
            provider_page = next_page(browser, browser.get(f"{base}/login/face", allow_redirects=False, timeout=10))
            result = next_page(browser, post(browser, provider_page.url, provider_page, outcome="fail"))
        assert result.status_code == 400 and "连续认证错误次数过多" in result.text
        forgot = link(result.text, "forgot-after-lock")
        assert forgot == f"/password/forgot?interaction={interaction}"

        identify = browser.get(urljoin(base, forgot), timeout=10)
        assert hidden_value(identify.text, "interaction") == interaction
        verify = next_page(browser, post(browser, f"{base}/password/forgot", identify, identifier="zhangsan",
                                         interaction=interaction))
        let_sms_cooldown_pass(live_provider.app)  # the login's code went to this phone moments ago
        reset_by_sms_and_log_in_again(browser, live_provider, verify, login, redirect_uri, params)
