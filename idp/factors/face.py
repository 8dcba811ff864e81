"""The face factor: start a provider session, then decide only on the provider's own result.

Checks (docs/domain.md §11): the result belongs to this check's session, is fresh, is for this
identity document, liveness passed, similarity reaches ``FACE_SIMILARITY_THRESHOLD``, and it
is used once.  Separate consent to face processing is recorded before the first scan.

A consent withdrawn in the account centre (PIPL article 15) makes face checks unavailable for that
document: every flow refuses them with :class:`FaceConsentWithdrawn` until the person gives
consent again in the account centre; the login and reset pages stop offering them.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, ClassVar

from sqlalchemy import bindparam, select, update

from idp.audit.log import record_event
from idp.core.clock import utcnow
from idp.core.database import db, rows_changed
from idp.core.personal_data_fields import BlindIndex
from idp.core.settings import current_settings
from idp.factors.base import FactorError, FactorResult
from idp.factors.face_provider import current_face_provider
from idp.factors.lockout import check_not_locked, record_failure, reset_failures
from idp.models import FaceCheck, FaceConsent, Person
from idp.people.identity_documents import mask_document_number

#: Version of the face-processing notice the person agreed to; bump when its text changes.
NOTICE_VERSION = "2026-11"


class FaceConsentRequired(FactorError):
    code = "face_consent_required"


class FaceConsentWithdrawn(FactorError):
    code = "face_consent_withdrawn"


class FacePending(FactorError):
    """The provider has no result yet: the person polls again, which is not a failed try."""

    code = "face_pending"
    is_attempt = False


class FaceCheckExpired(FactorError):
    code = "face_expired"


class FaceNotPassed(FactorError):
    code = "face_failed"


@dataclass(frozen=True)
class FaceIdentity:
    """Whose face is checked: a registered person, or someone registering."""

    name: str
    doc_type: str
    doc_number: str
    person: Person | None = None

    @classmethod
    def of(cls, person: Person) -> FaceIdentity:
        return cls(person.name, person.doc_type, person.doc_number, person)


def _settings():
    return current_settings()


def _provider():
    return current_face_provider()


def has_face_consent(identity: FaceIdentity) -> bool:
    return db.session.execute(
        select(FaceConsent.id).where(
            FaceConsent.doc_type == identity.doc_type, FaceConsent.doc_number == identity.doc_number,
            FaceConsent.withdrawn_at.is_(None), FaceConsent.notice_version == NOTICE_VERSION,
        )
    ).first() is not None


#: Built once: every face login asks, and building it per call cost SQLAlchemy more CPU than
#: running it (a prebuilt statement's cache key is memoized).  The document's index column is
#: compared: ``BlindIndex`` indexes the number as it is bound, as ``FaceConsent.doc_number ==``
#: does when a statement is built.
_LATEST_CONSENT = select(FaceConsent.withdrawn_at).where(
    FaceConsent.doc_type == bindparam("doc_type"),
    FaceConsent.doc_number_index == bindparam("doc_number", type_=BlindIndex()),
).order_by(FaceConsent.id.desc()).limit(1)


def check_face_consent_withdrawn(identity: FaceIdentity) -> bool:
    """True when the latest consent for this document was withdrawn (and none was given since)."""
    latest = db.session.execute(
        _LATEST_CONSENT, {"doc_type": identity.doc_type, "doc_number": identity.doc_number}).first()
    return latest is not None and latest.withdrawn_at is not None


def record_face_consent(identity: FaceIdentity, *, renewal: bool = False) -> None:
    """Record consent to face processing under the current notice.

    After a withdrawal only the account centre gives it again (``renewal``): a login, reset or
    step-up consent page records nothing, and the face start that follows refuses.
    """
    if has_face_consent(identity) or (check_face_consent_withdrawn(identity) and not renewal):
        return
    db.session.add(FaceConsent(doc_type=identity.doc_type, doc_number=identity.doc_number,
                               notice_version=NOTICE_VERSION))
    renewed: dict[str, Any] = {"renewal": True} if renewal else {}
    record_event("face.consent", subject=identity.person.sub if identity.person else None,
                 doc_number=mask_document_number(identity.doc_number), notice=NOTICE_VERSION, **renewed)


def withdraw_face_consent(person: Person) -> bool:
    """The person withdraws consent to face processing; False when none was live.  The caller commits."""
    withdrawn = rows_changed(db.session.execute(
        update(FaceConsent).where(
            FaceConsent.doc_type == person.doc_type, FaceConsent.doc_number == person.doc_number,
            FaceConsent.withdrawn_at.is_(None),
        ).values(withdrawn_at=utcnow())
    ))
    if withdrawn:
        record_event("face.consent_withdrawn", subject=person.sub, doc_number=mask_document_number(person.doc_number))
    return bool(withdrawn)


def start_face_check(identity: FaceIdentity, purpose: str, return_url: str) -> tuple[FaceCheck, str]:
    """Open a provider session; returns our check and the URL the person scans at.

    ``return_url`` may contain ``{check}``, replaced with the check id (the return trigger).
    """
    if not has_face_consent(identity):
        raise FaceConsentWithdrawn() if check_face_consent_withdrawn(identity) else FaceConsentRequired()
    if identity.person is not None:
        check_not_locked(identity.person, FaceFactor.METHOD)
    check_id = secrets.token_urlsafe(24)
    started = _provider().start(name=identity.name, doc_type=identity.doc_type, doc_number=identity.doc_number,
                                return_url=return_url.replace("{check}", check_id))
    check = FaceCheck(
        id=check_id, person_id=identity.person.id if identity.person else None, purpose=purpose,
        doc_type=identity.doc_type, doc_number=identity.doc_number, provider_session_id=started.session_id,
        expires_at=utcnow() + timedelta(seconds=_settings().FACE_CHECK_TTL),
    )
    db.session.add(check)
    record_event("face.started", subject=identity.person.sub if identity.person else None, purpose=purpose,
                 doc_number=mask_document_number(identity.doc_number))
    return check, started.url


def _refusal(result, check: FaceCheck) -> str | None:
    """Why a completed provider result does not pass, or None (the named checks of docs/domain.md §11)."""
    settings = _settings()
    if result.session_id != check.provider_session_id:
        return "session_mismatch"
    if result.completed_at is None or result.completed_at < int(check.created_at.timestamp()) - 5:
        return "stale"
    if time.time() - result.completed_at > settings.FACE_RESULT_MAX_AGE:
        return "stale"
    if (result.doc_type, result.doc_number.upper()) != (check.doc_type, check.doc_number):
        return "document_mismatch"
    if not result.liveness_passed:
        return "liveness"
    if result.similarity < settings.FACE_SIMILARITY_THRESHOLD:
        return "similarity"
    return None


def complete_face_check(check_id: str, identity: FaceIdentity, purpose: str) -> FactorResult:
    """Fetch the provider's result for our check and decide; the check is spent on success."""
    check = db.session.get(FaceCheck, check_id) if isinstance(check_id, str) and len(check_id) < 64 else None
    if (
        check is None or check.purpose != purpose
        or (check.doc_type, check.doc_number) != (identity.doc_type, identity.doc_number)
        or check.used_at is not None
    ):
        raise FaceCheckExpired()
    if check.expires_at <= utcnow():
        raise FaceCheckExpired()
    if check_face_consent_withdrawn(identity):
        # Started before the withdrawal: its result is no longer ours to use.
        raise FaceConsentWithdrawn()
    failures_today = check_not_locked(identity.person, FaceFactor.METHOD) if identity.person is not None else 0
    result = _provider().fetch_result(check.provider_session_id)
    if result.status == "pending":
        raise FacePending()
    if result.status != "completed":
        raise FaceCheckExpired()
    check.result_ref, check.similarity, check.liveness_passed = result.result_ref, result.similarity, \
        result.liveness_passed
    subject = identity.person.sub if identity.person else None
    reason = _refusal(result, check)
    if reason:
        check.status = "failed"
        check.used_at = utcnow()
        record_event("face.result", "failure", subject=subject, purpose=purpose, reason=reason,
                     similarity=round(result.similarity, 3), result_ref=result.result_ref)
        if identity.person is not None:
            record_failure(identity.person, FaceFactor.METHOD)
        raise FaceNotPassed(reason=reason)
    spent = db.session.execute(
        update(FaceCheck).where(FaceCheck.id == check.id, FaceCheck.used_at.is_(None))
        .values(used_at=utcnow(), status="passed")
    )
    if rows_changed(spent) != 1:
        raise FaceCheckExpired()
    if failures_today and identity.person is not None:
        reset_failures(identity.person, FaceFactor.METHOD)
    record_event("face.result", subject=subject, purpose=purpose, similarity=round(result.similarity, 3),
                 result_ref=result.result_ref)
    if identity.person is not None:
        _raise_realname_level(identity.person)
    return FactorResult(FaceFactor.METHOD, FaceFactor.AMR)


