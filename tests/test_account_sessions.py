"""Listing and ending a person's live login sessions in the account centre."""

from __future__ import annotations

import re

from idp.core.database import db
from idp.models import LoginSession
from idp.people.account_sessions import session_ref
from idp.web.browser_session import COOKIE_NAME

from account_steps import OTHER_PHONE, audit_events, create_other_person, log_in, post_with_token
from conftest import tokens_for


def session_refs(html: str) -> list[str]:
    return re.findall(r'data-session="([0-9a-f]+)"', html)


def current_ref(html: str) -> str:
    return re.search(r'class="session current" data-session="([0-9a-f]+)"', html).group(1)


def refresh(client, rp, tokens: dict):
    return client.post("/token", headers=rp.basic_auth,
                       data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]})


def test_the_list_shows_each_live_session_with_its_strength_and_apps_and_marks_this_one(app, client, person, rp):
    laptop = app.test_client()
    tokens_for(app, laptop, rp)
    log_in(app, client)
    page = client.get("/account/sessions").get_data(as_text=True)
    assert len(session_refs(page)) == 2
    assert page.count("当前登录") == 1
    assert page.count("双因子认证：密码 + 短信验证码") == 2
    assert "测试应用" in page  # the laptop's session signed in to the relying party
    assert page.count("结束此登录") == 1  # only the other session has the button


def test_ending_another_session_signs_that_browser_out_and_revokes_its_grants(app, client, person, rp):
    laptop = app.test_client()
    laptop_tokens = tokens_for(app, laptop, rp)
    log_in(app, client)
    page = client.get("/account/sessions").get_data(as_text=True)
    other = next(ref for ref in session_refs(page) if ref != current_ref(page))
    response = post_with_token(client, "/account/sessions/end", {"session": other})
    assert response.headers["Location"] == "/account/sessions"
    assert "该登录已结束" in client.get("/account/sessions").get_data(as_text=True)
    assert laptop.get("/account").headers["Location"] == "/login"
    assert refresh(client, rp, laptop_tokens).get_json()["error"] == "invalid_grant"
    assert client.get("/account").status_code == 200
    assert len(session_refs(client.get("/account/sessions").get_data(as_text=True))) == 1


def test_the_session_in_use_is_ended_by_signing_out_not_from_the_list(app, client, person):
    log_in(app, client)
    page = client.get("/account/sessions").get_data(as_text=True)
    response = post_with_token(client, "/account/sessions/end", {"session": current_ref(page)})
    assert response.status_code == 400
    assert "当前会话请使用“退出登录”结束" in response.get_data(as_text=True)
    assert client.get("/account").status_code == 200


def test_a_session_of_another_person_cannot_be_ended(app, client, person):
    create_other_person(app)
    stranger = app.test_client()
    log_in(app, stranger, identifier="lisi", phone=OTHER_PHONE)
    with app.app_context():
        [theirs] = [s.id for s in db.session.query(LoginSession).all()]
    log_in(app, client)
    response = post_with_token(client, "/account/sessions/end", {"session": session_ref(theirs)})
    assert response.status_code == 400
    assert "该登录会话不存在或已结束" in response.get_data(as_text=True)
    assert stranger.get("/account").status_code == 200


def test_sign_out_everywhere_ends_every_session_this_one_included(app, client, person, rp):
    laptop = app.test_client()
    laptop_tokens = tokens_for(app, laptop, rp)
    log_in(app, client)
    our_tokens = tokens_for(app, client, rp)
    response = post_with_token(client, "/account/sessions/end-all", {})
    assert response.status_code == 200
    assert "您已在全部设备上退出登录" in response.get_data(as_text=True)
    for browser in (client, laptop):
        assert browser.get("/account").headers["Location"] == "/login"
    for tokens in (laptop_tokens, our_tokens):
        assert refresh(client, rp, tokens).get_json()["error"] == "invalid_grant"
    [event] = audit_events(app, "sessions.ended_everywhere")
    assert event.detail == {"sessions_ended": 2}


def test_ending_one_session_from_several_tabs_at_once_is_one_logout(app, client, person, rp, race):
    """Every tab gets the sessions page (one that came late says the session is gone), and the
    audit log says once that the session ended."""
    tokens_for(app, app.test_client(), rp)
    log_in(app, client)
    page = client.get("/account/sessions").get_data(as_text=True)
    other = next(ref for ref in session_refs(page) if ref != current_ref(page))
    cookie = client.get_cookie(COOKIE_NAME).value
    responses = race(lambda c, i: post_with_token(c, "/account/sessions/end", {"session": other}),
                     lambda c: c.set_cookie(COOKIE_NAME, cookie))
    assert {r.status_code for r in responses} <= {302, 400}
    assert len(audit_events(app, "logout")) == 1
