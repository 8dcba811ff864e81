"""Tamper evidence of the audit log: every record chained to the previous one by SHA-256, in an
exact order under concurrent writers; ``idp audit verify`` names the first altered, removed or
reordered record, and a signed checkpoint exposes a truncated tail."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import delete, select, update
from test_audit import audit_rows

from idp.app import create_app
from idp.audit.chain import chain_digest
from idp.audit.log import record_event
from idp.cli.main import main
from idp.core.clock import utcnow
from idp.core.database import db
from idp.core.settings import current_settings
from idp.housekeeping.retention import purge_expired
from idp.models import AuditChain, AuditEvent

from conftest import all_at_once, make_settings


def write_events(app, count: int) -> None:
    with app.test_request_context():
        for index in range(count):
            record_event("test.event", subject=f"s-{index}", n=index, note="测试")
            db.session.commit()


def verify(cli_env, *args: str):
    return CliRunner().invoke(main, ["audit", "verify", *args])


@pytest.fixture
def cli_env(cli):
    return cli  # its setup sets the environment the commands read


def tamper(app, statement) -> None:
    with app.app_context():
        db.session.execute(statement)
        db.session.commit()


def test_each_record_carries_the_digest_of_its_chain(app):
    write_events(app, 3)
    rows = audit_rows(app)
    assert [r.seq for r in rows] == [1, 2, 3]
    previous = "0" * 64
    for row in rows:
        assert row.digest == chain_digest(previous, row)
        previous = row.digest


def test_an_intact_chain_verifies(app, cli_env):
    write_events(app, 5)
    result = verify(cli_env)
    assert result.exit_code == 0, result.output
    assert "intact" in result.output


def test_an_edited_record_is_named(app, cli_env):
    write_events(app, 5)
    tamper(app, update(AuditEvent).where(AuditEvent.seq == 3).values(outcome="failure"))
    result = verify(cli_env)
    assert result.exit_code == 1
    assert "broken at record 3" in result.output and "altered" in result.output


def test_a_deleted_record_is_named(app, cli_env):
    write_events(app, 5)
    tamper(app, delete(AuditEvent).where(AuditEvent.seq == 2))
    result = verify(cli_env)
    assert result.exit_code == 1
    assert "broken at record 2" in result.output and "removed" in result.output


def test_reordered_records_are_named(app, cli_env):
    write_events(app, 5)
    with app.app_context():
        # Swap records 2 and 4 (through a free number: seq is unique).
        tamper(app, update(AuditEvent).where(AuditEvent.seq == 2).values(seq=-2))
        tamper(app, update(AuditEvent).where(AuditEvent.seq == 4).values(seq=2))
        tamper(app, update(AuditEvent).where(AuditEvent.seq == -2).values(seq=4))
    result = verify(cli_env)
    assert result.exit_code == 1
    assert "broken at record 2" in result.output


def test_a_truncated_tail_is_caught_by_a_signed_checkpoint(app, cli_env, tmp_path):
    write_events(app, 5)
    checkpoint = tmp_path / "checkpoint.json"
    cli_env("audit", "checkpoint", "--out", str(checkpoint))
    assert json.loads(checkpoint.read_text())["seq"] >= 5
    seq = json.loads(checkpoint.read_text())["seq"]
    with app.app_context():
        cut = db.session.execute(select(AuditEvent).where(AuditEvent.seq == 3)).scalar_one()
        digest = cut.digest
    # Everything after record 3 removed, and the head moved back to match: only the checkpoint knows.
    tamper(app, delete(AuditEvent).where(AuditEvent.seq > 3))
    tamper(app, update(AuditChain).values(head_seq=3, head_digest=digest))
    assert verify(cli_env).exit_code == 0
    result = verify(cli_env, "--checkpoint", str(checkpoint))
    assert result.exit_code == 1
    assert f"..{seq} of the signed checkpoint are missing" in result.output


def test_a_forged_checkpoint_is_refused(app, cli_env, tmp_path):
    write_events(app, 2)
    checkpoint = tmp_path / "checkpoint.json"
    cli_env("audit", "checkpoint", "--out", str(checkpoint))
    forged = json.loads(checkpoint.read_text())
    forged["seq"] = 1
    checkpoint.write_text(json.dumps(forged))
    result = verify(cli_env, "--checkpoint", str(checkpoint))
    assert result.exit_code == 1 and "signature does not verify" in result.output


def test_export_writes_json_lines_in_chain_order(app, cli_env):
    write_events(app, 3)
    lines = [json.loads(line) for line in cli_env("audit", "export", "--since", "1h").splitlines()]
    events = [line for line in lines if line["event"] == "test.event"]
    assert [line["detail"]["n"] for line in events] == [0, 1, 2]
    assert [line["seq"] for line in lines] == sorted(line["seq"] for line in lines)


def test_concurrent_writers_make_one_gapless_chain(app, cli_env):
    def write(index: int) -> None:
        with app.test_request_context():
            for n in range(3):
                record_event("test.event", subject=f"w-{index}", n=n)
                db.session.commit()

    all_at_once(write)
    rows = audit_rows(app)
    assert [r.seq for r in rows if r.event == "test.event"].__len__() == 16 * 3
    assert sorted(r.seq for r in rows) == list(range(1, len(rows) + 1))
    result = verify(cli_env)
    assert result.exit_code == 0, result.output


def test_after_retention_purges_old_records_the_rest_verifies_from_a_signed_anchor(app, cli_env):
    days = current_settings(app).AUDIT_RETENTION_DAYS
    with app.app_context():
        for age in (days + 3, days + 2, days + 1, 1):
            db.session.add(AuditEvent(at=utcnow() - timedelta(days=age), event="test.event", outcome="success",
                                      detail={"age": age}))
            db.session.commit()
        assert purge_expired(utcnow())["audit_event"] == 3
        chain = db.session.get(AuditChain, 1)
        assert (chain.anchor_seq, bool(chain.anchor_signature)) == (3, True)
    result = verify(cli_env)
    assert result.exit_code == 0, result.output
    assert "records 4.." in result.output


def test_a_forged_anchor_is_refused(app, cli_env):
    write_events(app, 3)
    tamper(app, update(AuditChain).values(anchor_seq=2, anchor_digest="f" * 64, anchor_signature="AAAA"))
    result = verify(cli_env)
    assert result.exit_code == 1 and "anchor at record 2 is not signed" in result.output


def test_an_open_transaction_with_an_audit_record_holds_up_no_other_writer(app):
    """The chain's head is locked at commit only: a transaction that recorded an event and goes
    on (waiting for a person's row lock, say) neither blocks nor deadlocks other writers."""
    with app.test_request_context():
        record_event("test.event", subject="slow")
        db.session.execute(select(AuditEvent.seq).limit(1))  # an autoflush, mid-transaction
        with ThreadPoolExecutor(1) as pool:
            pool.submit(write_events, app, 1).result(timeout=5)
        db.session.commit()
    assert [(r.seq, r.subject) for r in audit_rows(app)] == [(1, "s-0"), (2, "slow")]


def test_verify_since_checks_only_the_window(app, cli_env):
    with app.app_context():
        db.session.add(AuditEvent(at=utcnow() - timedelta(days=2), event="test.event", outcome="success", detail={}))
        db.session.commit()
    write_events(app, 2)
    tamper(app, update(AuditEvent).where(AuditEvent.seq == 1).values(outcome="failure"))
    assert verify(cli_env).exit_code == 1
    result = verify(cli_env, "--since", "1h")
    assert result.exit_code == 0, result.output
    assert "records 2.." in result.output


def test_a_record_made_in_a_rolled_back_savepoint_goes_and_the_others_stay(app):
    with app.test_request_context():
        record_event("test.event", subject="before")
        with pytest.raises(RuntimeError), db.session.begin_nested():
            record_event("test.event", subject="inside")
            raise RuntimeError
        record_event("test.event", subject="after")
        db.session.commit()
        record_event("test.event", subject="rolled-back")
        db.session.rollback()
    assert [r.subject for r in audit_rows(app)] == ["before", "after"]


def test_workers_write_signed_checkpoints_into_the_configured_directory(database_url, instance_dir, app, cli_env,
                                                                        tmp_path):
    provider = create_app(make_settings(database_url, instance_dir, AUDIT_CHECKPOINT_DIR=str(tmp_path)))
    write_events(app, 3)
    provider.test_client().get("/healthz")
    provider.test_client().get("/healthz")  # within the interval: no second file
    [written] = list(tmp_path.glob("audit-checkpoint-*.json"))
    assert json.loads(written.read_text())["seq"] == 3
    result = verify(cli_env, "--checkpoint", str(written))
    assert result.exit_code == 0, result.output
