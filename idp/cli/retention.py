"""``idp purge``: delete rows nobody can use any more (the rules are in :mod:`idp.housekeeping.retention`)."""

from __future__ import annotations

from collections.abc import Callable

import click
from flask import Flask

from idp.core.clock import utcnow
from idp.housekeeping.retention import purge_expired


def register_retention_commands(main: click.Group, with_app: Callable) -> None:
    @main.command("purge")
    @click.option("--dry-run", is_flag=True, help="count what would be deleted, delete nothing")
    @with_app
    def purge(app: Flask, dry_run: bool) -> None:
        """Delete expired codes, tokens, sessions and replay records, and audit events older than
        IDP_AUDIT_RETENTION_DAYS; prints the count per table (workers also run this every
        IDP_RETENTION_PURGE_SECONDS)."""
        counts = purge_expired(utcnow(), dry_run=dry_run)
        verb = "would delete" if dry_run else "deleted"
        width = max(map(len, counts), default=0)
        for table, count in counts.items():
            click.echo(f"{table:<{width}}  {count}")
        click.echo(f"{verb} {sum(counts.values())} row(s)")
