"""App-code pages: enrolment and removal in the account centre, and the login step
(password + app code, loa:2)."""

from __future__ import annotations

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
from idp.people.account_pages import error_text, fresh_login_required, login_required
from idp.people.app_codes import (
    check_app_code_enrolled,
    confirm_app_code_enrolment,
    remove_app_code,
    start_app_code_enrolment,
)

bp = Blueprint("app_codes", __name__)


def _render_status(login: LoginContext, error: str | None = None, status: int = 200):
    return render_template("account_app_code.html", enrolled=check_app_code_enrolled(login.person),
                           error=error), status


@bp.route("/account/app-code")
@login_required
def status(login: LoginContext):
    return _render_status(login)


@bp.route("/account/app-code/new", methods=["GET"])
@fresh_login_required("app_codes.new")
def new(login: LoginContext):
    try:
        enrolment = start_app_code_enrolment(login.person)
    except LocalizedValueError as error:
        return _render_status(login, error_text(error), 400)
    return render_template("account_app_code_new.html", enrolment=enrolment)


@bp.route("/account/app-code/new", methods=["POST"])
@fresh_login_required("app_codes.new")
def confirm(login: LoginContext):
    try:
        confirm_app_code_enrolment(login.person, request.form.get("code", ""))
    except LocalizedValueError as error:
        # The secret is not shown again: the app scanned it already, the person types a newer code.
        return render_template("account_app_code_new.html", enrolment=None, error=error_text(error)), 400
    flash("otp_saved_enrolled")
    return redirect(url_for("app_codes.status"))


@bp.route("/account/app-code/remove", methods=["POST"])
@fresh_login_required("app_codes.status")
def remove(login: LoginContext):
    remove_app_code(login.person)
    flash("otp_saved_removed")
    return redirect(url_for("app_codes.status"))


def _render_login(error: FactorError | None = None, status: int = 200):
    try:
        pending = pending_login()
        begin_second_factor(pending, "otp")
    except LoginExpired:
        return redirect(login_again_url())
    except FactorError as refusal:  # locked
        error, status = error or refusal, max(status, 400)
    return render_template("login_app_code.html", error=error.message_key if error else None,
                           error_params=error.params if error else {}, interaction=pending.interaction), status


@bp.route("/login/app-code", methods=["GET"])
def login_page():
    return _render_login()


def _login_refused(error: FactorError):
    return _render_login(error, 400)


@bp.route("/login/app-code", methods=["POST"])
def login_submit():
    return finish_second_factor_page("otp", request.form.get("code", ""), _login_refused, (FactorError,))
