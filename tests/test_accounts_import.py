"""Migrated accounts: ``idp users import FILE.csv`` and legacy password hashes (docs/accounts-import.md,
docs/domain.md §1.5 and §1.8; the format is docs/accounts-import.md)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from idp.cli.main import main
from idp.core.database import db
from idp.factors.legacy_hashes import verify_legacy_hash
from idp.models import AuditEvent, MethodLockout, Person

from conftest import csrf_from, last_sms_code, make_settings, submit_password

HEADER = "name,doc_type,doc_number,country,phone,realname_level,legacy_password_hash\n"
#: Valid resident ID cards (GB 11643 check digits) of three Qingdao people.
LI_SI, WANG_WU, ZHAO_LIU = "370202198001011232", "370211199006152019", "370283197511080047"
#: sha256$<salt hex>$<hex of SHA-256(salt bytes + UTF-8 password)> for "Legacy#Pass1" (docs/accounts-import.md).
LEGACY_SHA256 = "sha256$9c1f4e2a7b3d5e60$6e8104a8ab4ccadfa39ca9d979379309edfe10c2e1fea2832bacc3bcbca44bea"
#: The same salt and format for "152019", Wang Wu's initial password (never changed in the old system).
LEGACY_SHA256_OF_INITIAL = "sha256$9c1f4e2a7b3d5e60$b77a526b833f8b661d3b51447efda341938fe4f9bc585b2acb102d9bd760ccbe"
#: Django's own PBKDF2 test vector (django/tests/auth_tests/test_hashers.py): "lètmein", salt "seasalt".
DJANGO_PBKDF2 = "pbkdf2_sha256$1000000$seasalt$r1uLUxoxpP2Ued/qxvmje7UH9PUJBkRrvf9gGPL7Cps="


@pytest.fixture
def run_import(app, database_url, instance_dir, tmp_path, monkeypatch):
    """Write CSV text to a file and run ``idp users import`` on it, as an operator would."""
    for key, value in make_settings(database_url, instance_dir).items():
        monkeypatch.setenv(f"IDP_{key}", str(value))
    runner = CliRunner()

    def run(text: str | bytes, *options: str, code: int = 0, encoding: str = "utf-8"):
        path = tmp_path / "accounts.csv"
        path.write_bytes(text if isinstance(text, bytes) else text.encode(encoding))
        result = runner.invoke(main, ["users", "import", str(path), *options], catch_exceptions=False)
        assert result.exit_code == code, result.output
        return result.output

    return run


def people(app) -> dict[str, Person]:
    with app.app_context():
        rows = db.session.execute(select(Person)).scalars().all()
        db.session.expunge_all()
        return {p.doc_number: p for p in rows}


def import_events(app) -> list[AuditEvent]:
    with app.app_context():
        rows = db.session.execute(
            select(AuditEvent).where(AuditEvent.event == "account.imported").order_by(AuditEvent.id)
        ).scalars().all()
        db.session.expunge_all()
        return rows


def log_in(app, client, identifier: str, password: str, phone: str):
    """Password then SMS code; returns the response to the code."""
    response = submit_password(client, identifier, password)
    assert response.status_code == 302, response.get_data(as_text=True)
    token = csrf_from(client.get("/login").get_data(as_text=True))
    return client.post("/login/sms", data={"csrf_token": token, "code": last_sms_code(app, phone)})


def test_rows_are_imported_normalised_at_their_level_with_the_initial_password(app, run_import):
    """docs/domain.md §1.5 and §1.8: migrated people keep their real-name level (3 or 4); without a legacy hash
    their password is the initial one, flagged so the first login forces a change."""
    output = run_import(HEADER
                        + f"李四,ID_CARD,{LI_SI},,13900000001,3,\n"
                        + "王五,id_card,370211199006152019,,+86 139-0000-0002,4,\n"
                        + "John Smith,FOREIGN_PASSPORT,l898902c3,usa,13900000003,4,\n")
    assert output.strip() == "imported 3, skipped 0, failed 0"
    imported = people(app)
    assert imported[LI_SI].realname_level == 3 and imported[LI_SI].name == "李四"
    assert imported[WANG_WU].phone == "13900000002" and imported[WANG_WU].realname_level == 4
    smith = imported["L898902C3"]
    assert smith.doc_type == "FOREIGN_PASSPORT" and smith.doc_country == "USA"
    assert all(p.password_is_initial and p.password_hash.startswith("$argon2id$") for p in imported.values())


def test_importing_the_same_file_again_skips_every_row_and_duplicates_nothing(app, run_import):
    """Import is idempotent; an account that exists is never overwritten."""
    text = HEADER + f"李四,ID_CARD,{LI_SI},,13900000001,3,\n王五,ID_CARD,{WANG_WU},,13900000002,4,\n"
    run_import(text)
    before = people(app)
    output = run_import(text.replace("13900000002,4", "13900000009,3"))
    assert "line 2: skipped: an account for this document already exists [3702**********1232]" in output
    assert "line 3: skipped" in output
    assert output.strip().endswith("imported 0, skipped 2, failed 0")
    after = people(app)
    assert sorted(after) == sorted(before)
    assert (after[WANG_WU].phone, after[WANG_WU].realname_level) == ("13900000002", 4)
    assert after[WANG_WU].sub == before[WANG_WU].sub


def test_each_bad_row_is_reported_with_its_line_number_and_the_good_rows_still_import(app, run_import, person):
    """Per-row errors name the CSV line; the exit status says something failed."""
    output = run_import(
        HEADER
        + f"李四,ID_CARD,{LI_SI},,13900000001,3,\n"             # 2 imported
        + "错号,ID_CARD,110101199003074515,,13900000004,4,\n"   # 3 wrong check digit
        + "\n"                                                 # 4 blank lines still count
        + f"坏号,ID_CARD,{WANG_WU},,12345,4,\n"                  # 5 not a mobile number
        + f"占号,ID_CARD,{WANG_WU},,{person['phone']},4,\n"       # 6 phone of another person
        + f"五级,ID_CARD,{WANG_WU},,13900000005,5,\n"             # 7 level 5 is not importable
        + f"类型,ID,{WANG_WU},,13900000006,4,\n"                 # 8 unknown document type
        + f"哈希,ID_CARD,{WANG_WU},,13900000007,4,md5$abc$def\n"  # 9 unsupported legacy hash
        + f",ID_CARD,{WANG_WU},,13900000008,4,\n"                # 10 no name
        + f"赵六,ID_CARD,{ZHAO_LIU},,13900000010,4,\n"             # 11 imported
        + f"李四,ID_CARD,{LI_SI},,13900000001,3,\n"             # 12 same document again
        + f"重号,ID_CARD,{WANG_WU},,13900000001,4,\n",           # 13 phone taken by line 2
        code=1,
    )
    lines = output.splitlines()
    assert any(line.startswith("line 3: error: invalid document:") and "check digit" in line
               and line.endswith("[1101**********4515]") for line in lines)
    assert "line 5: error: invalid phone (an 11-digit mainland mobile) [3702**********2019]" in lines
    assert "line 6: error: phone already belongs to another account [3702**********2019]" in lines
    assert "line 7: error: realname_level must be 3 or 4 [3702**********2019]" in lines
    assert any(line.startswith("line 8: error: unknown doc_type") for line in lines)
    assert "line 9: error: legacy_password_hash is not in a supported format [3702**********2019]" in lines
    assert "line 10: error: name is empty or too long [3702**********2019]" in lines
    assert "line 12: skipped: an account for this document already exists [3702**********1232]" in lines
    assert "line 13: error: phone already belongs to another account [3702**********2019]" in lines
    assert lines[-1] == "imported 2, skipped 1, failed 8"
    assert sorted(people(app)) == sorted([person["doc_number"], LI_SI, ZHAO_LIU])


def test_errors_can_be_reported_in_chinese(app, run_import):
    output = run_import(HEADER + "错号,ID_CARD,110101199003074515,,13900000004,4,\n", "--lang", "zh-CN", code=1)
    assert "line 2: error: 证件号码无效：居民身份证号码校验位不符" in output


def test_a_row_that_fails_midway_leaves_nothing_and_a_rerun_finishes_the_file(app, run_import, monkeypatch):
    """A row is never half-imported; an import stopped by an unexpected error is
    completed by running it again."""
    import idp.people.accounts_import as accounts_import

    text = (HEADER + f"李四,ID_CARD,{LI_SI},,13900000001,3,\n王五,ID_CARD,{WANG_WU},,13900000002,4,\n"
            f"赵六,ID_CARD,{ZHAO_LIU},,13900000003,4,\n")
    real_record_event = accounts_import.record_event

    def audit_store_fails_on_line_3(event, outcome="success", **detail):
        if detail.get("line") == 3:
            raise RuntimeError("audit store unavailable")
        real_record_event(event, outcome, **detail)

    monkeypatch.setattr(accounts_import, "record_event", audit_store_fails_on_line_3)
    with pytest.raises(RuntimeError):
        run_import(text)
    assert sorted(people(app)) == [LI_SI]  # line 3's account was flushed, then rolled back with its audit row

    monkeypatch.setattr(accounts_import, "record_event", real_record_event)
    assert run_import(text).strip().endswith("imported 2, skipped 1, failed 0")
    assert sorted(people(app)) == sorted([LI_SI, WANG_WU, ZHAO_LIU])


def test_every_row_is_audited_with_masked_document_and_phone(app, run_import):
    """docs/architecture.md §10: each import row is in the audit log; no full document or phone number."""
    run_import(HEADER + f"李四,ID_CARD,{LI_SI},,13900000001,3,{LEGACY_SHA256}\n"
               + "错号,ID_CARD,110101199003074515,,13900000004,4,\n"
               + f"李四,ID_CARD,{LI_SI},,13900000001,3,\n", code=1)
    events = import_events(app)
    assert [(e.outcome, e.detail["line"]) for e in events] == [("success", 2), ("failure", 3), ("skipped", 4)]
    assert events[0].detail["doc_number"] == "3702**********1232"
    assert events[0].detail["phone"] == "139****0001"
    assert events[0].detail["password_source"] == "legacy_hash"
    assert events[1].detail["reason"] == "document"
    logged = json.dumps([e.detail for e in events])
    for secret in (LI_SI, "13900000001", "110101199003074515", LEGACY_SHA256.split("$")[2]):
        assert secret not in logged


def test_a_file_with_an_unknown_column_is_refused_whole(app, run_import):
    """A misspelt hash column would silently give everyone the initial password: refused."""
    output = run_import("name,doc_type,doc_number,phone,realname_level,legacy_hash\n"
                        f"李四,ID_CARD,{LI_SI},13900000001,3,{LEGACY_SHA256}\n", code=2)
    assert "unknown ['legacy_hash']" in output
    assert people(app) == {}


def test_a_gb18030_export_imports_with_the_encoding_option(app, run_import):
    """Spreadsheets saved by Chinese Excel are GB 18030, not UTF-8."""
    text = HEADER + f"李四,ID_CARD,{LI_SI},,13900000001,3,\n"
    assert "not utf-8-sig text" in run_import(text, code=2, encoding="gb18030")
    run_import(text, "--encoding", "gb18030", encoding="gb18030")
    assert people(app)[LI_SI].name == "李四"


def test_legacy_formats_verify_with_their_published_vectors():
    """docs/accounts-import.md: the old system's salted SHA-256, and Django's PBKDF2 (its own test vector)."""
    assert verify_legacy_hash(LEGACY_SHA256, "Legacy#Pass1")
    assert not verify_legacy_hash(LEGACY_SHA256, "Legacy#Pass2")
    assert verify_legacy_hash(DJANGO_PBKDF2, "lètmein")
    assert not verify_legacy_hash(DJANGO_PBKDF2, "letmein")
    assert not verify_legacy_hash("pbkdf2_sha256$99999999$seasalt$r1uLUxoxpP2Ued/qxvmje7UH9PUJBkRrvf9gGPL7Cps=",
                                  "lètmein")


def test_a_legacy_hash_logs_in_once_and_is_then_stored_as_argon2id(app, client, run_import):
    """docs/architecture.md §10: the old hash verifies, is replaced by argon2id on
    that login, and the person is not sent to change a password that is not the initial one."""
    run_import(HEADER + f"李四,ID_CARD,{LI_SI},,13900000001,3,{LEGACY_SHA256}\n")
    assert people(app)[LI_SI].password_is_initial is False
    response = log_in(app, client, LI_SI, "Legacy#Pass1", "13900000001")
    assert response.headers["Location"] == "/"
    stored = people(app)[LI_SI]
    assert stored.password_hash.startswith("$argon2id$") and stored.password_is_initial is False
    with app.app_context():
        upgraded = db.session.execute(
            select(AuditEvent).where(AuditEvent.event == "password.hash_upgraded")).scalar_one()
        assert upgraded.detail == {"previous": "sha256", "now": "argon2id"}


def test_a_django_pbkdf2_hash_logs_in_and_is_upgraded(app, client, run_import):
    """Accounts migrated from a Django-based system keep their password."""
    run_import(HEADER + f"李四,ID_CARD,{LI_SI},,13900000001,4,{DJANGO_PBKDF2}\n")
    assert log_in(app, client, LI_SI, "lètmein", "13900000001").headers["Location"] == "/"
    assert people(app)[LI_SI].password_hash.startswith("$argon2id$")


def test_a_wrong_password_against_a_legacy_hash_is_refused_counted_and_changes_nothing(app, client, run_import):
    """docs/domain.md §1.14: a wrong password counts towards the lockout whatever the stored hash's format."""
    run_import(HEADER + f"李四,ID_CARD,{LI_SI},,13900000001,3,{LEGACY_SHA256}\n")
    page = submit_password(client, LI_SI, "Legacy#Pass2").get_data(as_text=True)
    assert "个人账号或密码错误" in page
    assert people(app)[LI_SI].password_hash == LEGACY_SHA256
    with app.app_context():
        assert db.session.execute(select(MethodLockout.failures)).scalar_one() == 1


