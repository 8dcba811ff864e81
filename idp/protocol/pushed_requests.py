"""Pushed authorization requests (RFC 9126) and which parameters /authorize acts on.

A client authenticates at /par (same methods as the token endpoint), pushes its authorization
request (plain parameters or a signed ``request`` object), and gets back a single-use
``request_uri`` that only it may use at /authorize, within ``PAR_TTL`` seconds.  The pushed
request gets the authorization endpoint's grant validation (authlib's, PKCE and response mode
included), so those errors reach the client directly instead of its redirect URI.  What
/authorize checks while it decides about the login (``prompt``, ``max_age``, ``claims``,
``id_token_hint``) is checked when the ``request_uri`` is used, and refused there by an error
redirect, as RFC 9126 section 2.1 allows.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import timedelta

from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import InvalidRequestError
from authlib.oauth2.rfc6749.endpoint import Endpoint, EndpointRequest
from authlib.oauth2.rfc9101.errors import InvalidRequestUriError
from sqlalchemy import update
from werkzeug.datastructures import MultiDict

from idp.audit.log import record_event
from idp.core.clock import utcnow
from idp.core.database import db
from idp.core.settings import current_settings
from idp.grants.auth_methods import TOKEN_ENDPOINT_AUTH_METHODS
from idp.models import PushedAuthorizationRequest
from idp.protocol.dpop import DpopProof, InvalidDpopProofError
from idp.protocol.request_objects import authorization_request_with, parameters_from_request_object
from idp.protocol.tokens import digest

REQUEST_URI_PREFIX = "urn:ietf:params:oauth:request_uri:"
#: Client authentication parameters: they authenticate the push, they are not part of the request.
CLIENT_AUTH_PARAMETERS = frozenset({"client_secret", "client_assertion", "client_assertion_type"})


class PushedRequestRequiredError(InvalidRequestError):
    """RFC 9126 section 6: this client registered ``require_pushed_authorization_requests``."""

    description = "This client must push its authorization requests to the pushed authorization request endpoint."


def validate_as_authorization_request(server, values: MultiDict) -> None:
    """Everything /authorize checks before anyone logs in: client, redirect URI, response
    type, scope, PKCE, nonce (authlib's grant validation with this provider's extensions)."""
    oauth_request = authorization_request_with(values)
    grant = server.get_authorization_grant(oauth_request)
    grant.validate_no_multiple_request_parameter(oauth_request)
    grant.validate_authorization_request()


@dataclass
class PushedRequest(EndpointRequest):
    # A default only because the base class's fields have defaults: validate_request sets it.
    params: MultiDict = field(default_factory=MultiDict)


class PushedAuthorizationEndpoint(Endpoint):
    ENDPOINT_NAME = "pushed_authorization"
    CLIENT_AUTH_METHODS = TOKEN_ENDPOINT_AUTH_METHODS

    def validate_request(self, request) -> PushedRequest:
        """RFC 9126 section 2.1."""
        client = self.server.authenticate_client(request, self.CLIENT_AUTH_METHODS, self.ENDPOINT_NAME)
        form = request.form
        if "request_uri" in form:
            raise InvalidRequestError("'request_uri' cannot be pushed.")
        if form.get("client_id", client.client_id) != client.client_id:
            raise InvalidRequestError("'client_id' is not the authenticated client.")
        values = MultiDict([(k, v) for k, v in form.items(multi=True) if k not in CLIENT_AUTH_PARAMETERS])
        values["client_id"] = client.client_id
        try:
            if "request" in values:
                values = parameters_from_request_object(self.server, values)
            self._bind_dpop_key(request.dpop_proof, values)
            validate_as_authorization_request(self.server, values)
        except OAuth2Error as error:
            # Section 2.3: errors go back in this response, never to the redirect URI.
            error.redirect_uri = None
            raise
        return PushedRequest(request=request, client=client, params=values)

    @staticmethod
    def _bind_dpop_key(proof: DpopProof | None, values: MultiDict) -> None:
        """RFC 9449 section 10.1: a DPoP proof at /par binds the code like ``dpop_jkt``."""
        if proof is None:
            return
        if values.get("dpop_jkt", proof.jkt) != proof.jkt:
            raise InvalidDpopProofError("'dpop_jkt' is not the thumbprint of the DPoP proof's key.")
        values["dpop_jkt"] = proof.jkt

    def create_response(self, validated: PushedRequest):
        """RFC 9126 section 2.2: 201 with the request_uri and its lifetime."""
        ttl = current_settings().PAR_TTL
        request_uri = REQUEST_URI_PREFIX + secrets.token_urlsafe(32)
        now = utcnow()
        db.session.add(PushedAuthorizationRequest(
            request_uri_hash=digest(request_uri), client_id=validated.client.client_id,
            params=[[k, v] for k, v in validated.params.items(multi=True)],
            created_at=now, expires_at=now + timedelta(seconds=ttl),
        ))
        record_event("par.pushed", client_id=validated.client.client_id)
        return 201, {"request_uri": request_uri, "expires_in": ttl}, [
            ("Content-Type", "application/json"), ("Cache-Control", "no-store")]


def consume_pushed_request(request_uri: object, client) -> MultiDict:
    """The parameters behind ``request_uri``, taken once, by the client that pushed them
    (RFC 9126 section 4); one guarded UPDATE, so two uses cannot both succeed."""
    if client is None or not isinstance(request_uri, str) or not request_uri.startswith(REQUEST_URI_PREFIX) \
            or len(request_uri) > 200:
        raise InvalidRequestUriError()
    now = utcnow()
    taken = db.session.execute(
        update(PushedAuthorizationRequest)
        .where(PushedAuthorizationRequest.request_uri_hash == digest(request_uri),
               PushedAuthorizationRequest.client_id == client.client_id,
               PushedAuthorizationRequest.used_at.is_(None),
               PushedAuthorizationRequest.expires_at > now)
        .values(used_at=now)
        .returning(PushedAuthorizationRequest.params)
        .execution_options(synchronize_session=False)
    ).first()
    if taken is None:
        record_event("par.refused", "failure", client_id=client.client_id)
        raise InvalidRequestUriError("The request_uri is unknown, expired, already used, or another client's.")
    return MultiDict([(name, value) for name, value in taken.params])


def _verified_redirect_uri(client, values: MultiDict) -> str | None:
    uri = values.get("redirect_uri")
    return uri if uri and client.check_redirect_uri(uri) else None


def resolve_authorization_parameters(server, values: MultiDict) -> MultiDict:
    """The parameters /authorize acts on: a pushed request's (RFC 9126 section 4), a signed
    request object's (RFC 9101 section 5), or the query's own."""
    client = server.query_client(values.get("client_id"))
    if "request_uri" in values:
        if "request" in values:
            raise InvalidRequestError("'request' and 'request_uri' cannot both be sent.")
        return consume_pushed_request(values.get("request_uri"), client)
    if client is not None and client.require_pushed_authorization_requests:
        # The redirect URI is the client's own, so the refusal may go back to it (with iss).
        raise PushedRequestRequiredError(redirect_uri=_verified_redirect_uri(client, values),
                                         state=values.get("state"))
    if "request" in values:
        return parameters_from_request_object(server, values)
    return values
