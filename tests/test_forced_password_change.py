"""The forced password change after a login with the initial password (docs/domain.md §1.8, §1.9, §1.10).

An imported account's first password is the last six characters of its document number.
Logging in with it (password and second factor as usual) gives no login session: the person
sets a new password, every session of theirs ends, and they log in again with the new one.
"""

from __future__ import annotations

import io
import re
import time
import types
from html import unescape as html_unescape

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet
from sqlalchemy import select, update

from idp.core.database import db
from idp.core.settings import current_settings
from idp.factors.password import hash_password
from idp.models import AuditEvent, LoginSession, Person
from idp.people.accounts_import import import_accounts, read_rows
from idp.web.browser_session import COOKIE_NAME

from conftest import (
    PASSWORD,
    RACE_THREADS,
    authorization_request,
    csrf_from,
    hidden_value,
    last_sms_code,
    let_sms_cooldown_pass,
    query_of,
    redeem,
    submit_password,
    tokens_for,
)

LI_SI = "370202198001011232"
LI_SI_PHONE = "13900000001"
INITIAL = "011232"
NEW_PASSWORD = "Qingdao#2027"


@pytest.fixture
def imported(app) -> dict:
    """Li Si, migrated from the old system without a password hash: initial password."""
    csv_text = ("name,doc_type,doc_number,phone,realname_level\n"
                f"李四,ID_CARD,{LI_SI},{LI_SI_PHONE},3\n")
    with app.app_context():
        [outcome] = import_accounts(read_rows(io.StringIO(csv_text))).outcomes
        assert outcome.status == "imported"
        person = db.session.execute(select(Person).where(Person.doc_number == LI_SI)).scalar_one()
        return {"sub": person.sub, "id": person.id}


def sms_step(app, client, phone: str = LI_SI_PHONE):
    token = csrf_from(client.get("/login/sms").get_data(as_text=True))
    return client.post("/login/sms", data={"csrf_token": token, "code": last_sms_code(app, phone)})


def log_in_with_initial_password(app, client):
    assert submit_password(client, LI_SI, INITIAL).status_code == 302
    return sms_step(app, client)


def submit_new_password(client, new: str = NEW_PASSWORD, again: str | None = None):
    # The CSRF token belongs to the browser session: any page of it gives it, even when the
    # change page itself would send this browser away.
    token = csrf_from(client.get("/login").get_data(as_text=True))
    return client.post("/password/change-required", data={
        "csrf_token": token, "new_password": new,
        "confirm_password": new if again is None else again,
    })


def stored(app) -> Person:
    with app.app_context():
        person = db.session.execute(select(Person).where(Person.doc_number == LI_SI)).scalar_one()
        db.session.expunge(person)
        return person


def stored_person(app, person_id: int) -> Person:
    with app.app_context():
        person = db.session.get(Person, person_id)
        db.session.expunge(person)
        return person


def relogin_link(html: str) -> str:
    """Where the done page's "重新登录" link goes."""
    return html_unescape(re.search(r'<a href="([^"]*)" id="relogin">', html).group(1))


def live_sessions(app, person_id: int) -> int:
    with app.app_context():
        return len(db.session.execute(select(LoginSession.id).where(
            LoginSession.person_id == person_id, LoginSession.ended_at.is_(None))).all())


def test_the_initial_password_and_sms_lead_to_a_new_password_page_not_a_login(app, client, imported):
    """docs/domain.md §1.8: after the second factor the person is asked for a new password; no session yet."""
    response = log_in_with_initial_password(app, client)
    assert response.headers["Location"] == "/password/change-required"
    page = client.get("/password/change-required").get_data(as_text=True)
    assert "修改初始密码" in page and "证件号码后六位" in page
    assert 'name="current_password"' not in page  # both factors just passed: not asked again
    assert client.get("/").headers["Location"] == "/login"
    assert live_sessions(app, imported["id"]) == 0


def test_the_change_page_is_out_of_reach_without_both_factors(app, client, imported):
    """docs/domain.md §1.9: knowing the document number (hence the initial password) is not enough."""
    assert client.get("/password/change-required").headers["Location"] == "/login"
    submit_password(client, LI_SI, INITIAL)
    assert client.get("/password/change-required").headers["Location"] == "/login"
    assert submit_new_password(client).headers["Location"] == "/login"
    assert stored(app).password_is_initial is True


