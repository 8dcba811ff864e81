"""Token, introspection, revocation, userinfo and RP-initiated logout endpoints."""

from __future__ import annotations

from collections.abc import Callable

from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import InvalidRequestError
from authlib.oidc.rpinitiated.end_session import EndSessionRequest
from flask import Blueprint, Response, current_app, redirect, render_template, request, session
from werkzeug.exceptions import RequestEntityTooLarge

from idp.core.database import db
from idp.login.record import BrowserLogin, current_browser_login, end_login_session
from idp.protocol.dpop import with_dpop_nonce
from idp.protocol.server import authorization_server
from idp.protocol.subjects import check_subject_names
from idp.web.error_pages import error_page

bp = Blueprint("protocol", __name__)


def _server():
    return authorization_server()


def _not_stored(response):
    """Tokens, introspection answers and refusals are never cached (RFC 6749 section 5.1).
    What the endpoint changed, a spent code's revocation beside its error included, is
    committed by the request's boundary (web/transactions.py)."""
    response.headers.setdefault("Cache-Control", "no-store")
    return response


def _body_parameters_only(create_response: Callable[[], Response]) -> Response:
    """RFC 6749 sections 2.3 and 3.2 (reused by RFC 7009, 7662 and 9126): parameters come in
    the form-encoded body, each at most once, and the client authenticates in one way only.
    authlib reads the URI query too, where a client secret, code or token would be written to
    every access log on the way, and silently takes the first of repeated values."""
    if request.args:
        error = InvalidRequestError("Parameters must be sent in the request body, not in the URI.")
        return _server().handle_error_response(None, error)
    if any(len(values) > 1 for _, values in request.form.lists()):
        # The names are the sender's bytes: not echoed into error_description.
        error = InvalidRequestError("A parameter was sent more than once.")
        return _server().handle_error_response(None, error)
    if sum(("Authorization" in request.headers, "client_secret" in request.form,
            "client_assertion" in request.form)) > 1:
        # RFC 6749 section 2.3: one authentication method per request; authlib would take the
        # first that it tries and ignore the other.
        error = InvalidRequestError("The client authenticated in more than one way.")
        return _server().handle_error_response(None, error)
    return create_response()


@bp.errorhandler(RequestEntityTooLarge)
def request_too_large(error: RequestEntityTooLarge):
    """Over MAX_CONTENT_LENGTH: the endpoint's own error shape, JSON for the back-channel ones."""
    if request.endpoint == "protocol.end_session":
        return error_page("error_bad_request_title", "error_bad_request_title", 413)
    too_large = InvalidRequestError("The request body is too large.", status_code=413)
    response = _not_stored(_server().handle_error_response(None, too_large))
    # An error handler answers after the view's boundary rolled back (web/transactions.py):
    # the refusal's audit row, written just now, is the handler's own to commit.
    db.session.commit()
    return response


def _token_response() -> Response:
    if not request.form.get("grant_type"):
        # RFC 6749 section 5.2: a missing parameter (a JSON or undecodable body has none) is
        # invalid_request; authlib would call it an unsupported grant type.
        return _server().handle_error_response(None, InvalidRequestError("Missing 'grant_type'."))
    # RFC 9449 section 5: the server checks the DPoP proof before any grant runs (with_dpop_proof).
    return _server().create_token_response()


@bp.route("/token", methods=["POST"])
def token():
    return _not_stored(with_dpop_nonce(_body_parameters_only(_token_response)))


@bp.route("/par", methods=["POST"])
def pushed_authorization_request():
    """RFC 9126: the client pushes its authorization request and gets a request_uri for /authorize."""
    return _not_stored(with_dpop_nonce(_body_parameters_only(
        lambda: _server().create_endpoint_response("pushed_authorization"))))


@bp.route("/introspect", methods=["POST"])
def introspect():
    return _not_stored(_body_parameters_only(lambda: _server().create_endpoint_response("introspection")))


@bp.route("/revoke", methods=["POST"])
def revoke():
    return _not_stored(_body_parameters_only(lambda: _server().create_endpoint_response("revocation")))


@bp.route("/userinfo", methods=["GET", "POST"])
def userinfo():
    return _not_stored(with_dpop_nonce(_server().create_endpoint_response("userinfo")))


def _hint_names_someone_else(logout_request: EndSessionRequest, login: BrowserLogin | None) -> bool:
    """An ID token of another person than the one logged in here (its ``sub`` may be pairwise)
    is no reason to log this person out unasked."""
    claims = logout_request.id_token_claims
    if claims is None or login is None:
        return False
    return not check_subject_names(claims.get("sub"), login.account, logout_request.client)


@bp.route("/logout", methods=["GET", "POST"])
def end_session():
    """RP-initiated logout 1.0: with a valid ``id_token_hint`` no confirmation is asked."""
    try:
        logout_request = _server().validate_endpoint_request("end_session")
    except OAuth2Error as error:
        return error_page("error_bad_request_title", "error_bad_request", 400, code=error.error)
    login = current_browser_login()  # the old enterprise login (dual-track) logs out too
    if logout_request.needs_confirmation or _hint_names_someone_else(logout_request, login):
        if request.method == "GET":
            return render_template("logout_confirm.html", params=request.args)
        # Without an id_token_hint only our own confirmation form may log the person out.
        current_app.extensions["csrf"].protect()
    if login is not None:
        end_login_session(login.session, "rp_logout" if logout_request.client else "user_logout")
    session.clear()
    if logout_request.redirect_uri:
        return redirect(logout_request.redirect_uri)
    return render_template("signed_out.html", title_key="logout_title", message_key="logged_out")
