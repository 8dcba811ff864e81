"""Step-up to a live face check for a relying party that asks for urn:qdtax:loa:3 (docs/domain.md §1.5).

The person is already logged in; only the missing factor is asked, never the password again.
"""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for

from idp.core.database import db
from idp.core.settings import current_settings
from idp.factors.face import (
    FaceConsentRequired,
    FaceIdentity,
    complete_face_check,
    record_face_consent,
    start_face_check,
)
from idp.factors.face_pages import FACE_PAGE_ERRORS, face_refusal
from idp.login.record import current_login, step_up_login_session
from idp.people.accounts import raise_realname_level_by_face
from idp.protocol.interactions import resume_url

bp = Blueprint("step_up", __name__)
PURPOSE = "step_up"


def _logged_in():
    login = current_login()
    return login, (None if login else redirect(url_for("login.login_page")))


@bp.route("/step-up", methods=["GET"])
def step_up_page():
    login, away = _logged_in()
    if away:
        return away
    interaction = request.args.get("interaction", "")
    return_url = (current_settings().ISSUER + url_for("step_up.step_up_return", interaction=interaction)
                  + "&check={check}")
    try:
        _, url = start_face_check(FaceIdentity.of(login.person), PURPOSE, return_url)
    except FaceConsentRequired:
        return render_template("face_consent.html", action=url_for("step_up.step_up_consent", interaction=interaction))
    except FACE_PAGE_ERRORS as error:
        return face_refusal(error)
    db.session.commit()
    return redirect(url)


@bp.route("/step-up/consent", methods=["POST"])
def step_up_consent():
    login, away = _logged_in()
    if away:
        return away
    record_face_consent(FaceIdentity.of(login.person))
    db.session.commit()
    return redirect(url_for("step_up.step_up_page", interaction=request.args.get("interaction", "")))


@bp.route("/step-up/return", methods=["GET"])
def step_up_return():
    """Back from the provider: a trigger to fetch its result, never a decision by itself."""
    login, away = _logged_in()
    if away:
        return away
    try:
        result = complete_face_check(request.args.get("check", ""), FaceIdentity.of(login.person), PURPOSE)
    except FACE_PAGE_ERRORS as error:
        return face_refusal(error)
    step_up_login_session(login.session, login.person, result.amr)
    raise_realname_level_by_face(login.person)
    db.session.commit()
    return redirect(resume_url(request.args.get("interaction")) or url_for("account.home"))
