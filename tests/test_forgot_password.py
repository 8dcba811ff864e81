"""Forgot password (docs/domain.md §1.8, §1.10, §1.14): identify → SMS code or face → new password → log in again.

A reset ends every login session and token family of the person and lifts the lockout.
"""

from __future__ import annotations

import io
import re
import time
import types
from html import unescape

import pytest
from sqlalchemy import select, update

from idp.core.clock import utcnow
from idp.core.database import db
from idp.core.settings import current_settings
from idp.models import AuditEvent, FaceCheck, LoginSession, MethodLockout, Person
from idp.people.accounts_import import import_accounts, read_rows

from conftest import (
    PASSWORD,
    PHONE,
    authorization_request,
    csrf_from,
    hidden_value,
    last_sms_code,
    let_sms_cooldown_pass,
    login_through_pages,
    query_of,
    read_outbox,
    redeem,
    sms_gateway_down,
    stored_sms_codes,
    submit_password,
    submit_sms_code,
    tokens_for,
)

NEW_PASSWORD = "Laoshan@2027"


def token(client) -> str:
    return csrf_from(client.get("/login").get_data(as_text=True))


def identify(client, identifier: str = "zhangsan", interaction: str = ""):
    return client.post("/password/forgot", data={"csrf_token": token(client), "identifier": identifier,
                                                 "interaction": interaction})


def send_code(client):
    return client.post("/password/forgot/sms/send", data={"csrf_token": token(client)})


def enter_code(client, code: str):
    return client.post("/password/forgot/sms", data={"csrf_token": token(client), "code": code})


def set_password(client, new: str = NEW_PASSWORD, again: str | None = None):
    return client.post("/password/forgot/new", data={"csrf_token": token(client), "new_password": new,
                                                     "confirm_password": new if again is None else again})


def verified_by_sms(app, client, identifier: str = "zhangsan", phone: str = PHONE) -> None:
    assert identify(client, identifier).headers["Location"] == "/password/forgot/verify"
    assert send_code(client).status_code == 200
    assert enter_code(client, last_sms_code(app, phone)).headers["Location"] == "/password/forgot/new"


def relogin_link(html: str) -> str:
    return unescape(re.search(r'<a href="([^"]*)" id="relogin">', html).group(1))


def lock_password(client) -> None:
    for _ in range(5):
        submit_password(client, "zhangsan", "Wrong#2026")


def stored(app, person_id: int) -> Person:
    with app.app_context():
        person = db.session.get(Person, person_id)
        db.session.expunge(person)
        return person


def test_the_login_page_links_to_forgot_password_keeping_the_apps_request(app, client, person, rp):
    """docs/domain.md §1.8: "登录页面右下方【忘记密码】"; the relying party's request survives the detour."""
    from conftest import authorization_request

    login_url = client.get("/authorize", query_string=authorization_request(rp).params).headers["Location"]
    page = client.get(login_url).get_data(as_text=True)
    interaction = hidden_value(page, "interaction")
    link = unescape(re.search(r'<a href="([^"]*)" id="forgot-password">忘记密码</a>', page).group(1))
    assert link == f"/password/forgot?interaction={interaction}"
    assert hidden_value(client.get(link).get_data(as_text=True), "interaction") == interaction


def test_a_reset_started_from_an_apps_login_returns_to_it_and_the_app_gets_its_code(app, client, person, rp):
    """The new password, then the same app's login (not a bare /login): the person logs in with it
    and ends at the app's redirect_uri with a code."""
    request = authorization_request(rp)
    login_url = client.get("/authorize", query_string=request.params).headers["Location"]
    interaction = hidden_value(client.get(login_url).get_data(as_text=True), "interaction")
    assert identify(client, interaction=interaction).headers["Location"] == "/password/forgot/verify"
    assert send_code(client).status_code == 200
    assert enter_code(client, last_sms_code(app)).headers["Location"] == "/password/forgot/new"
    done = set_password(client)
    assert done.status_code == 200
    back = relogin_link(done.get_data(as_text=True))
    assert back == login_url
    let_sms_cooldown_pass(app)
    response = login_through_pages(app, client, back, password=NEW_PASSWORD)
    callback = client.get(response.headers["Location"]).headers["Location"]
    assert callback.startswith(rp.redirect_uri + "?")
    answer = query_of(callback)
    assert answer["state"] == request.params["state"]
    assert redeem(client, rp, answer["code"], request.verifier).status_code == 200


