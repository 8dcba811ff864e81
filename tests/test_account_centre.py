"""The account centre (docs/account-centre.md): personal information, the fresh-login rule for sensitive
changes, and the personal password change (docs/domain.md §1.10).  Username, phone, real-name level and
sessions have their own files (test_account_username.py, test_account_phone.py,
test_account_realname.py, test_account_sessions.py)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from idp.core.database import db
from idp.core.settings import current_settings
from idp.models import Grant, LoginSession, Person

from account_steps import NEW_PASSWORD, age_logins, audit_events, log_in, post_form
from conftest import PASSWORD, csrf_from, submit_password, tokens_for


def test_root_sends_a_logged_in_person_to_the_account_centre_and_anyone_else_to_login(app, client, person):
    assert client.get("/").headers["Location"] == "/login"
    assert client.get("/account").headers["Location"] == "/login"
    log_in(app, client)
    assert client.get("/").headers["Location"] == "/account"
    assert client.get("/account").status_code == 200


def test_personal_information_shows_masked_identifiers_username_level_and_login_strength(app, client, person):
    """docs/domain.md §3: document and phone are masked on the page; §1.5: the level is shown."""
    log_in(app, client)
    page = client.get("/account").get_data(as_text=True)
    assert "张三" in page
    assert "1101**********002X" in page and person["doc_number"] not in page
    assert "138****5678" in page and person["phone"] not in page
    assert "zhangsan" in page
    assert "4级" in page
    assert "双因子认证：密码 + 短信验证码" in page
    assert "urn:qdtax:loa:2 (pwd, sms, mfa)" in page


def test_account_centre_speaks_english_after_the_language_switch(app, client, person):
    log_in(app, client)
    client.get("/lang/en?next=/account")
    page = client.get("/account").get_data(as_text=True)
    assert "Account centre" in page and "Level 4" in page
    assert "Two factors: password + SMS code" in page
    assert "账户中心" not in page


def test_a_form_posted_without_its_csrf_token_changes_nothing(app, client, person):
    log_in(app, client)
    response = client.post("/account/password", data={
        "current_password": PASSWORD, "new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD})
    assert response.status_code == 400
    assert audit_events(app, "password.changed") == []
    log_in(app, app.test_client(), password=PASSWORD)  # the old password still works


@pytest.mark.parametrize("page", ["/account/password", "/account/username", "/account/phone"])
def test_a_sensitive_page_on_a_login_older_than_the_reauth_age_asks_for_a_new_login(app, client, person, page):
    """Password, phone and username changes need a fresh login (ACCOUNT_REAUTH_MAX_AGE)."""
    log_in(app, client)
    age_logins(app, current_settings(app).ACCOUNT_REAUTH_MAX_AGE - 30)
    assert client.get(page).status_code == 200
    age_logins(app, 60)
    response = client.get(page)
    assert response.headers["Location"] == "/account/reauth"
    reauth = client.get("/account/reauth").get_data(as_text=True)
    assert "重新登录" in reauth and 'href="/login"' in reauth


def test_after_the_new_login_the_person_comes_back_to_the_page_they_asked_for(app, client, person):
    log_in(app, client)
    age_logins(app, current_settings(app).ACCOUNT_REAUTH_MAX_AGE + 1)
    assert client.get("/account/username").headers["Location"] == "/account/reauth"
    log_in(app, client)
    assert client.get("/").headers["Location"] == "/account/username"
    assert client.get("/account/username").status_code == 200
    assert client.get("/").headers["Location"] == "/account"  # only once


def test_a_change_posted_on_a_stale_login_is_not_made(app, client, person):
    log_in(app, client)
    token = csrf_from(client.get("/account/password").get_data(as_text=True))
    age_logins(app, current_settings(app).ACCOUNT_REAUTH_MAX_AGE + 1)
    response = client.post("/account/password", data={
        "csrf_token": token, "current_password": PASSWORD, "new_password": NEW_PASSWORD,
        "confirm_password": NEW_PASSWORD})
    assert response.headers["Location"] == "/account/reauth"
    assert audit_events(app, "password.changed") == []


def change_password(client, current: str = PASSWORD, new: str = NEW_PASSWORD, confirmation: str | None = None):
    return post_form(client, "/account/password", {
        "current_password": current, "new_password": new,
        "confirm_password": new if confirmation is None else confirmation})


def test_password_change_with_the_current_password_lets_the_new_one_log_in(app, client, person):
    """docs/domain.md §1.10: the personal password can be changed in the account centre."""
    log_in(app, client)
    response = change_password(client)
    assert response.headers["Location"] == "/account"
    assert "密码已修改" in client.get("/account").get_data(as_text=True)
    other = app.test_client()
    assert submit_password(other, password=PASSWORD).status_code == 400
    log_in(app, other, password=NEW_PASSWORD)
    [event] = audit_events(app, "password.changed")
    assert event.subject == person["sub"] and event.detail["how"] == "account"
    assert NEW_PASSWORD not in str(event.detail) and PASSWORD not in str(event.detail)


def test_password_change_refuses_a_wrong_current_password_and_counts_it_towards_the_lockout(app, client, person):
    """docs/domain.md §1.10 and §1.14: the current password is checked like a login; five failures lock the method."""
    log_in(app, client)
    response = change_password(client, current="Wrong#2026")
    assert response.status_code == 400
    assert "当前密码错误（今日已连续错误1次" in response.get_data(as_text=True)
    for _ in range(4):
        response = change_password(client, current="Wrong#2026")
    assert "连续认证错误次数过多" in response.get_data(as_text=True)
    assert "连续认证错误次数过多" in change_password(client).get_data(as_text=True)
    assert "连续认证错误次数过多" in submit_password(app.test_client()).get_data(as_text=True)
    assert [e.detail["reason"] for e in audit_events(app, "password.change")][-1] == "method_locked"


@pytest.mark.parametrize("new,confirmation,message", [
    ("short1#", None, "密码长度应为8-16位"),
    ("abcdefghij", None, "密码应至少包含数字、字母、符号中的两种"),
    ("abc def 123", None, "密码只能包含字母、数字和符号"),
    (NEW_PASSWORD, "Other@2027ab", "两次输入的新密码不一致"),
    (PASSWORD, None, "新密码不能与当前密码相同"),
])
def test_password_change_refuses_a_new_password_outside_the_rules(app, client, person, new, confirmation, message):
    """docs/domain.md §1.10 with §6.2's policy: 8-16 characters, two kinds, not the current one."""
    log_in(app, client)
    response = change_password(client, new=new, confirmation=confirmation)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    log_in(app, app.test_client(), password=PASSWORD)


