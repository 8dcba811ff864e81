"""Refresh tokens that rotate on every use; reusing a rotated one revokes the family.

The presented token is consumed by one guarded UPDATE (no read-then-write), so parallel
uses of one token yield exactly one new token and the rest count as reuse.
"""

from __future__ import annotations

from dataclasses import dataclass

from authlib.oauth2.rfc6749 import InvalidScopeError, grants, scope_to_list
from sqlalchemy import select, update

from idp.audit import record_event
from idp.clock import utcnow
from idp.consent.choices import check_still_allowed
from idp.database import db
from idp.dpop import check_dpop_binding
from idp.grants.auth_methods import TOKEN_ENDPOINT_AUTH_METHODS
from idp.models import Grant, Person, RefreshToken
from idp.tokens import TokenSubject, digest, revoke_grant


@dataclass(frozen=True)
class RotatedRefreshToken:
    client_id: str
    scope: str
    grant: Grant

    def check_client(self, client) -> bool:
        return client.client_id == self.client_id

    def get_scope(self) -> str:
        return self.scope


class RefreshTokenGrant(grants.RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = TOKEN_ENDPOINT_AUTH_METHODS
    INCLUDE_NEW_REFRESH_TOKEN = True

    def authenticate_refresh_token(self, refresh_token: str) -> RotatedRefreshToken | None:
        if not isinstance(refresh_token, str) or len(refresh_token) > 256:
            return None
        client_id = self.request.client.client_id
        token_hash = digest(refresh_token)
        self._refuse_wider_scope(token_hash, client_id)
        # RFC 9449 section 5: a bound token needs a proof by its key, checked before it is spent.
        check_dpop_binding(self.request.client, db.session.execute(select(RefreshToken.dpop_jkt).where(
            RefreshToken.token_hash == token_hash, RefreshToken.client_id == client_id)).scalar())
        now = utcnow()
        consumed = db.session.execute(
            update(RefreshToken)
            .where(
                RefreshToken.token_hash == token_hash,
                RefreshToken.client_id == client_id,
                RefreshToken.used_at.is_(None),
                RefreshToken.expires_at > now,
            )
            .values(used_at=now)
            .returning(RefreshToken.grant_id, RefreshToken.scope)
        ).first()
        if consumed is None:
            self._revoke_if_reused(token_hash, client_id)
            return None
        grant = db.session.get(Grant, consumed.grant_id)
        if grant.revoked_at is not None or grant.expires_at <= now:
            return None
        person = db.session.get(Person, grant.person_id)
        if not check_still_allowed(person, grant.business, grant.entity_id, grant.entity, grant.act):
            # A removed role, ended agreement or closed registration ends the grant, never a
            # token for a taxpayer the person no longer acts for.
            revoke_grant(grant.id, "role_ended")
            db.session.commit()
            return None
        return RotatedRefreshToken(client_id, consumed.scope, grant)

    def _refuse_wider_scope(self, token_hash: str, client_id: str) -> None:
        """RFC 6749 section 6: checked before the token is spent, so the client may retry."""
        requested = set(scope_to_list(self.request.payload.scope) or [])
        if not requested:
            return
        granted = db.session.execute(
            select(RefreshToken.scope).where(RefreshToken.token_hash == token_hash, RefreshToken.client_id == client_id)
        ).scalar()
        if granted is not None and not requested <= set(scope_to_list(granted) or []):
            raise InvalidScopeError()

    def _revoke_if_reused(self, token_hash: str, client_id: str) -> None:
        spent = db.session.execute(
            select(RefreshToken.grant_id, RefreshToken.used_at).where(
                RefreshToken.token_hash == token_hash, RefreshToken.client_id == client_id
            )
        ).first()
        if spent is not None and spent.used_at is not None:
            revoke_grant(spent.grant_id, "refresh_token_reused")
            record_event("refresh_token.reused", "failure", client_id=client_id)
            # The revocation must outlive the error response that follows.
            db.session.commit()

    def authenticate_user(self, refresh_token: RotatedRefreshToken) -> TokenSubject | None:
        person = db.session.get(Person, refresh_token.grant.person_id)
        if person is None or person.status != "active":
            return None
        return TokenSubject(person, refresh_token.grant)

    def revoke_old_credential(self, refresh_token: RotatedRefreshToken) -> None:
        """Nothing left to do: the old token was consumed when it was authenticated."""
