"""After login, before the code: must the person choose a taxpayer, or consent?

Two lists of small named checks read top to bottom (docs/architecture.md §5.5), like the login checks
in :mod:`idp.protocol.authorize_policy`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select

from idp.consent.choices import BUSINESS_ENTRIES, NATURAL_PERSON, check_still_allowed, pending_roles
from idp.consent.records import ConsentRecord
from idp.core.database import db
from idp.login.record import BrowserLogin, LegacyLoginContext
from idp.models import Client

#: Authorization parameters (documented in docs/integration.md) by which a relying party
#: preselects one business entry or restricts the entries offered.
BUSINESS_ENTRY_PARAM = "business_entry"
BUSINESS_ENTRIES_PARAM = "business_entries"


@dataclass(frozen=True)
class InteractionContext:
    login: BrowserLogin
    client: Client
    scope: str
    prompts: frozenset[str]
    allowed_entries: tuple[str, ...]
    preselected_entry: str | None
    #: Steps already done for this very authorization request.
    done: frozenset[str]


def requested_entries(params) -> tuple[tuple[str, ...], str | None]:
    """The entries a relying party allows (all when it names none) and the one it preselects."""
    restricted = [e for e in (params.get(BUSINESS_ENTRIES_PARAM) or "").split() if e in BUSINESS_ENTRIES]
    allowed = tuple(restricted) or BUSINESS_ENTRIES
    preselected = params.get(BUSINESS_ENTRY_PARAM)
    return allowed, preselected if preselected in allowed else None


def check_pending_roles(ctx: InteractionContext) -> str | None:
    # A role added by an administrator is confirmed by the person at their next login.
    if isinstance(ctx.login, LegacyLoginContext):
        return None  # the old enterprise login has no person, hence no roles
    return "confirm_roles" if pending_roles(ctx.login.person) else None


def check_prompt_select_account(ctx: InteractionContext) -> str | None:
    if isinstance(ctx.login, LegacyLoginContext):
        return None  # its one taxpayer is fixed; idp.protocol.authorize_policy asked for a new login instead
    return "select_account" if "select_account" in ctx.prompts and "selected" not in ctx.done else None


def check_business_entry(ctx: InteractionContext) -> str | None:
    business = ctx.login.session.business
    if business not in ctx.allowed_entries:
        return "business_entry_not_allowed"
    if ctx.preselected_entry and ctx.preselected_entry != business and "selected" not in ctx.done:
        return "business_entry_preselected"
    return None


def check_entity_chosen(ctx: InteractionContext) -> str | None:
    if ctx.login.session.business != NATURAL_PERSON and ctx.login.session.entity is None:
        return "entity_required"
    return None


def check_entity_still_allowed(ctx: InteractionContext) -> str | None:
    # Single sign-on reuses the choice made at login: a role removed, an agency agreement ended
    # or a registration closed since then must not reach another relying party's tokens.
    session = ctx.login.session
    if session.entity is None or check_still_allowed(ctx.login.account, session.business, session.entity_id,
                                                     session.entity, session.act):
        return None
    return "entity_no_longer_allowed"


SELECTION_CHECKS: list[Callable[[InteractionContext], str | None]] = [
    check_pending_roles,
    check_prompt_select_account,
    check_business_entry,
    check_entity_chosen,
    check_entity_still_allowed,
]


def check_prompt_consent(ctx: InteractionContext) -> str | None:
    return "prompt_consent" if "consent" in ctx.prompts and "consented" not in ctx.done else None


def check_consent_recorded(ctx: InteractionContext) -> str | None:
    if "consented" in ctx.done:
        return None
    if isinstance(ctx.login, LegacyLoginContext):
        return "no_consent"  # never reached: third-party clients refuse the old login (idp.login.legacy)
    return None if query_consent(ctx.login.person.id, ctx.client.client_id, ctx.scope) else "no_consent"


CONSENT_CHECKS: list[Callable[[InteractionContext], str | None]] = [
    check_prompt_consent,
    check_consent_recorded,
]


def _first(checks, ctx: InteractionContext) -> str | None:
    for check in checks:
        if reason := check(ctx):
            return reason
    return None


def selection_required_reason(ctx: InteractionContext) -> str | None:
    """Why the person must confirm roles or choose a taxpayer first, or None."""
    return _first(SELECTION_CHECKS, ctx)


def consent_required_reason(ctx: InteractionContext) -> str | None:
    """Why the person must be asked for consent, or None; first-party clients never ask."""
    return None if ctx.client.first_party else _first(CONSENT_CHECKS, ctx)


def normalise_scope(scope: str) -> str:
    return " ".join(sorted(set(scope.split())))


def query_consent(person_id: int, client_id: str, scope: str) -> ConsentRecord | None:
    """A live consent covering every requested scope."""
    wanted = set(scope.split())
    records = db.session.execute(select(ConsentRecord).where(
        ConsentRecord.person_id == person_id, ConsentRecord.client_id == client_id,
        ConsentRecord.revoked_at.is_(None))).scalars()
    return next((r for r in records if wanted <= set(r.scope.split())), None)
