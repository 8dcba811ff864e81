"""The account centre (docs/account-centre.md): what a logged-in person sees, and the changes they make.

Sensitive changes (password, phone, username) need a fresh login: one at most
``ACCOUNT_REAUTH_MAX_AGE`` seconds old.  An older login is sent through the ordinary login pages
again; the page asked for is remembered in the browser session and reopened afterwards.
"""

from __future__ import annotations

import hmac
import time
from dataclasses import dataclass

from idp.audit.log import record_event
from idp.core.settings import current_settings
from idp.factors import FACTORS
from idp.factors.base import FactorError
from idp.factors.password import hash_password
from idp.login.record import LoginContext
from idp.models import Person
from idp.people.account_sessions import end_other_sessions
from idp.people.identity_documents import LocalizedValueError, mask_document_number, mask_phone
from idp.people.password_change import NewPasswordError
from idp.people.password_policy import validate_password
from idp.protocol.pending_steps import PendingSteps

#: The account page to reopen after a re-login, for ``LOGIN_STEP_TTL``.
RETURN = PendingSteps("account_return_to")
REAUTH = "reauth"
#: Only account-centre pages are reopened: the value never becomes an open redirect.
RETURN_PREFIX = "/account/"
#: Face checks started here are only good for this purpose (a login check cannot be replayed).
REALNAME_FACE_PURPOSE = "realname_upgrade"


class AccountChangeRefused(LocalizedValueError):
    MESSAGES = {
        "password_unchanged": {
            "zh-CN": "新密码不能与当前密码相同",
            "en": "The new password must differ from the current one.",
        },
        "realname_not_needed": {
            "zh-CN": "您的实名等级已是四级及以上，无需提升",
            "en": "Your real-name level is already 4 or higher.",
        },
    }


@dataclass(frozen=True)
class AccountSummary:
    """Personal information as the account centre shows it: identifiers masked (docs/domain.md §3)."""

    name: str
    document: str
    phone: str
    username: str | None
    realname_level: int
    acr: str
    amr: list[str]
    auth_time: int


def summarise_account(login: LoginContext) -> AccountSummary:
    person, current = login.person, login.session
    return AccountSummary(
        name=person.name, document=mask_document_number(person.doc_number), phone=mask_phone(person.phone),
        username=person.username, realname_level=person.realname_level, acr=current.acr,
        amr=list(current.amr), auth_time=current.auth_time,
    )


def check_login_is_fresh(login: LoginContext) -> bool:
    """True when the login is recent enough for a sensitive change (``ACCOUNT_REAUTH_MAX_AGE``)."""
    return time.time() - login.session.auth_time <= current_settings().ACCOUNT_REAUTH_MAX_AGE


def request_reauthentication(return_path: str) -> None:
    """Remember which account page to reopen once the person has logged in again."""
    if return_path.startswith(RETURN_PREFIX):
        RETURN.start(REAUTH, path=return_path, asked_at=int(time.time()))


def take_return_path(login: LoginContext) -> str | None:
    """The page to reopen now that a login newer than the request for it exists, if any."""
    entry = RETURN.read(REAUTH)
    if entry is None:
        RETURN.finish()  # none, or expired (``LOGIN_STEP_TTL``)
        return None
    if login.session.auth_time < entry["asked_at"]:
        return None  # the re-login has not happened yet: keep the request for when it has
    RETURN.finish()
    return entry["path"]


def change_password(login: LoginContext, *, current: str, new: str, confirmation: str) -> int:
    """docs/domain.md §1.10: the personal password changed in the account centre; the caller commits.

    The current password is checked like a login (failures count towards the lockout); the new
    one follows the password policy and differs from the current one.  Every other session of the
    person ends and every grant not made from this session is revoked; returns how many sessions
    ended.
    """
    person = login.person
    try:
        if not hmac.compare_digest(new.encode(), confirmation.encode()):
            raise NewPasswordError("mismatch")
        validate_password(new, doc_number=person.doc_number)
        FACTORS["password"].verify(person, current)
        if hmac.compare_digest(new.encode(), current.encode()):
            raise AccountChangeRefused("password_unchanged")
    except (FactorError, LocalizedValueError) as error:
        record_event("password.change", "failure", subject=person.sub, how="account", reason=error.code)
        raise
    person.password_hash = hash_password(new)
    person.password_is_initial = False
    ended = end_other_sessions(person, keep=login.session, reason="password_changed")
    record_event("password.changed", subject=person.sub, how="account", sessions_ended=ended)
    return ended


def check_realname_upgrade_offered(person: Person) -> bool:
    """docs/domain.md §1.5: an account without a face check (level 3) may reach level 4 by one."""
    return person.realname_level < 4


def require_realname_upgrade_offered(person: Person) -> None:
    """Before a face check for the level upgrade: refused (``realname_not_needed``) at level 4 already."""
    if not check_realname_upgrade_offered(person):
        raise AccountChangeRefused("realname_not_needed")
