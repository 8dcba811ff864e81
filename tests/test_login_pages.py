"""The provider's login pages: identify + password, then an SMS code (docs/architecture.md §5.3, docs/domain.md §12.1).

Only a browser that passed both steps holds a login session (acr ``urn:qdtax:loa:2``).
"""

from __future__ import annotations

import time
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from idp.core.database import db
from idp.core.settings import current_settings
from idp.models import AuditEvent, LoginSession, MethodLockout, SmsCode
from idp.protocol import pending_steps

from conftest import (
    DOC_NUMBER,
    PHONE,
    authorization_request,
    csrf_from,
    hidden_value,
    last_sms_code,
    let_sms_cooldown_pass,
    login_through_pages,
    read_outbox,
    submit_password,
    submit_sms_code,
)


def login_sessions(app) -> list[LoginSession]:
    with app.app_context():
        return list(db.session.execute(select(LoginSession)).scalars())


@pytest.mark.parametrize(
    "identifier",
    ["zhangsan", PHONE, DOC_NUMBER, DOC_NUMBER.lower(),
     DOC_NUMBER.translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789X"}),  # as a Chinese input method types
     f"+86 {PHONE[:3]}-{PHONE[3:7]}-{PHONE[7:]}", f"{DOC_NUMBER[:6]} {DOC_NUMBER[6:14]} {DOC_NUMBER[14:]}"],
    ids=["username", "phone", "document-number", "document-number-lower-case-x", "document-number-full-width",
         "phone-with-country-code-and-dashes", "document-number-with-spaces"],
)
def test_person_logs_in_with_any_identifier_plus_password_and_sms(app, client, person, identifier):
    """docs/domain.md §1.11: username, phone number or document number, each followed by the SMS step."""
    response = login_through_pages(app, client, "/login", identifier=identifier)
    assert response.headers["Location"] == "/"
    account = client.get("/account").get_data(as_text=True)
    assert "张三" in account
    assert 'data-acr="urn:qdtax:loa:2" data-amr="pwd sms mfa"' in account
    [login] = login_sessions(app)
    assert (login.acr, login.amr) == ("urn:qdtax:loa:2", ["pwd", "sms", "mfa"])


def test_right_password_sends_a_code_to_the_verified_phone_and_shows_it_masked(app, client, person):
    """docs/domain.md §1.1's default: a person without a security key or app code gets the SMS code at once and
    the page asks for it (no choice first)."""
    response = submit_password(client)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login/sms")
    [message] = read_outbox(app)
    assert message["phone"] == PHONE
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "验证码已发送至 138****5678" in page
    assert 'name="code"' in page and 'id="sms-send"' not in page and 'id="use-face"' in page
    assert PHONE not in page
    assert login_sessions(app) == []


def test_unknown_identity_is_told_to_register_with_a_link(app, client, person):
    response = submit_password(client, identifier="nobody-here")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "该用户未注册" in html
    assert 'href="/register"' in html
    assert client.get("/register").status_code == 200
    assert read_outbox(app) == []


def test_wrong_password_gets_the_generic_message_and_no_code(app, client, person):
    """The message names neither which part was wrong nor how many tries are left."""
    response = submit_password(client, password="Wrong#2026")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "个人账号或密码错误" in html
    for hint in ("剩余", "次", "还可", "锁定", "手机", "138"):
        assert hint not in html.split('id="error">')[1].split("</p>")[0]
    assert read_outbox(app) == []
    assert client.get("/login/sms").headers["Location"] == "/login"


@pytest.mark.parametrize("missing", ["identifier", "password"])
def test_missing_field_is_refused_without_touching_the_account(app, client, person, missing):
    fields = {"identifier": "zhangsan", "password": person["password"], missing: ""}
    response = submit_password(client, **fields)
    assert response.status_code == 400
    assert "请填写完整的登录信息" in response.get_data(as_text=True)
    assert read_outbox(app) == []


def test_pages_are_chinese_by_default_and_english_after_the_language_switch(app, client, person):
    page = client.get("/login").get_data(as_text=True)
    assert '<html lang="zh-CN">' in page and "用户登录" in page
    switched = client.get("/lang/en?next=/login")
    assert switched.status_code == 302 and switched.headers["Location"] == "/login"
    page = client.get("/login").get_data(as_text=True)
    assert '<html lang="en">' in page and "Sign in" in page
    wrong = submit_password(client, password="Wrong#2026").get_data(as_text=True)
    assert "Wrong account or password." in wrong
    unknown = submit_password(client, identifier="nobody-here").get_data(as_text=True)
    assert "This user is not registered" in unknown


