"""The one face-check step of the pages: start, consent, return, parameterised by the flow.

A flow that needs a live face check (the login's second factor, the password reset, the
account centre's real-name upgrade) describes itself as a :class:`FaceStep`: whose face, for
which purpose, what happens when the check passes, where a person whose flow is gone goes, and
its pages.  :func:`add_face_routes` gives it the three routes, under the flow's own paths:

- ``<base>`` starts a check through ``FACTORS["face"]`` and sends the browser to the provider,
  or asks for the separate consent to face processing first (docs/domain.md §11);
- ``<base>/consent`` records that consent and starts again;
- ``<base>/return`` is where the provider sends the browser back: only a trigger to fetch the
  provider's own result; the flow's ``passed`` decides on it (the real-name upgrade by face
  happens inside the face factor's success, for every flow).

Step-up (its own page: why, consent and scan in one click, a cancel back to the app),
registration (consent and failed scans are steps of the registration record) and account closure
(which confirms a closure) call the same factor and end on the same refusal pages
(:mod:`idp.factors.face_pages`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from idp.core.settings import current_settings
from idp.factors import face_factor
from idp.factors.face import FaceConsentRequired, FaceConsentWithdrawn, FaceIdentity, record_face_consent
from idp.factors.face_pages import FACE_PAGE_ERRORS, FacePage, FaceRefusal, face_refusal
from idp.models import Person


@dataclass(frozen=True)
class FaceStep:
    """What one flow brings to the shared face-check step."""

    #: The face check's purpose: a check started for one flow never completes another.
    purpose: str
    #: Whose face: the flow's person; raises one of ``gone`` when the flow's step is gone.
    person: Callable[[], Person]
    #: The browser is back and the check's id is in hand: the flow verifies it (through
    #: ``FACTORS["face"]``) and answers; raises what :data:`FACE_PAGE_ERRORS` holds on refusal.
    passed: Callable[[Person, str], ResponseReturnValue]
    #: The exceptions saying the flow's step is gone (expired, finished, logged out) …
    gone: tuple[type[Exception], ...]
    #: … and where the browser goes then.
    on_gone: Callable[[Exception], ResponseReturnValue]
    #: The page for a refused, pending or unreachable check.
    refusal_page: Callable[[], FacePage]
    #: The consent page and what it shows beside the notice (its way back, the step indicator).
    consent_template: str = "face_consent.html"
    consent_context: Callable[[], dict[str, Any]] = dict
    #: The account centre, and only it, gives consent again after a withdrawal (and so asks for
    #: it on a withdrawn one too).
    renews_consent: bool = False
    #: Checked before a check starts; raises one of ``gone`` when the flow no longer needs one.
    before_start: Callable[[Person], None] = lambda person: None


def add_face_routes(bp: Blueprint, base: str, step: FaceStep, *, start_methods: tuple[str, ...] = ("GET",)) -> None:
    """Register ``face_start`` (``base``), ``face_consent`` and ``face_return`` on ``bp`` for ``step``."""
    name = bp.name
    asks_consent = (FaceConsentRequired, FaceConsentWithdrawn) if step.renews_consent else (FaceConsentRequired,)

    def refused(error: FaceRefusal) -> ResponseReturnValue:
        return face_refusal(error, step.refusal_page())

    def start() -> ResponseReturnValue:
        try:
            person = step.person()
            step.before_start(person)
            # Absolute, so a real provider's page can send the browser back; {check} is filled in.
            return_url = current_settings().ISSUER + url_for(f"{name}.face_return") + "?check={check}"
            url = face_factor().begin(person, purpose=step.purpose, return_url=return_url)["url"]
        except step.gone as error:
            return step.on_gone(error)
        except asks_consent:
            return render_template(step.consent_template, action=url_for(f"{name}.face_consent"),
                                   **step.consent_context())
        except FACE_PAGE_ERRORS as error:
            return refused(error)
        return redirect(url)

    def consent() -> ResponseReturnValue:
        try:
            person = step.person()
        except step.gone as error:
            return step.on_gone(error)
        record_face_consent(FaceIdentity.of(person), renewal=step.renews_consent)
        if step.renews_consent:
            return start()  # the account centre starts at once, from its own POST
        return redirect(url_for(f"{name}.face_start"))

    def back_from_provider() -> ResponseReturnValue:
        try:
            return step.passed(step.person(), request.args.get("check", ""))
        except step.gone as error:
            return step.on_gone(error)
        except FACE_PAGE_ERRORS as error:
            return refused(error)

    bp.add_url_rule(base, "face_start", start, methods=list(start_methods))
    bp.add_url_rule(f"{base}/consent", "face_consent", consent, methods=["POST"])
    bp.add_url_rule(f"{base}/return", "face_return", back_from_provider, methods=["GET"])
