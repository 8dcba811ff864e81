"""Face verification as a factor: consent, the provider's own result, and every check (docs/domain.md §11)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet
from sqlalchemy import select, update

from idp.core.database import db
from idp.core.settings import current_settings
from idp.models import AuditEvent, DevFaceSession, FaceCheck, FaceConsent, MethodLockout, Person

from conftest import PASSWORD, authorization_request, csrf_from, hidden_value, query_of, redeem


def password_step(client, interaction: str = "") -> None:
    page = client.get("/login").get_data(as_text=True)
    response = client.post("/login", data={"csrf_token": csrf_from(page), "interaction": interaction,
                                           "identifier": "zhangsan", "password": PASSWORD})
    # 429: the SMS sent moments ago is still in its resend cooldown; the password step stands.
    assert response.status_code in (302, 429)


def consent(client) -> None:
    page = client.get("/login/face")
    assert page.status_code == 200
    client.post("/login/face/consent", data={"csrf_token": csrf_from(page.get_data(as_text=True))})


def start_scan(client) -> str:
    """Starts a face check; returns the provider session id the browser is sent to."""
    response = client.get("/login/face")
    assert response.status_code == 302, response.get_data(as_text=True)
    return response.headers["Location"].rsplit("/", 1)[1]


def decide(client, session_id: str, outcome: str):
    return client.post(f"/dev/face/{session_id}/decision", json={"outcome": outcome})


def check_id_for(app, session_id: str) -> str:
    with app.app_context():
        return db.session.execute(select(FaceCheck.id).where(FaceCheck.provider_session_id == session_id)).scalar()


def test_first_scan_asks_separate_consent_and_names_sms_as_the_alternative(app, client, person):
    """docs/domain.md §11 / PIPL: consent is asked and recorded before the first scan; SMS stays available."""
    password_step(client)
    page = client.get("/login/face").get_data(as_text=True)
    assert "不保存人脸图像" in page and "密码 + 短信验证码" in page
    client.post("/login/face/consent", data={"csrf_token": csrf_from(page)})
    with app.app_context():
        assert db.session.execute(select(FaceConsent)).scalar_one().doc_number == person["doc_number"]
        assert db.session.execute(select(AuditEvent).where(AuditEvent.event == "face.consent")).first()
    assert client.get("/login/face").status_code == 302


def test_password_and_face_log_in_at_loa3_and_raise_level_3_to_4(app, client, person, rp):
    """docs/domain.md §1.5: a passed face check on a level-3 account makes it level 4."""
    with app.app_context():
        db.session.execute(update(Person).values(realname_level=3))
        db.session.commit()
    request = authorization_request(rp)
    login_redirect = client.get("/authorize", query_string=request.params).headers["Location"]
    page = client.get(login_redirect).get_data(as_text=True)
    client.post("/login", data={"csrf_token": csrf_from(page), "interaction": hidden_value(page, "interaction"),
                                "identifier": "zhangsan", "password": PASSWORD})
    consent(client)
    session_id = start_scan(client)
    scan_page = client.get(f"/dev/face/{session_id}")
    assert scan_page.status_code == 200
    back = client.post(f"/dev/face/{session_id}", data={"csrf_token": csrf_from(scan_page.get_data(as_text=True)),
                                                         "outcome": "pass"})
    assert back.headers["Location"].startswith("http://idp.test/login/face/return?check=")
    resumed = client.get(back.headers["Location"].replace("http://idp.test", ""))
    code = query_of(client.get(resumed.headers["Location"]).headers["Location"])["code"]
    tokens = redeem(client, rp, code, request.verifier).get_json()
    claims = jwt.decode(tokens["id_token"], KeySet.import_key_set(client.get("/jwks.json").get_json())).claims
    assert claims["acr"] == "urn:qdtax:loa:3"
    assert claims["amr"] == ["pwd", "face", "mfa"]
    assert claims["realname_level"] == 4


@pytest.mark.parametrize("outcome,reason", [("fail", "similarity"), ("no_liveness", "liveness")])
def test_a_failed_scan_is_refused_with_the_faq_advice(app, client, person, outcome, reason):
    password_step(client)
    consent(client)
    session_id = start_scan(client)
    decide(client, session_id, outcome)
    page = client.get(f"/login/face/return?check={check_id_for(app, session_id)}")
    assert page.status_code == 400
    html = page.get_data(as_text=True)
    assert "人脸识别未通过" in html and "办税服务厅" in html
    with app.app_context():
        event = db.session.execute(select(AuditEvent).where(AuditEvent.event == "face.result")).scalar_one()
        assert event.outcome == "failure" and event.detail["reason"] == reason


def test_returning_before_the_provider_has_a_result_only_waits(app, client, person):
    """A browser redirect is a trigger, never a decision."""
    password_step(client)
    consent(client)
    session_id = start_scan(client)
    check = check_id_for(app, session_id)
    assert client.get(f"/login/face/return?check={check}").status_code == 202
    assert client.get(f"/login/face/return?check={check}").status_code == 202
    decide(client, session_id, "pass")
    assert client.get(f"/login/face/return?check={check}").status_code == 302
    with app.app_context():
        # Waiting is not a failed try: the audit log has the one scan, passed.
        outcomes = db.session.execute(select(AuditEvent.outcome).where(AuditEvent.event == "login.face")).scalars()
        assert list(outcomes) == ["success"]


def test_a_result_is_used_once(app, client, person):
    password_step(client)
    consent(client)
    session_id = start_scan(client)
    decide(client, session_id, "pass")
    check = check_id_for(app, session_id)
    assert client.get(f"/login/face/return?check={check}").status_code == 302
    password_step(client)
    assert client.get(f"/login/face/return?check={check}").status_code == 400


def test_a_result_for_another_document_is_refused(app, client, person):
    password_step(client)
    consent(client)
    session_id = start_scan(client)
    decide(client, session_id, "pass")
    with app.app_context():
        db.session.get(DevFaceSession, session_id).doc_number = "110101199003074514"
        db.session.commit()
    assert client.get(f"/login/face/return?check={check_id_for(app, session_id)}").status_code == 400


def test_a_stale_result_is_refused(app, client, person):
    password_step(client)
    consent(client)
    session_id = start_scan(client)
    decide(client, session_id, "pass")
    with app.app_context():
        row = db.session.get(DevFaceSession, session_id)
        row.completed_at = row.completed_at - timedelta(seconds=current_settings(app).FACE_RESULT_MAX_AGE + 1)
        db.session.commit()
    page = client.get(f"/login/face/return?check={check_id_for(app, session_id)}")
    assert page.status_code == 400


def test_five_failed_scans_lock_the_face_method_only(app, client, person):
    """docs/domain.md §1.14: five consecutive failures of one method in a day lock that method."""
    for attempt in range(5):
        password_step(client)
        if attempt == 0:
            consent(client)
        session_id = start_scan(client)
        decide(client, session_id, "fail")
        page = client.get(f"/login/face/return?check={check_id_for(app, session_id)}")
    assert "连续认证错误次数过多" in page.get_data(as_text=True)
    password_step(client)
    assert "连续认证错误次数过多" in client.get("/login/face").get_data(as_text=True)
    assert client.get("/login/sms").status_code == 200


def test_a_locked_face_method_offers_forgot_password_for_the_apps_request(app, client, person, rp):
    """Issue 18: the result page of a locked face method, on return and on a later start, links
    忘记密码 with the app's request, as the login page's own link does."""
    login_url = client.get("/authorize", query_string=authorization_request(rp).params).headers["Location"]
    interaction = hidden_value(client.get(login_url).get_data(as_text=True), "interaction")
    forgot = f'href="/password/forgot?interaction={interaction}" id="forgot-after-lock"'
    password_step(client, interaction)
    consent(client)
    for _ in range(5):
        session_id = start_scan(client)
        decide(client, session_id, "fail")
        page = client.get(f"/login/face/return?check={check_id_for(app, session_id)}").get_data(as_text=True)
    assert forgot in page
    assert forgot in client.get("/login/face").get_data(as_text=True)


def test_face_provider_down_is_said_and_spends_or_counts_nothing(app, client, person, face_provider):
    """Unreachable when the scan starts or when the browser comes back: the page says so and offers
    the SMS code; nothing is spent or counted, so the same check completes once the provider is back."""
    password_step(client)
    consent(client)
    face_provider.down()
    page = client.get("/login/face")
    assert page.status_code == 503
    assert "人脸识别服务暂不可用" in page.get_data(as_text=True) and 'id="use-sms"' in page.get_data(as_text=True)
    face_provider.up()
    session_id = start_scan(client)
    decide(client, session_id, "pass")
    check = check_id_for(app, session_id)
    face_provider.down()
    page = client.get(f"/login/face/return?check={check}")
    assert page.status_code == 503 and "人脸识别服务暂不可用" in page.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(FaceCheck, check).used_at is None
        assert not db.session.execute(select(MethodLockout).where(MethodLockout.failures > 0)).first()
    face_provider.up()
    assert client.get(f"/login/face/return?check={check}").headers["Location"] == "/"


def test_face_images_are_never_stored():
    for table in (FaceCheck, FaceConsent, DevFaceSession):
        columns = {c.name for c in table.__table__.columns}
        assert not {c for c in columns if "image" in c or "photo" in c or "picture" in c}