def test_ui_locales_en_keeps_the_whole_login_in_english(app, client, person, rp):
    """OIDC Core 3.1.2.1 ``ui_locales``: the error and SMS pages follow the first page's language."""
    request = authorization_request(rp, ui_locales="en-US zh-CN")
    location = client.get("/authorize", query_string=request.params).headers["Location"]
    page = client.get(location).get_data(as_text=True)
    assert '<html lang="en">' in page and "Sign in" in page
    form = {"interaction": hidden_value(page, "interaction"), "csrf_token": csrf_from(page)}
    wrong = client.post("/login", data=form | {"identifier": "zhangsan", "password": "Wrong#2026"})
    assert "Wrong account or password." in wrong.get_data(as_text=True)
    right = client.post("/login", data=form | {"identifier": "zhangsan", "password": person["password"]})
    sms_page = client.get(right.headers["Location"]).get_data(as_text=True)
    assert "A code was sent to 138****5678" in sms_page


def test_language_switch_overrides_ui_locales_for_the_rest_of_the_login(app, client, person, rp):
    """The person's own choice on the page wins over the application's hint."""
    request = authorization_request(rp, ui_locales="en")
    location = client.get("/authorize", query_string=request.params).headers["Location"]
    page = client.get(location).get_data(as_text=True)
    switch = link_target(page, "lang-switch")
    back = client.get(switch).headers["Location"]
    page = client.get(back).get_data(as_text=True)
    assert '<html lang="zh-CN">' in page and "用户登录" in page
    assert hidden_value(page, "interaction")  # still the same pending authorization request
    form = {"interaction": hidden_value(page, "interaction"), "csrf_token": csrf_from(page)}
    wrong = client.post("/login", data=form | {"identifier": "zhangsan", "password": "Wrong#2026"})
    assert "个人账号或密码错误" in wrong.get_data(as_text=True)


def link_target(html: str, element_id: str) -> str:
    start = html.index(f'id="{element_id}" href="') + len(f'id="{element_id}" href="')
    return html[start:html.index('"', start)].replace("&amp;", "&")


def test_sms_step_cannot_be_reached_without_the_password_step(app, client, person):
    assert client.get("/login/sms").headers["Location"] == "/login"
    response = submit_sms_code(client, "123456")
    assert response.status_code == 400
    assert "登录已超时，请重新登录" in response.get_data(as_text=True)
    assert login_sessions(app) == []


def test_a_code_sent_to_another_browser_does_not_complete_a_login_here(app, person):
    """The pending login lives in the browser that passed the password step, not in the code."""
    victim, attacker = app.test_client(), app.test_client()
    assert submit_password(victim).status_code == 302
    response = submit_sms_code(attacker, last_sms_code(app))
    assert "登录已超时，请重新登录" in response.get_data(as_text=True)
    assert attacker.get("/").headers["Location"] == "/login"
    assert login_sessions(app) == []
    assert submit_sms_code(victim, last_sms_code(app)).headers["Location"] == "/"


def test_wrong_password_after_a_right_one_discards_the_pending_login(app, client, person):
    assert submit_password(client).status_code == 302
    code = last_sms_code(app)
    assert submit_password(client, password="Wrong#2026").status_code == 400
    response = submit_sms_code(client, code)
    assert "登录已超时，请重新登录" in response.get_data(as_text=True)
    assert login_sessions(app) == []


def test_pending_login_expires_after_login_step_ttl(app, client, person, monkeypatch):
    """``LOGIN_STEP_TTL``: a half-finished login cannot be completed later, even with a live code."""
    assert submit_password(client).status_code == 302
    ttl = current_settings(app).LOGIN_STEP_TTL
    real_time = time.time
    monkeypatch.setattr(pending_steps, "time", SimpleNamespace(time=lambda: real_time() + ttl - 5))
    assert client.get("/login/sms").status_code == 200
    monkeypatch.setattr(pending_steps, "time", SimpleNamespace(time=lambda: real_time() + ttl + 1))
    timed_out = client.get("/login/sms").headers["Location"]
    assert timed_out == "/login?timed_out=1"
    assert "登录已超时，请重新登录" in client.get(timed_out).get_data(as_text=True)
    response = submit_sms_code(client, last_sms_code(app))
    assert "登录已超时，请重新登录" in response.get_data(as_text=True)
    assert login_sessions(app) == []


