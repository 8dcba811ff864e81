"""The authorization endpoint (OIDC Core 3.1.2): validate, decide on login, issue a code."""

from __future__ import annotations

from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import InvalidRequestError
from authlib.oidc.core.errors import LoginRequiredError
from flask import Blueprint, current_app, redirect, render_template, request, url_for
from joserfc import jwt
from joserfc.errors import JoseError

from idp.authorize_policy import AuthorizeContext, login_required_reason
from idp.database import db
from idp.i18n import match_locale
from idp.interactions import finish_interaction, resumed_interaction_started_at, start_interaction
from idp.login_state import current_login

bp = Blueprint("authorize", __name__)


def _server():
    return current_app.extensions["idp.server"]


def _error_response(error: OAuth2Error):
    """Redirect errors back to a verified redirect URI; otherwise explain on our own page."""
    if error.redirect_uri:
        return _server().handle_error_response(request, error)
    return render_template("message.html", title_key="error_bad_request_title", message_key="error_bad_request",
                           params={"error": error.error}), 400


def _max_age(params, redirect_uri: str) -> int | None:
    raw = params.get("max_age")
    if raw is None or raw == "":
        return None
    if not raw.isdigit() or len(raw) > 10:
        raise InvalidRequestError("'max_age' must be a non-negative integer.", redirect_uri=redirect_uri)
    return int(raw)


def _hinted_subject(params, redirect_uri: str) -> str | None:
    hint = params.get("id_token_hint")
    if not hint:
        return None
    keys = current_app.extensions["idp.keyring"].verification_keys()
    try:
        # An expired hint still names the person (OIDC Core 3.1.2.1); only the signature matters.
        claims = jwt.decode(hint, keys, algorithms=["ES256", "RS256", "EdDSA"]).claims
    except (JoseError, ValueError, TypeError):
        raise InvalidRequestError("Invalid 'id_token_hint'.", redirect_uri=redirect_uri) from None
    if claims.get("iss") != current_app.config["IDP"].ISSUER or not isinstance(claims.get("sub"), str):
        raise InvalidRequestError("Invalid 'id_token_hint'.", redirect_uri=redirect_uri)
    return claims["sub"]


@bp.route("/authorize", methods=["GET", "POST"])
def authorize():
    params = request.values
    login = current_login()
    try:
        grant = _server().get_consent_grant(end_user=login.person if login else None)
        ctx = AuthorizeContext(
            prompts=frozenset((params.get("prompt") or "").split()),
            max_age=_max_age(params, grant.redirect_uri),
            hinted_subject=_hinted_subject(params, grant.redirect_uri),
            login=login,
            interaction_started_at=resumed_interaction_started_at(params),
        )
        reason = login_required_reason(ctx)
        if reason and "none" in ctx.prompts:
            raise LoginRequiredError(redirect_uri=grant.redirect_uri)
    except OAuth2Error as error:
        error.state = params.get("state")
        db.session.commit()
        return _error_response(error)

    if reason:
        interaction_id = start_interaction(params)
        query = {"interaction": interaction_id}
        if locale := match_locale(params.get("ui_locales")):
            query["ui_locales"] = locale
        return redirect(url_for("login.login_page", **query))

    response = _server().create_authorization_response(grant=grant, grant_user=login)
    finish_interaction(params)
    db.session.commit()
    return response
