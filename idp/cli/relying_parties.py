"""Relying-party features on the command line: the registration options of back-channel
logout, PAR, DPoP and pairwise subjects (``idp clients add``), and the operator commands that
end expired sessions and work the back-channel logout queue."""

from __future__ import annotations

import json
from collections.abc import Callable

import click
from flask import Flask
from sqlalchemy import func, select

from idp.audit.log import record_event
from idp.core.database import db
from idp.housekeeping.session_expiry import expire_login_sessions
from idp.models import BackchannelLogout, LoginSession, Person
from idp.people.password_change import end_every_session
from idp.protocol.backchannel_logout import deliver_due_logouts

RELYING_PARTY_OPTIONS = [
    click.option("--backchannel-logout-uri", default=None,
                 help="where logout tokens are POSTed when a session this client took part in ends"),
    click.option("--backchannel-logout-session-required", is_flag=True,
                 help="the client needs sid in logout tokens (always sent)"),
    click.option("--require-pushed-authorization-requests", is_flag=True,
                 help="refuse this client's authorization requests unless pushed to /par first"),
    click.option("--dpop-bound-access-tokens", is_flag=True,
                 help="issue this client only DPoP-bound (sender-constrained) tokens"),
    click.option("--sector-identifier-uri", default=None,
                 help="third-party clients on several hosts: JSON list of their redirect URIs (pairwise sector)"),
    click.option("--default-acr-values", default=None,
                 help="acr asked for when a request names none, e.g. urn:qdtax:loa:2 (never the old enterprise login)"),
]


def relying_party_options(command: Callable) -> Callable:
    """The ``idp clients add`` options passed on to :func:`idp.protocol.clients.create_client` as they are."""
    for option in reversed(RELYING_PARTY_OPTIONS):
        command = option(command)
    return command


def register_logout_commands(main: click.Group, with_app: Callable) -> None:
    @main.group()
    def sessions() -> None:
        """Login sessions."""

    @sessions.command("expire")
    @click.option("--batch", default=500, show_default=True, type=click.IntRange(1, 10_000))
    @with_app
    def sessions_expire(app: Flask, batch: int) -> None:
        """End every session past its lifetime (revoking its grants, queueing back-channel logouts)."""
        total = 0
        while ended := expire_login_sessions(batch):
            # Each batch stands on its own: a run over many sessions holds no long transaction,
            # and one stopped midway keeps the sessions it ended.
            db.session.commit()
            total += ended
        click.echo(f"ended {total} expired session(s)")

    @sessions.command("end")
    @click.option("--sub", "subject", required=True, help="the person's public sub")
    @with_app
    def sessions_end(app: Flask, subject: str) -> None:
        """End every session of a person now (a lost phone, a compromised account): grants are
        revoked and every relying party of those sessions gets a back-channel logout."""
        person = db.session.execute(select(Person).where(Person.sub == subject)).scalar_one_or_none()
        if person is None:
            raise click.UsageError(f"no person with sub {subject!r}")
        live = db.session.execute(select(func.count()).select_from(LoginSession).where(
            LoginSession.person_id == person.id, LoginSession.ended_at.is_(None))).scalar_one()
        end_every_session(person, "ended_by_administrator")
        record_event("sessions.ended_by_administrator", subject=person.sub, sessions_ended=live)
        click.echo(f"ended {live} session(s) of {person.sub}")

    @main.group("logout-queue")
    def logout_queue() -> None:
        """The back-channel logout queue."""

    @logout_queue.command("run")
    @with_app
    def logout_queue_run(app: Flask) -> None:
        """Send every logout message that is due now (each once, however many run this at once)."""
        delivered = retrying = failed = 0
        while True:
            report = deliver_due_logouts()
            delivered, retrying, failed = (delivered + report.delivered, retrying + report.retrying,
                                           failed + report.failed)
            if not report.claimed:
                break
        click.echo(json.dumps({"delivered": delivered, "retrying": retrying, "failed": failed}))

    @logout_queue.command("status")
    @with_app
    def logout_queue_status(app: Flask) -> None:
        """How many logout messages wait, are being sent, or were given up."""
        counts = dict(db.session.execute(
            select(BackchannelLogout.status, func.count()).group_by(BackchannelLogout.status)).all())
        click.echo(json.dumps(counts))
