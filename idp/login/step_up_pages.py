"""Step-up to a live face check for a relying party that asks for urn:qdtax:loa:3 (docs/domain.md §1.5),
on the shared face-check step (:mod:`idp.factors.face_step`): ``/step-up``, ``/step-up/consent``,
``/step-up/return``, each carrying the interaction.

The person is already logged in; only the missing factor is asked, never the password again.
"""

from __future__ import annotations

from flask import Blueprint, redirect, request, url_for
from flask.typing import ResponseReturnValue

from idp.core.database import db
from idp.factors import FACTORS
from idp.factors.face import FaceConsentWithdrawn
from idp.factors.face_pages import FaceRefusal
from idp.factors.face_step import FaceStep, add_face_routes
from idp.login.record import NotLoggedIn, require_login, step_up_login_session
from idp.models import Person
from idp.protocol.interactions import resume_url

bp = Blueprint("step_up", __name__)
PURPOSE = "step_up"


def _passed(person: Person, check: str):
    login = require_login()
    result = FACTORS["face"].verify(person, check, purpose=PURPOSE)
    step_up_login_session(login.session, person, result.amr)
    db.session.commit()
    return redirect(resume_url(request.args.get("interaction")) or url_for("account.home"))


def _withdrawn(error: FaceRefusal) -> ResponseReturnValue | None:
    """A withdrawal made while the person was on these pages sends the request back to
    /authorize, which answers the relying party without face (idp.protocol.authorize_policy.check_acr);
    anything else is shown on the face result page."""
    if isinstance(error, FaceConsentWithdrawn) and (resume := resume_url(request.args.get("interaction"))):
        return redirect(resume)
    return None


add_face_routes(bp, "/step-up", FaceStep(
    purpose=PURPOSE,
    person=lambda: require_login().person,
    passed=_passed,
    gone=(NotLoggedIn,),
    on_gone=lambda error: redirect(url_for("login.login_page")),
    on_refusal=_withdrawn,
    carried=("interaction",),
))
