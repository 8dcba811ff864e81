"""``idp users close``: an operator closes an account at the person's request (by phone, in
writing, at the service hall), exactly as the person's own closure does (idp.people.account_closure,
docs/privacy.md "Delete")."""

from __future__ import annotations

from typing import cast

import click
from flask import Flask
from sqlalchemy import func, select

from idp.cli.command_audit import operator
from idp.core.database import db
from idp.models import LoginSession, Person
from idp.people.account_closure import close_account
from idp.people.accounts import find_person_by_identifier
from idp.people.identity_documents import mask_document_number, mask_phone

#: The reason is kept in the audit log for its whole retention period: a ticket number, not a story.
REASON_MAX_LENGTH = 200


def _find(identifier: str | None, subject: str | None) -> Person:
    if bool(identifier) == bool(subject):
        raise click.UsageError("name the account with exactly one of --person and --sub")
    if subject:
        person = db.session.execute(select(Person).where(Person.sub == subject)).scalar_one_or_none()
    else:
        person = find_person_by_identifier(identifier or "")
    if person is None:
        raise click.UsageError("no account matches")
    if person.status != "active":
        raise click.UsageError(f"the account {person.sub} is {person.status} already")
    return person


def _describe(person: Person) -> str:
    """What the operator checks before confirming, identifiers masked as on every page."""
    live = db.session.execute(select(func.count()).select_from(LoginSession).where(
        LoginSession.person_id == person.id, LoginSession.ended_at.is_(None))).scalar_one()
    return (f"{person.sub}: {person.name}, {person.doc_type} {mask_document_number(person.doc_number)}, "
            f"phone {mask_phone(person.phone)}, username {person.username or '-'}, {live} live session(s)")


def register_account_closure_commands(main: click.Group, with_app) -> None:
    """Add ``close`` to the ``idp users`` group."""
    users = cast(click.Group, main.commands["users"])  # idp.cli.main registers it as a group

    @users.command("close")
    @click.option("--person", "identifier", default=None,
                  help="username, phone or document number, as the login page takes them")
    @click.option("--sub", "subject", default=None, help="the person's public sub")
    @click.option("--reason", required=True,
                  help=f"why, e.g. the ticket of the request (audited; at most {REASON_MAX_LENGTH} characters)")
    @click.option("--yes", "confirmed", is_flag=True, help="do not ask for confirmation")
    @with_app
    def users_close(app: Flask, identifier: str | None, subject: str | None, reason: str, confirmed: bool) -> None:
        """Close an account as its owner's own closure does (PIPL article 47): every session ends,
        every grant is revoked, relying parties get a back-channel logout, the person's data is
        erased and an anonymous tombstone stays (docs/privacy.md).  Cannot be undone."""
        reason = reason.strip()
        if not reason or len(reason) > REASON_MAX_LENGTH:
            raise click.UsageError(f"--reason must be 1 to {REASON_MAX_LENGTH} characters")
        person = _find(identifier, subject)
        click.echo(_describe(person))
        if not confirmed:
            # No transaction is held open while the operator reads: the closure reads the row again.
            db.session.rollback()
            click.confirm("Close this account and erase its personal data? This cannot be undone", abort=True)
        if not close_account(person, "operator", reason=reason, os_user=operator()):
            raise click.UsageError(f"the account {person.sub} was closed meanwhile")
        click.echo(f"closed {person.sub}")
