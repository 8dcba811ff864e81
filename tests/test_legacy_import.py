"""``idp legacy import FILE.csv``: the old enterprise logins of the dual-track transition
(docs/domain.md §1.2 "the old login stays usable for a transition period"; format in docs/legacy-login.md)."""

from __future__ import annotations

import hashlib
import json

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from idp.cli.main import main
from idp.core.database import db
from idp.models import AuditEvent, LegacyEnterpriseAccount, TaxpayerEntity

from conftest import make_settings

HEADER = "taxpayer_number,name,tax_authority_code,tax_authority_name,kind,legacy_password_hash\n"
#: Valid USCCs (docs/domain.md §2.2 vectors).
TRADER, CLIENT, SHENZHEN = "91110000600037341L", "91350100M000100Y43", "9144030071526726XG"
AUTHORITY = "13702030000,国家税务总局青岛市市南区税务局"
SALT = bytes.fromhex("0011223344556677")
OLD_PASSWORD = "Qiye#Old1"


def legacy_sha256(password: str = OLD_PASSWORD) -> str:
    """The old system's format: sha256$<salt hex>$<hex SHA-256(salt bytes + UTF-8 password)>."""
    return f"sha256${SALT.hex()}${hashlib.sha256(SALT + password.encode()).hexdigest()}"


@pytest.fixture
def run_import(app, database_url, instance_dir, tmp_path, monkeypatch):
    """Write CSV text to a file and run ``idp legacy import`` on it, as an operator would."""
    for key, value in make_settings(database_url, instance_dir).items():
        monkeypatch.setenv(f"IDP_{key}", str(value))
    runner = CliRunner()

    def run(text: str, *options: str, code: int = 0):
        path = tmp_path / "legacy.csv"
        path.write_text(text, encoding="utf-8")
        result = runner.invoke(main, ["legacy", "import", str(path), *options], catch_exceptions=False)
        assert result.exit_code == code, result.output
        return result.output

    return run


def accounts(app) -> dict[str, LegacyEnterpriseAccount]:
    with app.app_context():
        rows = db.session.execute(
            select(TaxpayerEntity.taxpayer_number, LegacyEnterpriseAccount)
            .join(LegacyEnterpriseAccount, LegacyEnterpriseAccount.entity_id == TaxpayerEntity.id)).all()
        db.session.expunge_all()
        return {number: account for number, account in rows}


def entities(app) -> dict[str, TaxpayerEntity]:
    with app.app_context():
        rows = db.session.execute(select(TaxpayerEntity)).scalars().all()
        db.session.expunge_all()
        return {e.taxpayer_number: e for e in rows}


def import_events(app) -> list[AuditEvent]:
    with app.app_context():
        rows = db.session.execute(select(AuditEvent).where(AuditEvent.event == "legacy_account.imported")
                                  .order_by(AuditEvent.id)).scalars().all()
        db.session.expunge_all()
        return rows


def test_rows_create_the_taxpayer_and_its_old_login_with_the_legacy_hash(app, run_import):
    """docs/domain.md §1.2: each enterprise of the old system keeps its old login for the transition; the
    taxpayer is created when missing, normalised, with its competent tax authority."""
    output = run_import(HEADER + f"{TRADER.lower()},青岛远洋贸易有限公司,{AUTHORITY},,{legacy_sha256()}\n"
                        + f"{CLIENT},青岛小微科技有限公司,{AUTHORITY},individual_business,{legacy_sha256('x')}\n")
    assert output.strip() == "imported 2, skipped 0, failed 0"
    created = entities(app)
    assert created[TRADER].name == "青岛远洋贸易有限公司" and created[TRADER].kind == "enterprise"
    assert created[TRADER].tax_authority_code == "13702030000"
    assert created[CLIENT].kind == "individual_business"
    old = accounts(app)
    assert old[TRADER].password_hash == legacy_sha256() and old[TRADER].status == "active"
    assert old[TRADER].sub != old[CLIENT].sub and TRADER not in old[TRADER].sub


def test_an_existing_taxpayer_is_used_as_it_is(app, run_import):
    """docs/domain.md §1.2: the old login attaches to the taxpayer already registered here."""
    run_import(HEADER + f"{TRADER},原名称,{AUTHORITY},,\n")
    output = run_import(HEADER + f"{TRADER},新名称,13702000000,国家税务总局青岛市税务局,,{legacy_sha256()}\n")
    assert output.strip() == "imported 1, skipped 0, failed 0"
    assert entities(app)[TRADER].name == "原名称", "the taxpayer registry is `idp entities import`'s to change"
    assert TRADER in accounts(app)


