"""The person's rights under the Personal Information Protection Law (articles 44-47), exercised in
the account centre: download a copy of their data, withdraw consent to face recognition, close the
account (docs/privacy.md)."""

from __future__ import annotations

import json

from joserfc import jwt
from joserfc.jwk import KeySet
from sqlalchemy import select

from idp.core.database import db
from idp.core.settings import current_settings
from idp.models import (
    AppCode,
    AuditEvent,
    BackchannelLogout,
    ConsentRecord,
    EntityRole,
    FaceCheck,
    FaceConsent,
    Grant,
    LoginSession,
    Person,
    RefreshToken,
    SecurityKey,
    TaxpayerEntity,
)
from idp.people.accounts import create_person
from idp.protocol.backchannel_logout import deliver_due_logouts
from idp.taxpayers.entities import add_role

from account_steps import OTHER_DOC, OTHER_PHONE, age_logins, audit_events, log_in, person_row, post_with_token
from conftest import (
    PASSWORD,
    PHONE,
    csrf_from,
    last_sms_code,
    let_sms_cooldown_pass,
    register_client,
    sms_gateway_down,
    stored_sms_codes,
    submit_password,
    tokens_for,
)
from loopback_servers import start_logout_receiver

#: A legacy taxpayer number built from ANOTHER person's document number (an individual business).
OTHER_PERSONS_TAXPAYER_NUMBER = OTHER_DOC + "01"
KEY_SECRET = "c2VjcmV0LWFwcC1jb2RlLXNlZWQ"


def give_the_person_records(app, person) -> None:
    """A role at someone else's individual business, a security key, an app code, a consent."""
    with app.app_context():
        db.session.add(TaxpayerEntity(taxpayer_number=OTHER_PERSONS_TAXPAYER_NUMBER, name="李四烧烤店",
                                      kind="individual_business", tax_authority_code="13702000000",
                                      tax_authority_name="国家税务总局青岛市市南区税务局"))
        db.session.flush()
        add_role("zhangsan", OTHER_PERSONS_TAXPAYER_NUMBER, "tax_officer")
        db.session.add(SecurityKey(person_id=person["id"], credential_id="Y3JlZGVudGlhbC1pZA",
                                   public_key=b"\xa5cose-public-key", name="办公室钥匙"))
        db.session.add(AppCode(person_id=person["id"], secret_encrypted=KEY_SECRET))
        db.session.add(ConsentRecord(person_id=person["id"], client_id="third-party-app", scope="openid profile"))
        db.session.commit()


def download(client):
    return post_with_token(client, "/account/privacy/export", {})


def test_the_account_centre_leads_to_the_three_rights(app, client, person):
    log_in(app, client)
    assert 'href="/account/privacy"' in client.get("/account").get_data(as_text=True)
    page = client.get("/account/privacy").get_data(as_text=True)
    assert "下载我的数据" in page and "人脸识别授权" in page and "注销账号" in page
    client.get("/lang/en?next=/account/privacy")
    page = client.get("/account/privacy").get_data(as_text=True)
    assert "Download my data" in page and "Close my account" in page


def test_download_my_data_is_a_json_file_of_the_persons_records(app, client, person, rp):
    """PIPL articles 44-45: profile, roles, consents, sessions, keys and the person's own audit events."""
    tokens_for(app, client, rp)
    give_the_person_records(app, person)
    response = download(client)
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith('attachment; filename="qdtax-personal-data-')
    assert response.headers["Cache-Control"] == "no-store"
    document = json.loads(response.get_data(as_text=True))
    profile = document["profile"]
    assert (profile["name"], profile["document_number"], profile["phone"], profile["username"]) == (
        "张三", person["doc_number"], PHONE, "zhangsan")
    assert profile["realname_level"] == 4 and profile["created_at"]
    [role] = document["taxpayer_roles"]
    assert role["taxpayer_name"] == "李四烧烤店" and role["role"] == "tax_officer"
    [consent] = document["consents"]
    assert consent["client_id"] == "third-party-app" and consent["scope"] == ["openid", "profile"]
    [session] = document["sessions"]
    assert session["strength"] == "urn:qdtax:loa:2" and session["methods"] == ["pwd", "sms"]
    assert session["address_masked"] == "127.0.0.*"  # what the sessions list shows, never the address
    assert [app_["application"] for app_ in session["applications"]] == ["测试应用"]
    assert [k["name"] for k in document["second_factors"]["security_keys"]] == ["办公室钥匙"]
    assert document["second_factors"]["app_code"]["enrolled_at"]
    events = {e["event"] for e in document["audit_events"]}
    assert {"account.created", "login.password", "login.succeeded", "roles.added"} <= events


