"""Service-hall real-name records (docs/domain.md §1.6 and §1.7; §3.3): ``idp realname record``
lets hall-first documents register, stands in for a face scan that keeps failing, sets the
account's real-name level, lapses after REALNAME_RECORD_TTL days and is consumed by its registration."""

from __future__ import annotations

from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select, update

from idp.cli.main import main
from idp.core.clock import utcnow
from idp.core.database import db
from idp.models import AuditEvent, FaceCheck, Person, RealnameRecord

from conftest import csrf_from, last_sms_code, let_sms_cooldown_pass, make_settings

PASSWORD = "Register#2026"
HALL_INSTRUCTION = "请先前往办税服务场所采集实名信息，再通过电子税务局完成用户注册"


@pytest.fixture
def idp_cli(app, database_url, instance_dir, monkeypatch):
    """Run ``idp …`` against the test database, as hall staff would on a server."""
    for key, value in make_settings(database_url, instance_dir).items():
        monkeypatch.setenv(f"IDP_{key}", str(value))
    runner = CliRunner()

    def run(*args: str, code: int = 0) -> str:
        result = runner.invoke(main, list(args), catch_exceptions=False)
        assert result.exit_code == code, result.output
        return result.output

    return run


def call(client, path: str, status: int = 200, **body):
    response = client.post(f"/api/registration/{path}", json=body)
    assert response.status_code == status, response.get_json()
    return response.get_json()


def register_by_api(app, client, phone: str = "13912345678", **identity) -> dict:
    """Start, phone, no username, password: a hall-backed registration is complete after these."""
    rid = call(client, "start", 201, **identity)["registration_id"]
    call(client, "phone", registration_id=rid, phone=phone)
    call(client, "phone/verify", registration_id=rid, code=last_sms_code(app, phone))
    call(client, "username", registration_id=rid)
    response = client.post("/api/registration/password", json={"registration_id": rid, "password": PASSWORD})
    return {**response.get_json(), "http_status": response.status_code, "registration_id": rid}


def records(app) -> list[RealnameRecord]:
    with app.app_context():
        return list(db.session.execute(select(RealnameRecord)).scalars())


def test_a_hall_record_lets_a_foreign_passport_register_on_the_web_at_level_5(app, client, idp_cli):
    """docs/domain.md §1.6: after the hall collected the real-name information in person, the foreigner
    registers online; the account gets the hall's level (5: in-person collection)."""
    output = idp_cli("realname", "record", "--doc-type", "FOREIGN_PASSPORT", "--doc-number", "l898902c3",
                     "--name", "JOHN SMITH", "--country", "usa", "--level", "5")
    assert "L898*02C3" in output and "L898902C3" not in output and "real-name level 5" in output

    def post(path: str, **data):
        token = csrf_from(client.get("/register").get_data(as_text=True))
        return client.post(path, data={"csrf_token": token, **data})

    started = post("/register", doc_type="FOREIGN_PASSPORT", doc_number="L898902C3", country="USA",
                   name="John  Smith")  # case and spacing as typed do not matter
    assert started.headers["Location"] == "/register/phone"
    post("/register/phone", phone="13912345678")
    post("/register/phone/verify", code=last_sms_code(app, "13912345678"))
    post("/register/username", skip="1")
    done = post("/register/password", password=PASSWORD, confirm_password=PASSWORD)
    assert done.headers["Location"] == "/register/complete"  # the hall's check stands in for the scan
    with app.app_context():
        created = db.session.execute(select(Person)).scalar_one()
        assert (created.doc_type, created.doc_number, created.doc_country) == ("FOREIGN_PASSPORT", "L898902C3", "USA")
        assert created.realname_level == 5 and created.name == "John Smith"
        assert db.session.execute(select(FaceCheck)).first() is None
    assert records(app) == []  # consumed


@pytest.mark.parametrize("doc_type", ["WORK_PERMIT_A", "WORK_PERMIT_B", "WORK_PERMIT_C"])
def test_a_hall_record_lets_a_work_permit_register_through_the_app_at_level_4(app, client, idp_cli, doc_type):
    """docs/domain.md §1.6 (web or app): the default hall level is 4."""
    idp_cli("realname", "record", "--doc-type", doc_type, "--doc-number", "WP2026000123", "--name", "Anna Müller",
            "--country", "DEU")
    done = register_by_api(app, client, doc_type=doc_type, doc_number="wp2026000123", name="ANNA MÜLLER")
    assert done["http_status"] == 201 and done["realname_level"] == 4
    assert records(app) == []


def test_a_record_for_another_name_does_not_open_registration(app, client, idp_cli):
    """docs/domain.md §1.6: the record is the named person's; a different name is told so."""
    idp_cli("realname", "record", "--doc-type", "FOREIGN_PASSPORT", "--doc-number", "L898902C3",
            "--name", "JOHN SMITH", "--country", "USA")
    answer = call(client, "start", 403, doc_type="FOREIGN_PASSPORT", doc_number="L898902C3", country="USA",
                  name="JANE SMITH")
    assert answer["error"] == "hall_record_name"
    other_country = call(client, "start", 403, doc_type="FOREIGN_PASSPORT", doc_number="L898902C3",
                         country="GBR", name="JOHN SMITH")
    assert other_country["error"] == "hall_first" and HALL_INSTRUCTION in other_country["message"]


