"""Security-key pages: the account centre's list, registration and removal, and the login step
(password + security key, loa:2).  The browser's WebAuthn call is made by static/webauthn.js,
which puts ``PublicKeyCredential.toJSON()`` into the page's form; the form posts as any other."""

from __future__ import annotations

import json

from flask import Blueprint, flash, redirect, render_template, request, url_for

from idp.core.errors import LocalizedValueError
from idp.factors.base import FactorError
from idp.login.password_steps import (
    LoginExpired,
    begin_second_factor,
    login_again_url,
    pending_login,
)
from idp.login.record import LoginContext
from idp.login.second_factor_pages import finish_second_factor_page
from idp.people.account_pages import error_text, fresh_login_required, local_time, login_required
from idp.people.security_keys import (
    finish_security_key_registration,
    list_security_keys,
    remove_security_key,
    rename_security_key,
    start_security_key_registration,
)

bp = Blueprint("security_keys", __name__)


def _render_keys(login: LoginContext, error: str | None = None, status: int = 200):
    keys = [{"id": k.id, "name": k.name, "created": local_time(k.created_at),
             "last_used": local_time(k.last_used_at) if k.last_used_at else None}
            for k in list_security_keys(login.person)]
    return render_template("account_security_keys.html", keys=keys, error=error), status


@bp.route("/account/security-keys")
@login_required
def keys(login: LoginContext):
    return _render_keys(login)


def _render_new_key(login: LoginContext, error: str | None = None, status: int = 200, name: str = ""):
    try:
        options = json.loads(start_security_key_registration(login.person))
    except LocalizedValueError as refusal:
        return _render_keys(login, error_text(refusal), 400)
    return render_template("account_security_key_new.html", options=options, error=error, name=name), status


@bp.route("/account/security-keys/new", methods=["GET"])
@fresh_login_required("security_keys.new_key")
def new_key(login: LoginContext):
    return _render_new_key(login)


@bp.route("/account/security-keys/new", methods=["POST"])
@fresh_login_required("security_keys.new_key")
def new_key_submit(login: LoginContext):
    name = request.form.get("name", "")
    try:
        finish_security_key_registration(login.person, request.form.get("credential", ""), name)
    except (FactorError, LocalizedValueError) as error:
        return _render_new_key(login, error_text(error), 400, name)
    flash("sk_saved_registered")
    return redirect(url_for("security_keys.keys"))


@bp.route("/account/security-keys/<int:key_id>/name", methods=["POST"])
@login_required
def rename(login: LoginContext, key_id: int):
    try:
        rename_security_key(login.person, key_id, request.form.get("name", ""))
    except LocalizedValueError as error:
        return _render_keys(login, error_text(error), 400)
    flash("sk_saved_renamed")
    return redirect(url_for("security_keys.keys"))


@bp.route("/account/security-keys/<int:key_id>/remove", methods=["POST"])
@fresh_login_required("security_keys.keys")
def remove(login: LoginContext, key_id: int):
    try:
        remove_security_key(login.person, key_id)
    except LocalizedValueError as error:
        return _render_keys(login, error_text(error), 400)
    flash("sk_saved_removed")
    return redirect(url_for("security_keys.keys"))


def _render_login(error: FactorError | None = None, status: int = 200):
    """The login step's page with a fresh challenge (a refusal has spent the last one)."""
    try:
        pending = pending_login()
    except LoginExpired:
        return redirect(login_again_url())
    options = None
    try:
        options = json.loads(begin_second_factor(pending, "webauthn")["options"])
    except FactorError as refusal:  # locked: no challenge, only the message
        error, status = error or refusal, max(status, 400)
    return render_template("login_security_key.html", options=options,
                           error=error.message_key if error else None,
                           error_params=error.params if error else {}, interaction=pending.interaction), status


@bp.route("/login/security-key", methods=["GET"])
def login_page():
    return _render_login()


def _login_refused(error: FactorError):
    return _render_login(error, 400)


@bp.route("/login/security-key", methods=["POST"])
def login_submit():
    return finish_second_factor_page("webauthn", request.form.get("credential", ""), _login_refused, (FactorError,))
