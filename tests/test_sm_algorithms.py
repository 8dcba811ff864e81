"""The SM suite (``IDP_CRYPTO_SUITE=sm``; docs/privacy.md, "Encrypted at rest"): SM3 and SM4 as
the standards define them, SM4-GCM sealing the personal data, HMAC-SM3 indexing it and SM3
chaining the audit log."""

from __future__ import annotations

import base64
import json

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from sqlalchemy import select

from idp.app import create_app
from idp.audit.chain import canonical, link_all, verify_chain
from idp.audit.checkpoints import GENESIS
from idp.audit.log import record_event
from idp.core.crypto_suites import SUITES
from idp.core.database import db
from idp.core.personal_data_cipher import generate_key_file
from idp.models import AuditEvent, Person
from idp.people.accounts import create_person

from conftest import DOC_NUMBER, PASSWORD, PHONE, dispose_engines, make_settings

SM3 = SUITES["sm"]


def test_sm3_hashes_the_gb_t_32905_examples():
    """GB/T 32905-2016 appendix A: "abc", and "abcd" sixteen times (one 512-bit block of input)."""
    assert SM3.digest(b"abc") == "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
    assert SM3.digest(b"abcd" * 16) == "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732"


def test_sm4_encrypts_the_gb_t_32907_example():
    """GB/T 32907-2016 appendix A.1: key = plaintext = 0123456789abcdeffedcba9876543210."""
    key = bytes.fromhex("0123456789abcdeffedcba9876543210")
    encryptor = Cipher(algorithms.SM4(key), modes.ECB()).encryptor()
    assert (encryptor.update(key) + encryptor.finalize()).hex() == "681edf34d206965e86b3e94f536e4246"


def test_sm4_gcm_seals_the_rfc_8998_example():
    """RFC 8998 appendix A.1 (SM4-GCM as TLS 1.3 uses it): the mode the personal data is sealed with."""
    key = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")
    nonce = bytes.fromhex("00001234567800000000ABCD")
    associated = bytes.fromhex("FEEDFACEDEADBEEFFEEDFACEDEADBEEFABADDAD2")
    plaintext = bytes.fromhex("AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBBCCCCCCCCCCCCCCCCDDDDDDDDDDDDDDDD"
                              "EEEEEEEEEEEEEEEEFFFFFFFFFFFFFFFFEEEEEEEEEEEEEEEEAAAAAAAAAAAAAAAA")
    sealed = SM3.seal(key, nonce, plaintext, associated)
    assert sealed.hex().upper() == (
        "17F399F08C67D5EE19D0DC9969C4BB7D5FD46FD3756489069157B282BB200735"
        "D82710CA5C22F0CCFA7CBF93D496AC15A56834CBCF98C397B4024A2691233B8D"
        "83DE3541E4C2B58177E065A9BF7B62EC")
    assert SM3.open(key, nonce, sealed, associated) == plaintext


@pytest.fixture
def sm_app(database_url, instance_dir, tmp_path):
    keys = tmp_path / "pii-keys.json"
    keys.write_text(json.dumps(generate_key_file("sm")))
    sm = create_app(make_settings(database_url, instance_dir, CRYPTO_SUITE="sm", PII_KEYS_FILE=str(keys)))
    yield sm, keys
    dispose_engines(sm)


def test_the_sm_suite_seals_with_sm4_gcm_and_finds_people_by_hmac_sm3(app, sm_app):
    sm, keys = sm_app
    with sm.app_context():
        created = create_person(doc_type="ID_CARD", doc_number=DOC_NUMBER, name="张三", phone=PHONE,
                                password=PASSWORD, username="zhangsan")
        db.session.commit()
        person = db.session.execute(select(Person).where(Person.phone == PHONE)).scalar_one()
        assert person.id == created.id and person.doc_number == DOC_NUMBER
        sealed = person.phone_sealed
    # Opened here with SM4-GCM and the file's key, independently of the provider's code.
    content = json.loads(keys.read_text())
    key_id, _, body = sealed.partition("$")
    raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    key = base64.urlsafe_b64decode(content["data_keys"][key_id] + "==")
    decryptor = Cipher(algorithms.SM4(key), modes.GCM(raw[:12], raw[-16:])).decryptor()
    decryptor.authenticate_additional_data(f"person.phone\x00{created.sub}".encode())
    assert (decryptor.update(raw[12:-16]) + decryptor.finalize()).decode() == PHONE
    with sm.app_context():
        assert db.session.execute(select(Person).where(Person.doc_number == DOC_NUMBER.lower())).scalar_one()


def test_the_audit_chain_goes_on_with_sm3_and_still_verifies(app, sm_app, cli):
    """A deployment that turns the SM suite on keeps its SHA-256 records; the new ones carry SM3,
    and ``idp audit verify`` checks both, and finds an altered SM3 record."""
    sm, _ = sm_app
    # Each linked by its own deployment's chainer, which writes that deployment's digests.
    with app.test_request_context():
        record_event("test.before", detail="sha-256")
        db.session.commit()
        link_all(db.session())
    with sm.test_request_context():
        record_event("test.after", detail="sm3")
        db.session.commit()
        link_all(db.session())
    with app.app_context():
        rows = db.session.execute(select(AuditEvent).order_by(AuditEvent.seq)).scalars().all()
        by_event = {row.event: row.digest for row in rows}
        assert len(by_event["test.before"]) == 64 and by_event["test.after"].startswith("sm3:")
        assert by_event["test.after"][4:] == SM3.digest(rows[-2].digest.encode() + b"\n" + canonical(rows[-1]))
        assert verify_chain(db.session, 0, GENESIS)[2] is None
    assert "audit chain intact" in cli("audit", "verify")
    with sm.app_context():
        altered = db.session.execute(select(AuditEvent).where(AuditEvent.event == "test.after")).scalar_one()
        altered.outcome = "failure"
        db.session.commit()
        broken = verify_chain(db.session, 0, GENESIS)[2]
        assert broken is not None and broken.seq == altered.seq
