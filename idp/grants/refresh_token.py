"""Refresh tokens that rotate on every use; reusing a rotated one revokes the family.

The presented token is consumed by one guarded UPDATE (no read-then-write; see
``idp.grants.single_use``), so parallel uses of one token yield exactly one new token and the
rest count as reuse.
"""

from __future__ import annotations

from dataclasses import dataclass

from authlib.oauth2.rfc6749 import InvalidScopeError, grants, scope_to_list
from sqlalchemy import select

from idp.consent.choices import check_still_allowed
from idp.core.clock import utcnow
from idp.core.database import db
from idp.grants.auth_methods import TOKEN_ENDPOINT_AUTH_METHODS
from idp.grants.dpop_bound import DpopBoundGrant
from idp.grants.single_use import SingleUseCredential
from idp.models import Grant, RefreshToken
from idp.protocol.subjects import Account, query_grant_and_account
from idp.protocol.tokens import TokenSubject, digest, revoke_grant

_REFRESH_TOKENS = SingleUseCredential("refresh_token", RefreshToken.__table__, "token_hash", ("grant_id", "scope"))


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


class RefreshTokenGrant(DpopBoundGrant, grants.RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = TOKEN_ENDPOINT_AUTH_METHODS
    INCLUDE_NEW_REFRESH_TOKEN = True

    def authenticate_refresh_token(self, refresh_token: str) -> RotatedRefreshToken | None:
        if not isinstance(refresh_token, str) or len(refresh_token) > 256:
            return None
        client = self.request.client
        self._refuse_wider_scope(refresh_token, client.client_id)
        consumed = _REFRESH_TOKENS.spend(client, refresh_token, self.request.dpop_proof)
        if consumed is None:
            return None
        found = query_grant_and_account(consumed.grant_id)
        if found is None:
            return None
        grant, account = found
        if grant.revoked_at is not None or grant.expires_at <= utcnow():
            return None
        if not check_still_allowed(account, grant.business, grant.entity_id, grant.entity, grant.act):
            # A removed role, ended agreement or closed registration ends the grant, never a
            # token for a taxpayer the person no longer acts for.
            revoke_grant(grant.id, "role_ended")
            return None
        return RotatedRefreshToken(client.client_id, consumed.scope, grant, account)

    def _refuse_wider_scope(self, refresh_token: str, client_id: str) -> None:
        """RFC 6749 section 6: checked before the token is spent, so the client may retry."""
        requested = set(scope_to_list(self.request.payload.scope) or [])
        if not requested:
            return
        granted = db.session.execute(
            select(RefreshToken.scope).where(RefreshToken.token_hash == digest(refresh_token),
                                             RefreshToken.client_id == client_id)
        ).scalar()
        if granted is not None and not requested <= set(scope_to_list(granted) or []):
            raise InvalidScopeError()

    def authenticate_user(self, refresh_token: RotatedRefreshToken) -> TokenSubject | None:
        account = refresh_token.account
        if account is None or account.status != "active":
            return None
        return TokenSubject(account, refresh_token.grant)

    def revoke_old_credential(self, refresh_token: RotatedRefreshToken) -> None:
        """Nothing left to do: the old token was consumed when it was authenticated."""
