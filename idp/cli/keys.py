"""``idp keys …`` and ``idp audit tail``: the administrator's tools for keys and the audit log."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click
from flask import Flask
from sqlalchemy import select

from idp.audit.chain import GENESIS, link_all, unchained_tail, verify_chain
from idp.audit.checkpoints import CheckpointError, checkpoint_key, read_checkpoint, verify_signature, write_checkpoint
from idp.audit.log import record_event, record_event_at_once
from idp.core.clock import utcnow
from idp.core.database import db
from idp.core.settings import current_settings
from idp.keyring import KeyringError, current_keyring
from idp.keyring.records import KeyRecord
from idp.models import AuditChain, AuditEvent


def _when(ts: int | None) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%d %H:%M:%SZ") if ts else "-"


def _describe(records: list[KeyRecord]) -> list[dict]:
    return [
        {"kid": r.kid, "alg": r.alg, "state": r.state, "created": _when(r.created_at),
         "activated": _when(r.activated_at), "retire_after": _when(r.retire_after)}
        for r in sorted(records, key=lambda r: (r.alg, ("active", "next", "retired", "revoked").index(r.state)))
    ]


def _print_keys(records: list[KeyRecord], as_json: bool) -> None:
    rows = _describe(records)
    if as_json:
        click.echo(json.dumps(rows))
        return
    click.echo(f"{'kid':<44} {'alg':<6} {'state':<8} {'created':<21} {'activated':<21} retire-after")
    for row in rows:
        click.echo(f"{row['kid']:<44} {row['alg']:<6} {row['state']:<8} {row['created']:<21} "
                   f"{row['activated']:<21} {row['retire_after']}")


def _keyring():
    return current_keyring()


def register_key_commands(main: click.Group, with_app) -> None:
    @main.group()
    def keys() -> None:
        """Signing keys: list, rotate, revoke, prune."""

    @keys.command("list")
    @click.option("--json", "as_json", is_flag=True)
    @with_app
    def keys_list(app: Flask, as_json: bool) -> None:
        """kid, algorithm, state, created, activated, retire-after of every key."""
        _print_keys(_keyring().records(), as_json)

    @keys.command("rotate")
    @click.option("--force", is_flag=True, help="rotate even if the next key is younger than the JWKS max-age")
    @with_app
    def keys_rotate(app: Flask, force: bool) -> None:
        """next -> active, active -> retired, and a new next key (per algorithm)."""
        try:
            records = _keyring().rotate(force=force)
        except KeyringError as error:
            # Refused before anything changed: the refusal's own record stands beside the error.
            record_event_at_once("keys.rotate", "failure", reason=str(error)[:200])
            raise click.ClickException(str(error)) from None
        record_event("keys.rotate", forced=force,
                     active=[r.kid[:12] for r in records if r.state == "active"])
        _print_keys(records, False)

    # A kid is a base64url thumbprint and may begin with "-": taken as the argument, not an option.
    @keys.command("revoke", context_settings={"ignore_unknown_options": True})
    @click.argument("kid")
    @click.option("--yes-revoke-now", "confirmed", is_flag=True,
                  help="confirm: the key leaves the JWKS at once and every token it signed stops working")
    @with_app
    def keys_revoke(app: Flask, kid: str, confirmed: bool) -> None:
        """Revoke a compromised key immediately."""
        if not confirmed:
            raise click.UsageError("revoking ends every token signed by this key; repeat with --yes-revoke-now")
        try:
            records = _keyring().revoke(kid)
        except KeyringError as error:
            raise click.ClickException(str(error)) from None
        record_event("keys.revoke", kid=kid[:12])
        _print_keys(records, False)

    @keys.command("prune")
    @with_app
    def keys_prune(app: Flask) -> None:
        """Remove retired keys whose tokens have all expired, and revoked keys."""
        before = {r.kid for r in _keyring().records()}
        records = _keyring().prune()
        removed = sorted(before - {r.kid for r in records})
        record_event("keys.prune", removed=[k[:12] for k in removed])
        click.echo(f"removed {len(removed)} key(s)")
        _print_keys(records, False)


SINCE_PATTERN = re.compile(r"^(\d+)([smhd])$")


def parse_since(value: str | None) -> datetime | None:
    """``30m``, ``2h``, ``7d`` or an ISO 8601 instant (UTC when no zone is given)."""
    if not value:
        return None
    if match := SINCE_PATTERN.match(value):
        unit = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}[match.group(2)]
        try:
            return datetime.now(UTC) - timedelta(**{unit: int(match.group(1))})
        except OverflowError:  # further back than the calendar goes
            raise click.BadParameter("use 30m, 2h, 7d or an ISO 8601 time") from None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter("use 30m, 2h, 7d or an ISO 8601 time") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def register_audit_commands(main: click.Group, with_app) -> None:
    @main.group()
    def audit() -> None:
        """The audit log."""

    @audit.command("tail")
    @click.option("--event", default=None, help="only this event (prefix match: 'login' matches login.*)")
    @click.option("--since", default=None, help="30m, 2h, 7d or an ISO 8601 time")
    @click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10_000))
    @click.option("--json", "as_json", is_flag=True)
    @with_app
    def audit_tail(app: Flask, event: str | None, since: str | None, limit: int, as_json: bool) -> None:
        """The newest audit events, oldest first (identifiers are stored masked)."""
        # In the order written (ids), chained or not yet.
        query = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
        if event:
            query = query.where((AuditEvent.event == event) | AuditEvent.event.startswith(event + "."))
        if start := parse_since(since):
            query = query.where(AuditEvent.at >= start)
        rows = list(reversed(db.session.execute(query).scalars().all()))
        for row in rows:
            entry = {"at": row.at.isoformat(), "event": row.event, "outcome": row.outcome, "subject": row.subject,
                     "client_id": row.client_id, "ip": row.ip, "detail": row.detail}
            if as_json:
                click.echo(json.dumps(entry, ensure_ascii=False))
            else:
                click.echo(f"{row.at:%Y-%m-%d %H:%M:%S} {row.event:<22} {row.outcome:<8} "
                           f"subject={row.subject or '-'} client={row.client_id or '-'} ip={row.ip or '-'} "
                           f"{json.dumps(row.detail, ensure_ascii=False)}")

    @audit.command("chain")
    @with_app
    def audit_chain(app: Flask) -> None:
        """Link every committed audit record not chained yet (the serving workers do it every
        AUDIT_CHAIN_INTERVAL_MS; this is for a stopped service or a backlog)."""
        click.echo(f"{link_all(db.session())} records chained")
        tail = unchained_tail(db.session())
        if tail.count:
            click.echo(f"{tail.count} records still unchained (another chainer is at work, or just written)")

    @audit.command("verify")
    @click.option("--since", default=None, help="start at the first record of this time (30m, 2h, 7d, ISO 8601)")
    @click.option("--checkpoint", "checkpoint_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
                  help="a file of 'idp audit checkpoint': its record must still be there, unchanged")
    @click.option("--no-chain", "read_only", is_flag=True,
                  help="do not link the records not chained yet first (a read-only database user)")
    @with_app
    def audit_verify(app: Flask, since: str | None, checkpoint_file: Path | None, read_only: bool) -> None:
        """Check the hash chain; name the first altered, removed or reordered record (exit status 1).
        Records not chained yet are linked first, and those left are reported: any older than
        AUDIT_UNCHAINED_MAX_SECONDS means no chainer has run (exit status 1)."""
        settings = current_settings(app)
        if not read_only:
            link_all(db.session())
        key = checkpoint_key(settings)
        chain = db.session.get(AuditChain, 1)
        start_seq, start_digest = (chain.anchor_seq, chain.anchor_digest) if chain else (0, GENESIS)
        if chain and start_seq and not verify_signature(key, start_seq, start_digest, chain.anchor_signature):
            raise click.ClickException(f"the retention anchor at record {start_seq} is not signed by this instance")
        if start := parse_since(since):
            first = db.session.execute(select(AuditEvent).where(AuditEvent.at >= start, AuditEvent.seq.is_not(None))
                                       .order_by(AuditEvent.seq).limit(1)).scalar_one_or_none()
            before = db.session.execute(select(AuditEvent).where(AuditEvent.seq < first.seq)
                                        .order_by(AuditEvent.seq.desc()).limit(1)).scalar_one_or_none() \
                if first else None
            if before is not None and before.seq is not None and before.digest is not None:
                start_seq, start_digest = before.seq, before.digest
        try:
            until = read_checkpoint(key, checkpoint_file) if checkpoint_file else None
        except CheckpointError as error:
            raise click.ClickException(str(error)) from None
        seq, _, broken = verify_chain(db.session(), start_seq, start_digest, until)
        if broken:
            raise click.ClickException(f"audit chain broken at record {broken.seq}: {broken.problem}")
        click.echo(f"audit chain intact: records {start_seq + 1}..{seq}")
        tail = unchained_tail(db.session())
        if tail.count and tail.oldest is not None:
            age = (utcnow() - tail.oldest).total_seconds()
            message = f"{tail.count} records not chained yet, the oldest written {age:.0f} s ago"
            if age > settings.AUDIT_UNCHAINED_MAX_SECONDS:
                raise click.ClickException(f"{message}: more than AUDIT_UNCHAINED_MAX_SECONDS"
                                           f" ({settings.AUDIT_UNCHAINED_MAX_SECONDS}), is no chainer running?")
            click.echo(message)

    @audit.command("checkpoint")
    @click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path),
                  help="file to write; ship it off the database host")
    @with_app
    def audit_checkpoint(app: Flask, out: Path) -> None:
        """Sign the chain's head with the checkpoint key and write it to a file."""
        written = write_checkpoint(db.session(), checkpoint_key(current_settings(app)), out)
        click.echo(f"checkpoint of record {written['seq']} written to {out}")

    @audit.command("export")
    @click.option("--since", default=None, help="30m, 2h, 7d or an ISO 8601 time")
    @click.option("--until", default=None, help="an ISO 8601 time (exclusive)")
    @with_app
    def audit_export(app: Flask, since: str | None, until: str | None) -> None:
        """Every record in the window as JSON lines, in chain order, with seq and digest (records
        not chained yet are linked first)."""
        link_all(db.session())
        query = select(AuditEvent).where(AuditEvent.seq.is_not(None)).order_by(AuditEvent.seq) \
            .execution_options(yield_per=2000)
        if start := parse_since(since):
            query = query.where(AuditEvent.at >= start)
        if end := parse_since(until):
            query = query.where(AuditEvent.at < end)
        for row in db.session.execute(query).scalars():
            click.echo(json.dumps({"seq": row.seq, "digest": row.digest, "at": row.at.isoformat(),
                                   "event": row.event, "outcome": row.outcome, "subject": row.subject,
                                   "client_id": row.client_id, "ip": row.ip, "detail": row.detail},
                                  ensure_ascii=False))
