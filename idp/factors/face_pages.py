"""How every face step (login, step-up, password reset, real-name upgrade, registration) ends when its
face check did not go through: still pending, refused, or the provider unreachable.

Each step passes its own page.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import render_template, request
from flask.typing import ResponseReturnValue

from idp.factors.base import FactorError
from idp.factors.face import FacePending
from idp.factors.face_provider import FaceProviderError

#: One of :data:`FACE_PAGE_ERRORS`.
FaceRefusal = FactorError | FaceProviderError
#: What a face start or return can raise that ends on the result page.
FACE_PAGE_ERRORS: tuple[type[FaceRefusal], ...] = (FactorError, FaceProviderError)
#: A step's page for a face refusal: the error, the HTTP status, and (pending only) the link to ask again.
FacePage = Callable[[FaceRefusal, int, str | None], ResponseReturnValue]


def face_message(error: FaceRefusal) -> tuple[str, dict]:
    """The message key and its parameters for one of :data:`FACE_PAGE_ERRORS`."""
    if isinstance(error, FaceProviderError):
        return "error_face_unavailable", {}
    return error.message_key, error.params


def face_result_page(**links: str) -> FacePage:
    """The shared ``face_result.html``; ``face_url`` and ``sms_url`` replace the login's own
    "try again" and "use an SMS code" links, and ``interaction`` is the relying party's request
    that 忘记密码 (after a lockout) carries on."""

    def page(error: FaceRefusal, status: int, retry: str | None) -> ResponseReturnValue:
        key, params = face_message(error)
        return render_template("face_result.html", error=key, error_params=params, retry=retry, **links), status

    return page


def face_refusal(error: FaceRefusal, page: FacePage) -> ResponseReturnValue:
    """No result yet (202, with a retry link), provider unreachable (503), or a refusal (400),
    shown on ``page`` (the step's own, or :func:`face_result_page`).

    What the request did stands (docs/architecture.md §12.2): a refusal's failure count, spent
    check and audit row, and a consent given with the scan.  An unreachable provider leaves
    nothing to take back: the face factor calls it before writing anything."""
    if isinstance(error, FacePending):
        return page(error, 202, request.full_path)
    if isinstance(error, FaceProviderError):
        return page(error, 503, None)
    return page(error, 400, None)
