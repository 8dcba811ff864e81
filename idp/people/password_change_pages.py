"""The forced password change after a login with the initial password (docs/domain.md §1.8, §1.10)."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for

from idp.core.errors import LocalizedValueError
from idp.people.password_change import (
    PasswordStepExpired,
    finish_forced_password_change,
    forced_change_interaction,
    pending_forced_change,
)
from idp.people.password_policy import SYMBOLS
from idp.protocol import interactions

bp = Blueprint("password_change", __name__)


def render_new_password_form(action: str, title_key: str, note_key: str, error: LocalizedValueError | None = None,
                             steps_template: str | None = None):
    """The new-password form shared with the forgot-password flow, which shows its own steps."""
    return render_template(
        "password_new.html", action=action, title_key=title_key, note_key=note_key, steps_template=steps_template,
        password_symbols=SYMBOLS, error_text=error.message() if error else None,
    ), 200 if error is None else 400


def render_relogin(message_key: str, interaction: str | None):
    """Done: the person logs in again, continuing the relying party's request if there was one."""
    login_url = url_for("login.login_page", interaction=interaction) if interaction else url_for("login.login_page")
    return render_template("password_done.html", message_key=message_key, login_url=login_url)


def _log_in_again():
    """No live change step (never begun, past its time, or finished in another tab): the login
    page, for the app whose request the step served while this browser still holds it."""
    return redirect(interactions.login_url(forced_change_interaction()))


@bp.route("/password/change-required", methods=["GET"])
def change_page():
    try:
        pending_forced_change()
    except PasswordStepExpired:
        return _log_in_again()
    return render_new_password_form(url_for("password_change.change_submit"), "pw_forced_title",
                                    "pw_forced_note")


@bp.route("/password/change-required", methods=["POST"])
def change_submit():
    try:
        forced = pending_forced_change()
    except PasswordStepExpired:
        return _log_in_again()
    try:
        finish_forced_password_change(forced, request.form.get("new_password", ""),
                                      request.form.get("confirm_password", ""))
    except LocalizedValueError as error:
        return render_new_password_form(url_for("password_change.change_submit"), "pw_forced_title",
                                        "pw_forced_note", error)
    except PasswordStepExpired:
        return _log_in_again()  # finished in another tab meanwhile
    return render_relogin("pw_forced_done", forced.interaction)
