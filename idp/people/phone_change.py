"""Changing the verified phone in the account centre (docs/account-centre.md).

Step 1 sends an SMS code to the NEW phone (proof the person holds it); step 2 takes that code
plus the current password.  The new number is kept in the browser session between the steps,
bound to the person, and is re-checked against other accounts before it is stored.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from idp.audit.log import record_event
from idp.core.database import db
from idp.core.settings import current_settings
from idp.factors import FACTORS
from idp.factors.base import FactorError, WrongCredential
from idp.factors.sms_code import consume_sms_code, send_sms_code
from idp.models import Person
from idp.people.accounts import AccountError, normalise_phone
from idp.people.identity_documents import LocalizedValueError, mask_phone
from idp.protocol.pending_steps import PendingSteps

PURPOSE = "change_phone"
#: The new phone waiting for its code; it lives as long as the code (``SMS_CODE_TTL``).
PENDING = PendingSteps("account_phone_change", ttl=lambda: current_settings().SMS_CODE_TTL)
CODE = "code"


class PhoneChangeRefused(LocalizedValueError):
    MESSAGES = {
        "invalid": {
            "zh-CN": "请输入11位中国大陆手机号码",
            "en": "Please enter an 11-digit mainland China mobile number.",
        },
        "unchanged": {
            "zh-CN": "新手机号码与当前绑定的手机号码相同",
            "en": "This is already your phone number.",
        },
        "taken": {
            "zh-CN": "该手机号码已被其他账户绑定",
            "en": "This phone number belongs to another account.",
        },
        "no_code_sent": {
            "zh-CN": "请先获取发送到新手机号码的验证码",
            "en": "Please first request a code for the new phone number.",
        },
    }


def _check_phone_free(phone: str, person: Person) -> None:
    holder = db.session.execute(select(Person.id).where(Person.phone == phone)).scalar_one_or_none()
    if holder is not None and holder != person.id:
        raise PhoneChangeRefused("taken")


def _refused(person: Person, error: Exception, **detail: str) -> None:
    record_event("phone.change", "failure", subject=person.sub, reason=getattr(error, "code", "error"), **detail)


def start_phone_change(person: Person, new_phone: str) -> str:
    """Send a ``change_phone`` code to ``new_phone``; returns it masked.  The caller commits.

    Raises :class:`PhoneChangeRefused`, or the SMS factor's ``ResendTooSoon``/``DailyCapReached``.
    """
    try:
        phone = normalise_phone(new_phone)
    except AccountError:
        _refused(person, PhoneChangeRefused("invalid"))
        raise PhoneChangeRefused("invalid") from None
    try:
        if phone == person.phone:
            raise PhoneChangeRefused("unchanged")
        _check_phone_free(phone, person)
        send_sms_code(phone, PURPOSE, subject=person.sub)
    except (PhoneChangeRefused, FactorError) as error:
        _refused(person, error, new_phone=mask_phone(phone))
        raise
    PENDING.start(CODE, person_id=person.id, phone=phone)
    return mask_phone(phone)


def pending_phone_change(person: Person) -> str | None:
    """The new phone waiting for its code, if a code was sent to it for this person and is live."""
    pending = PENDING.read(CODE)
    if pending is None or pending["person_id"] != person.id:
        return None
    return pending["phone"]


def finish_phone_change(person: Person, *, code: str, password: str) -> None:
    """Check the current password, then the code sent to the new phone, and store the new phone.

    The caller commits; on a :class:`FactorError` it commits too (lockout counters and audit).
    """
    phone = pending_phone_change(person)
    if phone is None:
        raise PhoneChangeRefused("no_code_sent")
    detail = {"new_phone": mask_phone(phone)}
    try:
        # The password first: a wrong one must not burn the code the person just received.
        FACTORS["password"].verify(person, password)
        if not consume_sms_code(phone, PURPOSE, code or ""):
            raise WrongCredential(method="sms")
        _check_phone_free(phone, person)
        old_phone = person.phone
        with db.session.begin_nested():
            person.phone = phone
            db.session.flush()
    except IntegrityError:
        _refused(person, PhoneChangeRefused("taken"), **detail)
        raise PhoneChangeRefused("taken") from None
    except (PhoneChangeRefused, FactorError) as error:
        _refused(person, error, **detail)
        raise
    PENDING.finish()
    record_event("phone.changed", subject=person.sub, old_phone=mask_phone(old_phone), new_phone=mask_phone(phone))
