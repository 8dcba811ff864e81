"""Forgot password pages (docs/domain.md §1.8, §1.10): identify, verify by SMS code or face, new password."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for

from idp.core.errors import LocalizedValueError
from idp.core.settings import current_settings
from idp.factors.base import FactorError
from idp.factors.face import FaceIdentity, check_face_consent_withdrawn
from idp.factors.face_pages import FacePage, face_result_page
from idp.factors.face_step import FaceStep, add_face_routes
from idp.factors.sms_gateway import SmsDeliveryFailed
from idp.models import Person
from idp.people.identity_documents import mask_phone
from idp.people.password_change_pages import render_new_password_form, render_relogin
from idp.people.password_reset import (
    NEW_PASSWORD,
    PURPOSE,
    VERIFY,
    ResetExpired,
    finish_password_reset,
    pending_reset,
    reset_interaction,
    send_reset_code,
    start_password_reset,
    verify_reset,
)
from idp.protocol.interactions import find_interaction

bp = Blueprint("password_reset", __name__, url_prefix="/password/forgot")


def _render_identify(interaction: str, identifier: str = "", error: FactorError | None = None):
    return render_template(
        "password_forgot.html", interaction=interaction, identifier=identifier,
        error=error.message_key if error else None, error_params=error.params if error else {},
    ), 200 if error is None else 400


def _restart(error: ResetExpired):
    interaction = reset_interaction()
    return _render_identify(interaction if interaction and find_interaction(interaction) else "", error=error)


def _render_verify(error: str | None = None, params: dict | None = None, status: int = 200, sent: bool = False):
    try:
        pending = pending_reset(VERIFY)
    except ResetExpired as expired:
        return _restart(expired)
    return render_template("password_forgot_verify.html", phone=mask_phone(pending.person.phone), sent=sent,
                           minutes=current_settings().SMS_CODE_TTL // 60, error=error,
                           error_params=params or {},
                           face_offered=not check_face_consent_withdrawn(FaceIdentity.of(pending.person))), status


def _face_result_page() -> FacePage:
    # The result page's "try again" and "use an SMS code" links stay within the reset.
    return face_result_page(face_url=url_for("password_reset.face_start"),
                            sms_url=url_for("password_reset.verify_page"))


def _face_passed(person: Person, check: str):
    verify_reset(pending_reset(VERIFY), "face", check)
    return redirect(url_for("password_reset.new_password_page"))


@bp.route("", methods=["GET"])
def identify_page():
    return _render_identify(request.args.get("interaction", ""))


@bp.route("", methods=["POST"])
def identify_submit():
    interaction = request.form.get("interaction", "")
    identifier = request.form.get("identifier", "")
    try:
        start_password_reset(identifier, interaction or None)
    except FactorError as error:
        return _render_identify(interaction, identifier, error)
    return redirect(url_for("password_reset.verify_page"))


@bp.route("/verify", methods=["GET"])
def verify_page():
    return _render_verify()


@bp.route("/sms/send", methods=["POST"])
def sms_send():
    try:
        send_reset_code(pending_reset(VERIFY))
    except ResetExpired as error:
        return _restart(error)
    except FactorError as error:
        return _render_verify(error.message_key, error.params, 429)
    except SmsDeliveryFailed:
        return _render_verify("error_sms_unavailable", {}, 503)
    return _render_verify(sent=True)


@bp.route("/sms", methods=["POST"])
def sms_submit():
    try:
        verify_reset(pending_reset(VERIFY), "sms", request.form.get("code", ""))
    except ResetExpired as error:
        return _restart(error)
    except FactorError as error:
        return _render_verify(error.message_key, error.params, 400, sent=True)
    return redirect(url_for("password_reset.new_password_page"))


add_face_routes(bp, "/face", FaceStep(
    purpose=PURPOSE,
    person=lambda: pending_reset(VERIFY).person,
    passed=_face_passed,
    gone=(ResetExpired,),
    on_gone=lambda error: _restart(ResetExpired()),
    refusal_page=_face_result_page,
    consent_context=lambda: {"sms_url": url_for("password_reset.verify_page")},
))


@bp.route("/new", methods=["GET"])
def new_password_page():
    try:
        pending_reset(NEW_PASSWORD)
    except ResetExpired as error:
        return _restart(error)
    return _new_password_form()


def _new_password_form(error: LocalizedValueError | None = None):
    return render_new_password_form(url_for("password_reset.new_password_submit"), "pw_reset_new_title",
                                    "pw_reset_new_note", error, steps_template="reset_steps.html")


@bp.route("/new", methods=["POST"])
def new_password_submit():
    try:
        pending = pending_reset(NEW_PASSWORD)
    except ResetExpired as error:
        return _restart(error)
    try:
        interaction = finish_password_reset(pending, request.form.get("new_password", ""),
                                            request.form.get("confirm_password", ""))
    except LocalizedValueError as error:
        return _new_password_form(error)
    except ResetExpired as error:
        return _restart(error)
    return render_relogin("pw_reset_done", interaction)
