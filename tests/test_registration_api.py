"""Self-registration for the mobile app as a JSON API (docs/domain.md §1.6: "web or app"), same rules as the pages."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from idp.core.clock import utcnow
from idp.core.database import db
from idp.models import AuditEvent, FaceCheck, Person, Registration

from conftest import PHONE, last_sms_code, sms_gateway_down, stored_sms_codes

NEW_DOC = "440524188001010014"
NEW_PHONE = "13912345678"
NEW_PASSWORD = "Register#2026"
HALL_INSTRUCTION = "请先前往办税服务场所采集实名信息，再通过电子税务局完成用户注册"


def call(client, path: str, registration_id: str | None = None, status: int = 200, **body):
    """POST JSON to /api/registration/<path> as the app does (no cookie, no CSRF token)."""
    if registration_id is not None:
        body["registration_id"] = registration_id
    response = client.post(f"/api/registration/{path}", json=body)
    assert response.status_code == status, response.get_json()
    return response.get_json()


def started(client, **identity) -> str:
    identity = {"doc_type": "ID_CARD", "doc_number": NEW_DOC, "name": "李四"} | identity
    answer = call(client, "start", status=201, **identity)
    assert answer["next"] == "phone"
    return answer["registration_id"]


def through_password(app, client, username: str | None = None) -> str:
    rid = started(client)
    assert call(client, "phone", rid, phone=NEW_PHONE)["next"] == "phone/verify"
    assert call(client, "phone/verify", rid, code=last_sms_code(app, NEW_PHONE))["next"] == "username"
    assert call(client, "username", rid, username=username)["next"] == "password"
    answer = call(client, "password", rid, password=NEW_PASSWORD)
    assert answer["next"] == "face/consent" and "不保存人脸图像" in answer["face_notice"]
    return rid


def scan(client, rid: str, outcome: str, status: int):
    """face/start, the provider's decision (its test API), then face/complete."""
    begun = call(client, "face/start", rid)
    assert begun["next"] == "face/complete"
    session_id = re.fullmatch(r"http://idp\.test/dev/face/([\w-]+)", begun["provider_url"]).group(1)
    assert client.post(f"/dev/face/{session_id}/decision", json={"outcome": outcome}).status_code == 200
    return call(client, "face/complete", rid, status=status, check_id=begun["check_id"])


def count(app, model) -> int:
    with app.app_context():
        return db.session.execute(select(func.count()).select_from(model)).scalar_one()


def test_the_app_registers_with_the_same_steps_and_gets_a_level_4_account(app, client):
    """docs/domain.md §1.6 (web or app) and §1.5: the app's registration ends in a level-4 account."""
    rid = through_password(app, client, username="lisi_app")
    assert call(client, "face/consent", rid)["next"] == "face/start"
    assert count(app, Person) == 0
    done = scan(client, rid, "pass", 201)
    assert done["status"] == "registered" and done["realname_level"] == 4
    assert done["login_url"] == "http://idp.test/login" and "自然人业务入口" in done["message"]
    with app.app_context():
        created = db.session.execute(select(Person)).scalar_one()
        assert (created.doc_number, created.phone, created.username) == (NEW_DOC, NEW_PHONE, "lisi_app")
    assert count(app, Registration) == 0
    assert call(client, "username", rid, status=410)["error"] == "expired"


def test_the_registration_id_is_opaque_random_and_at_least_128_bits(client):
    """The app's handle reveals nothing and cannot be guessed."""
    first, second = started(client), started(client, doc_number="11010519491231002X", name="张三")
    assert first != second
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", first)  # 32 random bytes, base64url
    assert NEW_DOC not in first


def test_the_api_needs_no_csrf_token_or_cookie_and_sets_none(client):
    """The app authenticates each call by its registration id, so CSRF tokens do not apply."""
    response = client.post("/api/registration/start", json={"doc_type": "ID_CARD", "doc_number": NEW_DOC,
                                                            "name": "李四"})
    assert response.status_code == 201
    assert "Set-Cookie" not in response.headers
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("registration_id", [None, "", "x" * 43, "not/a/valid/id", 12345])
def test_calls_without_a_live_registration_id_are_refused(client, registration_id):
    answer = client.post("/api/registration/phone", json={"registration_id": registration_id, "phone": NEW_PHONE})
    assert answer.status_code == 410
    text = "注册已超时或不存在，请重新开始注册。"
    assert answer.get_json() == {"error": "expired", "error_description": text, "message": text}


