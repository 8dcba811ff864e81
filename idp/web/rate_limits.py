"""Per-IP limits on the requests that guess credentials or send SMS (docs/architecture.md §10), and
on the QR login page, which stores a code for anyone who asks.

Counters live in Redis when ``REDIS_URL`` is set, so every worker and node shares them;
without it, and while Redis is unreachable (:mod:`idp.web.rate_limiter`), each process counts alone.  One shared
budget, ``LOGIN_RATE_LIMIT``, covers every guessing endpoint below, so spreading guesses over
password, SMS code, reset and registration forms gains nothing; ``QR_PAGE_RATE_LIMIT`` bounds
the QR codes one address can make.  Only these endpoints pay for the check (the ``limits``
library directly, no per-request hook on every other route).
"""

from __future__ import annotations

from functools import wraps

from flask import Flask, request
from limits import parse
from werkzeug.exceptions import TooManyRequests

from idp.audit.log import record_event_at_once
from idp.core.settings import current_settings
from idp.web.rate_limiter import FallbackRateLimiter

#: Endpoints that check a secret someone could guess, or that send an SMS.
RATE_LIMITED_ENDPOINTS = (
    "login.login_submit",
    "login.sms_submit",
    "login.sms_resend",
    "legacy_login.login_submit",
    # A challenge is stored for anyone who asks; a certificate login asks once.
    "certificate_login.challenge",
    "certificate_login.certificate_submit",
    "certificate_login.person_submit",
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
#: Each budget: the setting that sizes it and the endpoints drawing on it. The QR login page
#: stores a code (and draws its SVG) for anyone who asks, so it has a budget of its own.
BUDGETS = {
    "authentication": ("LOGIN_RATE_LIMIT", RATE_LIMITED_ENDPOINTS),
    "qr_codes": ("QR_PAGE_RATE_LIMIT", ("qr_login.qr_page",)),
}


def install_rate_limits(app: Flask) -> None:
    """Wrap the endpoints above in their per-IP budgets; call after blueprints are registered."""
    settings = current_settings(app)
    limiter = FallbackRateLimiter(settings.REDIS_URL)

    def limited(view, budget, name: str):
        @wraps(view)
        def guarded(*args, **kwargs):
            address = request.remote_addr or "unknown"
            verdict = limiter.hit(budget, "idp", name, address)
            if not verdict.allowed:
                # GB/T 22239-2019 8.1.4.3: refused attempts are security events too.
                record_event_at_once("rate_limit.refused", "failure", budget=name, endpoint=request.endpoint)
                raise TooManyRequests(retry_after=verdict.retry_after)
            return view(*args, **kwargs)

        return guarded

    for name, (setting, endpoints) in BUDGETS.items():
        budget = parse(getattr(settings, setting))
        for endpoint in endpoints:
            app.view_functions[endpoint] = limited(app.view_functions[endpoint], budget, name)
