"""Must the person log in (again) before this authorization request is answered?

One list of small named checks, read top to bottom (docs/architecture.md §5.5).  Each returns the
reason a fresh login is needed, or None.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from idp.login.record import BrowserLogin, LegacyLoginContext
from idp.protocol.acr import AcrRequest


@dataclass(frozen=True)
class AuthorizeContext:
    prompts: frozenset[str]
    max_age: int | None
    #: ``sub`` of a valid ``id_token_hint``, when one was sent.
    hinted_subject: str | None
    login: BrowserLogin | None
    #: When the login pages took over this request; a login after it is "fresh".
    interaction_started_at: int | None
    #: The strength asked for (``acr_values`` or an essential ``acr`` claim), if any.
    acr_request: AcrRequest | None = None
    #: Why this request never accepts the old enterprise login (idp.login.legacy), or None.
    legacy_refusal: str | None = None
    #: The public ``sub`` of a ``sub`` asked for with a value in ``claims`` (OIDC Core 5.5.1).
    requested_subject: str | None = None


def check_no_session(ctx: AuthorizeContext) -> str | None:
    return "no_session" if ctx.login is None else None


def check_legacy_login_accepted(ctx: AuthorizeContext) -> str | None:
    """The old enterprise login (loa:1, no person) is never stepped up: a request it does not
    satisfy (idp.login.legacy.legacy_refusal_reason) needs a login with a personal account.  It
    names one taxpayer only, so ``prompt=select_account`` asks for a login again too."""
    if not isinstance(ctx.login, LegacyLoginContext):
        return None
    if ctx.legacy_refusal is not None:
        return LEGACY_NOT_ACCEPTED
    if "select_account" in ctx.prompts and not logged_in_during_this_request(ctx):
        return LEGACY_NOT_ACCEPTED
    return None


def logged_in_during_this_request(ctx: AuthorizeContext) -> bool:
    """The login pages took over this very request and the person logged in after that."""
    return (ctx.login is not None and ctx.interaction_started_at is not None
            and ctx.login.session.auth_time >= ctx.interaction_started_at)


def check_prompt_login(ctx: AuthorizeContext) -> str | None:
    if "login" not in ctx.prompts:
        return None
    return None if logged_in_during_this_request(ctx) else "prompt_login"


def check_max_age(ctx: AuthorizeContext) -> str | None:
    # OIDC Core 3.1.2.1: older than max_age seconds means the person must log in again.
    # The login just done for this request satisfies it, or max_age=0 would loop forever.
    if ctx.login is None or ctx.max_age is None or logged_in_during_this_request(ctx):
        return None
    if time.time() - ctx.login.session.auth_time <= ctx.max_age:
        return None
    return "max_age"


def check_id_token_hint_subject(ctx: AuthorizeContext) -> str | None:
    if ctx.login is None or ctx.hinted_subject is None or ctx.hinted_subject == ctx.login.account.sub:
        return None
    return "id_token_hint_subject"


def check_requested_subject(ctx: AuthorizeContext) -> str | None:
    """OIDC Core 5.5.1: with ``sub`` asked for with a value, only that person's session answers."""
    if ctx.login is None or ctx.requested_subject is None or ctx.requested_subject == ctx.login.account.sub:
        return None
    return "requested_subject"


def check_acr(ctx: AuthorizeContext) -> str | None:
    """A session below the requested strength steps up: only the missing factor is asked."""
    if ctx.login is None or ctx.acr_request is None or ctx.acr_request.check_met(ctx.login.session.acr):
        return None
    return STEP_UP


#: The reason that sends the person to the step-up page rather than the login page.
STEP_UP = "acr_step_up"
#: An old enterprise login where a personal one is needed: the login page, never step-up.
LEGACY_NOT_ACCEPTED = "legacy_login_not_accepted"

LOGIN_CHECKS: list[Callable[[AuthorizeContext], str | None]] = [
    check_no_session,
    check_legacy_login_accepted,
    check_prompt_login,
    check_max_age,
    check_id_token_hint_subject,
    check_requested_subject,
    check_acr,
]


def login_required_reason(ctx: AuthorizeContext) -> str | None:
    """The first reason a fresh login is needed, or None when the session may be used."""
    for check in LOGIN_CHECKS:
        reason = check(ctx)
        if reason:
            return reason
    return None
