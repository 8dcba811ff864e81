"""App codes in the account centre (docs/domain.md §13): enrol a time-based code generator, confirm
it with a current code, remove it.  Reached only on a fresh login (``ACCOUNT_REAUTH_MAX_AGE``).

Enrolment keeps a pending (unconfirmed) row; the secret is shown once, as a QR code of the
``otpauth://`` provisioning URI and as text, and only a confirmed generator logs in.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyotp
import segno
from sqlalchemy import delete

from idp.audit.log import record_event
from idp.core.clock import utcnow
from idp.core.database import db, rows_changed
from idp.factors.app_code import (
    decrypt_secret,
    encrypt_secret,
    generate_app_code_secret,
    query_app_code,
    spend_app_code,
)
from idp.models import AppCode, Person
from idp.people.identity_documents import LocalizedValueError, mask_phone

ISSUER_NAME = "青岛税务"


class AppCodeRefused(LocalizedValueError):
    MESSAGES = {
        "already_enrolled": {
            "zh-CN": "已绑定身份验证器，如需更换请先解除绑定",
            "en": "An authenticator app is already bound; unbind it first to change it.",
        },
        "wrong_code": {
            "zh-CN": "动态口令不正确，请输入应用中显示的最新口令",
            "en": "That code is not right; please enter the app's current code.",
        },
        "no_enrolment": {
            "zh-CN": "绑定已失效，请重新扫描二维码",
            "en": "This binding has expired; please scan a new QR code.",
        },
    }


@dataclass(frozen=True)
class AppCodeEnrolment:
    """What the page shows once: the secret as text and as a QR code of its provisioning URI."""

    secret: str
    provisioning_uri: str
    qr_svg: str


def start_app_code_enrolment(person: Person) -> AppCodeEnrolment:
    """A new secret replaces any pending one; the caller commits."""
    if query_app_code(person) is not None:
        raise AppCodeRefused("already_enrolled")
    secret = generate_app_code_secret()
    db.session.execute(delete(AppCode).where(AppCode.person_id == person.id))
    db.session.add(AppCode(person_id=person.id, secret_encrypted=encrypt_secret(secret, person)))
    # The account name in the app: username or masked phone, never a document number.
    uri = pyotp.TOTP(secret).provisioning_uri(name=person.username or mask_phone(person.phone),
                                              issuer_name=ISSUER_NAME)
    return AppCodeEnrolment(secret, uri, segno.make(uri, error="m").svg_inline(scale=4))


def confirm_app_code_enrolment(person: Person, code: str) -> None:
    """A current code proves the app holds the secret; from now on it logs in.  The caller commits."""
    row = query_app_code(person, confirmed=False)
    if row is None or decrypt_secret(row.secret_encrypted, person) is None:
        raise AppCodeRefused("no_enrolment")
    if not spend_app_code(row, person, code):
        record_event("app_code.enrol", "failure", subject=person.sub, reason="wrong_code")
        raise AppCodeRefused("wrong_code")
    row.confirmed_at = utcnow()
    record_event("app_code.enrolled", subject=person.sub)


def check_app_code_enrolled(person: Person) -> bool:
    return query_app_code(person) is not None


def remove_app_code(person: Person) -> None:
    removed = db.session.execute(delete(AppCode).where(AppCode.person_id == person.id))
    if rows_changed(removed):
        record_event("app_code.removed", subject=person.sub)
