"""Personal data encrypted at rest (docs/privacy.md, "Encrypted at rest"): document numbers,
names and phones are sealed in every table that holds them, found by blind index, and nothing
readable is left in a database dump; the key is the operator's and rotates while the provider
serves."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
from datetime import UTC, datetime

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.exc import IntegrityError

from idp.app import create_app
from idp.core.crypto_suites import SealBroken
from idp.core.database import db, normalise_database_url, upgrade_database
from idp.core.personal_data_cipher import (
    INSTANCE_KEYS_FILE,
    PersonalDataCipher,
    add_data_key,
    current_personal_data_cipher,
    generate_key_file,
    write_key_file,
)
from idp.core.personal_data_rotation import reseal_under_current_key
from idp.factors.face import FaceIdentity, record_face_consent, start_face_check
from idp.factors.sms_code import send_sms_code
from idp.models import Person, RealnameRecord, Registration, SmsCode
from idp.people.realname_records import save_realname_record
from idp.people.registration import send_registration_code, start_registration

from conftest import DOC_NUMBER, PHONE, _fresh_postgres_database, dispose_engines, make_settings

NAME = "张三"
HALL_DOC, HALL_NAME, HALL_PHONE = "440524188001010014", "王五", "13612345678"
NEW_DOC, NEW_NAME, NEW_PHONE = "110101199003074514", "李四", "13912345678"


def dump(database_url: str) -> str:
    """The whole database as its backup would hold it."""
    if database_url.startswith("sqlite"):
        connection = sqlite3.connect(database_url.removeprefix("sqlite:///"))
        try:
            return "\n".join(connection.iterdump())
        finally:
            connection.close()
    url = database_url.replace("postgresql+psycopg://", "postgresql://")
    return subprocess.run(["pg_dump", "--no-owner", url], capture_output=True, text=True, check=True).stdout


def assert_unreadable(backup: str, *values: str) -> None:
    found = [value for value in values if value in backup]
    assert not found, f"readable in the dump: {found}"


def test_a_database_dump_holds_no_document_number_name_or_phone(app, person, database_url):
    """Every table that holds them: the account, an SMS code, a registration in progress with its
    phone, a service hall's real-name record, face consent and a face check (with the
    development provider's own session)."""
    with app.test_request_context():
        send_sms_code(PHONE, "login", subject=person["sub"])
        registration = start_registration(doc_type="ID_CARD", doc_number=NEW_DOC, name=NEW_NAME)
        send_registration_code(registration, NEW_PHONE)
        save_realname_record(doc_type="ID_CARD", doc_number=HALL_DOC, name=HALL_NAME, phone=HALL_PHONE)
        zhangsan = db.session.get(Person, person["id"])
        identity = FaceIdentity(name=zhangsan.name, doc_type="ID_CARD", doc_number=DOC_NUMBER, person=zhangsan)
        record_face_consent(identity)
        start_face_check(identity, "login", "http://idp.test/login/face/return")
        db.session.commit()
    backup = dump(database_url)
    assert person["sub"] in backup and ("INSERT INTO" in backup or "COPY " in backup)  # the rows are there
    assert_unreadable(backup, DOC_NUMBER, NAME, PHONE, NEW_DOC, NEW_NAME, NEW_PHONE, HALL_DOC, HALL_NAME, HALL_PHONE)
    with app.app_context():  # and the provider reads them all as before
        assert db.session.execute(select(Registration)).scalar_one().phone == NEW_PHONE
        record = db.session.execute(select(RealnameRecord).where(RealnameRecord.doc_number == HALL_DOC)).scalar_one()
        assert (record.name, record.phone) == (HALL_NAME, HALL_PHONE)
        assert db.session.execute(select(SmsCode).where(SmsCode.phone == PHONE)).scalar_one()


def test_people_are_found_by_document_and_phone_as_typed(app, person, client):
    """The blind index is over the value made comparable: a lower-case x or spaces still find the account."""
    with app.app_context():
        for condition in (Person.phone == PHONE, Person.doc_number == "110105 19491231002x"):
            assert db.session.execute(select(Person.id).where(condition)).scalar_one() == person["id"]
    page = client.get("/login")
    assert page.status_code == 200


