"""The login pages: identify + password, then SMS code (DESIGN.md section 6)."""

from __future__ import annotations

from flask import Blueprint, make_response, redirect, render_template, request, url_for

from idp.database import db
from idp.factors.base import FactorError
from idp.factors.sms_gateway import SmsDeliveryFailed
from idp.i18n import LOCALE_COOKIE, match_locale
from idp.identity_documents import mask_document_number, mask_phone
from idp.interactions import interaction_param, resume_url
from idp.login_flow import (
    LoginExpired,
    finish_sms_login,
    pending_login,
    send_second_factor_code,
    start_password_login,
)
from idp.login_state import current_login

bp = Blueprint("login", __name__)


def error_key(error: FactorError) -> str:
    """The message for a factor refusal; wrong credentials are worded per method."""
    if error.code == "wrong_credential":
        return f"error_wrong_credential_{error.params.get('method', 'password')}"
    if error.code == "not_registered":
        return "error_not_registered"
    return f"error_{error.code}"


def _render_login(interaction: str | None, error: FactorError | None = None, identifier: str = ""):
    status = 200 if error is None else 400
    return render_template(
        "login.html",
        interaction=interaction or "",
        identifier=identifier or interaction_param(interaction, "login_hint") or "",
        error=error_key(error) if error else None,
        error_params=error.params if error else {},
    ), status


@bp.route("/login", methods=["GET"])
def login_page():
    return _render_login(request.args.get("interaction"))


@bp.route("/login", methods=["POST"])
def login_submit():
    interaction = request.form.get("interaction") or None
    identifier = request.form.get("identifier", "")
    password = request.form.get("password", "")
    if not identifier.strip() or not password:
        return render_template("login.html", interaction=interaction or "", identifier=identifier,
                               error="error_missing_fields", error_params={}), 400
    try:
        start_password_login(identifier, password, interaction)
        pending = pending_login()
        sent = send_second_factor_code(pending)
    except FactorError as error:
        db.session.commit()  # failure counters and audit rows must persist
        return _render_login(interaction, error, identifier)
    except SmsDeliveryFailed:
        db.session.rollback()
        return render_template("login.html", interaction=interaction or "", identifier=identifier,
                               error="error_sms_unavailable", error_params={}), 503
    db.session.commit()
    return redirect(url_for("login.sms_page", expires_in=sent["expires_in"]))


def _render_sms(error: str | None = None, params: dict | None = None, status: int = 200):
    try:
        pending = pending_login()
    except LoginExpired:
        return redirect(url_for("login.login_page"))
    return render_template(
        "sms.html", phone=mask_phone(pending.person.phone), error=error, error_params=params or {},
        minutes=5,
    ), status


@bp.route("/login/sms", methods=["GET"])
def sms_page():
    return _render_sms()


@bp.route("/login/sms", methods=["POST"])
def sms_submit():
    try:
        pending = pending_login()
        finish_sms_login(pending, request.form.get("code", ""))
    except LoginExpired as error:
        return _render_login(None, error)
    except FactorError as error:
        db.session.commit()
        return _render_sms(error_key(error), error.params, 400)
    db.session.commit()
    return redirect(resume_url(pending.interaction) or url_for("login.account"))


@bp.route("/login/sms/resend", methods=["POST"])
def sms_resend():
    try:
        send_second_factor_code(pending_login())
    except LoginExpired as error:
        return _render_login(None, error)
    except FactorError as error:
        db.session.commit()
        return _render_sms(error_key(error), error.params, 429)
    except SmsDeliveryFailed:
        db.session.rollback()
        return _render_sms("error_sms_unavailable", {}, 503)
    db.session.commit()
    return redirect(url_for("login.sms_page"))


@bp.route("/register")
def register():
    return render_template("message.html", title_key="register_title", message_key="register_unavailable", params={})


@bp.route("/")
def account():
    login = current_login()
    if login is None:
        return redirect(url_for("login.login_page"))
    return render_template(
        "account.html",
        person=login.person,
        document=mask_document_number(login.person.doc_number),
        phone=mask_phone(login.person.phone),
        login=login.session,
    )


@bp.route("/lang/<locale>")
def switch_language(locale: str):
    target = request.args.get("next", "/")
    if not target.startswith("/") or target.startswith("//"):
        target = "/"
    response = make_response(redirect(target))
    if chosen := match_locale(locale):
        response.set_cookie(LOCALE_COOKIE, chosen, max_age=365 * 86400, httponly=True, samesite="Lax")
    return response
