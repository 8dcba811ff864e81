"""The development face provider: a stand-in service with its own sessions and scan page.

A tester passes or fails the "scan" on its page (or, in tests, with one HTTP call); the
provider keeps the outcome on its side, exactly as a real service would, and the face
factor fetches it through the same :class:`~idp.factors.face_provider.FaceProvider` calls.
Mounted only when ``FACE_PROVIDER=development``; refused in production.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from flask import Blueprint, abort, redirect, render_template, request, url_for

from idp.core.clock import utcnow
from idp.core.database import db
from idp.factors.face_provider import FaceProviderError, FaceProviderResult, FaceStart
from idp.models import DevFaceSession

SESSION_TTL = 300
#: What the tester's buttons make the provider report.
OUTCOMES = {
    "pass": {"liveness_passed": True, "similarity": 0.93},
    "fail": {"liveness_passed": True, "similarity": 0.41},
    "no_liveness": {"liveness_passed": False, "similarity": 0.90},
}

bp = Blueprint("dev_face", __name__, url_prefix="/dev/face")


class DevelopmentFaceProvider:
    def start(self, *, name: str, doc_type: str, doc_number: str, return_url: str) -> FaceStart:
        row = DevFaceSession(id=secrets.token_urlsafe(24), name=name, doc_type=doc_type, doc_number=doc_number,
                             return_url=return_url, expires_at=utcnow() + timedelta(seconds=SESSION_TTL))
        db.session.add(row)
        db.session.flush()
        return FaceStart(row.id, int(row.expires_at.timestamp()), url_for("dev_face.scan_page", session_id=row.id))

    def fetch_result(self, session_id: str) -> FaceProviderResult:
        row = db.session.get(DevFaceSession, session_id)
        if row is None:
            raise FaceProviderError("unknown face session")
        status = row.status
        if status == "pending" and row.expires_at <= utcnow():
            status = "expired"
        return FaceProviderResult(
            session_id=row.id, status=status, doc_type=row.doc_type, doc_number=row.doc_number,
            liveness_passed=bool(row.liveness_passed), similarity=float(row.similarity or 0.0),
            completed_at=int(row.completed_at.timestamp()) if row.completed_at else None,
            result_ref=f"dev-{row.id[:12]}",
        )


def _pending_session(session_id: str) -> DevFaceSession:
    row = db.session.get(DevFaceSession, session_id)
    if row is None or row.status != "pending" or row.expires_at <= utcnow():
        abort(404)
    return row


def _decide(row: DevFaceSession, outcome: str) -> None:
    if outcome not in OUTCOMES:
        abort(400)
    for field, value in OUTCOMES[outcome].items():
        setattr(row, field, value)
    row.status = "completed"
    row.completed_at = utcnow()


@bp.route("/<session_id>", methods=["GET"])
def scan_page(session_id: str):
    row = _pending_session(session_id)
    return render_template("dev_face.html", session_id=row.id, name=row.name)


@bp.route("/<session_id>", methods=["POST"])
def scan_submit(session_id: str):
    row = _pending_session(session_id)
    _decide(row, request.form.get("outcome", ""))
    return redirect(row.return_url)


@bp.route("/<session_id>/decision", methods=["POST"])
def decide_by_api(session_id: str):
    """For automated tests: the same decision as the page's buttons, as JSON."""
    row = _pending_session(session_id)
    _decide(row, (request.get_json(silent=True) or {}).get("outcome", ""))
    return {"session_id": row.id, "status": row.status}
