"""Registration started from an app's login page keeps the app's request (docs/architecture.md §5.2):
the new account is signed in by what the registration verified (docs/domain.md §13) and the app
gets its code; the done page says the real-name level reached (docs/domain.md §1.5)."""

from __future__ import annotations

import re
from html import unescape

from joserfc import jwt
from joserfc.jwk import KeySet
from sqlalchemy import select
from test_registration import NEW_DOC, NEW_NAME, NEW_PASSWORD, NEW_PHONE, people, post, scan, verify_phone

from idp.core.database import db
from idp.models import LoginSession
from idp.people.realname_records import save_realname_record

from conftest import authorization_request, csrf_from, hidden_value, query_of, redeem


def open_login_for_app(client, rp):
    """The app sends the person to /authorize; returns the request and the login page's HTML."""
    request = authorization_request(rp)
    location = client.get("/authorize", query_string=request.params).headers["Location"]
    assert location.startswith("/login?interaction=")
    return request, client.get(location).get_data(as_text=True)


def link(html: str, link_id: str) -> str:
    return unescape(re.search(rf'<a [^>]*href="([^"]*)"[^>]*id="{link_id}"', html).group(1))


def register_from(client, app, login_page: str, *, face: bool = True):
    """Follow 用户注册 from the login page and register; returns the done page."""
    start = client.get(link(login_page, "register-link")).get_data(as_text=True)
    interaction = hidden_value(login_page, "interaction")
    assert hidden_value(start, "interaction") == interaction
    started = client.post("/register", data={"csrf_token": csrf_from(start), "interaction": interaction,
                                             "doc_type": "ID_CARD", "doc_number": NEW_DOC, "name": NEW_NAME,
                                             "country": ""})
    assert started.headers["Location"] == "/register/phone"
    assert verify_phone(app, client).headers["Location"] == "/register/username"
    assert post(client, "/register/username", skip="1").headers["Location"] == "/register/password"
    set_password = post(client, "/register/password", password=NEW_PASSWORD, confirm_password=NEW_PASSWORD)
    if face:
        assert set_password.headers["Location"] == "/register/face"
        post(client, "/register/face/consent")
        set_password = scan(app, client, "pass")
    assert set_password.headers["Location"] == "/register/complete"
    return client.get("/register/complete").get_data(as_text=True)


def code_for(client, done_page: str, rp, request) -> str:
    """Continue from the done page to the app's redirect_uri; returns the code."""
    response = client.get(link(done_page, "continue-to-app"))
    assert response.status_code == 302, response.get_data(as_text=True)
    location = response.headers["Location"]
    assert location.startswith(rp.redirect_uri + "?"), location
    answer = query_of(location)
    assert answer["state"] == request.params["state"]
    return answer["code"]


def id_token_claims(client, rp, code: str, verifier: str) -> dict:
    tokens = redeem(client, rp, code, verifier)
    assert tokens.status_code == 200, tokens.get_json()
    keys = KeySet.import_key_set(client.get("/jwks.json").get_json())
    return jwt.decode(tokens.get_json()["id_token"], keys).claims


def test_registering_from_an_apps_login_page_ends_signed_in_at_the_app_with_a_code(app, client, rp):
    """Phone SMS + password + face: loa:3 (docs/domain.md §13), level 4 on the done page, the app's code."""
    request, login_page = open_login_for_app(client, rp)
    done = register_from(client, app, login_page)
    assert "您的实名认证等级：四级。" in done and "您已登录" in done
    assert 'id="go-login"' not in done  # no second login
    claims = id_token_claims(client, rp, code_for(client, done, rp, request), request.verifier)
    [created] = people(app)
    assert claims["sub"] == created.sub and claims["nonce"] == request.params["nonce"]
    assert claims["acr"] == "urn:qdtax:loa:3" and {"pwd", "sms", "face"} <= set(claims["amr"])


def test_a_registration_on_a_service_hall_record_signs_in_at_loa_2(app, client, rp):
    """No face scan (the hall verified the person, docs/domain.md §1.7): password + SMS, loa:2."""
    with app.app_context():
        save_realname_record(doc_type="ID_CARD", doc_number=NEW_DOC, name=NEW_NAME, phone=NEW_PHONE)
        db.session.commit()
    request, login_page = open_login_for_app(client, rp)
    done = register_from(client, app, login_page, face=False)
    assert "您的实名认证等级：四级。" in done
    claims = id_token_claims(client, rp, code_for(client, done, rp, request), request.verifier)
    assert claims["acr"] == "urn:qdtax:loa:2" and "face" not in claims["amr"]


def test_a_registration_without_an_app_points_to_the_login_and_signs_nobody_in(app, client):
    """Opened from the plain login page: the done page confirms the level and leads to the login."""
    done = register_from(client, app, client.get("/login").get_data(as_text=True))
    assert "您的实名认证等级：四级。" in done and 'href="/login" id="go-login"' in done
    with app.app_context():
        assert db.session.execute(select(LoginSession)).first() is None


def test_back_to_login_from_the_registration_keeps_the_apps_request(app, client, rp):
    _, login_page = open_login_for_app(client, rp)
    interaction = hidden_value(login_page, "interaction")
    start = client.get(link(login_page, "register-link")).get_data(as_text=True)
    assert link(start, "back-to-login") == f"/login?interaction={interaction}"


def test_an_unknown_interaction_is_said_on_the_login_page(client):
    """Expired, finished or never issued: a notice, then an ordinary login (to the account centre)."""
    page = client.get("/login", query_string={"interaction": "no-such-request"}).get_data(as_text=True)
    assert 'id="interaction-notice"' in page and "登录请求已失效或已完成" in page
    assert hidden_value(page, "interaction") == ""
    english = client.get("/login", query_string={"interaction": "gone", "ui_locales": "en"}).get_data(as_text=True)
    assert "has expired or was already completed" in english
    assert 'id="interaction-notice"' not in client.get("/login").get_data(as_text=True)