def test_a_reset_that_timed_out_starts_again_for_the_same_app(app, client, person, rp, monkeypatch):
    request = authorization_request(rp)
    login_url = client.get("/authorize", query_string=request.params).headers["Location"]
    interaction = hidden_value(client.get(login_url).get_data(as_text=True), "interaction")
    identify(client, interaction=interaction)
    ttl = current_settings(app).LOGIN_STEP_TTL
    monkeypatch.setattr("idp.protocol.pending_steps.time", types.SimpleNamespace(time=lambda: time.time() + ttl + 1))
    page = client.get("/password/forgot/verify").get_data(as_text=True)
    assert "找回密码已超时或步骤无效" in page and hidden_value(page, "interaction") == interaction


def test_the_lockout_message_points_to_forgot_password(app, client, person):
    """docs/domain.md §1.14 / §14: "建议您直接使用“忘记密码”修改密码", with the link beside it."""
    lock_password(client)
    page = submit_password(client, "zhangsan", PASSWORD).get_data(as_text=True)
    alert = re.search(r'<div class="error" role="alert" id="error">(.*?)</div>', page, re.S).group(1)
    assert "连续认证错误次数过多" in alert
    assert 'href="/password/forgot" id="forgot-after-lock">忘记密码</a>' in alert
    assert 'href="/login/qr" id="qr-after-lock">扫码登录</a>' in alert


def test_an_unknown_identity_is_told_it_is_not_registered_and_where_to_register(app, client, person):
    """docs/domain.md §1.4: "该用户未注册" points to registration."""
    response = identify(client, "13999999999")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "该用户未注册" in page and 'href="/register"' in page
    assert client.get("/password/forgot/verify").status_code == 400


@pytest.mark.parametrize("identifier", ["zhangsan", PHONE, "11010519491231002x", "１１０１０５１９４９１２３１００２Ｘ",
                                        "+86 138 1234 5678"])
def test_the_person_is_found_by_username_phone_or_document_number(app, client, person, identifier):
    """docs/domain.md §1.11's identifiers; the verify page shows the phone masked, never whole."""
    assert identify(client, identifier).headers["Location"] == "/password/forgot/verify"
    page = client.get("/password/forgot/verify").get_data(as_text=True)
    assert "138****5678" in page and PHONE not in page


def test_no_step_can_be_skipped(app, client, person):
    """docs/architecture.md §5.3: the new password needs a verification of this very reset."""
    before = stored(app, person["id"]).password_hash
    assert "找回密码已超时或步骤无效" in client.get("/password/forgot/new").get_data(as_text=True)
    identify(client)
    assert client.get("/password/forgot/new").status_code == 400  # identified, not yet verified
    assert set_password(client).status_code == 400
    send_code(client)
    code = last_sms_code(app)
    # Another browser that has the code but no reset of its own gets nowhere.
    other = app.test_client()
    assert enter_code(other, code).status_code == 400
    assert set_password(other).status_code == 400
    assert stored(app, person["id"]).password_hash == before
    assert enter_code(client, code).headers["Location"] == "/password/forgot/new"


