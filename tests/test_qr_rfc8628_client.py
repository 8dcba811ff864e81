"""An unmodified RFC 8628 client library completes the QR scan grant against the served provider.

requests-oauth2client finds the endpoints by discovery, asks for codes, and polls with the
standard ``urn:ietf:params:oauth:grant-type:device_code`` grant type, honouring
``authorization_pending`` and the interval; the mobile-app simulator approves in between.
"""

from __future__ import annotations

import pytest
import requests
from requests_oauth2client import DeviceAuthorizationPollingJob, OAuth2Client

from idp.core.settings import current_settings
from idp.dev.app_simulator import MobileAppSimulator

from conftest import PASSWORD
from qr_steps import APP_REDIRECT, DEVICE_GRANT, register_bureau_app, register_kiosk


@pytest.fixture
def phone(live_provider, person) -> MobileAppSimulator:
    bureau_app = register_bureau_app(live_provider.app)
    simulator = MobileAppSimulator(issuer=live_provider.url, client_id=bureau_app.client_id, redirect_uri=APP_REDIRECT,
                                   sms_outbox=current_settings(live_provider.app).sms_outbox_path)
    simulator.login(person["username"], PASSWORD)
    return simulator


def test_requests_oauth2client_device_flow_completes_after_the_app_approves(live_provider, phone, person):
    kiosk = register_kiosk(live_provider.app, grant_types=[DEVICE_GRANT, "refresh_token"],
                           auth_method="client_secret_post")  # what the library sends
    discovery = requests.get(live_provider.discovery_url, timeout=10).json()
    # The library reads most endpoints from discovery, not this one: it is handed over as published.
    oauth = OAuth2Client.from_discovery_document(
        discovery, issuer=live_provider.url, testing=True, auth=(kiosk.client_id, kiosk.client_secret),
        device_authorization_endpoint=discovery["device_authorization_endpoint"])
    codes = oauth.authorize_device(scope="openid profile")
    job = DeviceAuthorizationPollingJob(oauth, codes)
    assert job() is None  # authorization_pending: the library keeps polling

    asked = phone.scan(codes.verification_uri_complete)
    assert asked["client"]["name"] == "办税服务厅自助终端"
    phone.approve(codes.verification_uri_complete)
    token = job()

    assert token is not None and token.refresh_token
    assert token.id_token is not None
    claims = token.id_token.claims
    assert claims["sub"] == person["sub"] and claims["amr"] == ["pwd", "sms", "mca", "mfa"]
    assert job.interval == 5  # it never polled too fast, so never had to slow down
