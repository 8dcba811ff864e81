"""The SMS code factor: 6 digits, 5 minutes, single use, 5 tries, keyed-hash storage."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any, ClassVar

from flask import current_app
from sqlalchemy import func, select, update

from idp.audit import record_event
from idp.clock import local_day, seconds_from_now, utcnow
from idp.database import db
from idp.factors.base import CodeExpired, DailyCapReached, FactorResult, ResendTooSoon, WrongCredential
from idp.factors.lockout import check_not_locked, record_failure, reset_failures
from idp.factors.sms_gateway import SmsMessage
from idp.identity_documents import mask_phone
from idp.models import Person, SmsCode

MESSAGE_TEMPLATE = "【青岛税务】您的{purpose}验证码为{code}，{minutes}分钟内有效，请勿泄露给他人。"
PURPOSE_NAMES = {"login": "登录", "register": "注册", "change_phone": "更换手机号", "reset": "找回密码"}


def _code_hmac(phone: str, purpose: str, code: str) -> str:
    key = current_app.config["IDP"].SECRET_KEY.encode()
    return hmac.new(key, f"{purpose}:{phone}:{code}".encode(), hashlib.sha256).hexdigest()


def generate_sms_code() -> str:
    return f"{secrets.randbelow(10**6):06d}"


def send_sms_code(phone: str, purpose: str, *, subject: str | None = None) -> int:
    """Issue and send a code; returns its lifetime in seconds.

    The row is flushed before the gateway is called so a failed send rolls back with it.
    """
    settings = current_app.config["IDP"]
    today = local_day()
    # One read for both limits. The cooldown guards codes still outstanding; once one is used,
    # the next login may have one.
    last_sent, sent_today = db.session.execute(
        select(func.max(SmsCode.sent_at).filter(SmsCode.consumed_at.is_(None)),
               func.count().filter(SmsCode.local_day == today))
        .where(SmsCode.phone == phone)
    ).one()
    if last_sent is not None:
        wait = settings.SMS_RESEND_COOLDOWN - int((utcnow() - last_sent).total_seconds())
        if wait > 0:
            raise ResendTooSoon(seconds=wait)
    if sent_today >= settings.SMS_DAILY_CAP:
        record_event("sms.daily_cap", "failure", subject=subject, phone=mask_phone(phone))
        raise DailyCapReached()

    code = generate_sms_code()
    row = SmsCode(
        phone=phone,
        purpose=purpose,
        code_hmac=_code_hmac(phone, purpose, code),
        local_day=today,
        expires_at=seconds_from_now(settings.SMS_CODE_TTL),
    )
    db.session.add(row)
    db.session.flush()
    text = MESSAGE_TEMPLATE.format(
        purpose=PURPOSE_NAMES.get(purpose, ""), code=code, minutes=settings.SMS_CODE_TTL // 60
    )
    current_app.extensions["idp.sms"].send(
        SmsMessage(phone=phone, text=text, code=code, idempotency_key=f"sms-{row.id}-{row.code_hmac[:16]}")
    )
    record_event("sms.sent", subject=subject, phone=mask_phone(phone), purpose=purpose)
    return settings.SMS_CODE_TTL


def consume_sms_code(phone: str, purpose: str, code: str) -> bool:
    """Spend one try on the newest live code; True only for the first right answer.

    The try is counted by an atomic update before comparing, and the code is consumed by a
    second guarded update, so parallel guesses cannot exceed the limit or use a code twice.
    """
    settings = current_app.config["IDP"]
    now = utcnow()
    newest = (
        select(SmsCode.id)
        .where(SmsCode.phone == phone, SmsCode.purpose == purpose)
        .order_by(SmsCode.sent_at.desc(), SmsCode.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    spent = db.session.execute(
        update(SmsCode)
        .where(
            SmsCode.id == newest,
            SmsCode.consumed_at.is_(None),
            SmsCode.expires_at > now,
            SmsCode.tries < settings.SMS_CODE_MAX_TRIES,
        )
        .values(tries=SmsCode.tries + 1)
        .returning(SmsCode.id, SmsCode.code_hmac)
    ).first()
    if spent is None:
        raise CodeExpired()
    if not hmac.compare_digest(spent.code_hmac, _code_hmac(phone, purpose, code.strip())):
        return False
    consumed = db.session.execute(
        update(SmsCode).where(SmsCode.id == spent.id, SmsCode.consumed_at.is_(None)).values(consumed_at=now)
    )
    return consumed.rowcount == 1


class SmsCodeFactor:
    METHOD: ClassVar[str] = "sms"
    AMR: ClassVar[str] = "sms"

    def begin(self, person: Person, **context: Any) -> dict[str, Any]:
        check_not_locked(person, self.METHOD)
        ttl = send_sms_code(person.phone, context.get("purpose", "login"), subject=person.sub)
        return {"phone": mask_phone(person.phone), "expires_in": ttl}

    def verify(self, person: Person, response: str, **context: Any) -> FactorResult:
        failures_today = check_not_locked(person, self.METHOD)
        if not consume_sms_code(person.phone, context.get("purpose", "login"), response):
            failures = record_failure(person, self.METHOD)
            raise WrongCredential(method=self.METHOD, failures=failures)
        if failures_today:
            reset_failures(person, self.METHOD)
        return FactorResult(self.METHOD, self.AMR)
