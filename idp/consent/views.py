"""Pages between login and code: confirm new roles, choose the taxpayer, consent."""

from __future__ import annotations

from authlib.oauth2.rfc6749 import scope_to_list
from flask import Blueprint, redirect, render_template, request, url_for

from idp.consent.choices import BUSINESS_ENTRIES, available_choices, confirm_roles, find_choice, pending_roles
from idp.consent.decisions import apply_choice, list_consents, revoke_consent, save_consent
from idp.consent.policy import requested_entries
from idp.login.record import current_login
from idp.people.identity_documents import mask_document_number
from idp.protocol.claims_request import requested_scope
from idp.protocol.client_registry import client_registry
from idp.protocol.interactions import interaction_params, mark_done, resume_url

bp = Blueprint("selection", __name__)
# Taxpayer numbers are shown as document numbers are (docs/domain.md §3.4): an individual
# business's number is built from its owner's document number.
bp.add_app_template_filter(mask_document_number, "masked_number")


def _login_or_redirect():
    login = current_login()
    return login, (None if login else redirect(url_for("login.login_page")))


def _continue(interaction_id: str | None):
    return redirect(resume_url(interaction_id) or url_for("account.home"))


@bp.route("/select", methods=["GET"])
def select_page():
    login, away = _login_or_redirect()
    if away:
        return away
    interaction_id = request.args.get("interaction")
    params = interaction_params(interaction_id)
    # 切换 on the consent page: the person asked to choose, so a single choice is shown, not taken.
    switching = request.args.get("switch") == "1" and params is not None
    roles = pending_roles(login.person)
    if roles:
        return render_template("confirm_roles.html", roles=roles, interaction=interaction_id or "")
    allowed, preselected = requested_entries(params or {})
    # A business tab (``business`` in the query) only shows that entry's list; only "进入" commits.
    tab = request.args.get("business")
    business = tab or preselected or login.session.business
    if business not in allowed:
        business = allowed[0]
    choices = available_choices(login.person, business)
    entries = [(entry, bool(available_choices(login.person, entry))) for entry in BUSINESS_ENTRIES
               if entry in allowed]
    # A single choice is taken for a login that continues an app's request; a person who opened
    # the chooser to switch (from the account centre, the consent page's 切换, or an app's
    # prompt=select_account) is asked, and so is one who clicked a business tab: a tab only shows
    # its list, only "进入" commits.
    prompts = (params.get("prompt") or "").split() if params is not None else []
    asked_to_choose = switching or tab is not None or "select_account" in prompts
    if len(choices) == 1 and params is not None and not asked_to_choose:
        apply_choice(login.session, login.person, choices[0])
        if interaction_id:
            mark_done(interaction_id, "selected")
        return _continue(interaction_id)
    return _render_select(business, entries, choices, interaction_id, params, login.session.entity,
                          200 if choices else 403, switching=switching)


def _render_select(business, entries, choices, interaction_id: str | None, params, current, status: int, *,
                   switching: bool = False):
    """The chooser, with its way back: to the app that asked (which hears ``access_denied``), or
    to the account centre when the person came from there; opened by 切换 (``switching``), also
    back to the consent page unchanged."""
    client = client_registry().query_client(params.get("client_id")) if params else None
    return render_template("select.html", business=business, entries=entries, choices=choices,
                           interaction=interaction_id or "", current=current, client=client,
                           switch=1 if switching else None,
                           back_url=resume_url(interaction_id) if switching else None), status


@bp.route("/select/cancel", methods=["POST"])
def select_cancel():
    login, away = _login_or_redirect()
    if away:
        return away
    interaction_id = request.form.get("interaction") or None
    if interaction_id and interaction_params(interaction_id) is not None:
        mark_done(interaction_id, "selection_cancelled")
    return _continue(interaction_id)


@bp.route("/select/roles", methods=["POST"])
def confirm_roles_submit():
    login, away = _login_or_redirect()
    if away:
        return away
    # Each pending role is answered by a radio button "role-<id>" = confirm | decline.
    answers = {role.id: request.form.get(f"role-{role.id}") for role, _ in pending_roles(login.person)}
    confirm_roles(login.person, [i for i, a in answers.items() if a == "confirm"],
                  [i for i, a in answers.items() if a == "decline"])
    interaction_id = request.form.get("interaction") or None
    return redirect(url_for("selection.select_page", interaction=interaction_id))


@bp.route("/select", methods=["POST"])
def select_submit():
    login, away = _login_or_redirect()
    if away:
        return away
    interaction_id = request.form.get("interaction") or None
    allowed, _ = requested_entries(interaction_params(interaction_id) or {})
    business = request.form.get("business", "")
    choice = find_choice(login.person, business, request.form.get("choice", "")) if business in allowed else None
    if choice is None:
        # Only confirmed roles are offered; anything else is refused, never applied.
        return _render_select(business if business in allowed else allowed[0],
                              [(e, bool(available_choices(login.person, e))) for e in allowed], [],
                              interaction_id, interaction_params(interaction_id), login.session.entity, 403)
    apply_choice(login.session, login.person, choice)
    if interaction_id:
        mark_done(interaction_id, "selected")
    return _continue(interaction_id)


@bp.route("/consent", methods=["GET"])
def consent_page():
    login, away = _login_or_redirect()
    if away:
        return away
    interaction_id = request.args.get("interaction")
    params = interaction_params(interaction_id)
    if params is None:
        return redirect(url_for("account.home"))
    client = client_registry().query_client(params["client_id"])
    if client is None:  # the client was removed while the person was away
        return redirect(url_for("account.home"))
    scopes = scope_to_list(client.get_allowed_scope(requested_scope(params))) or []
    return render_template("consent.html", client=client, scopes=scopes, entity=login.session.entity,
                           business=login.session.business, interaction=interaction_id)


@bp.route("/consent", methods=["POST"])
def consent_submit():
    login, away = _login_or_redirect()
    if away:
        return away
    interaction_id = request.form.get("interaction") or None
    params = interaction_params(interaction_id)
    if interaction_id is None or params is None:
        return redirect(url_for("account.home"))
    if request.form.get("decision") == "allow":
        client = client_registry().query_client(params["client_id"])
        if client is None:
            return redirect(url_for("account.home"))
        save_consent(login.person, client.client_id, client.get_allowed_scope(requested_scope(params)))
        mark_done(interaction_id, "consented")
    else:
        mark_done(interaction_id, "consent_denied")
    return _continue(interaction_id)


@bp.route("/consents", methods=["GET"])
def consents_page():
    login, away = _login_or_redirect()
    if away:
        return away
    clients = client_registry()
    # What each consent releases, in words (the scope names are the protocol's, not the person's).
    records = [(record, clients.query_client(record.client_id), scope_to_list(record.scope) or [])
               for record in list_consents(login.person)]
    return render_template("consents.html", records=records)


@bp.route("/consents/revoke", methods=["POST"])
def consents_revoke():
    login, away = _login_or_redirect()
    if away:
        return away
    client_id = request.form.get("client_id", "")
    # No client has an id the column could not hold (PostgreSQL would refuse the query).
    if len(client_id) <= 64 and "\x00" not in client_id:
        revoke_consent(login.person, client_id)
    return redirect(url_for("selection.consents_page"))
