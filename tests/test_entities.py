"""Managing taxpayers and roles: idp entities import, idp roles add|remove (docs/domain.md §2.2-§2.4)."""

from __future__ import annotations

import io

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from idp.cli.main import main
from idp.core.database import db
from idp.models import AgencyAgreement, AuditEvent, CrossRegionRegistration, EntityRole, TaxpayerEntity

from conftest import make_settings
from entity_fixtures import BUILDER, ENTITIES_CSV


@pytest.fixture
def cli(app, database_url, instance_dir, tmp_path, monkeypatch):
    for key, value in make_settings(database_url, instance_dir).items():
        monkeypatch.setenv(f"IDP_{key}", str(value))
    runner = CliRunner()

    def run(*args: str):
        return runner.invoke(main, list(args), catch_exceptions=False)

    return run


def counts(app) -> tuple[int, int, int]:
    with app.app_context():
        return tuple(db.session.execute(select(func.count()).select_from(model)).scalar()
                     for model in (TaxpayerEntity, CrossRegionRegistration, AgencyAgreement))


def test_import_loads_entities_registrations_and_agreements_idempotently(app, cli, tmp_path):
    path = tmp_path / "entities.csv"
    path.write_text(ENTITIES_CSV, encoding="utf-8")
    first = cli("entities", "import", str(path))
    assert first.exit_code == 0 and "applied 7, unchanged 0, errors 0" in first.output
    assert counts(app) == (4, 2, 1)
    again = cli("entities", "import", str(path))
    assert "applied 0, unchanged 7" in again.output
    assert counts(app) == (4, 2, 1)


def test_bad_rows_are_reported_by_line_and_leave_nothing_behind(app, cli, tmp_path):
    path = tmp_path / "entities.csv"
    path.write_text(ENTITIES_CSV.splitlines()[0] + "\n"
                    + "entity,91110000600037341N,坏公司,enterprise,1,局,,active\n"
                    + "entity,91110000600037341L,好公司,enterprise,1,局,,active\n"
                    + "cross_region,91110000600037341L,,其他,2,局,,active\n"
                    + "agency_agreement,91110000600037341L,,,,,91350100M000100Y43,active\n"
                    + "party,91110000600037341L,,,,,,\n", encoding="utf-8")
    result = cli("entities", "import", str(path))
    assert result.exit_code == 1
    for line in (2, 4, 5, 6):
        assert f"line {line}:" in result.output
    assert "check" in result.output.split("line 2:")[1].splitlines()[0]
    assert counts(app) == (1, 0, 0)
    with app.app_context():
        failures = db.session.execute(select(AuditEvent).where(AuditEvent.event == "entities.import_row",
                                                               AuditEvent.outcome == "failure")).all()
        assert len(failures) == 3
        # The command answered with status 1: audited as failed, its good rows kept all the same.
        [command] = db.session.execute(select(AuditEvent).where(AuditEvent.event == "admin.command")).scalars()
        assert (command.outcome, command.detail["command"]) == ("failure", "entities import")


def test_a_role_is_pending_until_confirmed_and_removal_is_audited(app, cli, person, tmp_path):
    path = tmp_path / "entities.csv"
    path.write_text(ENTITIES_CSV, encoding="utf-8")
    cli("entities", "import", str(path))
    added = cli("roles", "add", "--person", "zhangsan", "--taxpayer-number", BUILDER, "--role", "tax_officer")
    assert "pending" in added.output
    assert "pending" in cli("roles", "add", "--person", "zhangsan", "--taxpayer-number", BUILDER,
                            "--role", "tax_officer").output
    removed = cli("roles", "remove", "--person", "zhangsan", "--taxpayer-number", BUILDER, "--role", "tax_officer")
    assert "removed" in removed.output
    with app.app_context():
        assert db.session.execute(select(EntityRole.status)).scalar() == "removed"
        events = [e.event for e in db.session.execute(select(AuditEvent)).scalars()]
        assert "roles.added" in events and "roles.removed" in events


def test_roles_need_a_registered_person_and_a_known_entity(app, cli, person, tmp_path):
    unknown_person = cli("roles", "add", "--person", "13900000000", "--taxpayer-number", BUILDER, "--role",
                         "tax_officer")
    assert unknown_person.exit_code == 2 and "register as a natural person first" in unknown_person.output
    unknown_entity = cli("roles", "add", "--person", "zhangsan", "--taxpayer-number", BUILDER, "--role",
                         "tax_officer")
    assert unknown_entity.exit_code == 2 and "import it first" in unknown_entity.output


def test_agent_staff_is_a_role_on_agencies_only(app, cli, person, tmp_path):
    path = tmp_path / "entities.csv"
    path.write_text(ENTITIES_CSV, encoding="utf-8")
    cli("entities", "import", str(path))
    refused = cli("roles", "add", "--person", "zhangsan", "--taxpayer-number", BUILDER, "--role", "agent_staff")
    assert refused.exit_code == 2 and "agency" in refused.output


def test_import_needs_the_documented_columns(app):
    from idp.taxpayers.entities import EntityError, import_entities

    with app.app_context(), pytest.raises(EntityError, match="columns"):
        import_entities(io.StringIO("a,b\n1,2\n"))
