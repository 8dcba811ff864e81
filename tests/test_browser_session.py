"""The browser session (docs/architecture.md §5.1): an opaque HttpOnly SameSite cookie naming a
server-side record, a new id after login (session fixation), CSRF tokens on every form."""

from __future__ import annotations

import hashlib
from collections import Counter

import pytest
from flask import has_request_context, request
from sqlalchemy import event, select

from idp.app import create_app
from idp.core.database import db
from idp.models import BrowserSession
from idp.web.browser_session import COOKIE_NAME

from conftest import csrf_from, last_sms_code, make_settings, obtain_code, submit_password, submit_sms_code


def session_cookie_header(response) -> str:
    [header] = [h for h in response.headers.getlist("Set-Cookie") if h.startswith(COOKIE_NAME + "=")]
    return header


def cookie_value(client) -> str:
    return client.get_cookie(COOKIE_NAME).value


def stored_sessions(app) -> list[BrowserSession]:
    with app.app_context():
        return list(db.session.execute(select(BrowserSession)).scalars())


def test_cookie_is_httponly_samesite_lax_and_not_secure_on_an_http_issuer(client):
    header = session_cookie_header(client.get("/login"))
    attributes = {part.strip().split("=")[0].lower() for part in header.split(";")[1:]}
    assert "httponly" in attributes
    assert "samesite=lax" in header.lower()
    assert "secure" not in attributes
    assert "path=/" in header.lower()


def test_cookie_is_secure_on_an_https_issuer(app, database_url, instance_dir):
    https_app = create_app(make_settings(database_url, instance_dir, ISSUER="https://idp.test"))
    header = session_cookie_header(https_app.test_client().get("/login"))
    assert "; secure" in header.lower()


def test_cookie_value_is_opaque(app, client, person):
    """The cookie carries no readable data: no identifier, no serialized session."""
    submit_password(client)
    value = cookie_value(client)
    assert len(value) >= 40
    assert "." not in value  # not a signed, client-side Flask session
    for secret in (person["phone"], person["doc_number"], person["username"], last_sms_code(app)):
        assert secret not in value


def test_login_issues_a_new_cookie_and_the_old_one_stops_working(app, client, person):
    """Session fixation: an id planted before login is worth nothing after it."""
    submit_password(client)
    before = cookie_value(client)
    assert submit_sms_code(client, last_sms_code(app)).headers["Location"] == "/"
    after = cookie_value(client)
    assert after != before
    assert client.get("/account").status_code == 200
    planted = app.test_client()
    planted.set_cookie(COOKIE_NAME, before)
    assert planted.get("/").headers["Location"] == "/login"
    logged_in_elsewhere = app.test_client()
    logged_in_elsewhere.set_cookie(COOKIE_NAME, after)
    assert logged_in_elsewhere.get("/account").status_code == 200


def test_database_row_is_keyed_by_a_hash_of_the_cookie_not_the_cookie(app, client, person):
    submit_password(client)
    submit_sms_code(client, last_sms_code(app))
    value = cookie_value(client)
    rows = stored_sessions(app)
    assert value not in {row.id_hash for row in rows}
    assert hashlib.sha256(value.encode()).hexdigest() in {row.id_hash for row in rows}
    assert all(value not in str(row.data) for row in rows)


def test_a_database_key_used_as_a_cookie_logs_nobody_in(app, client, person):
    """Someone who reads the session table cannot turn a row key into a working cookie."""
    submit_password(client)
    submit_sms_code(client, last_sms_code(app))
    reader = app.test_client()
    for row in stored_sessions(app):
        reader.set_cookie(COOKIE_NAME, row.id_hash)
        assert reader.get("/").headers["Location"] == "/login"


@pytest.mark.parametrize("token", [None, "forged-token"], ids=["missing", "wrong"])
def test_login_post_without_a_valid_csrf_token_is_refused(app, client, person, token):
    client.get("/login")
    form = {"identifier": "zhangsan", "password": person["password"]}
    if token is not None:
        form["csrf_token"] = token
    response = client.post("/login", data=form)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "页面已过期" in html and "刷新" not in html
    assert '<html lang="zh-CN">' in html


def test_csrf_refusal_page_follows_the_chosen_language(client, person):
    client.get("/lang/en?next=/login")
    response = client.post("/login", data={"identifier": "zhangsan", "password": person["password"]})
    assert response.status_code == 400
    assert "To protect your account, what you sent was not processed." in (
        response.get_data(as_text=True))


def test_csrf_token_of_another_browser_is_refused(app, person):
    attacker, victim = app.test_client(), app.test_client()
    submit_password(attacker)  # the attacker's own session, with its own token
    attacker_page = attacker.get("/login").get_data(as_text=True)
    victim.get("/login")
    response = victim.post("/login", data={"csrf_token": csrf_from(attacker_page), "identifier": "zhangsan",
                                           "password": person["password"]})
    assert response.status_code == 400


@pytest.mark.parametrize("path", ["/login/sms", "/login/sms/resend"])
def test_sms_forms_require_the_csrf_token(app, client, person, path):
    assert submit_password(client).status_code == 302
    response = client.post(path, data={"code": last_sms_code(app)})
    assert response.status_code == 400
    assert "页面已过期" in response.get_data(as_text=True)
    assert client.get("/").headers["Location"] == "/login"


def test_a_login_page_stores_the_session_in_the_transaction_of_its_own_work(app, client, rp, person):
    """The session row changes together with what the page did (no login session or code without
    the browser's record of it), and a page costs the database one transaction, not two."""
    commits: Counter[str] = Counter()

    def count(connection) -> None:
        if has_request_context():
            commits[f"{request.method} {request.path}"] += 1

    with app.app_context():
        engine = db.engine
    event.listen(engine, "commit", count)
    try:
        obtain_code(app, client, rp)
    finally:
        event.remove(engine, "commit", count)
    assert commits == {
        "GET /authorize": 2,  # the request kept for the login pages; later the code
        "GET /login": 1,  # the form's CSRF token
        "POST /login": 1,  # the password step and the code; a failed send is undone alone (a savepoint)
        "GET /login/sms": 1,  # its reads end with the view (web/transactions.py), as a rollback would
        "POST /login/sms": 1,  # the login session and the session's new id
    }
