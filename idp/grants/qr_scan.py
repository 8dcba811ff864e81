"""The QR scan grant: RFC 8628 device authorization, approved from a mobile app (docs/architecture.md §6).

A client that shows a QR code asks the device authorization endpoint for codes (section 3.1),
shows ``verification_uri_complete`` as the QR code and polls the token endpoint with
``device_code`` under the custom grant type or RFC 8628's own URN, so RFC 8628 client libraries
work unchanged.  Answers follow section 3.5: ``authorization_pending``, ``slow_down`` (and the
interval grows by 5 s), ``access_denied``, ``expired_token``.  The approved code is consumed by one
guarded UPDATE: authlib's stock device grant reads then writes and redeems twice
(authlib 1.x DeviceCodeGrant), so only its endpoint and error classes are reused here.
"""

from __future__ import annotations

from datetime import timedelta

from authlib.consts import default_json_headers
from authlib.oauth2.rfc6749 import (
    AccessDeniedError,
    InvalidGrantError,
    InvalidRequestError,
    UnauthorizedClientError,
)
from authlib.oauth2.rfc6749.grants import BaseGrant, TokenEndpointMixin
from authlib.oauth2.rfc6749.hooks import hooked
from authlib.oauth2.rfc8628 import (
    AuthorizationPendingError,
    DeviceAuthorizationEndpoint,
    ExpiredTokenError,
    SlowDownError,
)
from sqlalchemy import select, update

from idp.audit.log import record_event
from idp.core.clock import utcnow
from idp.core.database import db
from idp.core.settings import current_settings
from idp.grants.auth_methods import TOKEN_ENDPOINT_AUTH_METHODS
from idp.grants.dpop_bound import DpopBoundGrant
from idp.models import Person, QrLoginRequest
from idp.protocol.tokens import TokenSubject, digest, open_grant
from idp.qr.codes import DEVICE, create_qr_request, public_status, redeem, start_device_login_session, verification_uri

QR_SCAN_GRANT_TYPE = "urn:qdtax:params:oauth:grant-type:qr-scan"
DEVICE_CODE_GRANT_TYPE = "urn:ietf:params:oauth:grant-type:device_code"
QR_GRANT_TYPES = (QR_SCAN_GRANT_TYPE, DEVICE_CODE_GRANT_TYPE)
#: RFC 8628 section 3.5: each slow_down adds this many seconds to the interval.
SLOW_DOWN_STEP = 5
#: Network jitter between two polls must not make a well-behaved client look too fast.
POLL_LEEWAY = timedelta(milliseconds=500)


def _check_client_may_use(client) -> None:
    # The two URNs name one grant: a client registered for either may use both.
    if not any(client.check_grant_type(grant_type) for grant_type in QR_GRANT_TYPES):
        raise UnauthorizedClientError("The client is not registered for the QR scan grant.")


class QrDeviceAuthorization(DeviceAuthorizationEndpoint):
    """RFC 8628 sections 3.1 and 3.2, with token-endpoint client authentication."""

    CLIENT_AUTH_METHODS = TOKEN_ENDPOINT_AUTH_METHODS

    def create_endpoint_response(self, request):
        client = self.authenticate_client(request)
        _check_client_may_use(client)
        issued = create_qr_request(kind=DEVICE, client_id=client.client_id,
                                   scope=client.get_allowed_scope(request.payload.scope))
        body = {
            "device_code": issued.device_code,
            "user_code": issued.user_code,
            "verification_uri": verification_uri(),
            # The QR code: section 3.3.1 allows "information with the same function as the
            # user_code"; here a 192-bit single-use token rather than the short user code.
            "verification_uri_complete": issued.payload,
            "expires_in": current_settings().QR_CODE_TTL,
            "interval": issued.row.poll_interval,
        }
        return 200, body, [*default_json_headers, ("Cache-Control", "no-store")]


class QrScanGrant(DpopBoundGrant, BaseGrant, TokenEndpointMixin):
    GRANT_TYPE = QR_SCAN_GRANT_TYPE
    TOKEN_ENDPOINT_AUTH_METHODS = TOKEN_ENDPOINT_AUTH_METHODS

    @classmethod
    def check_token_endpoint(cls, request) -> bool:
        return request.payload.grant_type in QR_GRANT_TYPES and request.method in cls.TOKEN_ENDPOINT_HTTP_METHODS

    def validate_token_request(self) -> None:
        """RFC 8628 section 3.4 request, section 3.5 answers."""
        client = self.authenticate_token_endpoint_client()
        _check_client_may_use(client)
        device_code = self.request.payload.data.get("device_code")
        if not isinstance(device_code, str) or not device_code:
            raise InvalidRequestError("Missing 'device_code'.")
        row = None
        if len(device_code) <= 128:
            row = db.session.execute(
                select(QrLoginRequest).where(QrLoginRequest.device_code_hash == digest(device_code))).scalar()
        if row is None or row.client_id != client.client_id:
            raise InvalidGrantError("Unknown 'device_code'.")
        self.request.client = client
        self.request.user = self._answer_poll(row)

    def _answer_poll(self, row: QrLoginRequest) -> TokenSubject:
        status = public_status(row)
        if status == "redeemed":
            raise InvalidGrantError("The 'device_code' was already used.")
        if status == "expired":
            raise ExpiredTokenError()
        if status == "denied":
            raise AccessDeniedError()
        if status == "approved":
            if not redeem(row):
                raise InvalidGrantError("The 'device_code' was already used.")
            return self._open_grant(row, self.request.client.client_id)
        self._check_polling_rate(row)
        raise AuthorizationPendingError()

    @staticmethod
    def _check_polling_rate(row: QrLoginRequest) -> None:
        """Section 3.5: a poll sooner than ``interval`` after the last one is ``slow_down``, and
        the interval grows by 5 s for this and every later poll."""
        now = utcnow()
        too_soon = row.next_poll_at is not None and now + POLL_LEEWAY < row.next_poll_at
        interval = row.poll_interval + SLOW_DOWN_STEP if too_soon else row.poll_interval
        last = (QrLoginRequest.next_poll_at.is_(None) if row.next_poll_at is None
                else QrLoginRequest.next_poll_at == row.next_poll_at)
        recorded = db.session.execute(
            update(QrLoginRequest).where(QrLoginRequest.id == row.id, last)
            .values(poll_interval=interval, next_poll_at=now + timedelta(seconds=interval))
            .returning(QrLoginRequest.id).execution_options(synchronize_session=False)
        ).first()
        # A poll that lost the race to a parallel one polled too fast by definition.
        if too_soon or recorded is None:
            raise SlowDownError()

    @staticmethod
    def _open_grant(row: QrLoginRequest, client_id: str) -> TokenSubject:
        """The redeemed approval becomes a login session and a grant, like a code redemption."""
        person = db.session.get(Person, row.person_id)
        if person is None or person.status != "active":
            raise InvalidGrantError("The approving person's account is not active.")
        login = start_device_login_session(row)
        grant = open_grant(login, client_id, row.scope)
        record_event("login.succeeded", subject=person.sub, acr=row.acr, amr=list(row.amr or []), sid=login.id[:8],
                     via="qr", client_id=row.client_id)
        return TokenSubject(person, grant)

    @hooked
    def create_token_response(self):
        subject: TokenSubject = self.request.user
        token = self.generate_token(user=subject, scope=subject.grant.scope,
                                    include_refresh_token=self.request.client.check_grant_type("refresh_token"))
        self.save_token(token)
        return 200, token, self.TOKEN_RESPONSE_HEADER
