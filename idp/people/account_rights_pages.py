"""The person's rights over their personal information (PIPL articles 44-47), in the account centre:
download a copy, withdraw (or give again) consent to face recognition, close the account.
See docs/privacy.md."""

from __future__ import annotations

import json

from flask import Blueprint, Response, flash, redirect, render_template, request, session, url_for

from idp.audit.log import record_event
from idp.core.clock import utcnow
from idp.core.errors import LocalizedValueError
from idp.core.i18n import translate
from idp.core.settings import current_settings
from idp.factors.base import FactorError
from idp.factors.face import (
    FaceIdentity,
    check_face_consent_withdrawn,
    has_face_consent,
    record_face_consent,
    withdraw_face_consent,
)
from idp.factors.face_pages import FACE_PAGE_ERRORS, FaceRefusal, face_message, face_refusal
from idp.factors.sms_gateway import SmsDeliveryFailed
from idp.login.record import LoginContext
from idp.people.account_closure import ClosureRefused, confirm_and_close, send_closure_code, start_closure_face_check
from idp.people.account_pages import error_text, fresh_login_required, login_required
from idp.people.identity_documents import mask_phone
from idp.people.personal_data import export_personal_data

bp = Blueprint("account_rights", __name__)


def _face_state(login: LoginContext) -> str:
    identity = FaceIdentity.of(login.person)
    if has_face_consent(identity):
        return "given"
    return "withdrawn" if check_face_consent_withdrawn(identity) else "none"


@bp.route("/account/privacy")
@login_required
def privacy(login: LoginContext):
    return render_template("account_privacy.html", face_state=_face_state(login))


@bp.route("/account/privacy/export", methods=["POST"])
@fresh_login_required("account_rights.privacy")
def export(login: LoginContext):
    """PIPL articles 44-45: the person's data as a JSON file; the audit row says only that it was taken."""
    document = export_personal_data(login.person)
    record_event("account.data_exported", subject=login.person.sub,
                 audit_events=len(document["audit_events"]), sessions=len(document["sessions"]))
    filename = f"qdtax-personal-data-{utcnow():%Y%m%d}.json"
    return Response(json.dumps(document, ensure_ascii=False, indent=2), mimetype="application/json",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"',
                             "Cache-Control": "no-store"})


@bp.route("/account/privacy/face/withdraw", methods=["POST"])
@login_required
def face_withdraw(login: LoginContext):
    withdraw_face_consent(login.person)
    flash("acct_saved_face_withdrawn")
    return redirect(url_for("account_rights.privacy"))


@bp.route("/account/privacy/face/consent", methods=["GET", "POST"])
@login_required
def face_consent(login: LoginContext):
    """The face-processing notice and the person's new consent after a withdrawal."""
    if request.method == "GET":
        return render_template("account_face_consent.html", action=url_for("account_rights.face_consent"),
                               back=url_for("account_rights.privacy"))
    record_face_consent(FaceIdentity.of(login.person), renewal=True)
    flash("acct_saved_face_given")
    return redirect(url_for("account_rights.privacy"))


def _render_close(login: LoginContext, error: str | None = None, status: int = 200, *, code_sent: bool = False,
                  retry: str | None = None):
    return render_template("account_close.html", phone=mask_phone(login.person.phone), error=error,
                           code_sent=code_sent, retry=retry,
                           face_offered=has_face_consent(FaceIdentity.of(login.person)),
                           minutes=current_settings().SMS_CODE_TTL // 60), status


def _check_confirmed() -> None:
    if request.form.get("confirm") != "yes":
        raise ClosureRefused("not_confirmed")


def _closed():
    """The account is gone: this browser's session with it."""
    session.clear()
    return render_template("message.html", title_key="acct_close_done_title", message_key="acct_close_done",
                           params={})


@bp.route("/account/close")
@fresh_login_required("account_rights.close_page")
def close_page(login: LoginContext):
    return _render_close(login)


@bp.route("/account/close/code", methods=["POST"])
@fresh_login_required("account_rights.close_page")
def close_code(login: LoginContext):
    try:
        send_closure_code(login.person)
    except FactorError as error:
        return _render_close(login, error_text(error), 429)
    except SmsDeliveryFailed:
        return _render_close(login, translate("error_sms_unavailable"), 503)
    return _render_close(login, code_sent=True)


@bp.route("/account/close", methods=["POST"])
@fresh_login_required("account_rights.close_page")
def close_with_code(login: LoginContext):
    try:
        _check_confirmed()
        confirm_and_close(login.person, "sms", request.form.get("code", ""))
    except (FactorError, LocalizedValueError) as error:
        return _render_close(login, error_text(error), 400, code_sent=True)
    return _closed()


def _close_face_page(login: LoginContext):
    """Face refusals during the closure show on the closure page (pending: with a link to look again)."""

    def page(error: FaceRefusal, status: int, retry: str | None):
        key, params = face_message(error)
        return _render_close(login, translate(key, **params), status, retry=retry)

    return page


@bp.route("/account/close/face", methods=["POST"])
@fresh_login_required("account_rights.close_page")
def close_face(login: LoginContext):
    try:
        _check_confirmed()
        if not has_face_consent(FaceIdentity.of(login.person)):
            raise ClosureRefused("face_not_offered")
    except LocalizedValueError as error:
        return _render_close(login, error_text(error), 400)
    return_url = current_settings().ISSUER + url_for("account_rights.close_face_return") + "?check={check}"
    try:
        url = start_closure_face_check(login.person, return_url)
    except FACE_PAGE_ERRORS as error:
        return face_refusal(error, _close_face_page(login))
    return redirect(url)


@bp.route("/account/close/face/return")
@fresh_login_required("account_rights.close_page")
def close_face_return(login: LoginContext):
    """Back from the face provider: only a trigger to fetch the provider's own result."""
    try:
        confirm_and_close(login.person, "face", request.args.get("check", ""))
    except FACE_PAGE_ERRORS as error:
        return face_refusal(error, _close_face_page(login))
    return _closed()
