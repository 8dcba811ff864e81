"""The application factory: ``create_app(overrides=None)`` (the Flask tutorial's pattern)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from authlib.oauth2.rfc9207 import IssuerParameter
from flask import Flask
from flask_wtf.csrf import CSRFProtect

from idp.audit_chain import install_audit_chain
from idp.audit_checkpoints import install_periodic_checkpoints
from idp.browser_session import install_browser_sessions
from idp.clients import ClientRegistry
from idp.consent import views as selection_views
from idp.core.personal_data_cipher import PersonalDataKeysError, load_personal_data_cipher
from idp.core.personal_data_fields import EXTENSION as PERSONAL_DATA_EXTENSION
from idp.database import db, engine_options, normalise_database_url, ping_idle_connections
from idp.database_outages import watch_availability
from idp.error_pages import install_error_pages
from idp.factors.face_provider import create_face_provider
from idp.factors.sms_gateway import create_sms_gateway
from idp.i18n import current_locale, translate
from idp.json_provider import UntrustedJsonProvider
from idp.keyring import create_keyring
from idp.keyring.schedule import install_rotation_schedule
from idp.log_redaction import install_log_redaction
from idp.logout_worker import install_logout_worker
from idp.published_documents import install_published_documents
from idp.rate_limits import install_rate_limits
from idp.readiness import install_readiness
from idp.request_telemetry import install_request_telemetry
from idp.reverse_proxy import install_reverse_proxy
from idp.server import create_authorization_server
from idp.session_expiry import install_session_sweep
from idp.settings import Settings, load_settings
from idp.views import (
    account,
    account_rights,
    account_verify,
    app_codes,
    authorize,
    certificate_login,
    discovery,
    face_login,
    health,
    legacy_login,
    login,
    password_change,
    password_reset,
    protocol,
    qr_api,
    qr_login,
    registration,
    registration_api,
    security_keys,
    step_up,
)


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
        IDP=settings,
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
    app.extensions["idp.keyring"] = keyring
    install_rotation_schedule(app)
    install_logout_worker(app)
    install_session_sweep(app)
    install_periodic_checkpoints(app)
    app.extensions["idp.clients"] = ClientRegistry(settings.CLIENT_CACHE_TTL)
    app.extensions["idp.sms"] = create_sms_gateway(settings)
    app.extensions["idp.face_provider"] = create_face_provider(settings)
    server = create_authorization_server(app)
    server.register_extension(IssuerInResponse(settings.ISSUER))
    app.extensions["idp.server"] = server

    # The app's registration API authenticates each call by its registration id instead.
    for blueprint in (discovery.bp, protocol.bp, registration_api.bp, qr_api.bp):
        csrf.exempt(blueprint)
    # OIDC Core 3.1.2.1: relying parties may send the authorization request as a form POST from
    # their own site; it is the same request as by GET, so there is no token of ours to carry.
    csrf.exempt(authorize.authorize)
    for blueprint in (discovery.bp, protocol.bp, authorize.bp, login.bp, face_login.bp, selection_views.bp,
                      password_change.bp, password_reset.bp, account.bp, account_verify.bp, account_rights.bp,
                      registration.bp,
                      registration_api.bp, step_up.bp, qr_api.bp, qr_login.bp, certificate_login.bp, security_keys.bp,
                      app_codes.bp, legacy_login.bp, health.bp):
        app.register_blueprint(blueprint)
    if settings.FACE_PROVIDER == "development":
        from idp.factors import face_dev_provider

        app.register_blueprint(face_dev_provider.bp)
        csrf.exempt(face_dev_provider.decide_by_api)

    app.jinja_env.globals.update(t=translate)
    app.context_processor(lambda: {"locale": current_locale()})
    app.after_request(_apply_security_headers)
    install_rate_limits(app)
    install_error_pages(app)
    install_reverse_proxy(app)
    install_published_documents(app)
    install_readiness(app)
    install_request_telemetry(app)
    return app
