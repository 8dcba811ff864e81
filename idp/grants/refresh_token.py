"""Refresh tokens that rotate on every use; reusing a rotated one revokes the family.

The presented token is consumed by one guarded UPDATE (no read-then-write), so parallel
uses of one token yield exactly one new token and the rest count as reuse.
"""

from __future__ import annotations

from dataclasses import dataclass

from authlib.oauth2.rfc6749 import InvalidScopeError, grants, scope_to_list
from sqlalchemy import or_, select, update

from idp.audit import record_event
from idp.clock import utcnow
from idp.consent.choices import check_still_allowed
from idp.database import db
from idp.dpop import check_dpop_binding
from idp.grants.auth_methods import TOKEN_ENDPOINT_AUTH_METHODS
from idp.models import Grant, RefreshToken
from idp.subjects import Account, query_account
from idp.tokens import TokenSubject, digest, revoke_grant


@dataclass(frozen=True)
class RotatedRefreshToken:
    client_id: str
    scope: str
    grant: Grant
    #: Held here: the session's identity map keeps rows only while something refers to them.
    account: Account | None

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
        # RFC 9449 section 5: a bound token is spent only with a proof by its key (the key
        # condition is in the UPDATE, so the one statement that spends it also checks it).
        presented_jkt = check_dpop_binding(self.request.client, None)
        now = utcnow()
        consumed = db.session.execute(
            update(RefreshToken)
            .where(
                RefreshToken.token_hash == token_hash,
                RefreshToken.client_id == client_id,
                RefreshToken.used_at.is_(None),
                RefreshToken.expires_at > now,
                or_(RefreshToken.dpop_jkt.is_(None), RefreshToken.dpop_jkt == presented_jkt),
            )
            .values(used_at=now)
            .returning(RefreshToken.grant_id, RefreshToken.scope)
            # No RefreshToken object is loaded in this request: nothing to keep in step.
            .execution_options(synchronize_session=False)
        ).first()
        if consumed is None:
            self._explain_refusal(token_hash, client_id)
            return None
        grant = db.session.get(Grant, consumed.grant_id)
        if grant.revoked_at is not None or grant.expires_at <= now:
            return None
        account = query_account(grant)
        if not check_still_allowed(account, grant.business, grant.entity_id, grant.entity, grant.act):
            # A removed role, ended agreement or closed registration ends the grant, never a
            # token for a taxpayer the person no longer acts for.
            revoke_grant(grant.id, "role_ended")
            db.session.commit()
            return None
        return RotatedRefreshToken(client_id, consumed.scope, grant, account)

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

    def _explain_refusal(self, token_hash: str, client_id: str) -> None:
        """The token was not spent: a missing or wrong DPoP proof is that error (the token stays
        usable); a token spent before is reuse, which revokes its family."""
        spent = db.session.execute(
            select(RefreshToken.grant_id, RefreshToken.used_at, RefreshToken.dpop_jkt).where(
                RefreshToken.token_hash == token_hash, RefreshToken.client_id == client_id
            )
        ).first()
        if spent is None:
            return
        check_dpop_binding(self.request.client, spent.dpop_jkt)
        if spent.used_at is not None:
            revoke_grant(spent.grant_id, "refresh_token_reused")
            record_event("refresh_token.reused", "failure", client_id=client_id)
            # The revocation must outlive the error response that follows.
            db.session.commit()

    def authenticate_user(self, refresh_token: RotatedRefreshToken) -> TokenSubject | None:
        account = refresh_token.account
        if account is None or account.status != "active":
            return None
        return TokenSubject(account, refresh_token.grant)

    def revoke_old_credential(self, refresh_token: RotatedRefreshToken) -> None:
        """Nothing left to do: the old token was consumed when it was authenticated."""