def test_a_login_for_an_app_left_too_long_at_the_second_factor_starts_again_for_that_app(app, client, person, rp,
                                                                                         monkeypatch):
    """Issue 18: the login page that says the step timed out still serves the app's request (which
    has its own, longer life, docs/architecture.md §5.2), so logging in again ends at that app."""
    request = authorization_request(rp)
    login_url = client.get("/authorize", query_string=request.params).headers["Location"]
    interaction = hidden_value(client.get(login_url).get_data(as_text=True), "interaction")
    assert submit_password(client, interaction=interaction).status_code == 302
    ttl = current_settings(app).LOGIN_STEP_TTL
    real_time = time.time
    monkeypatch.setattr(pending_steps, "time", SimpleNamespace(time=lambda: real_time() + ttl + 1))
    timed_out = client.get("/login/sms").headers["Location"]
    assert timed_out == f"/login?interaction={interaction}&timed_out=1"
    again = client.get(timed_out).get_data(as_text=True)
    # The page says why the person is back, and still serves the app's request.
    assert "登录已超时，请重新登录" in again and hidden_value(again, "interaction") == interaction
    page = submit_sms_code(client, last_sms_code(app)).get_data(as_text=True)
    assert "登录已超时，请重新登录" in page
    assert hidden_value(page, "interaction") == interaction


def resend_code(client):
    token = csrf_from(client.get("/login").get_data(as_text=True))
    return client.post("/login/sms/resend", data={"csrf_token": token})


def sms_codes(app) -> list[SmsCode]:
    with app.app_context():
        return list(db.session.execute(select(SmsCode)).scalars())


def test_sms_gateway_down_after_the_password_keeps_the_password_step_and_no_code(app, client, person,
                                                                                   sms_gateway):
    """The password step stands although its code could not be sent: its audit row and the end of
    the run of failures are kept, and the page says the SMS failed.  No code row is kept, so the
    resend asked for once the gateway is back is not refused by the cooldown of a code nobody got."""
    assert submit_password(client, password="Wrong#2026").status_code == 400
    sms_gateway.down()
    response = submit_password(client)
    assert response.status_code == 503
    assert "短信发送失败，请稍后再试" in response.get_data(as_text=True)
    with app.app_context():
        steps = db.session.execute(select(AuditEvent.outcome).where(AuditEvent.event == "login.password")
                                   .order_by(AuditEvent.id)).scalars().all()
        assert steps == ["failure", "success"]
        assert db.session.execute(select(MethodLockout.failures).where(MethodLockout.method == "password")
                                  ).scalar_one() == 0
    assert sms_codes(app) == []
    sms_gateway.up()
    assert resend_code(client).headers["Location"] == "/login/sms"
    assert submit_sms_code(client, last_sms_code(app)).headers["Location"] == "/"


def test_a_resend_the_gateway_fails_keeps_no_code_and_replaces_none(app, client, person, sms_gateway):
    """The failed resend's code is not kept: the code sent before it still logs in."""
    assert submit_password(client).status_code == 302
    first = last_sms_code(app)
    let_sms_cooldown_pass(app)
    sms_gateway.down()
    response = resend_code(client)
    assert response.status_code == 503
    assert "短信发送失败，请稍后再试" in response.get_data(as_text=True)
    assert len(sms_codes(app)) == 1
    sms_gateway.up()
    assert submit_sms_code(client, first).headers["Location"] == "/"


@pytest.mark.parametrize("target", ["https://evil.test/", "//evil.test/", "/\\evil.test/", "/\t/evil.test/",
                                    "/\n/evil.test/", "\t//evil.test/", "javascript:alert(1)"])
def test_language_switch_never_redirects_off_site(client, target):
    response = client.get("/lang/en", query_string={"next": target})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_an_identifier_with_a_nul_character_is_nobody(client, person):
    """PostgreSQL refuses NUL in text; such an identifier is simply no account."""
    page = submit_password(client, identifier="zhang\x00san").get_data(as_text=True)
    assert "该用户未注册" in page