def test_the_download_holds_no_secret_and_masks_other_peoples_identifiers(app, client, person, rp):
    tokens = tokens_for(app, client, rp)
    give_the_person_records(app, person)
    text = download(client).get_data(as_text=True)
    with app.app_context():
        secrets = [db.session.get(Person, person["id"]).password_hash, KEY_SECRET, "Y3JlZGVudGlhbC1pZA",
                   tokens["access_token"], tokens["refresh_token"], tokens["id_token"]]
        secrets += db.session.execute(select(LoginSession.id)).scalars().all()
        secrets += db.session.execute(select(Grant.id)).scalars().all()
        secrets += db.session.execute(select(RefreshToken.token_hash)).scalars().all()
    for secret in secrets:
        assert secret not in text
    assert PASSWORD not in text
    # The other person's document number, inside a taxpayer number, is masked wherever it appears.
    assert OTHER_DOC not in text and "4405************1401" in text
    document = json.loads(text)
    assert document["taxpayer_roles"][0]["taxpayer_number"] == "4405************1401"
    added = next(e for e in document["audit_events"] if e["event"] == "roles.added")
    assert added["detail"]["taxpayer_number"] == "4405************1401"


def test_other_peoples_phone_numbers_in_audit_details_are_masked(app, client, person):
    log_in(app, client)
    with app.app_context():
        db.session.add(AuditEvent(event="phone.change", outcome="failure", subject=person["sub"],
                                  detail={"reason": "taken", "new_phone": OTHER_PHONE}))
        db.session.commit()
    text = download(client).get_data(as_text=True)
    assert OTHER_PHONE not in text and "139****4321" in text


def test_the_download_is_audited_without_its_content_and_needs_a_recent_login(app, client, person):
    log_in(app, client)
    age_logins(app, current_settings(app).ACCOUNT_REAUTH_MAX_AGE + 1)
    assert download(client).headers["Location"] == "/account/reauth"
    assert audit_events(app, "account.data_exported") == []
    log_in(app, client)
    assert download(client).status_code == 200
    [event] = audit_events(app, "account.data_exported")
    assert event.subject == person["sub"] and set(event.detail) == {"audit_events", "sessions"}


# --- face consent ---------------------------------------------------------------------------------

def give_face_consent(app, person) -> None:
    with app.app_context():
        db.session.add(FaceConsent(doc_type="ID_CARD", doc_number=person["doc_number"], notice_version="2026-11"))
        db.session.commit()


def withdraw(client):
    return post_with_token(client, "/account/privacy/face/withdraw", {})


def test_withdrawing_face_consent_is_shown_and_audited(app, client, person):
    give_face_consent(app, person)
    log_in(app, client)
    assert "您已同意人脸识别" in client.get("/account/privacy").get_data(as_text=True)
    assert withdraw(client).headers["Location"] == "/account/privacy"
    page = client.get("/account/privacy").get_data(as_text=True)
    assert "已撤回人脸识别授权。" in page and "您已撤回人脸识别授权：不会再为您刷脸" in page
    assert 'id="face-consent-again"' in page and 'id="face-withdraw"' not in page
    [event] = audit_events(app, "face.consent_withdrawn")
    assert event.subject == person["sub"] and person["doc_number"] not in str(event.detail)


def test_after_the_withdrawal_login_offers_no_face_refuses_it_and_password_and_sms_still_work(app, client, person):
    give_face_consent(app, person)
    log_in(app, client)
    withdraw(client)
    browser = app.test_client()
    let_sms_cooldown_pass(app)
    submit_password(browser)
    page = browser.get("/login/sms").get_data(as_text=True)
    assert 'id="use-face"' not in page and 'id="sms-submit"' in page
    refused = browser.get("/login/face")
    assert refused.status_code == 400
    assert "您已撤回人脸识别授权，无法刷脸。请使用密码和短信验证码" in refused.get_data(as_text=True)
    # The login's own consent page cannot undo the withdrawal.
    browser.post("/login/face/consent", data={"csrf_token": csrf_from(browser.get("/login").get_data(as_text=True))})
    assert browser.get("/login/face").status_code == 400
    log_in(app, app.test_client())


