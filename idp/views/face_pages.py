"""The page for a face check that did not go through, shared by the login and step-up views."""

from __future__ import annotations

from flask import render_template, request

from idp.database import db
from idp.factors.base import FactorError
from idp.factors.face import FacePending
from idp.factors.face_provider import FaceProviderError
from idp.views.login import error_key

#: What a face start or return can raise that ends on the result page.
FACE_PAGE_ERRORS = (FactorError, FaceProviderError)


def face_refusal(error: Exception):
    """No result yet (202, with a retry link), provider unreachable (503, nothing kept), or a
    refusal (400; failure counters, spent checks and audit rows are committed)."""
    if isinstance(error, FacePending):
        return render_template("face_result.html", error="error_face_pending", error_params={},
                               retry=request.full_path), 202
    if isinstance(error, FaceProviderError):
        db.session.rollback()
        return render_template("face_result.html", error="error_face_unavailable", error_params={}), 503
    db.session.commit()
    return render_template("face_result.html", error=error_key(error), error_params=error.params), 400
