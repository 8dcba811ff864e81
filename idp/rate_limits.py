"""Per-IP limits on the requests that guess credentials or send SMS (DESIGN.md section 10).

Counters live in Redis when ``REDIS_URL`` is set, so every worker and node shares them;
without it each process counts alone (fine for one development process).  One shared
budget, ``LOGIN_RATE_LIMIT``, covers every endpoint below, so spreading guesses over
password, SMS code, reset and registration forms gains nothing.  Only these endpoints pay
for the check (the ``limits`` library directly, no per-request hook on every other route).
"""

from __future__ import annotations

import time
from functools import wraps

from flask import Flask, request
from limits import parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter
from werkzeug.exceptions import TooManyRequests

#: Endpoints that check a secret someone could guess, or that send an SMS.
RATE_LIMITED_ENDPOINTS = (
    "login.login_submit",
    "login.sms_submit",
    "login.sms_resend",
    "legacy_login.login_submit",
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
NAMESPACE = ("idp", "authentication")


def install_rate_limits(app: Flask) -> None:
    """Wrap the endpoints above in one shared per-IP limit; call after blueprints are registered."""
    settings = app.config["IDP"]
    limiter = MovingWindowRateLimiter(storage_from_string(settings.REDIS_URL or "memory://"))
    budget = parse(settings.LOGIN_RATE_LIMIT)

    def limited(view):
        @wraps(view)
        def guarded(*args, **kwargs):
            address = request.remote_addr or "unknown"
            if not limiter.hit(budget, *NAMESPACE, address):
                reset = limiter.get_window_stats(budget, *NAMESPACE, address).reset_time
                raise TooManyRequests(retry_after=max(1, int(reset - time.time())))
            return view(*args, **kwargs)

        return guarded

    for endpoint in RATE_LIMITED_ENDPOINTS:
        app.view_functions[endpoint] = limited(app.view_functions[endpoint])