def test_new_password_containing_the_document_number_is_refused(app, client, person):
    with app.app_context():
        db.session.get(Person, person["id"]).doc_number = "H12345678"
        db.session.commit()
    log_in(app, client)
    response = change_password(client, new="aH12345678#")
    assert response.status_code == 400
    assert "密码不能包含证件号码" in response.get_data(as_text=True)


def test_password_change_ends_other_sessions_and_their_grants_and_keeps_this_one(app, client, person, rp):
    """docs/domain.md §6.3: whoever holds another session made with the old password is out; this one stays."""
    elsewhere = app.test_client()
    their_tokens = tokens_for(app, elsewhere, rp)
    log_in(app, client)
    our_tokens = tokens_for(app, client, rp)
    change_password(client)
    assert elsewhere.get("/account").headers["Location"] == "/login"
    refresh = {"grant_type": "refresh_token", "refresh_token": their_tokens["refresh_token"]}
    assert client.post("/token", headers=rp.basic_auth, data=refresh).get_json()["error"] == "invalid_grant"
    assert client.get("/account").status_code == 200
    refresh = {"grant_type": "refresh_token", "refresh_token": our_tokens["refresh_token"]}
    assert client.post("/token", headers=rp.basic_auth, data=refresh).status_code == 200
    with app.app_context():
        live = db.session.execute(select(LoginSession).where(LoginSession.ended_at.is_(None))).scalars().all()
        assert len(live) == 1
        revoked = db.session.execute(select(Grant.revoked_reason).where(Grant.revoked_at.is_not(None))).scalars()
        assert set(revoked) == {"password_changed"}
