"""``idp legacy import FILE.csv``: load the old enterprise logins of the dual-track transition
(docs/domain.md §1.2; format and rules in docs/legacy-login.md)."""

from __future__ import annotations

import click
from flask import Flask

from idp.cli.csv_options import csv_import_options, run_csv_import
from idp.taxpayers.legacy_import import import_legacy_accounts, read_rows


def register_legacy_commands(main: click.Group, with_app) -> None:
    @main.group()
    def legacy() -> None:
        """The old enterprise login (dual-track, until IDP_LEGACY_LOGIN_SUNSET)."""

    @legacy.command("import")
    @csv_import_options
    @with_app
    def legacy_import(app: Flask, csv_file: str, encoding: str, lang: str) -> None:
        """Import taxpayers and their old enterprise password hashes from CSV_FILE; one transaction
        per row; a taxpayer that already has an old login is skipped (never overwritten).

        Prints one line per row that was not imported, with its CSV line number and the masked
        taxpayer number, then a summary.  Exits with status 1 when any row failed.
        """
        run_csv_import(csv_file, encoding, lang, lambda source: import_legacy_accounts(read_rows(source)),
                       "already present (its old login or taxpayer is kept as it is)")
