"""Step-up to a live face check for a relying party that asks for urn:qdtax:loa:3 (docs/domain.md §1.5).

The person is already logged in; only the missing factor is asked, never the password again.
"""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for

from idp.core.settings import current_settings
from idp.factors import FACTORS
from idp.factors.face import (
    FaceConsentRequired,
    FaceConsentWithdrawn,
    FaceIdentity,
    check_face_consent_withdrawn,
    has_face_consent,
    record_face_consent,
)
from idp.factors.face_pages import FACE_PAGE_ERRORS, FacePage, face_refusal, face_result_page
from idp.login.record import current_login, step_up_login_session
from idp.protocol.client_registry import client_registry
from idp.protocol.interactions import STEP_UP_DECLINED, interaction_params, mark_done, resume_url

bp = Blueprint("step_up", __name__)
PURPOSE = "step_up"


def _refusal_page(interaction: str) -> FacePage:
    """The face result page of a step-up: scan again here, or cancel back to the app (no SMS
    code: it cannot give what the app asked for)."""
    return face_result_page(face_url=url_for("step_up.step_up_page", interaction=interaction),
                            step_up_interaction=interaction)


def _refused(error, interaction: str | None):
    """A withdrawal made while the person was on these pages sends the request back to
    /authorize, which answers the relying party without face (idp.protocol.authorize_policy.check_acr);
    anything else is shown here."""
    if isinstance(error, FaceConsentWithdrawn) and (resume := resume_url(interaction)):
        return redirect(resume)
    return face_refusal(error, _refusal_page(interaction or ""))


def _logged_in():
    login = current_login()
    return login, (None if login else redirect(url_for("login.login_page")))


@bp.route("/step-up", methods=["GET"])
def step_up_page():
    """Why the face scan is asked (该业务需要人脸识别验证), with the consent notice when none was given,
    one button that scans and a cancel back to the app."""
    login, away = _logged_in()
    if away:
        return away
    interaction = request.args.get("interaction", "")
    identity = FaceIdentity.of(login.person)
    if check_face_consent_withdrawn(identity):
        return _refused(FaceConsentWithdrawn(), interaction)
    params = interaction_params(interaction)
    client = client_registry().query_client(params["client_id"]) if params else None
    return render_template("step_up.html", interaction=interaction, client_name=client.name if client else None,
                           needs_consent=not has_face_consent(identity))


@bp.route("/step-up", methods=["POST"])
def step_up_start():
    """Consent, when the page asked for it, and the scan: one click (issue 18 found two)."""
    login, away = _logged_in()
    if away:
        return away
    interaction = request.form.get("interaction", "")
    identity = FaceIdentity.of(login.person)
    if request.form.get("consent") == "yes" and not has_face_consent(identity):
        record_face_consent(identity)
    return_url = (current_settings().ISSUER + url_for("step_up.step_up_return", interaction=interaction)
                  + "&check={check}")
    try:
        url = FACTORS["face"].begin(login.person, purpose=PURPOSE, return_url=return_url)["url"]
    except FaceConsentRequired:
        return redirect(url_for("step_up.step_up_page", interaction=interaction))
    except FACE_PAGE_ERRORS as error:
        return _refused(error, interaction)
    return redirect(url)


@bp.route("/step-up/cancel", methods=["POST"])
def step_up_cancel():
    """The person declines the face scan: the app's request ends with ``access_denied`` (the person,
    not the provider, said no; ``unmet_authentication_requirements`` is for demands the provider
    cannot meet), and the login the app already has stays as it was."""
    interaction = request.form.get("interaction") or None
    if interaction and interaction_params(interaction) is not None:
        mark_done(interaction, STEP_UP_DECLINED)
        return redirect(resume_url(interaction) or url_for("account.home"))
    return redirect(url_for("account.home"))


@bp.route("/step-up/return", methods=["GET"])
def step_up_return():
    """Back from the provider: a trigger to fetch its result, never a decision by itself."""
    login, away = _logged_in()
    if away:
        return away
    try:
        result = FACTORS["face"].verify(login.person, request.args.get("check", ""), purpose=PURPOSE)
    except FACE_PAGE_ERRORS as error:
        return _refused(error, request.args.get("interaction"))
    # A passed check raises the real-name level inside the face factor (docs/domain.md §1.5).
    step_up_login_session(login.session, login.person, result.amr)
    return redirect(resume_url(request.args.get("interaction")) or url_for("account.home"))
