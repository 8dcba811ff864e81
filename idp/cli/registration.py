"""``idp realname …`` and ``idp registrations purge``: service-hall staff and housekeeping for
self-registration (docs/domain.md §1.6, §1.7)."""

from __future__ import annotations

import click
from flask import Flask

from idp.people.accounts import AccountError
from idp.people.identity_documents import DOCUMENT_TYPES, DocumentNumberError, mask_document_number
from idp.people.realname_records import RealnameRecordError, delete_expired_realname_records, save_realname_record
from idp.people.registration import delete_expired_registrations


def register_registration_commands(main: click.Group, with_app) -> None:
    @main.group()
    def realname() -> None:
        """Real-name information collected at a service hall."""

    @realname.command("record")
    @click.option("--doc-type", required=True, type=click.Choice(list(DOCUMENT_TYPES)))
    @click.option("--doc-number", required=True)
    @click.option("--name", required=True, help="the name as on the document")
    @click.option("--country", default=None, help="issuing country of a FOREIGN_PASSPORT (ISO alpha-3, required "
                  "there); the other documents are China's own")
    @click.option("--level", "realname_level", default=4, show_default=True, type=click.IntRange(4, 5),
                  help="5 when the information was collected in person")
    @click.option("--phone", default=None, help="the person's mobile: only a registration verifying it may use "
                  "the record")
    @with_app
    def realname_record(app: Flask, doc_type: str, doc_number: str, name: str, country: str | None,
                        realname_level: int, phone: str | None) -> None:
        """Record a hall collection so this document can register online (expires after
        REALNAME_RECORD_TTL days, consumed by the registration)."""
        try:
            record = save_realname_record(doc_type=doc_type, doc_number=doc_number, name=name, country=country,
                                          realname_level=realname_level, phone=phone)
        except DocumentNumberError as error:
            raise click.UsageError(error.message("en")) from None
        except (AccountError, RealnameRecordError) as error:
            raise click.UsageError(str(error)) from None
        click.echo(f"recorded {doc_type} {mask_document_number(record.doc_number)} at real-name level "
                   f"{record.realname_level}; register online before {record.expires_at.date().isoformat()}")

    @realname.command("purge")
    @with_app
    def realname_purge(app: Flask) -> None:
        """Delete hall records that lapsed unused."""
        deleted = delete_expired_realname_records()
        click.echo(f"deleted {deleted} expired real-name record(s)")

    @main.group()
    def registrations() -> None:
        """Self-registrations in progress."""

    @registrations.command("purge")
    @with_app
    def registrations_purge(app: Flask) -> None:
        """Delete expired registrations (they never created an account)."""
        deleted = delete_expired_registrations()
        click.echo(f"deleted {deleted} expired registration(s)")
