"""A registered relying party or app (docs/architecture.md §1, §7.1), shaped for authlib's ClientMixin."""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime
from urllib.parse import urlsplit

from authlib.oauth2.rfc6749 import ClientMixin, list_to_scope, scope_to_list
from sqlalchemy import Boolean, Integer, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from idp.core.columns import JSONType, UTCDateTime, utcnow
from idp.core.database import Model
from idp.protocol.redirect_uris import RedirectUriError, check_browser_uri, matches_registered


def hash_client_secret(secret: str) -> str:
    """SHA-256 of a generated 256-bit secret: its entropy, not a slow hash, is the defence."""
    return hashlib.sha256(secret.encode()).hexdigest()


class Client(Model, ClientMixin):
    __tablename__ = "client"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    client_secret_hash: Mapped[str | None] = mapped_column(String(128), nullable=True)
    name: Mapped[str] = mapped_column(String(128), nullable=False)
    redirect_uris: Mapped[list] = mapped_column(JSONType, nullable=False, default=list)
    post_logout_redirect_uris: Mapped[list] = mapped_column(JSONType, nullable=False, default=list)
    grant_types: Mapped[list] = mapped_column(JSONType, nullable=False, default=list)
    scope: Mapped[str] = mapped_column(String(512), nullable=False, default="")
    token_endpoint_auth_method: Mapped[str] = mapped_column(String(32), nullable=False)
    #: Public JWKS for private_key_jwt clients.
    jwks: Mapped[dict | None] = mapped_column(JSONType, nullable=True)
    #: Rows registered before RS256 became the default (OIDC Registration section 2) keep the ES256
    #: they were registered with: their relying parties verify it today.
    id_token_signed_response_alg: Mapped[str] = mapped_column(String(16), nullable=False, default="RS256")
    first_party: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    #: Which kind of app may approve QR logins (idp.protocol.clients.QR_APPROVER_KINDS), or None.
    qr_approver: Mapped[str | None] = mapped_column(String(32), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    #: OpenID Connect Back-Channel Logout 1.0 section 2.2 registration.
    backchannel_logout_uri: Mapped[str | None] = mapped_column(Text, nullable=True)
    backchannel_logout_session_required: Mapped[bool] = mapped_column(
        Boolean, nullable=False, default=False, server_default=false())
    #: RFC 9126 section 6: plain authorization requests from this client are refused.
    require_pushed_authorization_requests: Mapped[bool] = mapped_column(
        Boolean, nullable=False, default=False, server_default=false())
    #: RFC 9449 section 5.2: this client's tokens are always DPoP-bound.
    dpop_bound_access_tokens: Mapped[bool] = mapped_column(
        Boolean, nullable=False, default=False, server_default=false())
    #: "public" or "pairwise" (OIDC Core 8); rows older than pairwise subjects keep "public".
    subject_type: Mapped[str] = mapped_column(String(16), nullable=False, default="public", server_default="public")
    #: OIDC Core 8.1: its host, not the redirect URIs', is the sector of pairwise subjects.
    sector_identifier_uri: Mapped[str | None] = mapped_column(Text, nullable=True)
    #: OIDC Dynamic Client Registration 1.0 section 2 ``default_acr_values``: the strength asked for when
    #: a request names none (``acr_values`` or an essential ``acr`` claim); None or empty asks for none.
    default_acr_values: Mapped[list | None] = mapped_column(JSONType, nullable=True)

    @property
    def is_public(self) -> bool:
        return self.token_endpoint_auth_method == "none"

    @property
    def client_metadata(self) -> dict:
        # authlib's end-session endpoint redirects only to these: a row registered before the
        # rules of idp.protocol.redirect_uris is held to them too, as check_redirect_uri does.
        return {"post_logout_redirect_uris": [uri for uri in self.post_logout_redirect_uris
                                              if self._acceptable_browser_uri(uri)]}

    def _acceptable_browser_uri(self, uri: str) -> bool:
        try:
            check_browser_uri(uri, native=self.is_public)
        except RedirectUriError:
            return False
        return True

    @property
    def sector_identifier(self) -> str | None:
        """The host pairwise subjects are computed for (OIDC Core 8.1)."""
        uris = [self.sector_identifier_uri] if self.sector_identifier_uri else self.redirect_uris
        hosts = {urlsplit(uri).hostname for uri in uris}
        return hosts.pop() if len(hosts) == 1 else None

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        # OIDC requires redirect_uri on every request; no default keeps that strict.
        return None

    def get_allowed_scope(self, scope: str | None) -> str:
        if not scope:
            return ""
        allowed = set(scope_to_list(self.scope))
        return list_to_scope([s for s in scope_to_list(scope) if s in allowed])

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        """Registered (exactly, or a loopback IP on another port: RFC 8252 section 7.3) and still
        acceptable: a row registered before the rules of idp.protocol.redirect_uris is held to them too."""
        return (any(matches_registered(redirect_uri, registered) for registered in self.redirect_uris)
                and self._acceptable_browser_uri(redirect_uri))

    def check_client_secret(self, client_secret: str) -> bool:
        if not self.client_secret_hash or not isinstance(client_secret, str):
            return False
        return hmac.compare_digest(self.client_secret_hash, hash_client_secret(client_secret))

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method == self.token_endpoint_auth_method

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code" and "authorization_code" in self.grant_types

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in self.grant_types