def test_importing_again_skips_and_never_overwrites_an_old_login(app, run_import):
    """Idempotence: the same file (or an overlapping export) changes nothing the second time."""
    text = HEADER + f"{TRADER},青岛远洋贸易有限公司,{AUTHORITY},,{legacy_sha256()}\n"
    run_import(text)
    before = accounts(app)[TRADER]
    output = run_import(text.replace(legacy_sha256(), legacy_sha256("another")))
    assert output.splitlines() == [
        "line 2: skipped: already present (its old login or taxpayer is kept as it is) [9111**********341L]",
        "imported 0, skipped 1, failed 0"]
    after = accounts(app)[TRADER]
    assert (after.sub, after.password_hash) == (before.sub, before.password_hash)
    assert len(entities(app)) == 1


def test_a_taxpayer_without_a_hash_gets_no_old_login(app, run_import):
    """No exported password, no old login: a guessable default would be a one-factor backdoor."""
    assert run_import(HEADER + f"{TRADER},青岛远洋贸易有限公司,{AUTHORITY},,\n").strip().endswith("imported 1, "
                                                                                         "skipped 0, failed 0")
    assert TRADER in entities(app) and accounts(app) == {}
    assert import_events(app)[0].detail["password_source"] == "none"


def test_each_bad_row_is_reported_with_its_line_number_and_the_good_rows_still_import(app, run_import):
    """docs/domain.md §1.2 (import for the transition): per-row errors name the CSV line; other rows import."""
    output = run_import(
        HEADER
        + f"{TRADER},青岛远洋贸易有限公司,{AUTHORITY},,{legacy_sha256()}\n"   # 2 imported
        + f"91110000600037341N,校验位错,{AUTHORITY},,{legacy_sha256()}\n"    # 3 check character
        + "\n"                                                             # 4 blank lines still count
        + f"{CLIENT},,{AUTHORITY},,{legacy_sha256()}\n"                      # 5 no name
        + f"{CLIENT},名称,,,,{legacy_sha256()}\n"                              # 6 no tax authority
        + f"{CLIENT},名称,{AUTHORITY},company,{legacy_sha256()}\n"           # 7 unknown kind
        + f"{CLIENT},名称,{AUTHORITY},,md5$abc$def\n"                         # 8 unsupported hash
        + f"{SHENZHEN},青岛信达税务师事务所,{AUTHORITY},agency,{legacy_sha256()}\n",  # 9 imported
        code=1,
    )
    lines = output.splitlines()
    assert any(line.startswith("line 3: error: invalid taxpayer_number:") and "check character" in line
               and line.endswith("[9111**********341N]") for line in lines), lines
    assert "line 5: error: name is empty or too long [9135**********0Y43]" in lines
    assert "line 6: error: tax_authority_code or tax_authority_name is empty or too long [9135**********0Y43]" in lines
    assert any(line.startswith("line 7: error: unknown kind") for line in lines)
    assert "line 8: error: legacy_password_hash is not in a supported format [9135**********0Y43]" in lines
    assert lines[-1] == "imported 2, skipped 0, failed 5"
    assert sorted(accounts(app)) == sorted([TRADER, SHENZHEN])
    assert CLIENT not in entities(app), "a failed row leaves no half of itself (no taxpayer either)"


def test_errors_can_be_reported_in_chinese(app, run_import):
    """docs/domain.md §1.2 (import for the transition): row errors in zh-CN for the service hall."""
    output = run_import(HEADER + f"{CLIENT},,{AUTHORITY},,{legacy_sha256()}\n", "--lang", "zh-CN", code=1)
    assert "line 2: error: 纳税人名称为空或过长 [9135**********0Y43]" in output


def test_an_unknown_column_refuses_the_whole_file(app, run_import):
    """docs/domain.md §9: a misspelt hash column must not silently import taxpayers without their old login."""
    output = run_import(HEADER.replace("legacy_password_hash", "legacy_pasword_hash")
                        + f"{TRADER},青岛远洋贸易有限公司,{AUTHORITY},,{legacy_sha256()}\n", code=2)
    assert "unknown ['legacy_pasword_hash']" in output
    assert entities(app) == {}


def test_every_row_is_audited_with_masked_taxpayer_numbers_and_no_hash(app, run_import):
    """docs/architecture.md §10: audit of every import row, masked identifiers, no secrets."""
    run_import(HEADER + f"{TRADER},青岛远洋贸易有限公司,{AUTHORITY},,{legacy_sha256()}\n"
               + f"{CLIENT},,{AUTHORITY},,{legacy_sha256()}\n"
               + f"{TRADER},青岛远洋贸易有限公司,{AUTHORITY},,{legacy_sha256()}\n", code=1)
    events = import_events(app)
    assert [(e.outcome, e.detail["line"]) for e in events] == [("success", 2), ("failure", 3), ("skipped", 4)]
    assert events[0].detail["taxpayer_number"] == "9111**********341L"
    assert events[0].detail["password_source"] == "legacy_hash" and events[0].detail["entity_created"] is True
    assert events[0].subject == accounts(app)[TRADER].sub
    assert events[1].detail["reason"] == "name"
    logged = json.dumps([e.detail for e in events])
    assert TRADER not in logged and CLIENT not in logged and SALT.hex() not in logged
