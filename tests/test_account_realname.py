"""Raising the real-name level by a face check in the account centre (docs/domain.md §1.5; §4)."""

from __future__ import annotations

from sqlalchemy import select, update

from idp.core.database import db
from idp.models import FaceCheck, FaceConsent, Person

from account_steps import audit_events, log_in, person_row, post_with_token
from conftest import csrf_from


def make_level(app, person_id: int, level: int) -> None:
    with app.app_context():
        db.session.execute(update(Person).where(Person.id == person_id).values(realname_level=level))
        db.session.commit()


def start_upgrade(client):
    return post_with_token(client, "/account/realname/face", {})


def consent_and_scan(client) -> str:
    """Consent (first scan), then the browser is sent to the provider; returns its session id."""
    consent_page = start_upgrade(client)
    assert consent_page.status_code == 200
    response = client.post("/account/realname/face/consent",
                           data={"csrf_token": csrf_from(consent_page.get_data(as_text=True))})
    assert response.status_code == 302, response.get_data(as_text=True)
    assert response.headers["Location"].startswith("/dev/face/")
    return response.headers["Location"].rsplit("/", 1)[1]


def check_id_for(app, session_id: str) -> str:
    with app.app_context():
        return db.session.execute(select(FaceCheck.id).where(FaceCheck.provider_session_id == session_id)).scalar()


def test_a_level_3_account_reaches_level_4_by_a_face_check_in_the_account_centre(app, client, person):
    """docs/domain.md §1.5: an account without a face scan is level 3; a face check in the account centre makes it 4."""
    make_level(app, person["id"], 3)
    log_in(app, client)
    assert "3级" in client.get("/account").get_data(as_text=True)
    page = client.get("/account/realname").get_data(as_text=True)
    assert "您尚未完成扫脸认证" in page and 'id="realname-upgrade"' in page
    session_id = consent_and_scan(client)
    scan_page = client.get(f"/dev/face/{session_id}")
    back = client.post(f"/dev/face/{session_id}", data={
        "csrf_token": csrf_from(scan_page.get_data(as_text=True)), "outcome": "pass"})
    assert back.headers["Location"].startswith("http://idp.test/account/realname/face/return?check=")
    done = client.get(back.headers["Location"].removeprefix("http://idp.test"))
    assert done.headers["Location"] == "/account/realname"
    page = client.get("/account/realname").get_data(as_text=True)
    assert "实名等级已提升至四级" in page and "4级" in page and 'id="realname-upgrade"' not in page
    assert person_row(app, person["id"]).realname_level == 4
    [event] = audit_events(app, "realname.upgraded")
    assert event.subject == person["sub"] and event.detail == {"level": 4, "by": "face"}


def test_consent_is_asked_once_before_the_first_scan(app, client, person):
    """PIPL: separate consent to face processing before the first scan; SMS + password stays available."""
    make_level(app, person["id"], 3)
    log_in(app, client)
    page = start_upgrade(client).get_data(as_text=True)
    assert "不保存人脸图像" in page and "密码 + 短信验证码" in page
    consent_and_scan(client)
    with app.app_context():
        assert db.session.execute(select(FaceConsent)).scalar_one().doc_number == person["doc_number"]
    assert start_upgrade(client).headers["Location"].startswith("/dev/face/")


def test_a_level_4_or_5_account_sees_its_level_and_no_upgrade_button(app, client, person):
    """docs/domain.md §1.5: nothing to raise above level 4."""
    log_in(app, client)
    for level in (4, 5):
        make_level(app, person["id"], level)
        page = client.get("/account/realname").get_data(as_text=True)
        assert f"{level}级" in page and "无需提升" in page and 'id="realname-upgrade"' not in page
        response = start_upgrade(client)
        assert response.status_code == 400
        assert person_row(app, person["id"]).realname_level == level


def test_a_failed_scan_keeps_level_3_and_gives_the_faq_advice(app, client, person):
    """docs/domain.md §1.7: light, no other faces; the service hall as the last resort."""
    make_level(app, person["id"], 3)
    log_in(app, client)
    session_id = consent_and_scan(client)
    client.post(f"/dev/face/{session_id}/decision", json={"outcome": "fail"})
    page = client.get(f"/account/realname/face/return?check={check_id_for(app, session_id)}")
    assert page.status_code == 400
    html = page.get_data(as_text=True)
    assert "人脸识别未通过" in html and "办税服务厅" in html
    assert person_row(app, person["id"]).realname_level == 3
    assert audit_events(app, "realname.upgraded") == []


def test_coming_back_before_the_provider_decided_only_waits(app, client, person):
    """A browser redirect is a trigger, never a decision (docs/domain.md §11)."""
    make_level(app, person["id"], 3)
    log_in(app, client)
    session_id = consent_and_scan(client)
    check = check_id_for(app, session_id)
    assert client.get(f"/account/realname/face/return?check={check}").status_code == 202
    assert person_row(app, person["id"]).realname_level == 3
    client.post(f"/dev/face/{session_id}/decision", json={"outcome": "pass"})
    assert client.get(f"/account/realname/face/return?check={check}").status_code == 302
    assert person_row(app, person["id"]).realname_level == 4


def test_a_face_check_made_for_a_login_does_not_raise_the_level_here(app, client, person):
    """A check is good only for the purpose it was started for."""
    make_level(app, person["id"], 3)
    log_in(app, client)
    session_id = consent_and_scan(client)
    client.post(f"/dev/face/{session_id}/decision", json={"outcome": "pass"})
    check = check_id_for(app, session_id)
    with app.app_context():
        db.session.execute(update(FaceCheck).where(FaceCheck.id == check).values(purpose="login"))
        db.session.commit()
    assert client.get(f"/account/realname/face/return?check={check}").status_code == 400
    assert person_row(app, person["id"]).realname_level == 3
