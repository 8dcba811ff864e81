"""The authorization code grant (RFC 6749 section 4.1) with single-use, 60-second codes.

A code is consumed by one guarded UPDATE, so of many parallel redemptions exactly one
wins; presenting a spent code again revokes everything the first redemption issued
(RFC 6749 section 4.1.2).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

from authlib.oauth2.rfc6749 import InvalidRequestError, grants
from authlib.oidc.core.errors import LoginRequiredError
from authlib.oidc.core.grants.util import is_openid_scope
from sqlalchemy import Row

from idp.audit.log import record_event
from idp.core.clock import utcnow
from idp.core.database import db
from idp.core.settings import current_settings
from idp.grants.auth_methods import TOKEN_ENDPOINT_AUTH_METHODS
from idp.grants.dpop_bound import DpopBoundGrant
from idp.grants.single_use import SingleUseCredential
from idp.login.record import BrowserLogin, hold_live_login_session
from idp.models import AuthorizationCode, Grant
from idp.protocol.claims_request import parse_claims_request, requested_scope
from idp.protocol.subjects import Account, query_grant_and_account
from idp.protocol.tokens import TokenSubject, digest, open_grant


@dataclass(frozen=True)
class RedeemedCode:
    """A code that this request consumed, with the grant it opened."""

    #: The spent code's columns (``_CODES`` returns them).
    row: Row
    grant: Grant
    #: Held here: the session's identity map keeps rows only while something refers to them.
    account: Account | None

    def get_redirect_uri(self) -> str:
        return self.row.redirect_uri

    def get_scope(self) -> str:
        return self.row.scope

    def get_nonce(self) -> str | None:
        return self.row.nonce

    def get_auth_time(self) -> int:
        return self.grant.auth_time

    def get_acr(self) -> str:
        return self.grant.acr

    def get_amr(self) -> list[str]:
        return list(self.grant.amr)

    @property
    def code_challenge(self) -> str:
        return self.row.code_challenge

    @property
    def code_challenge_method(self) -> str:
        return self.row.code_challenge_method


_CODES = SingleUseCredential("code", AuthorizationCode.__table__, "code_hash", (
    "grant_id", "redirect_uri", "scope", "nonce", "code_challenge", "code_challenge_method"))

DPOP_JKT = re.compile(r"[A-Za-z0-9_-]{43}")


class AuthorizationCodeGrant(DpopBoundGrant, grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = TOKEN_ENDPOINT_AUTH_METHODS
    AUTHORIZATION_CODE_LENGTH = 43
    #: Set by the first validation of this grant's one request.
    _validated_redirect_uri: str | None = None

    def generate_authorization_code(self) -> str:
        return secrets.token_urlsafe(32)

    def validate_authorization_request(self) -> str:
        # authlib's create_authorization_response validates the grant it is given once more
        # (the nonce replay query again); one grant serves one request, so once is enough.
        if self._validated_redirect_uri is not None:
            return self._validated_redirect_uri
        redirect_uri = super().validate_authorization_request()
        # RFC 9449 section 10: dpop_jkt is an RFC 7638 SHA-256 thumbprint, base64url.
        jkt = self.request.payload.data.get("dpop_jkt")
        if jkt is not None and not DPOP_JKT.fullmatch(jkt):
            raise InvalidRequestError("'dpop_jkt' must be a base64url SHA-256 JWK thumbprint.",
                                      redirect_uri=redirect_uri)
        # Discovery offers the query only; a client that asked for form_post or a fragment would
        # wait at the wrong handler for a code it never saw arrive.
        if self.request.payload.data.get("response_mode") not in (None, "query"):
            raise InvalidRequestError("Only 'response_mode=query' is supported.", redirect_uri=redirect_uri)
        if parse_claims_request(self.request.payload.data, redirect_uri) is not None:
            # OIDC Core 5.5: a claim asked for by name comes with its scope (idp.protocol.claims_request);
            # the consent pages read the same requested_scope.
            self.request.scope = self.request.client.get_allowed_scope(requested_scope(self.request.payload.data))
        self._validated_redirect_uri = redirect_uri
        return redirect_uri

    def save_authorization_code(self, code: str, request) -> None:
        settings = current_settings()
        login: BrowserLogin = request.user
        if not hold_live_login_session(login.session.id):
            # Logged out (another tab, the expiry sweep) while this request was on its way.
            raise LoginRequiredError(redirect_uri=request.payload.redirect_uri, state=request.payload.state)
        grant = open_grant(login.session, request.client.client_id, request.scope or "")
        data = request.payload.data
        now = utcnow()
        db.session.add(
            AuthorizationCode(
                code_hash=digest(code),
                grant_id=grant.id,
                client_id=request.client.client_id,
                redirect_uri=request.payload.redirect_uri,
                scope=grant.scope,
                # Only OpenID requests have their nonce checked (IdTokenExtension); elsewhere it
                # is an unknown parameter, ignored (RFC 6749 section 3.1).
                nonce=data.get("nonce") if is_openid_scope(grant.scope) else None,
                code_challenge=data["code_challenge"],
                code_challenge_method=data["code_challenge_method"],
                dpop_jkt=data.get("dpop_jkt"),
                issued_at=now,
                expires_at=now + timedelta(seconds=settings.CODE_TTL),
            )
        )
        record_event("code.issued", subject=login.account.sub, client_id=request.client.client_id)

    def query_authorization_code(self, code: str, client) -> RedeemedCode | None:
        if not isinstance(code, str) or len(code) > 256:
            return None
        spent = _CODES.spend(client, code, self.request.dpop_proof)
        if spent is None:
            return None
        found = query_grant_and_account(spent.grant_id)
        if found is None:
            return None
        grant, account = found
        if grant.revoked_at is not None:
            return None
        return RedeemedCode(spent, grant, account)

    def delete_authorization_code(self, authorization_code: RedeemedCode) -> None:
        """Nothing to delete: the code was consumed atomically when it was looked up."""

    def authenticate_user(self, authorization_code: RedeemedCode) -> TokenSubject | None:
        person = authorization_code.account
        if person is None or person.status != "active":
            return None
        return TokenSubject(person, authorization_code.grant)
