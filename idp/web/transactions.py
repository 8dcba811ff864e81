"""The transaction boundary of every web request (docs/architecture.md §12.2).

A view's database work is one transaction, committed when the view returns its answer,
whatever the status: a refused password's failure count, a spent code and their audit rows
must stand beside the refusal that reports them.  A view that raises keeps nothing: the
error page answers from a rolled-back session.  Views therefore never commit or roll back.

Work that must not outlive a failed call to an outside service, inside a request whose other
work stands, is undone by a savepoint where the call is made (``factors/sms_code.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Flask

from idp.core.database import db


def _session_in_use() -> bool:
    """Whether this request has a session with a transaction begun: discovery, the JWKS and
    the probes never touch the database, and must not pay for a commit."""
    return db.session.registry.has() and db.session().in_transaction()


def in_transaction(view: Callable[..., Any]) -> Callable[..., Any]:
    """``view`` as one unit of work: committed when it answers, rolled back when it raises."""

    @wraps(view)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            answer = view(*args, **kwargs)
        except BaseException:
            if _session_in_use():
                db.session.rollback()
            raise
        if _session_in_use():
            # A failed commit raises here, before the answer leaves: nobody is told of a
            # change (a token, a new password) that was not kept.
            db.session.commit()
        return answer

    return run


def install_transactions(app: Flask) -> None:
    """Wrap every view registered so far; call after the last blueprint."""
    for endpoint, view in app.view_functions.items():
        app.view_functions[endpoint] = in_transaction(view)
