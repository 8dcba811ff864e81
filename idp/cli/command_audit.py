"""The operator's ``idp`` commands as units of work, each audited: which command, by which OS
user, with which options, and how it ended (GB/T 22239-2019 8.1.4.3 asks the same of
administrators as of users).

Option values are not recorded: some are secrets (``users add --password``) or personal data;
the commands that change something record what they changed in their own events.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Iterator
from contextlib import contextmanager

import click
from click.core import ParameterSource
from sqlalchemy.exc import SQLAlchemyError

from idp.audit.log import record_event, report_lost_events
from idp.core.database import db


def operator() -> str:
    """The OS user running the command (the name, or the uid where the system has none)."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return str(os.getuid())


def _given_options(ctx: click.Context) -> list[str]:
    return sorted(name for name in ctx.params
                  if ctx.get_parameter_source(name) in (ParameterSource.COMMANDLINE, ParameterSource.ENVIRONMENT))


def _record(ctx: click.Context, outcome: str, **detail) -> None:
    """Commit the session with the command's audit record in it."""
    sudo = {"sudo_user": os.environ["SUDO_USER"]} if os.environ.get("SUDO_USER") else {}
    record_event("admin.command", outcome, command=ctx.command_path.removeprefix(f"{ctx.find_root().info_name} "),
                 os_user=operator(), **sudo, options=_given_options(ctx), **detail)
    db.session.commit()


def _record_failure(ctx: click.Context, reason: str) -> None:
    """Roll the command's work back and keep its failure record alone; a database that cannot
    take even that loses only the record (logged), not the command's own error."""
    db.session.rollback()
    try:
        _record(ctx, "failure", reason=reason[:200])
    except SQLAlchemyError as error:
        report_lost_events(error)
        db.session.rollback()


def _commit(ctx: click.Context, outcome: str) -> None:
    """Commit the command's work with its record; a commit that fails keeps neither, but
    records the failure, and raises."""
    try:
        _record(ctx, outcome)
    except SQLAlchemyError as error:
        report_lost_events(error)
        _record_failure(ctx, type(error).__name__)
        raise


@contextmanager
def audited_command(ctx: click.Context) -> Iterator[None]:
    """The block as one unit of work with its audit record (docs/architecture.md §12.2): a
    command that ends, with any exit status it chose, commits its work; one that raises keeps
    nothing but the record of its failure.  Commands therefore do not commit, except to split
    a long run into batches that stand on their own."""
    try:
        yield
    except click.exceptions.Exit as done:
        # An exit status is the command's answer, as a refusal is a view's: a CSV import that
        # reports its bad rows with status 1 keeps the good ones.
        _commit(ctx, "success" if done.exit_code == 0 else "failure")
        raise
    except Exception as error:
        reason = error.format_message() if isinstance(error, click.ClickException) else type(error).__name__
        _record_failure(ctx, reason)
        raise
    except BaseException as error:  # an interrupt, a SystemExit of a setting read late
        _record_failure(ctx, type(error).__name__)
        raise
    _commit(ctx, "success")
