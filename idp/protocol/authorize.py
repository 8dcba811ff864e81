"""The authorization endpoint (OIDC Core 3.1.2): validate, decide on login, issue a code."""

from __future__ import annotations

from typing import Any

from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import AccessDeniedError, InvalidRequestError
from authlib.oidc.core.errors import (
    AccountSelectionRequiredError,
    ConsentRequiredError,
    InteractionRequiredError,
    LoginRequiredError,
)
from flask import Blueprint, redirect, request, url_for
from joserfc import jwt
from joserfc.errors import JoseError
from werkzeug.datastructures import MultiDict

from idp.consent.policy import (
    InteractionContext,
    consent_required_reason,
    requested_entries,
    selection_required_reason,
)
from idp.core.i18n import match_locale
from idp.core.settings import current_settings
from idp.factors.face import FaceIdentity, check_face_consent_withdrawn
from idp.grants.id_token import has_id_token_type
from idp.keyring import current_keyring
from idp.login.legacy import legacy_refusal_reason
from idp.login.record import BrowserLogin, LegacyLoginContext, LoginContext, current_browser_login
from idp.protocol.acr import AcrRequest, UnmetAuthenticationRequirementsError, parse_acr_request
from idp.protocol.authorize_policy import ACR_UNAVAILABLE, STEP_UP, AuthorizeContext, login_required_reason
from idp.protocol.claims_request import parse_claims_request
from idp.protocol.interactions import (
    STEP_UP_DECLINED,
    Interaction,
    finish_interaction,
    interaction_params,
    resumed_interaction,
    start_interaction,
)
from idp.protocol.pushed_requests import resolve_authorization_parameters
from idp.protocol.request_objects import authorization_request_with
from idp.protocol.server import authorization_server
from idp.protocol.subjects import check_subject_names, public_subject_named
from idp.web.error_pages import error_page

bp = Blueprint("authorize", __name__)


def _server():
    return authorization_server()


def _error_response(error: OAuth2Error):
    """Redirect errors back to a verified redirect URI; otherwise explain on our own page."""
    if error.redirect_uri:
        response = _server().handle_error_response(request, error)
        # RFC 9207 section 2: error responses carry ``iss`` too; authlib's extension only
        # hooks create_authorization_response, which errors raised here never reach.
        _server().execute_hook("after_create_authorization_response", response)
        return response
    # The request itself is what failed: resuming it would fail again, so 重新登录 starts afresh.
    return error_page("error_bad_request_title", "error_bad_request", 400, code=error.error,
                      restart_url=url_for("login.login_page"))


def _max_age(params, redirect_uri: str) -> int | None:
    raw = params.get("max_age")
    if raw is None or raw == "":
        return None
    # isascii: isdigit() also takes "²", which int() refuses.
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 10:
        raise InvalidRequestError("'max_age' must be a non-negative integer.", redirect_uri=redirect_uri)
    return int(raw)


def _hinted_subject(params, redirect_uri: str, login: BrowserLogin | None = None) -> str | None:
    hint = params.get("id_token_hint")
    if not hint:
        return None
    keys = current_keyring().verification_keys()
    try:
        # An expired hint still names the person (OIDC Core 3.1.2.1); only the signature matters.
        claims = jwt.decode(hint, keys, algorithms=["ES256", "RS256", "EdDSA"]).claims
    except (JoseError, ValueError, TypeError):
        raise InvalidRequestError("Invalid 'id_token_hint'.", redirect_uri=redirect_uri) from None
    if (claims.get("iss") != current_settings().ISSUER or not isinstance(claims.get("sub"), str)
            or not has_id_token_type(hint)):
        raise InvalidRequestError("Invalid 'id_token_hint'.", redirect_uri=redirect_uri)
    # A third-party client's hint carries its pairwise sub: compare it as that client sees the person.
    return public_subject_named(claims, login.account if login else None)


def _requested_subject(params, redirect_uri: str, login: BrowserLogin | None, client) -> str | None:
    """The ``sub`` value of the ``claims`` parameter as the public ``sub`` when it names the person
    logged in (the client knows a pairwise one), else unchanged."""
    claims = parse_claims_request(params, redirect_uri)
    value = claims.subject_value() if claims else None
    if value is not None and login is not None and check_subject_names(value, login.account, client):
        return login.account.sub
    return value


def _step_up_unavailable(login: BrowserLogin | None, acr_request: AcrRequest | None) -> bool:
    """The person's session is below the request and face, the step-up, was withdrawn."""
    if not isinstance(login, LoginContext) or acr_request is None or acr_request.check_met(login.session.acr):
        return False
    return check_face_consent_withdrawn(FaceIdentity.of(login.person))


