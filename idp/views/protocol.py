"""Token, introspection, revocation, userinfo and RP-initiated logout endpoints."""

from __future__ import annotations

from authlib.oauth2 import OAuth2Error
from flask import Blueprint, current_app, redirect, render_template, request, session

from idp.database import db
from idp.login_state import current_login, end_login_session

bp = Blueprint("protocol", __name__)


def _server():
    return current_app.extensions["idp.server"]


def _committed(response):
    """Persist what the endpoint changed (spent codes count even when the answer is an error)."""
    db.session.commit()
    response.headers.setdefault("Cache-Control", "no-store")
    return response


@bp.route("/token", methods=["POST"])
def token():
    return _committed(_server().create_token_response())


@bp.route("/introspect", methods=["POST"])
def introspect():
    return _committed(_server().create_endpoint_response("introspection"))


@bp.route("/revoke", methods=["POST"])
def revoke():
    return _committed(_server().create_endpoint_response("revocation"))


@bp.route("/userinfo", methods=["GET", "POST"])
def userinfo():
    return _committed(_server().create_endpoint_response("userinfo"))


@bp.route("/logout", methods=["GET", "POST"])
def end_session():
    """RP-initiated logout 1.0: with a valid ``id_token_hint`` no confirmation is asked."""
    try:
        logout_request = _server().validate_endpoint_request("end_session")
    except OAuth2Error as error:
        return render_template("message.html", title_key="error_bad_request_title",
                               message_key="error_bad_request", params={"error": error.error}), 400
    if logout_request.needs_confirmation:
        if request.method == "GET":
            return render_template("logout_confirm.html", params=request.args)
        # Without an id_token_hint only our own confirmation form may log the person out.
        current_app.extensions["csrf"].protect()
    login = current_login()
    if login is not None:
        end_login_session(login.session, "rp_logout" if logout_request.client else "user_logout")
    session.clear()
    db.session.commit()
    if logout_request.redirect_uri:
        return redirect(logout_request.redirect_uri)
    return render_template("message.html", title_key="logout_title", message_key="logged_out", params={})
