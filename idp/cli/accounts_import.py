"""``idp users import FILE.csv``: load migrated natural-person accounts (docs/accounts-import.md)."""

from __future__ import annotations

from typing import cast

import click
from flask import Flask

from idp.cli.csv_options import csv_import_options, run_csv_import
from idp.people.accounts_import import import_accounts, read_rows


def register_accounts_import_commands(main: click.Group, with_app) -> None:
    """Add ``import`` to the ``idp users`` group."""
    users = cast(click.Group, main.commands["users"])  # idp.cli.main registers it as a group

    @users.command("import")
    @csv_import_options
    @with_app
    def users_import(app: Flask, csv_file: str, encoding: str, lang: str) -> None:
        """Import accounts from CSV_FILE; one transaction per row, rows already present are skipped.

        Prints one line per row that was not imported, with its CSV line number, then a summary.
        Exits with status 1 when any row failed (the others are imported all the same).
        """
        run_csv_import(csv_file, encoding, lang, lambda source: import_accounts(read_rows(source)),
                       "an account for this document already exists")
