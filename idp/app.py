"""The application factory: ``create_app(overrides=None)`` (the Flask tutorial's pattern)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from authlib.oauth2.rfc9207 import IssuerParameter
from flask import Flask
from flask_wtf.csrf import CSRFProtect

from idp.audit.chain import install_audit_chain
from idp.audit.checkpoints import install_periodic_checkpoints
from idp.consent import views as selection_views
from idp.core.database import db, engine_options, normalise_database_url, ping_idle_connections
from idp.core.database_outages import watch_availability
from idp.core.i18n import current_locale, translate
from idp.core.json_provider import UntrustedJsonProvider
from idp.core.log_redaction import install_log_redaction
from idp.core.personal_data_cipher import PERSONAL_DATA_EXTENSION, PersonalDataKeysError, load_personal_data_cipher
from idp.core.settings import SETTINGS_KEY, Settings, load_settings
from idp.factors.face_provider import FACE_PROVIDER_EXTENSION, create_face_provider
from idp.factors.sms_gateway import SMS_EXTENSION, create_sms_gateway
from idp.housekeeping.audit_chainer import install_audit_chainer
from idp.housekeeping.session_expiry import install_session_sweep
from idp.keyring import KEYRING_EXTENSION, create_keyring
from idp.keyring.schedule import install_rotation_schedule
from idp.login import (
    certificate_pages,
    face_step_pages,
    legacy_pages,
    step_up_pages,
)
from idp.login import pages as login_pages
from idp.people import (
    account_pages,
    account_rights_pages,
    account_verify_pages,
    app_code_pages,
    password_change_pages,
    password_reset_pages,
    registration_api,
    registration_pages,
    security_key_pages,
)
from idp.protocol import authorize, discovery, endpoints
from idp.protocol.client_registry import CLIENTS_EXTENSION, ClientRegistry
from idp.protocol.logout_worker import install_logout_worker
from idp.protocol.server import SERVER_EXTENSION, create_authorization_server
from idp.qr import api as qr_api
from idp.qr import pages as qr_pages
from idp.web import health
from idp.web.browser_session import install_browser_sessions
from idp.web.error_pages import install_error_pages
from idp.web.published_documents import install_published_documents
from idp.web.rate_limits import install_rate_limits
from idp.web.readiness import install_readiness
from idp.web.request_telemetry import install_request_telemetry
from idp.web.reverse_proxy import install_reverse_proxy
from idp.web.transactions import install_transactions


class IssuerInResponse(IssuerParameter):
    """RFC 9207: ``iss`` in every authorization response."""

    def __init__(self, issuer: str):
        self.issuer = issuer

    def get_issuer(self) -> str:
        return self.issuer


def _apply_security_headers(response):
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; frame-ancestors 'none'; form-action 'self' http: https:; base-uri 'none'",
    )
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    # Our own pages get a Referer, which flask-wtf demands of every form posted over https (a
    # second CSRF check beside the token); other sites, relying parties included, never see our
    # URLs (they carry authorization request parameters).
    response.headers.setdefault("Referrer-Policy", "same-origin")
    return response


def create_app(overrides: Mapping[str, Any] | None = None, *, check_keys: bool = True) -> Flask:
    """Build the provider from settings (defaults, ``IDP_*`` environment, then ``overrides``).

    Every signing key is read and checked first (a :class:`~idp.keyring.KeyringError` says which
    is broken and why); ``check_keys=False`` only for the key commands, which must work on a
    keyring holding a broken key: they are how it is revoked."""
    settings: Settings = load_settings(overrides)
    try:
        personal_data = load_personal_data_cipher(settings)
    except PersonalDataKeysError as error:
        raise SystemExit(str(error)) from None
    app = Flask(__name__, instance_path=str(settings.instance_path))
    app.extensions[PERSONAL_DATA_EXTENSION] = personal_data
    app.config.update(
        **{SETTINGS_KEY: settings},
        SECRET_KEY=settings.SECRET_KEY,
        **engine_options(normalise_database_url(settings.database_url), settings.DATABASE_POOL_SIZE,
                         settings.DATABASE_CONNECT_TIMEOUT),
        WTF_CSRF_TIME_LIMIT=settings.LOGIN_SESSION_TTL,
        MAX_CONTENT_LENGTH=64 * 1024,
    )
    app.json = UntrustedJsonProvider(app)
    install_log_redaction()
    db.init_app(app)
    install_audit_chain(db.session)
    with app.app_context():
        for engine in db.engines.values():
            ping_idle_connections(engine)
            watch_availability(engine)
    install_browser_sessions(app)
    csrf = CSRFProtect(app)

    keyring = create_keyring(settings)
    with app.app_context():
        keyring.ensure_initialised(check=check_keys)
    app.extensions[KEYRING_EXTENSION] = keyring
    install_rotation_schedule(app)
    install_logout_worker(app)
    install_session_sweep(app)
    install_audit_chainer(app)
    install_periodic_checkpoints(app)
    app.extensions[CLIENTS_EXTENSION] = ClientRegistry(settings.CLIENT_CACHE_TTL)
    app.extensions[SMS_EXTENSION] = create_sms_gateway(settings)
    app.extensions[FACE_PROVIDER_EXTENSION] = create_face_provider(settings)
    server = create_authorization_server(app)
    server.register_extension(IssuerInResponse(settings.ISSUER))
    app.extensions[SERVER_EXTENSION] = server

    # The app's registration API authenticates each call by its registration id instead.
    for blueprint in (discovery.bp, endpoints.bp, registration_api.bp, qr_api.bp):
        csrf.exempt(blueprint)
    # OIDC Core 3.1.2.1: relying parties may send the authorization request as a form POST from
    # their own site; it is the same request as by GET, so there is no token of ours to carry.
    csrf.exempt(authorize.authorize)
    for blueprint in (discovery.bp, endpoints.bp, authorize.bp, login_pages.bp, face_step_pages.bp,
                      selection_views.bp, password_change_pages.bp, password_reset_pages.bp, account_pages.bp,
                      account_verify_pages.bp, account_rights_pages.bp, registration_pages.bp, registration_api.bp,
                      step_up_pages.bp, qr_api.bp, qr_pages.bp, certificate_pages.bp, security_key_pages.bp,
                      app_code_pages.bp, legacy_pages.bp, health.bp):
        app.register_blueprint(blueprint)
    if settings.FACE_PROVIDER == "development":
        from idp.dev import face_provider as dev_face_provider

        app.register_blueprint(dev_face_provider.bp)
        csrf.exempt(dev_face_provider.decide_by_api)

    app.jinja_env.globals.update(t=translate)
    app.context_processor(lambda: {"locale": current_locale()})
    app.after_request(_apply_security_headers)
    install_rate_limits(app)
    install_error_pages(app)
    install_reverse_proxy(app)
    install_published_documents(app)
    install_readiness(app)
    install_request_telemetry(app)
    install_transactions(app)
    return app