def test_a_legacy_hash_of_the_initial_password_still_forces_a_change(app, client, run_import):
    """docs/domain.md §1.8: whoever logs in with the initial password changes it, even when the old system
    stored it under its own hash."""
    run_import(HEADER + f"王五,ID_CARD,{WANG_WU},,13900000002,4,{LEGACY_SHA256_OF_INITIAL}\n")
    response = log_in(app, client, WANG_WU, "152019", "13900000002")
    assert response.headers["Location"] == "/password/change-required"
    assert people(app)[WANG_WU].password_hash.startswith("$argon2id$")


def test_a_row_with_a_nul_character_fails_and_the_rows_after_it_are_imported(app, run_import):
    """docs/accounts-import.md: a row error never stops the rows after it."""
    text = HEADER + f"A\x00B,ID_CARD,{WANG_WU},,13900000002,3,\n李四,ID_CARD,{LI_SI},,13900000001,3,\n"
    output = run_import(text, code=1)
    assert "line 2: error: the row contains a NUL character" in output
    assert set(people(app)) == {LI_SI}


def test_a_file_that_cannot_be_read_to_its_end_imports_nothing(app, run_import):
    """A decoding error or an oversized field late in the file refuses the whole file before
    any row is imported (the import used to stop there, the rows before it imported)."""
    good = f"李四,ID_CARD,{LI_SI},,13900000001,3,\n"
    late_gbk = (HEADER + good).encode() + f"王五,ID_CARD,{WANG_WU},,13900000002,3,\n".encode("gb18030")
    assert "not utf-8-sig text" in run_import(late_gbk, code=2)
    assert "field larger than field limit" in run_import(HEADER + good + "x" * 200_000 + ",ID_CARD,1,,1,3,\n", code=2)
    assert people(app) == {}


def test_a_repeated_column_or_an_unknown_encoding_is_refused(app, run_import):
    assert "repeated ['name']" in run_import(HEADER.strip() + ",name\n", code=2)
    assert "unknown encoding 'nosuch'" in run_import(HEADER, "--encoding", "nosuch", code=2)
