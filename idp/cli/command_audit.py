"""Auditing the operator's ``idp`` commands: which command, by which OS user, with which
options, and how it ended (GB/T 22239-2019 8.1.4.3 asks the same of administrators as of users).

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
    sudo = {"sudo_user": os.environ["SUDO_USER"]} if os.environ.get("SUDO_USER") else {}
    record_event("admin.command", outcome, command=ctx.command_path.removeprefix(f"{ctx.find_root().info_name} "),
                 os_user=operator(), **sudo, options=_given_options(ctx), **detail)
    try:
        db.session.commit()
    except SQLAlchemyError as error:
        report_lost_events(error)
        db.session.rollback()


@contextmanager
def audited_command(ctx: click.Context) -> Iterator[None]:
    """Record the command run inside this block once it ends, successful or not."""
    try:
        yield
    except click.exceptions.Exit as done:
        _record(ctx, "success" if done.exit_code == 0 else "failure")
        raise
    except Exception as error:
        db.session.rollback()
        reason = error.format_message() if isinstance(error, click.ClickException) else type(error).__name__
        _record(ctx, "failure", reason=reason[:200])
        raise
    _record(ctx, "success")