@pytest.mark.parametrize(("new", "again", "message"), [
    ("Ab#1", None, "密码长度应为8-16位"),
    ("abcdefgh", None, "密码应至少包含数字、字母、符号中的两种"),
    ("Abc 12345", None, "密码只能包含字母、数字和符号"),
    (NEW_PASSWORD, "Qingdao#2028", "两次输入的新密码不一致"),
])
def test_the_new_password_must_follow_the_policy_and_be_typed_twice(app, client, imported, new, again, message):
    """The password policy (docs/domain.md §6.2) applies to the forced change; nothing is changed on refusal."""
    log_in_with_initial_password(app, client)
    response = submit_new_password(client, new, again)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert stored(app).password_is_initial is True
    assert submit_new_password(client).status_code == 200  # the change page is still there to retry


def test_after_the_change_every_session_ends_and_only_the_new_password_logs_in(app, client, person, rp):
    """docs/domain.md §1.8: "修改完成后用户需要重新登录"; a session or refresh token from before is dead too.

    The account centre's holder is logged in elsewhere (with tokens) when staff hand the account
    back with its initial password; the next login with it forces the change."""
    other = app.test_client()
    tokens = tokens_for(app, other, rp)
    with app.app_context():
        db.session.execute(update(Person).values(password_hash=hash_password("31002X"), password_is_initial=True))
        db.session.commit()
    let_sms_cooldown_pass(app)
    assert submit_password(client, "zhangsan", "31002X").status_code == 302
    assert sms_step(app, client, person["phone"]).headers["Location"] == "/password/change-required"
    done = submit_new_password(client)
    assert done.status_code == 200
    assert "密码修改成功，请使用新密码重新登录" in done.get_data(as_text=True)
    assert relogin_link(done.get_data(as_text=True)) == "/login"

    assert other.get("/").headers["Location"] == "/login"
    refreshed = client.post("/token", data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
                            headers=rp.basic_auth)
    assert refreshed.status_code == 400 and refreshed.get_json()["error"] == "invalid_grant"
    assert live_sessions(app, person["id"]) == 0
    assert client.get("/").headers["Location"] == "/login"

    assert "个人账号或密码错误" in submit_password(client, "zhangsan", "31002X").get_data(as_text=True)
    assert "个人账号或密码错误" in submit_password(client, "zhangsan", PASSWORD).get_data(as_text=True)
    let_sms_cooldown_pass(app)
    submit_password(client, "zhangsan", NEW_PASSWORD)
    assert sms_step(app, client, person["phone"]).headers["Location"] == "/"  # no second forced change
    assert stored_person(app, person["id"]).password_is_initial is False


def sent_to_the_change_from_an_app(app, client, rp):
    """An app's authorization request, the login with the initial password and its SMS step, which
    sends the person to the forced change; returns the request and its interaction id."""
    request = authorization_request(rp)
    login_url = client.get("/authorize", query_string=request.params).headers["Location"]
    page = client.get(login_url).get_data(as_text=True)
    interaction = hidden_value(page, "interaction")
    client.post("/login", data={"csrf_token": csrf_from(page), "interaction": interaction,
                                "identifier": LI_SI, "password": INITIAL})
    assert sms_step(app, client).headers["Location"] == "/password/change-required"
    return request, interaction


def test_the_relying_partys_request_continues_after_the_fresh_login(app, client, imported, rp):
    """docs/domain.md §1.8 with OIDC Core 3.1.2: the authorization request that started it all is answered
    after the login with the new password, with a fresh auth_time."""
    request, interaction = sent_to_the_change_from_an_app(app, client, rp)
    relogin = relogin_link(submit_new_password(client).get_data(as_text=True))
    assert relogin == f"/login?interaction={interaction}"

    started = int(time.time())
    let_sms_cooldown_pass(app)
    page = client.get(relogin).get_data(as_text=True)
    client.post("/login", data={"csrf_token": csrf_from(page), "interaction": hidden_value(page, "interaction"),
                                "identifier": LI_SI, "password": NEW_PASSWORD})
    resumed = sms_step(app, client)
    assert resumed.headers["Location"].startswith("/authorize?")
    callback = client.get(resumed.headers["Location"]).headers["Location"]
    assert callback.startswith(rp.redirect_uri)
    tokens = redeem(client, rp, query_of(callback)["code"], request.verifier).get_json()
    claims = jwt.decode(tokens["id_token"], KeySet.import_key_set(client.get("/jwks.json").get_json())).claims
    assert claims["sub"] == imported["sub"]
    assert claims["auth_time"] >= started and claims["acr"] == "urn:qdtax:loa:2"


