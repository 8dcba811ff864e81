"""Authorization requests handed over to the login pages and resumed afterwards.

The original parameters stay on the server; the resumed request must repeat them exactly,
so an ``interaction`` id cannot be grafted onto another request.
"""

from __future__ import annotations

import secrets
import time

from flask import session
from werkzeug.datastructures import MultiDict

INTERACTIONS_KEY = "interactions"
#: Oldest pending requests are dropped beyond this many per browser.
MAX_PENDING = 5
RESUME_PARAM = "interaction"


def _params_without_resume(params: MultiDict) -> list[list[str]]:
    return sorted([k, v] for k, v in params.items(multi=True) if k != RESUME_PARAM)


def start_interaction(params: MultiDict) -> str:
    pending = dict(session.get(INTERACTIONS_KEY, {}))
    while len(pending) >= MAX_PENDING:
        pending.pop(min(pending, key=lambda k: pending[k]["started_at"]))
    interaction_id = secrets.token_urlsafe(16)
    pending[interaction_id] = {"params": _params_without_resume(params), "started_at": int(time.time())}
    session[INTERACTIONS_KEY] = pending
    return interaction_id


def resumed_interaction_started_at(params: MultiDict) -> int | None:
    """When the login pages took over this very request, if it is being resumed."""
    interaction_id = params.get(RESUME_PARAM)
    entry = session.get(INTERACTIONS_KEY, {}).get(interaction_id) if interaction_id else None
    if entry is None or entry["params"] != _params_without_resume(params):
        return None
    return entry["started_at"]


def resume_url(interaction_id: str | None) -> str | None:
    """Where the login pages send the browser when they are done."""
    entry = session.get(INTERACTIONS_KEY, {}).get(interaction_id) if interaction_id else None
    if entry is None:
        return None
    query = MultiDict([tuple(p) for p in entry["params"]] + [(RESUME_PARAM, interaction_id)])
    from urllib.parse import urlencode

    return "/authorize?" + urlencode(list(query.items(multi=True)))


def finish_interaction(params: MultiDict) -> None:
    interaction_id = params.get(RESUME_PARAM)
    pending = session.get(INTERACTIONS_KEY, {})
    if interaction_id in pending:
        pending = dict(pending)
        pending.pop(interaction_id)
        session[INTERACTIONS_KEY] = pending


def interaction_param(interaction_id: str | None, name: str) -> str | None:
    """A parameter of the pending request (``login_hint``, ``ui_locales``) for the login pages."""
    entry = session.get(INTERACTIONS_KEY, {}).get(interaction_id) if interaction_id else None
    if entry is None:
        return None
    return next((v for k, v in entry["params"] if k == name), None)
