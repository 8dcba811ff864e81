"""Machine endpoints of QR scan login: RFC 8628 device authorization, and the approval API.

``POST /api/qr/scan``, ``/api/qr/approve``, ``/api/qr/deny`` (JSON or form bodies).  The bureau
app calls with ``Authorization: Bearer <access token with qr:approve>`` and names the code as
``payload`` (the scanned URL) or ``user_code`` (typed).  External apps send ``assertion``: a JWT
signed with their registered key carrying the payload as ``qr`` (see :mod:`idp.qr.approvers`).
Refusals answer ``{"error": code, "error_description": text, "message": text}`` in the language of
``Accept-Language`` (docs/architecture.md §12.1).
These views are exempt from the browser CSRF token: a bearer token or signature is the credential.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, Response, jsonify, request

from idp.core.errors import error_json
from idp.core.i18n import translate
from idp.models import QrLoginRequest
from idp.protocol.client_registry import client_registry
from idp.protocol.server import authorization_server
from idp.qr.approvers import BUREAU_APP, Approver, approver_from_access_token, approver_from_assertion, approving_login
from idp.qr.codes import QrError, approve, deny, describe, find_request, public_status, scan

bp = Blueprint("qr_api", __name__)

#: Refusals worded by an existing message of another feature.
@bp.after_request
def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/device_authorization", methods=["POST"])
def device_authorization():
    """RFC 8628 section 3.1 (the endpoint itself lives in :mod:`idp.grants.qr_scan`)."""
    return authorization_server().create_endpoint_response("device_authorization")


def _body() -> dict:
    body = request.get_json(silent=True) if request.is_json else request.form.to_dict()
    if not isinstance(body, dict):
        raise QrError("bad_request")
    return body


def _approver() -> Approver:
    authorization = request.headers.get("Authorization", "")
    if authorization[:7].lower() == "bearer ":
        return approver_from_access_token(authorization[7:].strip())
    body = _body()
    if "assertion" in body:
        return approver_from_assertion(body["assertion"])
    raise QrError("invalid_token", 401)


def _target(approver: Approver) -> QrLoginRequest:
    if approver.kind == BUREAU_APP:
        body = _body()
        payload, user_code = body.get("payload"), body.get("user_code")
    else:
        payload, user_code = approver.payload, approver.claims.get("user_code")
    return find_request(approver_key=approver.key,
                        payload=payload if isinstance(payload, str) else None,
                        user_code=user_code if isinstance(user_code, str) else None)


def _requester_name(row: QrLoginRequest) -> str:
    client = client_registry().query_client(row.client_id) if row.client_id else None
    return client.name if client else translate("qr_requester_self")


def _refused(error: QrError):
    response = error_json(error)
    if error.code in ("invalid_token", "insufficient_scope") and request.headers.get("Authorization"):
        response.headers["WWW-Authenticate"] = f'Bearer error="{error.code}"'  # RFC 6750 section 3
    return response


def _call(action: Callable[[Approver, QrLoginRequest], None]):
    """Authenticate the app, find the code, act; refusals still keep their side effects (guess
    counters, spent assertion ids, audit rows)."""
    try:
        approver = _approver()
        row = _target(approver)
        action(approver, row)
    except QrError as error:
        return _refused(error)
    body = describe(row, _requester_name(row))
    if approver.grant is not None:
        # The bureau app also sees as whom the web will be logged in (docs/domain.md §1.11).
        body["login"] = {"business": approver.grant.business, "entity": approver.grant.entity}
    return jsonify(body)


@bp.route("/api/qr/scan", methods=["POST"])
def scan_code():
    """The request becomes "scanned" by this app; the answer says who asks, from where, when."""
    return _call(lambda approver, row: scan(row, approver_key=approver.key, approver_client_id=approver.client_id,
                                            subject=approver.subject))


def _approve(approver: Approver, row: QrLoginRequest) -> None:
    if public_status(row) == "expired":
        raise QrError("expired", 410)
    approve(row, approver_key=approver.key, approver_client_id=approver.client_id, login=approving_login(approver))


@bp.route("/api/qr/approve", methods=["POST"])
def approve_code():
    return _call(_approve)


@bp.route("/api/qr/deny", methods=["POST"])
def deny_code():
    return _call(lambda approver, row: deny(row, approver_key=approver.key, approver_client_id=approver.client_id,
                                            subject=approver.subject))
