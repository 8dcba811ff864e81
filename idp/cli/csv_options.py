"""What the CSV import commands share (``idp users import``, ``idp legacy import``): their options,
and the report printed per row (line number, masked identifier) and in a summary."""

from __future__ import annotations

import codecs
from collections.abc import Callable
from typing import TextIO

import click

from idp.people.csv_import import FAILED, IMPORTED, SKIPPED, ImportFileError, ImportReport, check_whole_file

CSV_IMPORT_OPTIONS = [
    click.argument("csv_file", type=click.Path(exists=True, dir_okay=False)),
    click.option("--encoding", default="utf-8-sig", show_default=True,
                 help="text encoding of the file (exports from Chinese Excel are often gb18030)"),
    click.option("--lang", type=click.Choice(["zh-CN", "en"]), default="en", show_default=True,
                 help="language of the per-row error messages"),
]


def csv_import_options(command: Callable) -> Callable:
    """The ``CSV_FILE`` argument and the ``--encoding`` and ``--lang`` options."""
    for option in reversed(CSV_IMPORT_OPTIONS):
        command = option(command)
    return command


def run_csv_import(csv_file: str, encoding: str, lang: str, load: Callable[[TextIO], ImportReport],
                   skipped_note: str) -> None:
    """Run ``load`` on the file; print one line per row not imported, then a summary; exit 1 when
    any row failed (the others are imported all the same)."""
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise click.BadParameter(f"unknown encoding {encoding!r}", param_hint="--encoding") from None
    try:
        with open(csv_file, encoding=encoding, newline="") as source:
            check_whole_file(source)
            source.seek(0)
            report = load(source)
    except ImportFileError as error:
        raise click.UsageError(str(error)) from None
    except UnicodeDecodeError as error:
        raise click.UsageError(f"{csv_file} is not {encoding} text ({error.reason}); try --encoding") from None
    for outcome in report.outcomes:
        if outcome.status == FAILED and outcome.error is not None:
            click.echo(f"line {outcome.line}: error: {outcome.error.message(lang)}"
                       + (f" [{outcome.document}]" if outcome.document else ""), err=True)
        elif outcome.status == SKIPPED:
            click.echo(f"line {outcome.line}: skipped: {skipped_note} [{outcome.document}]")
    click.echo(f"imported {report.count(IMPORTED)}, skipped {report.count(SKIPPED)}, failed {report.count(FAILED)}")
    if report.count(FAILED):
        raise click.exceptions.Exit(1)  # an answer, not a failure: the imported rows stand (cli/command_audit.py)
