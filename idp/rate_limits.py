"""Per-IP limits on the requests that guess credentials or send SMS (DESIGN.md section 10).

Counters live in Redis when ``REDIS_URL`` is set, so every worker and node shares them;
without it each process counts alone (fine for one development process).  One shared
budget, ``LOGIN_RATE_LIMIT``, covers every endpoint below, so spreading guesses over
password, SMS code, reset and registration forms gains nothing.
"""

from __future__ import annotations

from flask import Flask
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

#: Endpoints that check a secret someone could guess, or that send an SMS.
RATE_LIMITED_ENDPOINTS = (
    "login.login_submit",
    "login.sms_submit",
    "login.sms_resend",
    "password_reset.identify_submit",
    "password_reset.sms_send",
    "password_reset.sms_submit",
    "registration.start_submit",
    "registration.phone_send",
    "registration.phone_verify",
    "registration_api.start",
    "registration_api.phone",
    "registration_api.phone_verify",
)


def install_rate_limits(app: Flask) -> Limiter:
    """Wrap the endpoints above in one shared per-IP limit; call after blueprints are registered."""
    settings = app.config["IDP"]
    limiter = Limiter(get_remote_address, app=app, storage_uri=settings.REDIS_URL or "memory://",
                      key_prefix="idp", headers_enabled=True)
    shared = limiter.shared_limit(settings.LOGIN_RATE_LIMIT, scope="authentication")
    for endpoint in RATE_LIMITED_ENDPOINTS:
        app.view_functions[endpoint] = shared(app.view_functions[endpoint])
    return limiter
