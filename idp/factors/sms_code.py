"""The SMS code factor: 6 digits, 5 minutes, single use, 5 tries, keyed-hash storage."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import date, datetime, timedelta
from typing import Any, ClassVar, NoReturn

from sqlalchemy import String, bindparam, exists, func, insert, literal, select, update

from idp.audit.log import record_event
from idp.core.clock import local_day, utcnow
from idp.core.database import db, rows_changed
from idp.core.metrics import count_sms
from idp.core.personal_data_cipher import current_personal_data_cipher
from idp.core.settings import current_settings
from idp.factors.base import CodeExpired, DailyCapReached, FactorResult, ResendTooSoon, WrongCredential
from idp.factors.lockout import check_not_locked, counted_attempt
from idp.factors.sms_gateway import SmsDeliveryFailed, SmsMessage, current_sms_gateway
from idp.models import Person, SmsCode
from idp.people.identity_documents import mask_phone

MESSAGE_TEMPLATE = "【青岛税务】您的{purpose}验证码为{code}，{minutes}分钟内有效，请勿泄露给他人。"
PURPOSE_NAMES = {"login": "登录", "register": "注册", "change_phone": "更换手机号", "reset": "找回密码",
                 "close_account": "注销账号"}
#: First key of the PostgreSQL advisory locks that serialise sends per phone (the second is the
#: phone's hash); two-key locks never meet the keyring's one-key lock.
SMS_SEND_LOCK_SPACE = 0x736D73  # "sms"

_CODES = SmsCode.__table__
#: Built once: every login sends and spends a code, and building these statements per call cost
#: SQLAlchemy more CPU than running them (a prebuilt statement's cache key is memoized).  No
#: parameter is named after a column: an INSERT or UPDATE would take it for a value to set.
_LOCK_PHONE = select(func.pg_advisory_xact_lock(SMS_SEND_LOCK_SPACE, func.hashtext(bindparam("index", type_=String))))
_TAKE_WRITE_LOCK = update(_CODES).where(_CODES.c.id == -1).values(tries=_CODES.c.tries)
# Under the lock a read then an insert would be correct too; one conditional insert saves a
# round trip.  The cooldown guards codes still outstanding; once one is used, the next login
# may have one.
_OUTSTANDING = select(_CODES.c.id).where(
    _CODES.c.phone == bindparam("to_phone"), _CODES.c.consumed_at.is_(None),
    _CODES.c.sent_at > bindparam("cooldown_start"))
_SENT_TODAY = select(func.count()).where(
    _CODES.c.phone == bindparam("to_phone"), _CODES.c.purpose == bindparam("for_purpose"),
    _CODES.c.local_day == bindparam("today"))
_ISSUE = insert(_CODES).from_select(
    ["phone", "purpose", "code_hmac", "sent_at", "local_day", "expires_at", "tries"],
    select(
        bindparam("to_phone", type_=_CODES.c.phone.type),
        bindparam("for_purpose", type_=_CODES.c.purpose.type),
        bindparam("hmac", type_=_CODES.c.code_hmac.type),
        bindparam("now", type_=_CODES.c.sent_at.type),
        bindparam("today", type_=_CODES.c.local_day.type),
        bindparam("expiry", type_=_CODES.c.expires_at.type),
        literal(0, _CODES.c.tries.type),
    ).where(~exists(_OUTSTANDING), _SENT_TODAY.scalar_subquery() < bindparam("cap")),
).returning(_CODES.c.id)
_LAST_OUTSTANDING = select(func.max(_CODES.c.sent_at)).where(
    _CODES.c.phone == bindparam("to_phone"), _CODES.c.consumed_at.is_(None))
_NEWEST = select(_CODES.c.id).where(
    _CODES.c.phone == bindparam("to_phone"), _CODES.c.purpose == bindparam("for_purpose"),
).order_by(_CODES.c.sent_at.desc(), _CODES.c.id.desc()).limit(1).scalar_subquery()
_SPEND_TRY = update(_CODES).where(
    _CODES.c.id == _NEWEST, _CODES.c.consumed_at.is_(None), _CODES.c.expires_at > bindparam("now"),
    _CODES.c.tries < bindparam("max_tries"),
).values(tries=_CODES.c.tries + 1).returning(_CODES.c.id, _CODES.c.code_hmac)
_CONSUME = update(_CODES).where(_CODES.c.id == bindparam("spent_id"), _CODES.c.consumed_at.is_(None)).values(
    consumed_at=bindparam("now"))


def _code_hmac(phone: str, purpose: str, code: str) -> str:
    key = current_settings().SECRET_KEY.encode()
    return hmac.new(key, f"{purpose}:{phone}:{code}".encode(), hashlib.sha256).hexdigest()


def generate_sms_code() -> str:
    return f"{secrets.randbelow(10**6):06d}"


def _lock_phone(phone: str) -> None:
    """Make parallel sends to ``phone`` take turns until this transaction ends.

    Reads are never blocked by writers (PostgreSQL's MVCC, SQLite's shared lock), so without a
    lock two sends can both find the cooldown over and the cap not reached.  The first send to
    a phone has no row to lock, hence PostgreSQL's advisory lock on the phone; a hash collision
    only makes two phones take turns.  SQLite has no such lock: a write, even of no row, takes
    its one database write lock for the rest of the transaction.
    """
    if db.engine.dialect.name == "postgresql":
        # Over the blind index: the number itself never reaches the database (docs/privacy.md).
        db.session.execute(_LOCK_PHONE, {"index": current_personal_data_cipher().blind_index(phone)})
    else:
        db.session.execute(_TAKE_WRITE_LOCK)


def send_sms_code(phone: str, purpose: str, *, subject: str | None = None) -> int:
    """Issue and send a code; returns its lifetime in seconds.

    Enforces ``SMS_RESEND_COOLDOWN`` (while a code sent to the phone is still unused) and
    ``SMS_DAILY_CAP`` (codes per phone and purpose in the local day: anyone who knows a phone
    number can ask for reset codes, and that must not use up the person's login codes),
    parallel requests included.
    The row is inserted before the gateway is called, inside a savepoint, so a failed send
    takes its row back with it while the request's other work (the password step before it)
    stands.  The phone stays locked until the request commits, after the gateway call: a
    parallel send must wait for this code's row to be visible, or it would pass the cooldown too.
    """
    settings = current_settings()
    # The lock's statement opens the transaction on both databases, so the savepoint below is
    # nested in it (on SQLite a savepoint outside a transaction would commit on release).
    _lock_phone(phone)
    # Taken after the lock: every committed code is then older than ``now``.
    now = utcnow()
    today = local_day(now)
    code = generate_sms_code()
    code_hmac = _code_hmac(phone, purpose, code)
    with db.session.begin_nested():
        row_id = db.session.execute(_ISSUE, {
            "to_phone": phone, "for_purpose": purpose, "hmac": code_hmac, "now": now, "today": today,
            "expiry": now + timedelta(seconds=settings.SMS_CODE_TTL),
            "cooldown_start": now - timedelta(seconds=settings.SMS_RESEND_COOLDOWN), "cap": settings.SMS_DAILY_CAP,
        }).scalar_one_or_none()
        if row_id is not None:
            _deliver(phone, purpose, code, f"sms-{row_id}-{code_hmac[:16]}")
    if row_id is None:
        _refuse_send(phone, purpose, now, today, subject)
    count_sms(purpose, "sent")
    record_event("sms.sent", subject=subject, phone=mask_phone(phone), purpose=purpose)
    return settings.SMS_CODE_TTL


def _deliver(phone: str, purpose: str, code: str, idempotency_key: str) -> None:
    text = MESSAGE_TEMPLATE.format(
        purpose=PURPOSE_NAMES.get(purpose, ""), code=code, minutes=current_settings().SMS_CODE_TTL // 60
    )
    try:
        current_sms_gateway().send(SmsMessage(phone=phone, text=text, code=code, idempotency_key=idempotency_key))
    except SmsDeliveryFailed:
        count_sms(purpose, "failed")
        raise


def _refuse_send(phone: str, purpose: str, now: datetime, today: date, subject: str | None) -> NoReturn:
    """Say which limit refused the code; only refused sends pay for this second read."""
    settings = current_settings()
    last_sent, sent_today = db.session.execute(
        select(func.max(SmsCode.sent_at).filter(SmsCode.consumed_at.is_(None)),
               func.count().filter(SmsCode.purpose == purpose, SmsCode.local_day == today))
        .where(SmsCode.phone == phone)
    ).one()
    wait = settings.SMS_RESEND_COOLDOWN - int((now - last_sent).total_seconds()) if last_sent else 0
    if wait <= 0 and sent_today >= settings.SMS_DAILY_CAP:
        record_event("sms.daily_cap", "failure", subject=subject, phone=mask_phone(phone))
        raise DailyCapReached()
    # At least a second: the lock does not stop a login from using the outstanding code
    # between the insert and this read, and then asking again succeeds.
    raise ResendTooSoon(seconds=max(wait, 1))


def seconds_until_resend(phone: str) -> int:
    """Seconds before another code may be sent to ``phone`` (0: now), for the pages' countdown; the
    send itself still decides (:func:`send_sms_code`)."""
    last_sent = db.session.execute(_LAST_OUTSTANDING, {"to_phone": phone}).scalar_one_or_none()
    if last_sent is None:
        return 0
    waited = (utcnow() - last_sent).total_seconds()
    return max(0, current_settings().SMS_RESEND_COOLDOWN - int(waited))


def consume_sms_code(phone: str, purpose: str, code: str) -> bool:
    """Spend one try on the newest live code; True only for the first right answer.

    The try is counted by an atomic update before comparing, and the code is consumed by a
    second guarded update, so parallel guesses cannot exceed the limit or use a code twice.
    """
    now = utcnow()
    spent = db.session.execute(_SPEND_TRY, {
        "to_phone": phone, "for_purpose": purpose, "now": now, "max_tries": current_settings().SMS_CODE_MAX_TRIES,
    }).first()
    if spent is None:
        raise CodeExpired()
    if not hmac.compare_digest(spent.code_hmac, _code_hmac(phone, purpose, code.strip())):
        return False
    consumed = db.session.execute(_CONSUME, {"spent_id": spent.id, "now": now})
    return rows_changed(consumed) == 1


class SmsCodeFactor:
    METHOD: ClassVar[str] = "sms"
    AMR: ClassVar[str] = "sms"

    def begin(self, person: Person, **context: Any) -> dict[str, Any]:
        check_not_locked(person, self.METHOD)
        ttl = send_sms_code(person.phone, context.get("purpose", "login"), subject=person.sub)
        return {"phone": mask_phone(person.phone), "expires_in": ttl}

    def verify(self, person: Person, response: str, **context: Any) -> FactorResult:
        with counted_attempt(person, self.METHOD):
            if not consume_sms_code(person.phone, context.get("purpose", "login"), response):
                raise WrongCredential(method=self.METHOD)
        return FactorResult(self.METHOD, self.AMR)
