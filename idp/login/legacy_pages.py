"""Pages of the old enterprise login (dual-track, docs/domain.md §1.2): the form, and the banner shown after it.

``GET/POST /login/legacy`` takes a taxpayer number and the old enterprise password (CSRF token,
the shared per-IP login rate limit); ``GET /login/legacy/notice`` tells the person the old login
ends on the sunset day and to register a personal account, then continues to the relying party.
"""

from __future__ import annotations

from datetime import date

from flask import Blueprint, redirect, render_template, request, session, url_for

from idp.core.i18n import current_locale, remember_locale
from idp.factors.base import FactorError
from idp.login.legacy import BANNER_KEY, SUNSET, legacy_refusal_for_interaction, log_in_with_legacy_password
from idp.login.legacy_sunset import check_legacy_login_open, sunset_day
from idp.login.record import LegacyLoginContext, current_browser_login
from idp.people.identity_documents import mask_document_number
from idp.protocol.interactions import resume_url

bp = Blueprint("legacy_login", __name__)
#: Page messages of the refusals; a refused request's own reason is shown by :func:`_render`.
#: The old login's lockout is worded for the enterprise password, not the person's.
ERROR_KEYS = {"method_locked": "error_legacy_method_locked"}


def format_day(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日" if current_locale() == "zh-CN" else day.isoformat()


def refusal_message_key(reason: str) -> str:
    if reason == SUNSET:
        return "error_legacy_closed" if sunset_day() else "error_legacy_not_offered"
    return f"legacy_refused_{reason}"


def legacy_login_offer(interaction: str | None) -> dict:
    """What the normal login page says about the old login: a link while it may serve this
    request, and why not when a live old login was just turned away by it."""
    sunset = sunset_day()
    refusal = legacy_refusal_for_interaction(interaction)
    turned_away = refusal is not None and refusal != SUNSET and isinstance(current_browser_login(),
                                                                            LegacyLoginContext)
    return {
        "legacy_link": refusal is None,
        "legacy_sunset": format_day(sunset) if sunset else "",
        "legacy_notice": refusal_message_key(refusal) if refusal is not None and turned_away else None,
    }


def _render(interaction: str | None, error: str | None = None, taxpayer_number: str = "", status: int = 200):
    refusal = legacy_refusal_for_interaction(interaction)
    sunset = sunset_day()
    return render_template(
        "legacy_login.html", interaction=interaction or "", taxpayer_number=taxpayer_number,
        refusal=refusal_message_key(refusal) if refusal else None, error=error,
        sunset=format_day(sunset) if sunset else "",
    ), status if refusal is None else 403


@bp.route("/login/legacy", methods=["GET"])
def login_page():
    remember_locale(request.args.get("ui_locales"))
    return _render(request.args.get("interaction"))


@bp.route("/login/legacy", methods=["POST"])
def login_submit():
    interaction = request.form.get("interaction") or None
    taxpayer_number = request.form.get("taxpayer_number", "")[:64]
    password = request.form.get("password", "")
    if not taxpayer_number.strip() or not password:
        return _render(interaction, "error_missing_fields", taxpayer_number, 400)
    try:
        log_in_with_legacy_password(taxpayer_number, password, interaction)
    except FactorError as error:
        return _render(interaction, ERROR_KEYS.get(error.code, error.message_key), taxpayer_number, 400)
    return redirect(url_for("legacy_login.notice_page", interaction=interaction))


@bp.route("/login/legacy/notice", methods=["GET"])
def notice_page():
    """The banner between the old login and the relying party (shown again on every visit)."""
    login, sunset = current_browser_login(), sunset_day()
    if not isinstance(login, LegacyLoginContext) or sunset is None or not check_legacy_login_open():
        return redirect(url_for("login.login_page"))
    interaction = request.args.get("interaction") or session.get(BANNER_KEY) or None
    session.pop(BANNER_KEY, None)
    entity = login.session.entity or {}
    return render_template(
        "legacy_banner.html", sunset=format_day(sunset), entity_name=entity.get("name", ""),
        taxpayer_number=mask_document_number(entity.get("id", "")),
        continue_url=resume_url(interaction) if interaction else None,
    )