def test_reset_by_sms_ends_every_session_revokes_tokens_and_lifts_the_lockout(app, client, person, rp):
    """docs/domain.md §1.8, §1.10 and §1.14: the new password works at once, the locked password method is open
    again, and every session and refresh token from before is dead."""
    elsewhere = app.test_client()
    tokens = tokens_for(app, elsewhere, rp)
    lock_password(client)
    let_sms_cooldown_pass(app)

    verified_by_sms(app, client)
    assert "找回密码" in read_outbox(app)[-1]["text"]
    done = set_password(client)
    assert done.status_code == 200
    assert "密码已重置，您在所有设备上的登录均已退出，请使用新密码登录。" in done.get_data(as_text=True)
    assert relogin_link(done.get_data(as_text=True)) == "/login"

    assert elsewhere.get("/").headers["Location"] == "/login"
    refreshed = client.post("/token", data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
                            headers=rp.basic_auth)
    assert refreshed.get_json()["error"] == "invalid_grant"
    with app.app_context():
        assert not db.session.execute(select(LoginSession.id).where(LoginSession.ended_at.is_(None))).first()
        assert all(f == 0 for f in db.session.execute(select(MethodLockout.failures)).scalars())

    assert "个人账号或密码错误" in submit_password(client, "zhangsan", PASSWORD).get_data(as_text=True)
    let_sms_cooldown_pass(app)
    assert submit_password(client, "zhangsan", NEW_PASSWORD).headers["Location"] == "/login/sms"
    assert submit_sms_code(client, last_sms_code(app)).headers["Location"] == "/"


def test_a_reset_also_revokes_refresh_tokens_that_outlived_their_login_session(app, client, person, rp):
    """A refresh token family can outlive its browser session (it lasts up to 24 h, the session
    8 h); a reset revokes it all the same."""
    tokens = tokens_for(app, app.test_client(), rp)
    with app.app_context():
        db.session.execute(update(LoginSession).values(ended_at=utcnow()))  # the session is over
        db.session.commit()
    let_sms_cooldown_pass(app)
    verified_by_sms(app, client)
    set_password(client)
    refreshed = client.post("/token", data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
                            headers=rp.basic_auth)
    assert refreshed.get_json()["error"] == "invalid_grant"


def test_a_login_code_cannot_verify_a_reset(app, client, person):
    """Codes are bound to their purpose: one sent for logging in does not reset the password."""
    submit_password(app.test_client(), "zhangsan", PASSWORD)
    login_code = last_sms_code(app)
    identify(client)
    response = enter_code(client, login_code)
    assert response.status_code == 400 and "验证码已失效，请重新获取" in response.get_data(as_text=True)
    assert client.get("/password/forgot/new").status_code == 400


def test_wrong_reset_codes_count_towards_the_sms_lockout(app, client, person):
    """docs/domain.md §1.14: guessing reset codes locks the SMS method like guessing login codes."""
    identify(client)
    send_code(client)
    code = last_sms_code(app)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    for _ in range(4):
        assert "短信验证码错误" in enter_code(client, wrong).get_data(as_text=True)
    assert "连续认证错误次数过多" in enter_code(client, wrong).get_data(as_text=True)
    assert "连续认证错误次数过多" in enter_code(client, code).get_data(as_text=True)


def test_a_code_the_gateway_could_not_send_is_not_kept_and_the_next_send_needs_no_wait(app, client, person):
    """The SMS gateway down: the person is told, stays at the verify step, and may ask again at once
    (a code that never went out starts no resend cooldown)."""
    identify(client)
    with sms_gateway_down(app):
        refused = send_code(client)
    assert refused.status_code == 503 and "短信发送失败，请稍后再试" in refused.get_data(as_text=True)
    assert stored_sms_codes(app) == 0
    assert send_code(client).status_code == 200
    assert enter_code(client, last_sms_code(app)).headers["Location"] == "/password/forgot/new"


def start_face(client) -> str:
    """Consent (first scan), then the face check; returns the provider session id."""
    consent = client.get("/password/forgot/face")
    assert consent.status_code == 200
    page = consent.get_data(as_text=True)
    assert "不保存人脸图像" in page and 'href="/password/forgot/verify" id="use-sms"' in page
    client.post("/password/forgot/face/consent", data={"csrf_token": csrf_from(page)})
    started = client.get("/password/forgot/face")
    assert started.status_code == 302
    return started.headers["Location"].rsplit("/", 1)[1]


def face_returns(app, client, session_id: str):
    with app.app_context():
        check = db.session.execute(select(FaceCheck).where(FaceCheck.provider_session_id == session_id)).scalar_one()
        assert check.purpose == "reset"
        check_id = check.id
    return client.get(f"/password/forgot/face/return?check={check_id}")