def _consent_grant(login, params):
    """authlib's validation of the request, with two of its gaps closed."""
    try:
        return _server().get_consent_grant(request=authorization_request_with(params),
                                           end_user=login.account if login else None)
    except LoginRequiredError as error:
        # authlib answers prompt=none before these are read; a malformed one is still
        # invalid_request (OIDC Core 3.1.2.2), session or not.
        _max_age(params, error.redirect_uri)
        _hinted_subject(params, error.redirect_uri)
        raise
    except ValueError:
        # authlib quotes response_type or redirect_uri in its error description, then refuses
        # the non-ASCII description it built: a malformed request, not a server error.
        raise InvalidRequestError("Malformed authorization request.") from None


def _hand_over(params, interaction: Interaction | None, endpoint: str):
    """Send the browser to one of the provider's pages, keeping this request to resume."""
    query: dict[str, Any] = {
        "interaction": interaction.id if interaction else start_interaction(params, request.values)}
    if locale := match_locale(params.get("ui_locales")):
        query["ui_locales"] = locale
    return redirect(url_for(endpoint, **query))


def _next_page(ctx: AuthorizeContext, grant, params, interaction: Interaction | None):
    """The page the person must see before a code is issued (login, taxpayer choice, consent),
    or None; with ``prompt=none`` the matching OIDC error instead (Core 3.1.2.6)."""
    silent = "none" in ctx.prompts
    reason = login_required_reason(ctx)
    if reason == ACR_UNAVAILABLE:
        raise UnmetAuthenticationRequirementsError(
            "The requested authentication level cannot be reached.", redirect_uri=grant.redirect_uri)
    if reason == STEP_UP:
        if interaction is not None and STEP_UP_DECLINED in interaction.done:
            raise AccessDeniedError(redirect_uri=grant.redirect_uri)
        if silent:
            raise InteractionRequiredError(redirect_uri=grant.redirect_uri)
        return _hand_over(params, interaction, "step_up.step_up_page")
    if reason or ctx.login is None:
        # An old enterprise login where a personal login is needed is login_required too: a login
        # with a personal account (not a step-up of the old one) would meet the request.
        if silent:
            raise LoginRequiredError(redirect_uri=grant.redirect_uri)
        return _hand_over(params, interaction, "login.login_page")
    allowed, preselected = requested_entries(params)
    steps = InteractionContext(login=ctx.login, client=grant.client, scope=grant.request.scope or "",
                               prompts=ctx.prompts, allowed_entries=allowed, preselected_entry=preselected,
                               done=interaction.done if interaction else frozenset())
    if "selection_cancelled" in steps.done:
        # The person turned back from the taxpayer chooser: the app hears no, not a new question.
        raise AccessDeniedError(redirect_uri=grant.redirect_uri)
    if selection_required_reason(steps):
        if silent:
            raise AccountSelectionRequiredError(redirect_uri=grant.redirect_uri)
        return _hand_over(params, interaction, "selection.select_page")
    if "consent_denied" in steps.done:
        raise AccessDeniedError(redirect_uri=grant.redirect_uri)
    if consent_required_reason(steps):
        if silent:
            raise ConsentRequiredError(redirect_uri=grant.redirect_uri)
        return _hand_over(params, interaction, "selection.consent_page")
    return None


@bp.route("/authorize", methods=["GET", "POST"])
def authorize():
    params: MultiDict = request.values
    login = current_browser_login()
    interaction = resumed_interaction(params)
    try:
        # A resumed request was resolved when it started (a pushed request_uri is single use).
        params = (interaction_params(interaction.id) or MultiDict()) if interaction else (
            resolve_authorization_parameters(_server(), params))
        grant = _consent_grant(login, params)
        acr_request = parse_acr_request(params, grant.redirect_uri, grant.client)
        ctx = AuthorizeContext(
            prompts=frozenset((params.get("prompt") or "").split()),
            max_age=_max_age(params, grant.redirect_uri),
            hinted_subject=_hinted_subject(params, grant.redirect_uri, login),
            login=login,
            interaction_started_at=interaction.started_at if interaction else None,
            acr_request=acr_request,
            requested_subject=_requested_subject(params, grant.redirect_uri, login, grant.client),
            legacy_refusal=legacy_refusal_reason(grant.client, acr_request, *requested_entries(params))
            if isinstance(login, LegacyLoginContext) else None,
            step_up_unavailable=_step_up_unavailable(login, acr_request),
        )
        page = _next_page(ctx, grant, params, interaction)
    except OAuth2Error as error:
        error.state = params.get("state")
        return _error_response(error)
    if page is not None:
        return page  # the boundary commits: a consumed request_uri stays consumed while the person logs in

    response = _server().create_authorization_response(request=grant.request, grant=grant, grant_user=login)
    finish_interaction(request.values)
    return response