def test_a_face_check_started_before_the_withdrawal_is_refused_when_it_returns(app, client, person):
    give_face_consent(app, person)
    browser = app.test_client()
    let_sms_cooldown_pass(app)
    submit_password(browser)
    session_id = browser.get("/login/face").headers["Location"].rsplit("/", 1)[1]
    log_in(app, client)
    withdraw(client)
    browser.post(f"/dev/face/{session_id}/decision", json={"outcome": "pass"})
    with app.app_context():
        check = db.session.execute(select(FaceCheck.id).where(FaceCheck.provider_session_id == session_id)).scalar()
    refused = browser.get(f"/login/face/return?check={check}")
    assert refused.status_code == 400 and "您已撤回人脸识别授权" in refused.get_data(as_text=True)
    assert browser.get("/account").headers["Location"] == "/login"


def test_after_the_withdrawal_password_reset_and_step_up_refuse_face(app, client, person):
    give_face_consent(app, person)
    log_in(app, client)
    withdraw(client)
    step_up = client.get("/step-up")
    assert step_up.status_code == 400 and "您已撤回人脸识别授权" in step_up.get_data(as_text=True)
    reset = app.test_client()
    page = reset.get("/password/forgot").get_data(as_text=True)
    verify = reset.post("/password/forgot", data={"csrf_token": csrf_from(page), "identifier": "zhangsan"})
    assert verify.status_code == 302, verify.get_data(as_text=True)
    assert 'id="forgot-use-face"' not in reset.get(verify.headers["Location"]).get_data(as_text=True)
    assert "您已撤回人脸识别授权" in reset.get("/password/forgot/face").get_data(as_text=True)


def test_consent_is_given_again_in_the_account_centre(app, client, person):
    give_face_consent(app, person)
    log_in(app, client)
    withdraw(client)
    page = client.get("/account/privacy/face/consent").get_data(as_text=True)
    assert "不保存人脸图像" in page
    assert client.post("/account/privacy/face/consent", data={"csrf_token": csrf_from(page)}).status_code == 302
    assert "您已同意人脸识别" in client.get("/account/privacy").get_data(as_text=True)
    [*_, event] = audit_events(app, "face.consent")
    assert event.detail["renewal"] is True
    browser = app.test_client()
    let_sms_cooldown_pass(app)
    submit_password(browser)
    assert browser.get("/login/face").headers["Location"].startswith("/dev/face/")


# --- closing the account --------------------------------------------------------------------------

def send_close_code(client):
    return post_with_token(client, "/account/close/code", {})


def close_with(client, code: str, confirm: bool = True):
    return post_with_token(client, "/account/close", {"code": code, **({"confirm": "yes"} if confirm else {})})


def test_closing_needs_a_recent_login_a_code_sent_for_it_and_the_confirmation(app, client, person):
    log_in(app, client)
    age_logins(app, current_settings(app).ACCOUNT_REAUTH_MAX_AGE + 1)
    assert client.get("/account/close").headers["Location"] == "/account/reauth"
    log_in(app, client)
    page = client.get("/account/close").get_data(as_text=True)
    assert "注销账号" in page and "138****5678" in page
    # The login's own code (purpose "login") cannot close the account.
    login_code = last_sms_code(app)
    assert close_with(client, login_code).status_code == 400
    let_sms_cooldown_pass(app)
    sent = send_close_code(client)
    assert sent.status_code == 200 and 'id="sms-sent"' in sent.get_data(as_text=True)
    code = last_sms_code(app)
    refused = close_with(client, code, confirm=False)
    assert refused.status_code == 400 and "请勾选确认" in refused.get_data(as_text=True)
    assert close_with(client, "000000" if code != "000000" else "111111").status_code == 400
    assert person_row(app, person["id"]).status == "active"
    assert [e.detail["reason"] for e in audit_events(app, "account.close")] == ["code_expired", "wrong_credential"]


