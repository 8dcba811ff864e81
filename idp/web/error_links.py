"""Where an error page lets the person go on (docs/architecture.md §12.1): back to the application
they came from, with an OAuth error response it can act on, when that application and its
redirect URI are known and valid; else into the login again, resuming the application's request
when it is known; and, after a refused form (an expired page), into the same step again.

An error page never sends the browser to a URI that was not checked against the client's
registration: a redirect URI of an invalid request is exactly what an attacker would supply.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, request, url_for
from werkzeug.exceptions import HTTPException

from idp.protocol.interactions import RESUME_PARAM, Interaction, find_interaction


@dataclass(frozen=True)
class ErrorLinks:
    #: 返回应用: the client's redirect URI carrying ``error=access_denied``, or None.
    return_url: str | None
    #: 重新登录 / 重新开始这一步, offered when there is no way back or after a refused form.
    restart_url: str | None
    #: The message key of the restart link.
    restart_key: str


def pending_request() -> Interaction | None:
    """The authorization request the failed page served, if the browser named a live one: the
    one place the error pages read the pending interaction (docs/architecture.md §5.2)."""
    interaction_id = request.args.get(RESUME_PARAM)
    if interaction_id is None and request.method == "POST":
        try:
            interaction_id = request.form.get(RESUME_PARAM)
        except HTTPException:  # a body over the size limit cannot be read, not even here
            interaction_id = None
    return find_interaction(interaction_id)


def _same_page() -> str | None:
    """The page a refused form was posted from, when the same address serves it (GET)."""
    if request.method != "POST":
        return None
    try:
        current_app.url_map.bind_to_environ(request.environ).match(request.path, method="GET")
    except HTTPException:  # no page there (405), or one under another address (a redirect)
        return None
    return request.path


def error_links(*, restart_step: bool = False) -> ErrorLinks:
    """The ways on from this request's error page: back to the application if it can be told,
    else into the login again; a refused form (``restart_step``) also offers its step again."""
    pending = pending_request()
    target = pending.return_target() if pending else None
    back = target.url if target else None
    if back is not None and not restart_step:
        return ErrorLinks(back, None, "log_in_again")
    if pending is not None:
        restart = pending.resume_url()
    else:
        restart = (_same_page() if restart_step else None) or url_for("login.login_page")
    return ErrorLinks(back, restart, "error_restart_step" if restart_step else "log_in_again")