def test_an_expired_registration_is_refused_and_leaves_no_account(app, client):
    """docs/domain.md §5: REGISTRATION_TTL later the registration is gone and created nothing."""
    rid = through_password(app, client)
    with app.app_context():
        db.session.execute(update(Registration).values(expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    assert call(client, "face/consent", rid, status=410)["error"] == "expired"
    assert count(app, Person) == 0


def test_errors_are_json_with_a_code_and_a_localized_message(client):
    """docs/domain.md §1.3 identity check: the document validator's reason, in the app's language."""
    body = {"doc_type": "ID_CARD", "doc_number": "110101199003074515", "name": "李四"}
    chinese = client.post("/api/registration/start", json=body)
    assert chinese.status_code == 400
    text = "居民身份证号码校验位不符，可能输错了某一位，请核对后重新输入。"
    assert chinese.get_json() == {"error": "document_check_digit", "error_description": text, "message": text}
    english = client.post("/api/registration/start", json=body, headers={"Accept-Language": "en-US,en;q=0.9"})
    assert english.get_json()["message"].startswith("Resident Identity Card: the check digit does not match")


@pytest.mark.parametrize("body", [["a list"], "text", {"doc_type": 1, "doc_number": NEW_DOC, "name": "李四"}])
def test_malformed_json_is_a_400_not_a_crash(client, body):
    response = client.post("/api/registration/start", json=body)
    assert response.status_code == 400
    assert response.get_json()["error"] == "bad_request"


def test_json_nested_deeper_than_the_parser_goes_is_malformed_json(client):
    response = client.post("/api/registration/start", data="[" * 5000, content_type="application/json")
    assert response.status_code == 400
    assert response.get_json()["error"] == "bad_request"


def test_a_name_is_required(client):
    answer = call(client, "start", status=400, doc_type="ID_CARD", doc_number=NEW_DOC, name="  ")
    assert answer["error"] == "name"


def test_hall_first_documents_are_refused_with_the_faq_6_instruction(client):
    """docs/domain.md §1.6: the app refuses the same four documents as the web, with the same instruction."""
    answer = call(client, "start", status=403, doc_type="WORK_PERMIT_C", doc_number="C12345678", name="JOHN SMITH")
    assert answer["error"] == "hall_first" and HALL_INSTRUCTION in answer["message"]


def test_a_document_with_an_account_is_told_to_log_in(client, person):
    """One person per document: the existing account is pointed to login / forgot password."""
    answer = call(client, "start", status=409, doc_type="ID_CARD", doc_number=person["doc_number"], name="张三")
    assert answer["error"] == "already_registered"
    assert "登录" in answer["message"] and "忘记密码" in answer["message"]


def test_steps_out_of_order_are_refused_and_name_the_next_call(app, client):
    """docs/domain.md §5: no step can be skipped or reordered."""
    rid = started(client)
    for path, body in [("phone/verify", {"code": "123456"}), ("username", {"username": "lisi_app"}),
                       ("password", {"password": NEW_PASSWORD}), ("face/consent", {}), ("face/start", {}),
                       ("face/complete", {"check_id": "x"})]:
        answer = call(client, path, rid, status=409 if path != "phone/verify" else 400, **body)
        assert answer["error"] == ("wrong_step" if path != "phone/verify" else "code_not_sent"), path
    assert call(client, "password", rid, status=409, password=NEW_PASSWORD)["next"] == "phone"
    with app.app_context():
        row = db.session.execute(select(Registration)).scalar_one()
        assert (row.step, row.username, row.password_hash) == ("phone", None, None)
    assert count(app, FaceCheck) == 0


def test_the_phone_must_not_belong_to_another_account(client, person):
    rid = started(client)
    answer = call(client, "phone", rid, status=409, phone=PHONE)
    assert answer["error"] == "phone_taken"


def test_a_wrong_code_does_not_verify_the_phone_and_resending_is_rate_limited(app, client):
    rid = started(client)
    call(client, "phone", rid, phone=NEW_PHONE)
    wrong = f"{(int(last_sms_code(app, NEW_PHONE)) + 1) % 10**6:06d}"
    assert call(client, "phone/verify", rid, status=400, code=wrong)["error"] == "wrong_credential"
    resend = call(client, "phone", rid, status=429, phone=NEW_PHONE)
    assert resend["error"] == "resend_too_soon" and "秒后再试" in resend["message"]


def test_a_code_the_gateway_could_not_send_is_not_kept_and_the_next_send_needs_no_wait(app, client):
    rid = started(client)
    with sms_gateway_down(app):
        refused = call(client, "phone", rid, status=503, phone=NEW_PHONE)
    assert refused["error"] == "sms_unavailable" and refused["message"] == "短信发送失败，请稍后再试"
    assert stored_sms_codes(app, NEW_PHONE) == 0
    assert call(client, "phone", rid, phone=NEW_PHONE)["next"] == "phone/verify"


@pytest.mark.parametrize("username,error", [("abc", "username_length"), ("13812345678", "username_phone_shape"),
                                            ("20260101", "username_all_digits"), ("li si", "username_characters")])
def test_the_username_rules_apply(app, client, username, error):
    """docs/domain.md §1.13: the same username rules as the account centre."""
    rid = started(client)
    call(client, "phone", rid, phone=NEW_PHONE)
    call(client, "phone/verify", rid, code=last_sms_code(app, NEW_PHONE))
    assert call(client, "username", rid, status=400, username=username)["error"] == error


@pytest.mark.parametrize("password,error", [("short1!", "password_length"), ("onlyletters", "password_kinds"),
                                            ("密码密码密码密码1", "password_characters")])
def test_the_password_policy_applies(app, client, password, error):
    rid = started(client)
    call(client, "phone", rid, phone=NEW_PHONE)
    call(client, "phone/verify", rid, code=last_sms_code(app, NEW_PHONE))
    call(client, "username", rid)
    assert call(client, "password", rid, status=400, password=password)["error"] == error


def test_a_failed_scan_answers_the_attempts_left_then_the_service_hall_route(app, client):
    """docs/domain.md §1.7: advice and a retry after a failure; after three, the service hall instead."""
    rid = through_password(app, client)
    call(client, "face/consent", rid)
    first = scan(client, rid, "fail", 400)
    assert first["error"] == "face_failed" and "还可以再试 2 次" in first["message"]
    assert scan(client, rid, "no_liveness", 400)["error"] == "face_failed"
    third = scan(client, rid, "fail", 403)
    assert third["error"] == "face_hall_route" and "办税服务大厅进行实名信息采集" in third["message"]
    refused = call(client, "face/start", rid, status=403)
    assert refused["error"] == "face_hall_route"
    assert count(app, Person) == 0
    with app.app_context():
        failures = db.session.execute(select(AuditEvent.detail).where(AuditEvent.event == "registration.face")
                                      .order_by(AuditEvent.id)).scalars().all()
    assert [f["failures"] for f in failures] == [1, 2, 3] and failures[-1]["next"] == "hall"


def test_a_pending_result_only_waits(app, client):
    """docs/domain.md §11: the decision comes from the provider's own result, once it exists."""
    rid = through_password(app, client)
    call(client, "face/consent", rid)
    begun = call(client, "face/start", rid)
    pending = call(client, "face/complete", rid, status=202, check_id=begun["check_id"])
    assert pending["status"] == "pending" and pending["next"] == "face/complete"
    session_id = begun["provider_url"].rsplit("/", 1)[1]
    client.post(f"/dev/face/{session_id}/decision", json={"outcome": "pass"})
    assert call(client, "face/complete", rid, status=201, check_id=begun["check_id"])["status"] == "registered"


def test_only_the_registrations_own_current_check_completes_it(app, client):
    """A passed check is bound to the registration that started it and counts once."""
    rid = through_password(app, client)
    call(client, "face/consent", rid)
    first = call(client, "face/start", rid)
    second = call(client, "face/start", rid)  # a new scan supersedes the first one
    client.post(f"/dev/face/{first['provider_url'].rsplit('/', 1)[1]}/decision", json={"outcome": "pass"})
    assert call(client, "face/complete", rid, status=400, check_id=first["check_id"])["error"] == "face_expired"
    assert count(app, Person) == 0
    client.post(f"/dev/face/{second['provider_url'].rsplit('/', 1)[1]}/decision", json={"outcome": "pass"})
    assert call(client, "face/complete", rid, status=201, check_id=second["check_id"])["status"] == "registered"


def test_two_registrations_of_one_document_create_one_account(app, client):
    """One person per document, even when two registrations of it reach the last step together."""
    first = through_password(app, client)
    other = app.test_client()
    second = started(other)
    call(other, "phone", second, phone="13700001111")
    call(other, "phone/verify", second, code=last_sms_code(app, "13700001111"))
    call(other, "username", second)
    call(other, "password", second, password=NEW_PASSWORD)
    for rid in (first, second):
        call(client, "face/consent", rid)
    assert scan(client, first, "pass", 201)["status"] == "registered"
    assert scan(client, second, "pass", 409)["error"] == "conflict"
    with app.app_context():
        assert [p.phone for p in db.session.execute(select(Person)).scalars()] == [NEW_PHONE]


def test_a_username_taken_while_the_account_was_being_created_refuses_the_registration(app, client, person,
                                                                                       monkeypatch):
    """The database's unique index settles a race the checks before the insert lost (simulated here by
    checks that see no clash): the registration is refused as a conflict, audited, and no account is half
    made."""
    for module in ("idp.people.registration", "idp.people.accounts"):
        monkeypatch.setattr(f"{module}.check_username_taken", lambda *args, **kwargs: False)
    rid = through_password(app, client, username=person["username"].upper())
    call(client, "face/consent", rid)
    assert scan(client, rid, "pass", 409)["error"] == "conflict"
    assert count(app, Person) == 1
    with app.app_context():
        refused = db.session.execute(select(AuditEvent).where(AuditEvent.event == "registration.completed")
                                     ).scalar_one()
        assert (refused.outcome, refused.detail["reason"]) == ("failure", "conflict")
