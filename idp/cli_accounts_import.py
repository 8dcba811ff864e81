"""``idp users import FILE.csv``: load migrated natural-person accounts (docs/accounts-import.md)."""

from __future__ import annotations

import click
from flask import Flask

from idp.accounts_import import ImportFileError, import_accounts, read_rows


def register_accounts_import_commands(main: click.Group, with_app) -> None:
    """Add ``import`` to the ``idp users`` group."""
    users = main.commands["users"]

    @users.command("import")
    @click.argument("csv_file", type=click.Path(exists=True, dir_okay=False))
    @click.option("--encoding", default="utf-8-sig", show_default=True,
                  help="text encoding of the file (exports from Chinese Excel are often gb18030)")
    @click.option("--lang", type=click.Choice(["zh-CN", "en"]), default="en", show_default=True,
                  help="language of the per-row error messages")
    @with_app
    def users_import(app: Flask, csv_file: str, encoding: str, lang: str) -> None:
        """Import accounts from CSV_FILE; one transaction per row, rows already present are skipped.

        Prints one line per row that was not imported, with its CSV line number, then a summary.
        Exits with status 1 when any row failed (the others are imported all the same).
        """
        try:
            with open(csv_file, encoding=encoding, newline="") as source:
                report = import_accounts(read_rows(source))
        except ImportFileError as error:
            raise click.UsageError(str(error)) from None
        except UnicodeDecodeError as error:
            raise click.UsageError(f"{csv_file} is not {encoding} text ({error.reason}); try --encoding") from None
        for outcome in report.outcomes:
            if outcome.status == "failed":
                click.echo(f"line {outcome.line}: error: {outcome.error.message(lang)}"
                           + (f" [{outcome.document}]" if outcome.document else ""), err=True)
            elif outcome.status == "skipped":
                click.echo(f"line {outcome.line}: skipped: an account for this document already exists "
                           f"[{outcome.document}]")
        click.echo(f"imported {report.count('imported')}, skipped {report.count('skipped')}, "
                   f"failed {report.count('failed')}")
        if report.count("failed"):
            raise SystemExit(1)
