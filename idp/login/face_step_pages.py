"""Face verification as the second factor of a login (password + face = loa:3), on the shared
face-check step (:mod:`idp.factors.face_step`): ``/login/face``, ``/login/face/consent``,
``/login/face/return``."""

from __future__ import annotations

from flask import Blueprint, redirect

from idp.consent.choices import NATURAL_PERSON
from idp.factors.face_pages import FACE_PAGE_ERRORS, FacePage, face_refusal, face_result_page
from idp.factors.face_step import FaceStep, add_face_routes
from idp.login.password_steps import PENDING, LoginExpired, login_again_url, pending_login
from idp.login.second_factor_pages import finish_second_factor_page

bp = Blueprint("face_login", __name__)


def _result_page() -> FacePage:
    # 忘记密码 after a face lockout keeps the relying party's request, as the login page's own link
    # does: the reset then ends back at the app (docs/architecture.md §5.2).
    return face_result_page(interaction=PENDING.interaction_id() or "")


add_face_routes(bp, "/login/face", FaceStep(
    purpose="login",
    person=lambda: pending_login().person,
    passed=lambda person, check: finish_second_factor_page(
        "face", check, lambda error: face_refusal(error, _result_page()), FACE_PAGE_ERRORS),
    refusal_page=_result_page,
    gone=(LoginExpired,),
    on_gone=lambda error: redirect(login_again_url()),
    # The login's step indicator: the second step, a taxpayer step after it for the business entries.
    consent_context=lambda: {"step": 2, "taxpayer_step": pending_login().business != NATURAL_PERSON},
))
