"""The relying party's pending authorization request, handed over to the provider's pages and
resumed afterwards (docs/architecture.md §5.2).

The original parameters stay on the server; the resumed request must repeat them exactly,
so an ``interaction`` id cannot be grafted onto another request.  Each interaction records
which steps (login, role review, taxpayer choice, consent) were done for it.  Every flow a
person takes on behalf of the request (login, registration, reset, step-up, …) carries its id
(:mod:`idp.protocol.pending_steps`) and returns to it through :meth:`Interaction.resume_url`
or, when the person must log in (again), :meth:`Interaction.login_url`.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from flask import session, url_for
from werkzeug.datastructures import MultiDict

from idp.core.settings import current_settings
from idp.protocol.client_registry import client_registry

INTERACTIONS_KEY = "interactions"
#: Oldest pending requests are dropped beyond this many per browser.
MAX_PENDING = 5
#: The login page's query parameter saying that the person is back because the last login timed out.
TIMED_OUT_PARAM = "timed_out"
RESUME_PARAM = "interaction"


@dataclass(frozen=True)
class ReturnTarget:
    """Where a person who gives up goes back to: the app's name and its ``access_denied`` answer."""

    client_name: str
    redirect_uri: str
    state: str | None
    #: ``redirect_uri`` with ``error=access_denied``, ``state`` and ``iss`` (RFC 6749 section 4.1.2.1, RFC 9207).
    url: str


@dataclass(frozen=True)
class Interaction:
    """A relying party's authorization request waiting in this browser for the person."""

    id: str
    #: When the pages took over this request; a login after it is "fresh".
    started_at: int
    done: frozenset[str]
    #: The request as resolved (a pushed or signed request already unpacked).
    params: MultiDict
    #: What the browser sent, repeated by the resumed request (differs from ``params`` for PAR).
    query: tuple[tuple[str, str], ...]

    def param(self, name: str) -> str | None:
        """A parameter of the request (``login_hint``, ``ui_locales``) for the pages."""
        return self.params.get(name)

    def resume_url(self) -> str:
        """Where the pages send the browser when they are done."""
        return "/authorize?" + urlencode(list(self.query) + [(RESUME_PARAM, self.id)])

    def login_url(self, *, timed_out: bool = False) -> str:
        """The login page serving this request (after a reset or forced change: log in again);
        ``timed_out``: the page says the last login timed out."""
        return url_for("login.login_page", interaction=self.id, **_timed_out_query(timed_out))

    def return_target(self) -> ReturnTarget | None:
        """The app's name and its ``access_denied`` redirect, while the client and this redirect URI
        are still registered; None otherwise (then only a restart of the login is offered)."""
        client = client_registry().query_client(self.params.get("client_id", ""))
        if client is None:
            return None
        redirect_uri = self.params.get("redirect_uri") or client.get_default_redirect_uri()
        if not redirect_uri or not client.check_redirect_uri(redirect_uri):
            return None
        state = self.params.get("state")
        answer = [("error", "access_denied")] + ([("state", state)] if state else []) + [
            ("iss", current_settings().ISSUER)]
        parts = urlsplit(redirect_uri)
        query = "&".join(q for q in (parts.query, urlencode(answer)) if q)
        return ReturnTarget(client.name, redirect_uri, state, urlunsplit(parts._replace(query=query)))


def _params_without_resume(params: MultiDict) -> list[list[str]]:
    return sorted([k, v] for k, v in params.items(multi=True) if k != RESUME_PARAM)


def find_interaction(interaction_id: object) -> Interaction | None:
    """The pending request with this id in this browser, or None (unknown, finished or dropped)."""
    if not isinstance(interaction_id, str) or not interaction_id:
        return None
    entry = session.get(INTERACTIONS_KEY, {}).get(interaction_id)
    if entry is None:
        return None
    params = [(k, v) for k, v in entry["params"]]
    return Interaction(interaction_id, entry["started_at"], frozenset(entry.get("done", [])), MultiDict(params),
                       tuple((k, v) for k, v in entry.get("query", entry["params"])))


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
    interaction = find_interaction(params.get(RESUME_PARAM))
    if interaction is None or [list(p) for p in interaction.query] != _params_without_resume(params):
        return None
    return interaction


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
    interaction = find_interaction(interaction_id)
    return interaction.params if interaction else None


def resume_url(interaction_id: str | None) -> str | None:
    """Where the pages send the browser when they are done."""
    interaction = find_interaction(interaction_id)
    return interaction.resume_url() if interaction else None


def login_url(interaction_id: str | None, *, timed_out: bool = False) -> str:
    """The login page, serving the pending request when this browser still holds it."""
    interaction = find_interaction(interaction_id)
    if interaction:
        return interaction.login_url(timed_out=timed_out)
    return url_for("login.login_page", **_timed_out_query(timed_out))


def _timed_out_query(timed_out: bool) -> dict[str, Any]:
    # url_for leaves out a None value.
    return {TIMED_OUT_PARAM: 1 if timed_out else None}


def finish_interaction(params: MultiDict) -> None:
    interaction_id = params.get(RESUME_PARAM)
    pending = session.get(INTERACTIONS_KEY, {})
    if interaction_id in pending:
        pending = dict(pending)
        pending.pop(interaction_id)
        session[INTERACTIONS_KEY] = pending
