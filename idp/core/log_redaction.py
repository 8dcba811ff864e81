"""Keeps secrets and personal data out of the log records libraries write at DEBUG.

authlib logs every issued token ("Issue token %r to %r") and SQLAlchemy every fetched row
("Row %r": phone and document numbers, password hashes, session data) once an operator turns
logging up.  A logging filter sees only the records of the one logger it is attached to, and
these come from many module loggers, so the redaction hooks the record factory instead: every
record of every logger passes through it.  SQL parameters are hidden by the engine option
``hide_parameters`` (see :func:`idp.app.create_app`), which also keeps them out of error texts.
"""

from __future__ import annotations

import logging
from typing import Any

REDACTED = "<redacted>"

#: Message templates of library records whose arguments carry secrets, and which of them do.
SECRET_ARGUMENTS: dict[str, tuple[int, ...]] = {
    "Issue token %r to %r": (0,),  # authlib grants: the token response (access, refresh, ID token)
    "Grant token %r to %r": (0,),  # authlib implicit and hybrid grants
    "Assertion Error: %r": (0,),  # authlib JWT assertions: the error may quote the assertion
    "Authenticate user of %r": (0,),  # authlib password grant: the username
    "Row %r": (0,),  # SQLAlchemy at DEBUG: whole rows
}


def _redact(record: logging.LogRecord) -> logging.LogRecord:
    positions = SECRET_ARGUMENTS.get(record.msg) if isinstance(record.msg, str) else None
    if positions and isinstance(record.args, tuple):
        record.args = tuple(REDACTED if i in positions else arg for i, arg in enumerate(record.args))
    return record


def install_log_redaction() -> None:
    """Wrap the process's log record factory once (idempotent: several apps may be created)."""
    current = logging.getLogRecordFactory()
    if getattr(current, "redacts_secrets", False):
        return

    def redacting_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        return _redact(current(*args, **kwargs))

    redacting_factory.redacts_secrets = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(redacting_factory)
