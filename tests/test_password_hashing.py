"""Passwords: argon2id at OWASP's parameters, rehashed on login when the parameters change
(docs/architecture.md §10)."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerifyMismatchError
from sqlalchemy import delete, select

from idp.app import create_app
from idp.core.database import db
from idp.core.settings import Settings
from idp.factors.password import HASH_PROFILES
from idp.models import Person, SmsCode
from idp.people.accounts import create_person

from conftest import PASSWORD, login_through_pages, make_settings, submit_password

#: Parameters no profile uses, as left behind by an earlier configuration or a legacy import.
LEGACY = PasswordHasher(time_cost=1, memory_cost=16, parallelism=2)


def stored_hash(app, person_id: int) -> str:
    with app.app_context():
        return db.session.execute(select(Person.password_hash).where(Person.id == person_id)).scalar_one()


def store_hash(app, person_id: int, password_hash: str) -> None:
    with app.app_context():
        db.session.get(Person, person_id).password_hash = password_hash
        db.session.commit()


def test_service_default_is_the_owasp_profile():
    assert Settings().PASSWORD_HASH_PROFILE == "owasp"


def test_owasp_profile_is_argon2id_m19456_t2_p1():
    """OWASP Password Storage Cheat Sheet: argon2id, 19 MiB, 2 iterations, parallelism 1."""
    assert HASH_PROFILES["owasp"].hash(PASSWORD).startswith("$argon2id$v=19$m=19456,t=2,p=1$")


def test_accounts_get_owasp_argon2id_hashes_in_service(app, database_url, instance_dir):
    service = create_app(make_settings(database_url, instance_dir, PASSWORD_HASH_PROFILE="owasp"))
    with service.app_context():
        person = create_person(doc_type="ID_CARD", doc_number="11010519491231002X", name="张三",
                               phone="13812345678", password=PASSWORD)
        db.session.commit()
        assert person.password_hash.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
        assert PASSWORD not in person.password_hash


def test_stored_hash_is_argon2id_and_verifies(app, person):
    password_hash = stored_hash(app, person["id"])
    assert password_hash.startswith("$argon2id$")
    assert HASH_PROFILES["test"].verify(password_hash, PASSWORD)


def test_hash_with_other_parameters_is_rehashed_on_successful_login(app, client, person):
    legacy_hash = LEGACY.hash(PASSWORD)
    store_hash(app, person["id"], legacy_hash)
    login_through_pages(app, client, "/login")
    upgraded = stored_hash(app, person["id"])
    assert upgraded != legacy_hash
    assert upgraded.startswith("$argon2id$v=19$m=8,t=1,p=1$")  # the "test" profile of this app
    assert HASH_PROFILES["test"].verify(upgraded, PASSWORD)
    assert not HASH_PROFILES["test"].check_needs_rehash(upgraded)


def test_rehashed_password_still_logs_in(app, person):
    store_hash(app, person["id"], LEGACY.hash(PASSWORD))
    login_through_pages(app, app.test_client(), "/login")
    with app.app_context():
        db.session.execute(delete(SmsCode))  # the resend cooldown has passed
        db.session.commit()
    response = login_through_pages(app, app.test_client(), "/login")
    assert response.headers["Location"] == "/"


def test_wrong_password_leaves_an_old_hash_alone(app, client, person):
    legacy_hash = LEGACY.hash(PASSWORD)
    store_hash(app, person["id"], legacy_hash)
    submit_password(client, password="Wrong#2026")
    assert stored_hash(app, person["id"]) == legacy_hash


def test_hashes_are_standard_argon2id_strings_both_ways():
    """The stored strings do not depend on libsodium: argon2-cffi's own implementation verifies
    what the profiles write, and the profiles verify what argon2-cffi wrote (argon2i too)."""
    reference = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
    owasp = HASH_PROFILES["owasp"]
    assert reference.verify(owasp.hash(PASSWORD), PASSWORD)
    assert owasp.verify(reference.hash(PASSWORD), PASSWORD)
    assert not owasp.check_needs_rehash(reference.hash(PASSWORD))
    argon2i = PasswordHasher(time_cost=1, memory_cost=16, parallelism=2, type=Type.I).hash(PASSWORD)
    assert HASH_PROFILES["test"].verify(argon2i, PASSWORD)
    assert HASH_PROFILES["test"].check_needs_rehash(argon2i)


def test_wrong_passwords_and_unreadable_hashes_are_refusals():
    test = HASH_PROFILES["test"]
    with pytest.raises(VerifyMismatchError):
        test.verify(test.hash(PASSWORD), "Wrong#2026")
    with pytest.raises(VerifyMismatchError):
        test.verify("$argon2id$v=19$m=8,t=1,p=1$not-base64", PASSWORD)
    with pytest.raises(InvalidHashError):
        test.verify("$argon2id$" + "A" * 200, PASSWORD)
