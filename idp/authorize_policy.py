"""Must the person log in (again) before this authorization request is answered?

One list of small named checks, read top to bottom (STYLE.md point 4).  Each returns the
reason a fresh login is needed, or None.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

from idp.login_state import LoginContext


@dataclass(frozen=True)
class AuthorizeContext:
    prompts: frozenset[str]
    max_age: int | None
    #: ``sub`` of a valid ``id_token_hint``, when one was sent.
    hinted_subject: str | None
    login: LoginContext | None
    #: When the login pages took over this request; a login after it is "fresh".
    interaction_started_at: int | None


def check_no_session(ctx: AuthorizeContext) -> str | None:
    return "no_session" if ctx.login is None else None


def check_prompt_login(ctx: AuthorizeContext) -> str | None:
    if "login" not in ctx.prompts:
        return None
    fresh = ctx.interaction_started_at is not None and ctx.login.session.auth_time >= ctx.interaction_started_at
    return None if fresh else "prompt_login"


def check_max_age(ctx: AuthorizeContext) -> str | None:
    # OIDC Core 3.1.2.1: older than max_age seconds means the person must log in again.
    if ctx.max_age is None or time.time() - ctx.login.session.auth_time <= ctx.max_age:
        return None
    return "max_age"


def check_id_token_hint_subject(ctx: AuthorizeContext) -> str | None:
    if ctx.hinted_subject is None or ctx.hinted_subject == ctx.login.person.sub:
        return None
    return "id_token_hint_subject"


LOGIN_CHECKS: list[Callable[[AuthorizeContext], str | None]] = [
    check_no_session,
    check_prompt_login,
    check_max_age,
    check_id_token_hint_subject,
]


def login_required_reason(ctx: AuthorizeContext) -> str | None:
    """The first reason a fresh login is needed, or None when the session may be used."""
    for check in LOGIN_CHECKS:
        reason = check(ctx)
        if reason:
            return reason
    return None
