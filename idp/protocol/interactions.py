"""Authorization requests handed over to the provider's pages and resumed afterwards.

The original parameters stay on the server; the resumed request must repeat them exactly,
so an ``interaction`` id cannot be grafted onto another request.  Each interaction records
which steps (login, role review, taxpayer choice, consent) were done for it.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from urllib.parse import urlencode

from flask import session
from werkzeug.datastructures import MultiDict

INTERACTIONS_KEY = "interactions"
#: Oldest pending requests are dropped beyond this many per browser.
MAX_PENDING = 5
RESUME_PARAM = "interaction"


@dataclass(frozen=True)
class Interaction:
    id: str
    #: When the pages took over this request; a login after it is "fresh".
    started_at: int
    done: frozenset[str]


def _params_without_resume(params: MultiDict) -> list[list[str]]:
    return sorted([k, v] for k, v in params.items(multi=True) if k != RESUME_PARAM)


def _entry(interaction_id: str | None) -> dict | None:
    return session.get(INTERACTIONS_KEY, {}).get(interaction_id) if interaction_id else None


def start_interaction(params: MultiDict, query: MultiDict | None = None) -> str:
    """Keep ``params`` (the request as resolved) for the pages; when the browser's ``query``
    differs (a pushed ``request_uri`` or a request object), the resumed request repeats that."""
    pending = dict(session.get(INTERACTIONS_KEY, {}))
    while len(pending) >= MAX_PENDING:
        pending.pop(min(pending, key=lambda k: pending[k]["started_at"]))
    interaction_id = secrets.token_urlsafe(16)
    entry = {"params": _params_without_resume(params), "started_at": int(time.time()), "done": []}
    if query is not None and _params_without_resume(query) != entry["params"]:
        entry["query"] = _params_without_resume(query)
    pending[interaction_id] = entry
    session[INTERACTIONS_KEY] = pending
    return interaction_id


def resumed_interaction(params: MultiDict) -> Interaction | None:
    """The interaction this very request resumes, if any."""
    interaction_id = params.get(RESUME_PARAM)
    entry = _entry(interaction_id)
    if interaction_id is None or entry is None or entry.get("query", entry["params"]) != _params_without_resume(params):
        return None
    return Interaction(interaction_id, entry["started_at"], frozenset(entry.get("done", [])))


#: The step-up page's cancel: the resumed request answers the app ``access_denied``.
STEP_UP_DECLINED = "step_up_declined"


def mark_done(interaction_id: str, step: str) -> None:
    pending = dict(session.get(INTERACTIONS_KEY, {}))
    if interaction_id in pending:
        entry = dict(pending[interaction_id])
        entry["done"] = sorted(set(entry.get("done", [])) | {step})
        pending[interaction_id] = entry
        session[INTERACTIONS_KEY] = pending


def interaction_params(interaction_id: str | None) -> MultiDict | None:
    """The parameters of a pending authorization request, for the pages that serve it."""
    entry = _entry(interaction_id)
    return MultiDict([tuple(p) for p in entry["params"]]) if entry else None


def interaction_param(interaction_id: str | None, name: str) -> str | None:
    """A parameter of the pending request (``login_hint``, ``ui_locales``) for the login pages."""
    params = interaction_params(interaction_id)
    return params.get(name) if params is not None else None


def resume_url(interaction_id: str | None) -> str | None:
    """Where the pages send the browser when they are done."""
    entry = _entry(interaction_id)
    if entry is None:
        return None
    pairs = [tuple(p) for p in entry.get("query", entry["params"])]
    return "/authorize?" + urlencode(pairs + [(RESUME_PARAM, interaction_id)])


def finish_interaction(params: MultiDict) -> None:
    interaction_id = params.get(RESUME_PARAM)
    pending = session.get(INTERACTIONS_KEY, {})
    if interaction_id in pending:
        pending = dict(pending)
        pending.pop(interaction_id)
        session[INTERACTIONS_KEY] = pending