def test_a_face_scan_as_second_factor_also_leads_to_the_change(app, client, imported):
    """docs/domain.md §1.8 and §1.9: whichever second factor passed, the initial password is changed first."""
    submit_password(client, LI_SI, INITIAL)
    consent_page = client.get("/login/face").get_data(as_text=True)
    client.post("/login/face/consent", data={"csrf_token": csrf_from(consent_page)})
    session_id = client.get("/login/face").headers["Location"].rsplit("/", 1)[1]
    client.post(f"/dev/face/{session_id}/decision", json={"outcome": "pass"})
    with app.app_context():
        from idp.models import FaceCheck

        check = db.session.execute(select(FaceCheck.id).where(FaceCheck.provider_session_id == session_id)).scalar()
    response = client.get(f"/login/face/return?check={check}")
    assert response.headers["Location"] == "/password/change-required"
    assert live_sessions(app, imported["id"]) == 0
    assert stored(app).realname_level == 4  # docs/domain.md §1.5: the face scan raised the imported level 3


def test_the_change_must_be_made_within_the_login_step_time(app, client, imported, monkeypatch):
    """docs/architecture.md §5.1: every step is a server-side record with an expiry."""
    log_in_with_initial_password(app, client)
    ttl = current_settings(app).LOGIN_STEP_TTL
    monkeypatch.setattr("idp.protocol.pending_steps.time", types.SimpleNamespace(time=lambda: time.time() + ttl + 1))
    assert submit_new_password(client).headers["Location"] == "/login"
    assert stored(app).password_is_initial is True


def test_a_change_begun_for_an_app_and_left_too_long_starts_again_for_that_app(app, client, imported, rp,
                                                                                monkeypatch):
    """Issue 18: a person who comes back to the change page after its time logs in again for the app
    that asked, not for the account centre (the app's request has its own, longer life)."""
    _, interaction = sent_to_the_change_from_an_app(app, client, rp)
    ttl = current_settings(app).LOGIN_STEP_TTL
    monkeypatch.setattr("idp.protocol.pending_steps.time", types.SimpleNamespace(time=lambda: time.time() + ttl + 1))
    assert client.get("/password/change-required").headers["Location"] == f"/login?interaction={interaction}"
    assert submit_new_password(client).headers["Location"] == f"/login?interaction={interaction}"
    assert stored(app).password_is_initial is True


def test_the_forced_change_is_audited_without_the_password(app, client, imported):
    """docs/architecture.md §10: the forced change and the password change are in the audit log."""
    log_in_with_initial_password(app, client)
    submit_new_password(client)
    with app.app_context():
        events = db.session.execute(select(AuditEvent).where(AuditEvent.subject == imported["sub"])
                                    .order_by(AuditEvent.id)).scalars().all()
        names = [e.event for e in events]
        assert "password.change_required" in names
        changed = next(e for e in events if e.event == "password.changed")
        assert changed.detail == {"how": "forced_change"}
        assert "login.succeeded" not in names
        assert all(NEW_PASSWORD not in str(e.detail) and INITIAL not in str(e.detail) for e in events)


def test_tabs_finishing_the_change_at_once_set_one_password(app, client, imported, race):
    """The change is one step: of tabs finishing it at once, one sets the password and the
    others are sent back to the login page."""
    log_in_with_initial_password(app, client)
    cookie = client.get_cookie(COOKIE_NAME).value
    token = csrf_from(client.get("/login").get_data(as_text=True))
    passwords = [f"Tab{i:02d}@2026abc" for i in range(RACE_THREADS)]
    responses = race(lambda c, i: c.post("/password/change-required", data={
        "csrf_token": token, "new_password": passwords[i], "confirm_password": passwords[i]}),
        lambda c: c.set_cookie(COOKIE_NAME, cookie))
    [winner] = [i for i, r in enumerate(responses) if r.status_code == 200]
    assert all(r.headers.get("Location") == "/login" for i, r in enumerate(responses) if i != winner)
    assert submit_password(app.test_client(), LI_SI, passwords[winner]).status_code == 302
    for refused in (passwords[(winner + 1) % RACE_THREADS], INITIAL):
        assert "个人账号或密码错误" in submit_password(app.test_client(), LI_SI, refused).get_data(as_text=True)
