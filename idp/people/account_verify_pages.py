"""Account-centre pages that verify something new: the phone (SMS to the new number + password)
and the real-name level (a face check raises level 3 to 4, docs/domain.md §1.5)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for

from idp.core.database import db
from idp.core.i18n import translate
from idp.core.settings import current_settings
from idp.factors.base import FactorError
from idp.factors.face import FaceConsentRequired, FaceConsentWithdrawn, FaceIdentity, record_face_consent
from idp.factors.face_pages import FACE_PAGE_ERRORS, FaceRefusal, face_message, face_refusal
from idp.factors.sms_gateway import SmsDeliveryFailed
from idp.login.record import LoginContext
from idp.people.account_centre import (
    AccountChangeRefused,
    check_realname_upgrade_offered,
    finish_realname_face_check,
    start_realname_face_check,
)
from idp.people.account_pages import error_text, fresh_login_required, login_required
from idp.people.identity_documents import LocalizedValueError, mask_phone
from idp.people.phone_change import finish_phone_change, pending_phone_change, start_phone_change

bp = Blueprint("account_verify", __name__)


def _render_phone(login: LoginContext, error: str | None = None, status: int = 200, new_phone: str = ""):
    pending = pending_phone_change(login.person)
    return render_template("account_phone.html", current_phone=mask_phone(login.person.phone),
                           pending_phone=mask_phone(pending) if pending else None, new_phone=new_phone,
                           error=error), status


@bp.route("/account/phone", methods=["GET"])
@fresh_login_required("account_verify.phone")
def phone(login: LoginContext):
    return _render_phone(login)


@bp.route("/account/phone/code", methods=["POST"])
@fresh_login_required("account_verify.phone")
def phone_code(login: LoginContext):
    new_phone = request.form.get("new_phone", "")
    try:
        start_phone_change(login.person, new_phone)
    except LocalizedValueError as error:
        db.session.commit()  # the audit row of the refusal
        return _render_phone(login, error_text(error), 400, new_phone)
    except FactorError as error:
        db.session.commit()
        return _render_phone(login, error_text(error), 429, new_phone)
    except SmsDeliveryFailed:
        db.session.rollback()
        return _render_phone(login, translate("error_sms_unavailable"), 503, new_phone)
    db.session.commit()
    return redirect(url_for("account_verify.phone"))


@bp.route("/account/phone", methods=["POST"])
@fresh_login_required("account_verify.phone")
def phone_submit(login: LoginContext):
    try:
        finish_phone_change(login.person, code=request.form.get("code", ""),
                            password=request.form.get("password", ""))
    except (FactorError, LocalizedValueError) as error:
        db.session.commit()  # lockout counters, the spent try and the audit row persist
        return _render_phone(login, error_text(error), 400)
    db.session.commit()
    flash("acct_saved_phone")
    return redirect(url_for("account.overview"))


def _face_return_url() -> str:
    # Absolute, so a real provider's page can send the browser back; {check} is filled in.
    return current_settings().ISSUER + "/account/realname/face/return?check={check}"


def _render_face_error(error: str, status: int, retry: str | None = None):
    return render_template("account_face_result.html", error=error, retry=retry), status


def _face_page(error: FaceRefusal, status: int, retry: str | None):
    key, params = face_message(error)
    return _render_face_error(translate(key, **params), status, retry)


@bp.route("/account/realname")
@login_required
def realname(login: LoginContext):
    return render_template("account_realname.html", level=login.person.realname_level,
                           offered=check_realname_upgrade_offered(login.person))


def _start_face_check(login: LoginContext):
    try:
        url = start_realname_face_check(login.person, _face_return_url())
    except (FaceConsentRequired, FaceConsentWithdrawn):
        # The account centre is where consent is given again after a withdrawal.
        return render_template("account_face_consent.html", action=url_for("account_verify.realname_face_consent"),
                               back=url_for("account_verify.realname"))
    except AccountChangeRefused as error:
        return _render_face_error(error_text(error), 400)
    except FACE_PAGE_ERRORS as error:
        return face_refusal(error, _face_page)
    db.session.commit()
    return redirect(url)


@bp.route("/account/realname/face", methods=["POST"])
@login_required
def realname_face(login: LoginContext):
    return _start_face_check(login)


@bp.route("/account/realname/face/consent", methods=["POST"])
@login_required
def realname_face_consent(login: LoginContext):
    record_face_consent(FaceIdentity.of(login.person), renewal=True)
    return _start_face_check(login)


@bp.route("/account/realname/face/return")
@login_required
def realname_face_return(login: LoginContext):
    """The browser is back from the provider: only a trigger to fetch the provider's result."""
    try:
        finish_realname_face_check(login.person, request.args.get("check", ""))
    except FACE_PAGE_ERRORS as error:
        return face_refusal(error, _face_page)
    db.session.commit()
    flash("acct_saved_realname")
    return redirect(url_for("account_verify.realname"))
