"""The account centre pages (docs/account-centre.md; docs/domain.md §1.10, §1.13): personal information, password,
username, sessions.  Thin views over :mod:`idp.people.account_centre` and its sibling modules; the
phone change and the real-name upgrade are in :mod:`idp.people.account_verify_pages`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from functools import wraps
from zoneinfo import ZoneInfo

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue

from idp.core.errors import LocalizedValueError, UserError
from idp.core.i18n import translate
from idp.core.settings import current_settings
from idp.factors.base import FactorError, WrongCredential
from idp.login.record import LoginContext, current_login
from idp.messages import MESSAGES
from idp.people.account_centre import (
    change_password,
    check_login_is_fresh,
    request_reauthentication,
    summarise_account,
    take_return_path,
)
from idp.people.account_sessions import SessionChangeRefused, end_all_sessions, end_session_by_ref, list_live_sessions
from idp.people.username_change import UsernameChangeRefused, change_username, next_username_change_day

bp = Blueprint("account", __name__)

View = Callable[..., ResponseReturnValue]


def error_text(error: UserError) -> str:
    """A refusal in the page's language."""
    if isinstance(error, WrongCredential) and error.params.get("method") == "password":
        # The login's "wrong account or password" would puzzle someone already logged in.
        return translate("acct_error_wrong_current_password", failures=error.params.get("failures", 1),
                         threshold=current_settings().LOCKOUT_THRESHOLD)
    return error.message()


def local_time(moment: datetime | int) -> str:
    if isinstance(moment, int):
        moment = datetime.fromtimestamp(moment, UTC)
    return moment.astimezone(ZoneInfo(current_settings().TIMEZONE)).strftime("%Y-%m-%d %H:%M")


def strength_text(acr: str, amr: list[str]) -> str:
    """``urn:qdtax:loa:2`` + ``[pwd, sms, mfa]`` as "密码 + 短信验证码（二级）": the words a person
    knows, never the protocol's codes (``mfa`` only says there were two methods)."""
    level_key = f"acct_strength_loa{acr.removeprefix('urn:qdtax:loa:')}"
    level = translate(level_key) if level_key in MESSAGES else acr
    names = [translate(f"acct_amr_{a}") if f"acct_amr_{a}" in MESSAGES else a for a in amr if a != "mfa"]
    return translate("acct_strength", methods=" + ".join(names), level=level)


def login_required(view: View) -> View:
    """The view gets the live login as its first argument; without one the person logs in."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        login = current_login()
        if login is None:
            return redirect(url_for("login.login_page"))
        return view(login, *args, **kwargs)

    return wrapper


def fresh_login_required(page: str) -> Callable[[View], View]:
    """For sensitive changes: a login older than ``ACCOUNT_REAUTH_MAX_AGE`` logs in again first,
    then comes back to the account page ``page`` (an endpoint)."""

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapper(login: LoginContext, *args, **kwargs):
            if not check_login_is_fresh(login):
                request_reauthentication(url_for(page))
                return redirect(url_for("account.reauth"))
            return view(login, *args, **kwargs)

        return login_required(wrapper)

    return decorate


@bp.route("/")
def home():
    """The landing page after any login: the account page waiting for a re-login, or the centre."""
    login = current_login()
    if login is None:
        return redirect(url_for("login.login_page"))
    return redirect(take_return_path(login) or url_for("account.overview"))


@bp.route("/account")
@login_required
def overview(login: LoginContext):
    summary = summarise_account(login)
    return render_template("account.html", summary=summary, strength=strength_text(summary.acr, summary.amr),
                           login_time=local_time(summary.auth_time))


@bp.route("/account/reauth")
@login_required
def reauth(login: LoginContext):
    return render_template("account_reauth.html")


@bp.route("/account/password", methods=["GET", "POST"])
@fresh_login_required("account.password")
def password(login: LoginContext):
    if request.method == "GET":
        return render_template("account_password.html")
    try:
        change_password(login, current=request.form.get("current_password", ""),
                        new=request.form.get("new_password", ""),
                        confirmation=request.form.get("confirm_password", ""))
    except (FactorError, LocalizedValueError) as error:
        return render_template("account_password.html", error=error_text(error)), 400
    flash("acct_saved_password")
    return redirect(url_for("account.overview"))


def _render_username(login: LoginContext, error: LocalizedValueError | None = None, requested: str = ""):
    next_change = next_username_change_day(login.person)
    # Before the form is even filled in, the person learns the day a change is possible again.
    notice = UsernameChangeRefused("too_soon", next_change=next_change) if next_change else None
    return render_template(
        "account_username.html", username=login.person.username, requested=requested,
        notice=error_text(notice) if notice else None, error=error_text(error) if error else None,
    ), 200 if error is None else 400


@bp.route("/account/username", methods=["GET", "POST"])
@fresh_login_required("account.username")
def username(login: LoginContext):
    if request.method == "GET":
        return _render_username(login)
    requested = request.form.get("username", "")
    try:
        change_username(login.person, requested)
    except LocalizedValueError as error:
        return _render_username(login, error, requested)
    flash("acct_saved_username")
    return redirect(url_for("account.overview"))


def _render_sessions(login: LoginContext, error: LocalizedValueError | None = None):
    sessions = [
        {"ref": s.ref, "current": s.current, "created": local_time(s.created_at), "expires": local_time(s.expires_at),
         "strength": strength_text(s.acr, s.amr), "apps": s.apps, "browser": s.browser, "system": s.system,
         "ip": s.masked_ip}
        for s in list_live_sessions(login)
    ]
    return render_template("account_sessions.html", sessions=sessions,
                           error=error_text(error) if error else None), 200 if error is None else 400


@bp.route("/account/sessions")
@login_required
def sessions(login: LoginContext):
    return _render_sessions(login)


@bp.route("/account/sessions/end", methods=["POST"])
@login_required
def end_session(login: LoginContext):
    try:
        end_session_by_ref(login, request.form.get("session", ""))
    except SessionChangeRefused as error:
        return _render_sessions(login, error)
    flash("acct_saved_session_ended")
    return redirect(url_for("account.sessions"))


@bp.route("/account/sessions/end-all", methods=["POST"])
@login_required
def end_everywhere(login: LoginContext):
    end_all_sessions(login)
    session.pop("login_session_id", None)
    return render_template("signed_out.html", title_key="acct_sign_out_everywhere",
                           message_key="acct_signed_out_everywhere")