def test_a_closure_code_the_gateway_could_not_send_is_not_kept_and_the_next_send_needs_no_wait(app, client, person):
    log_in(app, client)
    codes_before = stored_sms_codes(app)
    with sms_gateway_down(app):
        refused = send_close_code(client)
    assert refused.status_code == 503 and "短信发送失败，请稍后再试" in refused.get_data(as_text=True)
    assert stored_sms_codes(app) == codes_before
    assert send_close_code(client).status_code == 200
    assert "您的账号已注销" in close_with(client, last_sms_code(app)).get_data(as_text=True)


def close_account(app, client) -> None:
    let_sms_cooldown_pass(app)
    send_close_code(client)
    done = close_with(client, last_sms_code(app))
    assert done.status_code == 200, done.get_data(as_text=True)
    assert "您的账号已注销" in done.get_data(as_text=True)


def test_closing_ends_every_session_revokes_every_token_and_tells_the_relying_parties(app, client, person):
    receiver = start_logout_receiver()
    try:
        rp = register_client(app, name="laptop", backchannel_logout_uri=receiver.uri_for("laptop"))
        laptop = app.test_client()
        tokens = tokens_for(app, laptop, rp)
        log_in(app, client)
        close_account(app, client)
        assert client.get("/account").headers["Location"] == "/login"
        assert laptop.get("/account").headers["Location"] == "/login"
        answer = client.post("/introspect", headers=rp.basic_auth, data={"token": tokens["access_token"]})
        assert answer.get_json() == {"active": False}
        refresh = client.post("/token", headers=rp.basic_auth, data={
            "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]})
        assert refresh.status_code == 400 and refresh.get_json()["error"] == "invalid_grant"
        with app.app_context():
            [queued] = db.session.execute(select(BackchannelLogout)).scalars().all()
            assert (queued.client_id, queued.sub) == (rp.client_id, person["sub"])
            sid = queued.sid
            assert deliver_due_logouts().delivered == 1
        [logout_token] = receiver.tokens_for("laptop")
        claims = jwt.decode(logout_token, KeySet.import_key_set(client.get("/jwks.json").get_json())).claims
        assert (claims["sub"], claims["sid"]) == (person["sub"], sid)
    finally:
        receiver.live.stop()


def test_a_closed_account_cannot_log_in_and_its_identifiers_are_free_for_a_new_registration(app, client, person):
    log_in(app, client)
    give_the_person_records(app, person)
    close_account(app, client)
    for identifier in ("zhangsan", PHONE, person["doc_number"]):
        assert submit_password(app.test_client(), identifier=identifier).status_code == 400
    closed = person_row(app, person["id"])
    assert (closed.status, closed.sub, closed.name, closed.username) == ("closed", person["sub"], "", None)
    assert person["doc_number"] not in (closed.doc_number, closed.phone) and closed.password_hash == ""
    with app.app_context():
        for model in (EntityRole, SecurityKey, AppCode, ConsentRecord, LoginSession, Grant):
            assert db.session.execute(select(model)).first() is None, model
        again = create_person(doc_type="ID_CARD", doc_number=person["doc_number"], name="张三", phone=PHONE,
                              password=PASSWORD, username="zhangsan")
        db.session.commit()
        assert again.sub != person["sub"]
    # The audit log stays, under the old subject id, with masked identifiers only.
    [event] = audit_events(app, "account.closed")
    assert event.subject == person["sub"] and event.detail["method"] == "sms"
    assert event.detail["doc_number"] == "1101**********002X" and PHONE not in str(event.detail)
    assert audit_events(app, "account.created")[0].subject == person["sub"]


def test_closing_can_be_confirmed_by_a_face_check_when_the_person_consented(app, client, person):
    give_face_consent(app, person)
    log_in(app, client)
    assert 'id="close-face"' in client.get("/account/close").get_data(as_text=True)
    started = post_with_token(client, "/account/close/face", {"confirm": "yes"})
    assert started.headers["Location"].startswith("/dev/face/")
    session_id = started.headers["Location"].rsplit("/", 1)[1]
    client.post(f"/dev/face/{session_id}/decision", json={"outcome": "pass"})
    with app.app_context():
        check = db.session.execute(select(FaceCheck.id).where(FaceCheck.provider_session_id == session_id)).scalar()
    done = client.get(f"/account/close/face/return?check={check}")
    assert "您的账号已注销" in done.get_data(as_text=True)
    assert person_row(app, person["id"]).status == "closed"
    [event] = audit_events(app, "account.closed")
    assert event.detail["method"] == "face"