def test_a_document_or_phone_is_unique_even_written_past_the_application(app, person):
    """The unique constraints are on the blind indexes: the sealed values differ every time."""
    with app.app_context():
        for clash in ({"doc_number": DOC_NUMBER, "phone": "13700000000"}, {"doc_number": NEW_DOC, "phone": PHONE}):
            db.session.add(Person(sub=f"other-{clash['phone']}", doc_type="ID_CARD", name="某人", password_hash="x",
                                  **clash))
            with pytest.raises(IntegrityError):
                db.session.commit()
            db.session.rollback()


def test_a_sealed_value_copied_into_another_row_does_not_open(app, person):
    """The associated data names the row: a database writer cannot give one account another's phone."""
    from idp.people.accounts import create_person

    with app.app_context():
        other = create_person(doc_type="ID_CARD", doc_number=NEW_DOC, name=NEW_NAME, phone=NEW_PHONE,
                              password="Another#2026")
        db.session.commit()
        other_id = other.id
        db.session.execute(text("UPDATE person SET phone_sealed = (SELECT phone_sealed FROM person WHERE id = :a)"
                                " WHERE id = :b"), {"a": person["id"], "b": other_id})
        db.session.commit()
        db.session.expunge_all()
        with pytest.raises(SealBroken):
            db.session.get(Person, other_id)


def test_production_refuses_to_start_without_the_key_file(database_url, instance_dir, tmp_path):
    production = {"ENVIRONMENT": "production", "SECRET_KEY": "s" * 48}
    with pytest.raises(SystemExit, match="IDP_PII_KEYS_FILE must be set in production"):
        create_app(make_settings(database_url, instance_dir, **production))
    with pytest.raises(SystemExit, match="cannot read the personal-data key file"):
        create_app(make_settings(database_url, instance_dir, PII_KEYS_FILE=str(tmp_path / "missing.json"),
                                 **production))


def test_keys_of_another_suite_are_refused(database_url, instance_dir, tmp_path):
    keys = tmp_path / "keys.json"
    keys.write_text(json.dumps(generate_key_file("international")))
    with pytest.raises(SystemExit, match="IDP_CRYPTO_SUITE is 'sm'"):
        create_app(make_settings(database_url, instance_dir, CRYPTO_SUITE="sm", PII_KEYS_FILE=str(keys)))


def test_rotate_key_reseals_everything_in_batches_and_the_old_key_can_go(app, person, cli, instance_dir, tmp_path,
                                                                          monkeypatch, database_url):
    keys = tmp_path / "pii-keys.json"
    shutil.copy(instance_dir / INSTANCE_KEYS_FILE, keys)
    monkeypatch.setenv("IDP_PII_KEYS_FILE", str(keys))
    with app.test_request_context():
        save_realname_record(doc_type="ID_CARD", doc_number=HALL_DOC, name=HALL_NAME, phone=HALL_PHONE)
        db.session.commit()
    old = json.loads(keys.read_text())["current"]

    assert "(standby)" in cli("pii", "new-key", "--standby")
    content = json.loads(keys.read_text())
    [new] = set(content["data_keys"]) - {old}
    assert content["current"] == old
    assert f"key {new} is current" in cli("pii", "use-key", new)
    output = cli("pii", "rotate-key", "--batch-size", "1")
    assert "person: 1 row(s) resealed, 0 left under other keys" in output
    assert "realname_record: 1 row(s) resealed, 0 left under other keys" in output
    assert f"every value is under key {new}" in output
    again = cli("pii", "rotate-key")  # resumable: a second run finds nothing left to do
    assert "person: 0 row(s) resealed" in again and f"every value is under key {new}" in again

    content = json.loads(keys.read_text())
    content["data_keys"] = {new: content["data_keys"][new]}
    keys.write_text(json.dumps(content))
    rotated = create_app(make_settings(database_url, instance_dir, PII_KEYS_FILE=str(keys)))
    with rotated.app_context():
        sealed = db.session.execute(text("SELECT doc_number_sealed, name_sealed, phone_sealed FROM person")).one()
        assert all(value.startswith(f"{new}$") for value in sealed)
        zhangsan = db.session.execute(select(Person).where(Person.phone == PHONE)).scalar_one()
        assert (zhangsan.doc_number, zhangsan.name) == (DOC_NUMBER, NAME)
        assert db.session.execute(select(RealnameRecord)).scalar_one().name == HALL_NAME
    dispose_engines(rotated)


@pytest.fixture
def fresh_database_url(tmp_path):
    import os

    server = os.environ.get("IDP_TEST_DATABASE_URL")
    if not server:
        yield f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
        return
    url, drop = _fresh_postgres_database(server)
    yield url
    drop()


