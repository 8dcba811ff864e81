"""Switching taxpayer without logging in again: OAuth 2.0 Token Exchange (RFC 8693).

The client presents its current access token as ``subject_token`` and names the target with
the documented parameters ``business``, ``entity`` (taxpayer number), ``tax_authority`` (a
special subject's competent authority) and ``agency`` (for agents).  The new tokens keep the
login's ``auth_time``/``acr``/``amr``; the previous grant ends.
"""

from __future__ import annotations

from authlib.oauth2.rfc6749 import InvalidGrantError, InvalidRequestError, OAuth2Error, UnauthorizedClientError
from authlib.oauth2.rfc6749.grants import BaseGrant, TokenEndpointMixin
from authlib.oauth2.rfc6749.hooks import hooked

from idp.audit.log import record_event
from idp.consent.choices import BUSINESS_ENTRIES, Choice, available_choices
from idp.core.database import db
from idp.grants.auth_methods import TOKEN_ENDPOINT_AUTH_METHODS
from idp.grants.dpop_bound import DpopBoundGrant
from idp.login.record import hold_live_login_session
from idp.models import Grant, Person
from idp.protocol.dpop import check_dpop_binding
from idp.protocol.tokens import TokenSubject, load_access_token, open_grant, revoke_grant

ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"


class InvalidTargetError(OAuth2Error):
    """RFC 8693 section 2.2.2: the requested target is not one this subject may act for."""

    error = "invalid_target"


def _matches(choice: Choice, entity: str | None, tax_authority: str | None, agency: str | None) -> bool:
    if choice.entity is None:
        return entity is None
    return (
        choice.entity["id"] == entity
        and (tax_authority is None or choice.entity["tax_authority"]["code"] == tax_authority)
        and (agency is None or (choice.act or {}).get("sub") == agency)
    )


class TokenExchangeGrant(DpopBoundGrant, BaseGrant, TokenEndpointMixin):
    GRANT_TYPE = "urn:ietf:params:oauth:grant-type:token-exchange"
    TOKEN_ENDPOINT_AUTH_METHODS = TOKEN_ENDPOINT_AUTH_METHODS

    def validate_token_request(self) -> None:
        client = self.authenticate_token_endpoint_client()
        if not client.check_grant_type(self.GRANT_TYPE):
            raise UnauthorizedClientError(f"The client is not authorized to use 'grant_type={self.GRANT_TYPE}'")
        form = self.request.form
        if not form.get("subject_token") or form.get("subject_token_type") != ACCESS_TOKEN_TYPE:
            raise InvalidRequestError(f"'subject_token' and 'subject_token_type={ACCESS_TOKEN_TYPE}' are required.")
        token = load_access_token(form["subject_token"])
        if token is None or token.is_expired() or token.is_revoked() or not token.check_client(client):
            raise InvalidGrantError("The subject token is not an active access token of this client.")
        # A DPoP-bound subject token is only exchanged with a proof by its key (RFC 9449 section 5).
        check_dpop_binding(self.request.dpop_proof, client, token.jkt)
        previous = db.session.get(Grant, token.claims.get("grant_id") or "")
        if previous is None or previous.person_id is None:
            # An old enterprise login (dual-track) acts for its one taxpayer only: no switching.
            raise InvalidGrantError("The subject token was not issued to a person.")
        business = form.get("business") or previous.business
        if business not in BUSINESS_ENTRIES:
            raise InvalidRequestError(f"'business' must be one of {', '.join(BUSINESS_ENTRIES)}.")
        person = db.session.get(Person, previous.person_id)
        if person is None:
            raise InvalidGrantError("The subject token was not issued to a person.")
        entity = form.get("entity") or (previous.entity or {}).get("id")
        choice = next((c for c in available_choices(person, business)
                       if _matches(c, entity, form.get("tax_authority"), form.get("agency"))), None)
        if choice is None:
            record_event("entity.switch", "failure", subject=person.sub, client_id=client.client_id,
                         business=business, taxpayer_number=entity)
            raise InvalidTargetError("The person holds no confirmed role for the requested taxpayer.")
        if not hold_live_login_session(previous.login_session_id) or not revoke_grant(previous.id, "switched"):
            # Logged out meanwhile, or a parallel exchange of the same token won (one switch each).
            raise InvalidGrantError("The subject token is not an active access token of this client.")
        self.request.client = client
        self.request.user = TokenSubject(person, open_grant(previous, previous.client_id, previous.scope, choice))
        record_event("entity.switch", subject=person.sub, client_id=client.client_id, business=business,
                     taxpayer_number=entity, tax_authority=choice.entity["tax_authority"]["code"]
                     if choice.entity else None)

    @hooked
    def create_token_response(self):
        subject: TokenSubject = self.request.user
        token = self.generate_token(user=subject, scope=subject.grant.scope,
                                    include_refresh_token=self.request.client.check_grant_type("refresh_token"))
        token["issued_token_type"] = ACCESS_TOKEN_TYPE
        self.save_token(token)
        return 200, token, self.TOKEN_RESPONSE_HEADER
