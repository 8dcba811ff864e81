"""Tamper evidence of the audit log: every record chained to the previous one by SHA-256, in an
exact order under concurrent writers and chainers; ``idp audit verify`` names the first altered,
removed or reordered record, and a signed checkpoint exposes a truncated tail.  Requests write
their records unchained and never wait for each other's; the chainer links them after commit."""

from __future__ import annotations

import json
import re
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import delete, func, select, text, update
from test_audit import audit_rows

from idp.app import create_app
from idp.audit.chain import chain_digest, link_all, link_unchained
from idp.audit.log import record_event
from idp.cli.main import main
from idp.core.clock import utcnow
from idp.core.database import db
from idp.core.settings import current_settings
from idp.housekeeping.retention import purge_expired
from idp.models import AuditChain, AuditEvent

from conftest import all_at_once, dispose_engines, make_settings, register_client


def write_events(app, count: int) -> None:
    """``count`` records, committed and then chained (what the workers' chainer does moments after)."""
    with app.test_request_context():
        for index in range(count):
            record_event("test.event", subject=f"s-{index}", n=index, note="测试")
            db.session.commit()
    chain(app)


def chain(app) -> None:
    with app.app_context():
        link_all(db.session())


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
    # --no-chain: the commands' own audit records, chained onto record 3, would stand in for the
    # removed ones (caught too, as a record differing from the checkpoint).
    result = verify(cli_env, "--no-chain")
    assert result.exit_code == 0, result.output
    result = verify(cli_env, "--no-chain", "--checkpoint", str(checkpoint))
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
                link_unchained(db.session())  # every writer a chainer too, as in the serving workers

    all_at_once(write)
    chain(app)  # what the last chainers skipped while another held the head
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
    chain(app)
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


def _backends_waiting_on_a_lock(app) -> int:
    with app.app_context():
        return db.session.execute(select(func.count()).select_from(text("pg_stat_activity"))
                                  .where(text("wait_event_type = 'Lock' AND datname = current_database()"))
                                  ).scalar_one()


def test_a_token_is_issued_while_another_transaction_holds_an_uncommitted_audit_record(app, client):
    """No request waits for another's audit record: the chain's head is not on the request path.
    (Today's defect, issue 21: every audit writer locked one head row until COMMIT, so all token
    issuance on all nodes queued behind it.)"""
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        pytest.skip("SQLite has one writer at a time whatever the chain does; the PostgreSQL pass runs this")
    machine = register_client(app, grant_types=["client_credentials"], redirect_uris=[])
    with app.test_request_context(), ThreadPoolExecutor(1) as pool:
        # Written, and its transaction still open: the moment between a request's last statement
        # and its COMMIT (longer under load, when the commit waits for the disk).
        db.session.add(AuditEvent(event="test.event", outcome="success", subject="slow"))
        db.session.flush()
        issued = pool.submit(client.post, "/token", headers=machine.basic_auth,
                             data={"grant_type": "client_credentials"})
        deadline = time.monotonic() + 10
        while not issued.done() and time.monotonic() < deadline and not _backends_waiting_on_a_lock(app):
            time.sleep(0.05)
        waiting = not issued.done() and _backends_waiting_on_a_lock(app)
        db.session.commit()
        response = issued.result(timeout=30)
    assert not waiting, "the token request waited for the other transaction's audit record"
    assert response.status_code == 200


def test_a_request_writes_its_record_unchained_and_a_later_request_s_housekeeping_links_it(
        database_url, instance_dir, app, cli_env):
    provider = create_app(make_settings(database_url, instance_dir, AUDIT_CHAIN_INTERVAL_MS=1))
    machine = register_client(app, grant_types=["client_credentials"], redirect_uris=[])
    web = provider.test_client()
    assert web.post("/token", headers=machine.basic_auth, data={"grant_type": "client_credentials"}).status_code == 200
    [issued] = audit_rows(app, "token.issued")
    assert (issued.seq, issued.digest) == (None, None)
    web.get("/login")
    dispose_engines(provider)
    [issued] = audit_rows(app, "token.issued")
    assert issued.seq is not None
    result = verify(cli_env, "--no-chain")
    assert result.exit_code == 0, result.output
    assert "not chained yet" not in result.output


def test_verify_chains_first_or_reports_the_unchained_tail_and_flags_records_left_too_long(app, cli_env):
    write_events(app, 2)
    with app.app_context():
        for minutes in (30, 1):
            db.session.add(AuditEvent(at=utcnow() - timedelta(minutes=minutes), event="test.event", outcome="success"))
        db.session.commit()
    result = verify(cli_env, "--no-chain")
    assert result.exit_code == 1
    assert re.search(r"2 records not chained yet, the oldest written 18\d\d s ago", result.output)
    assert "is no chainer running?" in result.output
    result = verify(cli_env)
    assert result.exit_code == 0, result.output
    assert "intact" in result.output and "not chained yet" not in result.output


def test_a_chainer_that_dies_mid_batch_loses_nothing(app, cli_env, monkeypatch):
    with app.test_request_context():
        for index in range(3):
            record_event("test.event", subject=f"s-{index}")
        db.session.commit()
    with app.app_context():
        session = db.session()
        monkeypatch.setattr(session, "commit", lambda: (_ for _ in ()).throw(ConnectionError("worker killed")))
        with pytest.raises(ConnectionError):
            link_unchained(session)
        monkeypatch.undo()
        session.rollback()
    assert {r.seq for r in audit_rows(app)} == {None}
    chain(app)
    assert [r.seq for r in audit_rows(app)] == [1, 2, 3]
    assert verify(cli_env).exit_code == 0


def test_a_chainer_skips_rather_than_waits_while_another_links(app):
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        pytest.skip("SQLite serialises writers itself; the PostgreSQL pass runs this")
    write_events(app, 1)
    with app.test_request_context():
        record_event("test.event", subject="waiting")
        db.session.commit()
        db.session.execute(select(AuditChain).where(AuditChain.id == 1).with_for_update())  # a chainer at work
        with ThreadPoolExecutor(1) as pool:
            def other_chainer() -> int:
                with app.app_context():
                    db.session.execute(text("SET LOCAL lock_timeout = '2s'"))
                    return link_unchained(db.session())
            assert pool.submit(other_chainer).result(timeout=30) == 0
        db.session.rollback()
    chain(app)
    assert [r.subject for r in audit_rows(app) if r.seq == 2] == ["waiting"]