def test_reset_by_face_asks_consent_and_decides_on_the_providers_result(app, client, person):
    """docs/domain.md §1.10: "通过短信或者扫脸验证找回密码"; the provider's own result decides (§11)."""
    identify(client)
    session_id = start_face(client)
    client.post(f"/dev/face/{session_id}/decision", json={"outcome": "pass"})
    assert face_returns(app, client, session_id).headers["Location"] == "/password/forgot/new"
    assert set_password(client).status_code == 200
    let_sms_cooldown_pass(app)
    assert submit_password(client, "zhangsan", NEW_PASSWORD).headers["Location"] == "/login/sms"
    with app.app_context():
        reset = db.session.execute(select(AuditEvent).where(AuditEvent.event == "password.reset")).scalar_one()
        assert reset.detail == {"verified_by": "face"}


def test_a_failed_face_scan_does_not_open_the_new_password_step(app, client, person):
    """docs/domain.md §1.7: the failure shows the advice and the SMS alternative of this reset."""
    identify(client)
    session_id = start_face(client)
    client.post(f"/dev/face/{session_id}/decision", json={"outcome": "fail"})
    response = face_returns(app, client, session_id)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "人脸识别未通过" in page and 'href="/password/forgot/verify" id="use-sms"' in page
    assert 'href="/password/forgot/face" id="face-retry"' in page
    assert client.get("/password/forgot/new").status_code == 400


def test_the_new_password_follows_the_policy(app, client, person):
    """The password policy (docs/domain.md §6.2): refused passwords change nothing and the step stays open."""
    verified_by_sms(app, client)
    before = stored(app, person["id"]).password_hash
    response = set_password(client, "12345678")
    assert response.status_code == 400 and "密码应至少包含数字、字母、符号中的两种" in response.get_data(as_text=True)
    assert "两次输入的新密码不一致" in set_password(client, NEW_PASSWORD, "Laoshan@2028").get_data(as_text=True)
    assert stored(app, person["id"]).password_hash == before
    assert set_password(client).status_code == 200


def test_a_reset_replaces_an_initial_password_so_no_forced_change_follows(app, client):
    """docs/domain.md §1.8: "不记得自己是否有个人用户密码，可以直接…【忘记密码】来设置新密码"."""
    with app.app_context():
        import_accounts(read_rows(io.StringIO(
            "name,doc_type,doc_number,phone,realname_level\n李四,ID_CARD,370202198001011232,13900000001,3\n")))
    verified_by_sms(app, client, "370202198001011232", "13900000001")
    set_password(client)
    let_sms_cooldown_pass(app)
    submit_password(client, "370202198001011232", NEW_PASSWORD)
    assert submit_sms_code(client, last_sms_code(app, "13900000001")).headers["Location"] == "/"


def test_the_reset_flow_expires(app, client, person, monkeypatch):
    """docs/architecture.md §5.3: the reset record has one expiry for the whole flow."""
    verified_by_sms(app, client)
    ttl = current_settings(app).LOGIN_STEP_TTL
    monkeypatch.setattr("idp.protocol.pending_steps.time", types.SimpleNamespace(time=lambda: time.time() + ttl + 1))
    before = stored(app, person["id"]).password_hash
    assert "找回密码已超时或步骤无效" in set_password(client).get_data(as_text=True)
    assert stored(app, person["id"]).password_hash == before


def test_every_step_of_a_reset_is_audited_without_secrets(app, client, person):
    """docs/architecture.md §10: identification, verification and the change itself, masked."""
    identify(client, "13999999999")
    verified_by_sms(app, client, PHONE)
    set_password(client)
    with app.app_context():
        events = db.session.execute(select(AuditEvent).where(AuditEvent.event.like("password.%"))
                                    .order_by(AuditEvent.id)).scalars().all()
        assert [(e.event, e.outcome) for e in events] == [
            ("password.reset.identify", "failure"), ("password.reset.identify", "success"),
            ("password.reset.verify", "success"), ("password.changed", "success"), ("password.reset", "success"),
        ]
        assert events[0].detail["identifier"] == "139****9999"
        assert events[2].detail == {"method": "sms", "phone": "138****5678"}
        assert events[3].detail == {"how": "reset"}
        assert all(NEW_PASSWORD not in str(e.detail) and PHONE not in str(e.detail) for e in events)