def test_the_migration_seals_the_personal_data_already_there(fresh_database_url, tmp_path):
    """docs/operations.md: ``idp db upgrade`` with the key file converts an existing database."""
    upgrade_database(fresh_database_url, "0016_login_session_device")
    engine = create_engine(normalise_database_url(fresh_database_url))
    now = datetime(2026, 12, 1, tzinfo=UTC)
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO person (id, sub, doc_type, doc_number, doc_country, name, phone, password_hash,"
            " password_is_initial, realname_level, status, created_at) VALUES (1, 'sub-1', 'ID_CARD', :doc, 'CHN',"
            " :name, :phone, 'x', false, 4, 'active', :now)"),
            {"doc": DOC_NUMBER, "name": NAME, "phone": PHONE, "now": now})
        connection.execute(text(
            "INSERT INTO realname_record (doc_type, doc_number, name, phone, realname_level, created_at, expires_at)"
            " VALUES ('ID_CARD', :doc, :name, :phone, 4, :now, :now)"),
            {"doc": HALL_DOC, "name": HALL_NAME, "phone": HALL_PHONE, "now": now})
        connection.execute(text(
            "INSERT INTO sms_code (phone, purpose, code_hmac, sent_at, local_day, expires_at, tries)"
            " VALUES (:phone, 'login', 'h', :now, :day, :now, 0)"), {"phone": PHONE, "now": now, "day": now.date()})
    engine.dispose()
    keys = tmp_path / "pii-keys.json"
    keys.write_text(json.dumps(generate_key_file("international")))
    migrated = create_app(make_settings(fresh_database_url, tmp_path, PII_KEYS_FILE=str(keys)))
    upgrade_database(fresh_database_url, personal_data=migrated.extensions["idp.personal_data"])

    assert_unreadable(dump(fresh_database_url), DOC_NUMBER, NAME, PHONE, HALL_DOC, HALL_NAME, HALL_PHONE)
    with migrated.app_context():
        person = db.session.execute(select(Person).where(Person.doc_number == DOC_NUMBER)).scalar_one()
        assert (person.sub, person.name, person.phone) == ("sub-1", NAME, PHONE)
        record = db.session.execute(select(RealnameRecord).where(RealnameRecord.doc_number == HALL_DOC)).scalar_one()
        assert (record.name, record.phone) == (HALL_NAME, HALL_PHONE)
        assert db.session.execute(select(SmsCode.id).where(SmsCode.phone == PHONE)).scalar_one()
    dispose_engines(migrated)  # before the database is dropped


def test_a_phone_changed_while_the_key_rotates_is_kept(app, person, instance_dir, tmp_path, database_url, monkeypatch):
    """Rotation replaces a value only if it is still the one it read: a person changing their phone
    on another node meanwhile keeps the new phone (sealed under the current key by that node)."""
    keys = tmp_path / "pii-keys.json"
    content = json.loads((instance_dir / INSTANCE_KEYS_FILE).read_text())
    add_data_key(content, make_current=True)
    write_key_file(keys, content)
    rotated = create_app(make_settings(database_url, instance_dir, PII_KEYS_FILE=str(keys)))
    opened = PersonalDataCipher.open

    def open_while_the_person_changes_phone(self, token, associated):
        if associated.startswith("person.phone"):
            monkeypatch.setattr(PersonalDataCipher, "open", opened)
            change = text("UPDATE person SET phone_sealed = :sealed, phone_index = :index WHERE id = :id")
            with db.engine.begin() as other_node:
                other_node.execute(change, {"sealed": self.seal(NEW_PHONE, associated),
                                            "index": self.blind_index(NEW_PHONE), "id": person["id"]})
        return opened(self, token, associated)

    with rotated.app_context():
        monkeypatch.setattr(PersonalDataCipher, "open", open_while_the_person_changes_phone)
        result = reseal_under_current_key(current_personal_data_cipher())
        assert result.resealed["person"] == 0 and result.remaining["person"] == 1  # its document and name wait
        assert db.session.execute(select(Person).where(Person.phone == NEW_PHONE)).scalar_one().id == person["id"]
        result = reseal_under_current_key(current_personal_data_cipher())  # the next run moves the rest
        assert result.resealed["person"] == 1 and result.remaining["person"] == 0
        zhangsan = db.session.get(Person, person["id"])
        assert (zhangsan.phone, zhangsan.doc_number) == (NEW_PHONE, DOC_NUMBER)
    dispose_engines(rotated)