def test_an_expired_record_no_longer_opens_registration_and_is_purged(app, client, idp_cli):
    """docs/domain.md §3.3: the hall record expires after REALNAME_RECORD_TTL days (default 90)."""
    idp_cli("realname", "record", "--doc-type", "WORK_PERMIT_A", "--doc-number", "WP2026000123",
            "--name", "Anna Müller", "--country", "DEU")
    [record] = records(app)
    assert abs(record.expires_at - record.created_at - timedelta(days=90)) < timedelta(seconds=5)
    with app.app_context():
        db.session.execute(update(RealnameRecord).values(expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    answer = call(client, "start", 403, doc_type="WORK_PERMIT_A", doc_number="WP2026000123", name="Anna Müller")
    assert answer["error"] == "hall_first"
    assert "deleted 1 expired real-name record" in idp_cli("realname", "purge")
    assert records(app) == []


def test_the_record_lifetime_is_the_realname_record_ttl_setting(app, idp_cli, monkeypatch):
    monkeypatch.setenv("IDP_REALNAME_RECORD_TTL", "7")
    output = idp_cli("realname", "record", "--doc-type", "WORK_PERMIT_B", "--doc-number", "WP2026000123",
                     "--name", "Anna Müller", "--country", "DEU")
    [record] = records(app)
    assert abs(record.expires_at - record.created_at - timedelta(days=7)) < timedelta(seconds=5)
    assert f"before {record.expires_at.date().isoformat()}" in output


def test_the_record_expiring_mid_registration_creates_nothing(app, client, idp_cli):
    idp_cli("realname", "record", "--doc-type", "WORK_PERMIT_A", "--doc-number", "WP2026000123",
            "--name", "Anna Müller", "--country", "DEU")
    rid = call(client, "start", 201, doc_type="WORK_PERMIT_A", doc_number="WP2026000123",
               name="Anna Müller")["registration_id"]
    call(client, "phone", registration_id=rid, phone="13912345678")
    call(client, "phone/verify", registration_id=rid, code=last_sms_code(app, "13912345678"))
    call(client, "username", registration_id=rid)
    with app.app_context():
        db.session.execute(update(RealnameRecord).values(expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    answer = call(client, "password", 400, registration_id=rid, password=PASSWORD)
    assert answer["error"] == "hall_record_expired"
    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(Person)).scalar_one() == 0


def test_a_phone_given_at_the_hall_binds_the_record_to_it(app, client, idp_cli):
    """Our choice: staff may note the person's phone, so knowing a name and a passport number
    is not enough to take the record before its owner does."""
    idp_cli("realname", "record", "--doc-type", "FOREIGN_PASSPORT", "--doc-number", "L898902C3",
            "--name", "JOHN SMITH", "--country", "USA", "--phone", "13912345678")
    rid = call(client, "start", 201, doc_type="FOREIGN_PASSPORT", doc_number="L898902C3", country="USA",
               name="JOHN SMITH")["registration_id"]
    assert call(client, "phone", 400, registration_id=rid, phone="13700001111")["error"] == "hall_record_phone"
    done = register_by_api(app, client, doc_type="FOREIGN_PASSPORT", doc_number="L898902C3", country="USA",
                           name="JOHN SMITH")
    assert done["http_status"] == 201


def test_when_face_keeps_failing_the_hall_record_completes_the_registration(app, client, idp_cli):
    """docs/domain.md §1.7: three failed scans send the person to a hall; with the hall's record the next
    registration needs no scan."""
    rid = call(client, "start", 201, doc_type="ID_CARD", doc_number="440524188001010014",
               name="李四")["registration_id"]
    call(client, "phone", registration_id=rid, phone="13912345678")
    call(client, "phone/verify", registration_id=rid, code=last_sms_code(app, "13912345678"))
    call(client, "username", registration_id=rid)
    call(client, "password", registration_id=rid, password=PASSWORD)
    call(client, "face/consent", registration_id=rid)
    for status in (400, 400, 403):
        begun = call(client, "face/start", registration_id=rid)
        client.post(f"/dev/face/{begun['provider_url'].rsplit('/', 1)[1]}/decision", json={"outcome": "fail"})
        call(client, "face/complete", status, registration_id=rid, check_id=begun["check_id"])

    idp_cli("realname", "record", "--doc-type", "ID_CARD", "--doc-number", "440524188001010014", "--name", "李四",
            "--level", "5")
    let_sms_cooldown_pass(app)  # the person comes back from the hall later
    done = register_by_api(app, client, doc_type="ID_CARD", doc_number="440524188001010014", name="李四")
    assert done["http_status"] == 201 and done["realname_level"] == 5


def test_the_cli_refuses_what_a_hall_cannot_record(app, client, idp_cli, person):
    assert "check digit" in idp_cli("realname", "record", "--doc-type", "ID_CARD", "--doc-number",
                                    "110101199003074515", "--name", "李四", code=2)
    assert "three-letter" in idp_cli("realname", "record", "--doc-type", "FOREIGN_PASSPORT", "--doc-number",
                                     "L898902C3", "--name", "JOHN SMITH", code=2)
    assert "already has an account" in idp_cli("realname", "record", "--doc-type", "ID_CARD", "--doc-number",
                                               person["doc_number"], "--name", "张三", code=2)
    idp_cli("realname", "record", "--doc-type", "ID_CARD", "--doc-number", "440524188001010014", "--name", "李四",
            "--level", "3", code=2)
    assert records(app) == []


def test_recording_is_audited_with_the_document_masked(app, idp_cli):
    idp_cli("realname", "record", "--doc-type", "WORK_PERMIT_C", "--doc-number", "WP2026000123",
            "--name", "Anna Müller", "--country", "DEU", "--level", "5")
    with app.app_context():
        event = db.session.execute(select(AuditEvent).where(AuditEvent.event == "realname.recorded")).scalar_one()
    assert event.detail["doc_number"] == "WP20****0123" and event.detail["level"] == 5
    assert "Müller" not in str(event.detail)