def _raise_realname_level(person: Person) -> None:
    """docs/domain.md §1.5: a passed face check makes a level-3 account level 4, for good, whatever
    the check was for (login, step-up, reset, the account centre's upgrade)."""
    if person.realname_level < 4:
        person.realname_level = 4
        record_event("realname.upgraded", subject=person.sub, level=4, by="face")


class FaceFactor:
    METHOD: ClassVar[str] = "face"
    AMR: ClassVar[str] = "face"

    def begin(self, person: Person, **context: Any) -> dict[str, Any]:
        return self.begin_for(FaceIdentity.of(person), context.get("purpose", "login"), context["return_url"])

    def verify(self, person: Person, response: str, **context: Any) -> FactorResult:
        return self.verify_for(FaceIdentity.of(person), response, context.get("purpose", "login"))

    def begin_for(self, identity: FaceIdentity, purpose: str, return_url: str) -> dict[str, Any]:
        """:meth:`begin` for an identity that may have no account yet (registration)."""
        check, url = start_face_check(identity, purpose, return_url)
        return {"check_id": check.id, "url": url}

    def verify_for(self, identity: FaceIdentity, check_id: str, purpose: str) -> FactorResult:
        """:meth:`verify` for an identity that may have no account yet (registration)."""
        return complete_face_check(check_id, identity, purpose)
