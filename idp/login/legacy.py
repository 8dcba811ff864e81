"""The old enterprise login of the dual-track transition (docs/domain.md §1.2; §13, loa:1).

A taxpayer number and the enterprise password of the previous e-tax system (imported with
``idp legacy import``) log the browser in for that enterprise, without a person: ``acr``
``urn:qdtax:loa:1``, ``amr`` ``["pwd"]``, business ``enterprise``, the enterprise as ``entity``.
It works only before ``LEGACY_LOGIN_SUNSET`` (:mod:`idp.login.legacy_sunset`), and only for relying
parties that accept one factor: :func:`legacy_refusal_reason` says which do not.
"""

from __future__ import annotations

from authlib.oauth2 import OAuth2Error
from flask import session
from sqlalchemy import select

from idp.audit.log import record_event
from idp.consent.choices import ENTERPRISE, legacy_choice
from idp.consent.policy import requested_entries
from idp.core.assurance import LOA_1
from idp.core.clock import utcnow
from idp.core.database import db
from idp.factors.base import FactorError
from idp.factors.password import PasswordFactor, spend_password_verification
from idp.login.legacy_sunset import check_legacy_login_open
from idp.login.record import create_legacy_login_session
from idp.models import Client, LegacyEnterpriseAccount, LoginSession, TaxpayerEntity
from idp.people.identity_documents import clean_input, mask_document_number
from idp.protocol.acr import ACR_RANK, AcrRequest, parse_acr_request
from idp.protocol.client_registry import client_registry
from idp.protocol.interactions import interaction_params
from idp.taxpayers.taxpayer_numbers import TaxpayerNumberError, normalise_taxpayer_number

#: Why a request does not take the old login (each has a page message ``legacy_refused_<reason>``).
SUNSET, THIRD_PARTY, STRENGTH, BUSINESS_ENTRY = "sunset", "third_party", "strength", "business_entry"
#: Browser-session key: the banner is still to be shown for this interaction (or for none: "").
BANNER_KEY = "legacy_banner"


class LegacyLoginRefused(FactorError):
    """The old login is over (``reason`` sunset) or this request does not take it (another reason)."""

    code = "legacy_refused"


class LegacyWrongCredential(FactorError):
    """Unknown taxpayer number or wrong enterprise password: one message for both."""

    code = "legacy_wrong_credential"


def legacy_refusal_reason(client: Client | None, acr_request: AcrRequest | None, allowed_entries: tuple[str, ...],
                          preselected_entry: str | None) -> str | None:
    """Why this authorization request never accepts the old login, or None when it may.

    One factor and no person: relying parties asking for loa:2 or more (by ``acr_values``, an
    essential ``acr`` claim or their registered ``default_acr_values``) never accept it; nor do
    third-party clients, whose consent only a person can give; nor requests that want another
    business entry than enterprise.
    """
    if not check_legacy_login_open():
        return SUNSET
    if client is not None and not client.first_party:
        return THIRD_PARTY
    if acr_request is not None and (acr_request.required_rank or 0) > ACR_RANK[LOA_1]:
        return STRENGTH
    if ENTERPRISE not in allowed_entries or preselected_entry not in (None, ENTERPRISE):
        return BUSINESS_ENTRY
    return None


def legacy_refusal_for_interaction(interaction_id: str | None) -> str | None:
    """:func:`legacy_refusal_reason` for the pending authorization request the login pages serve."""
    if not check_legacy_login_open():
        return SUNSET
    params = interaction_params(interaction_id)
    if params is None:
        return None
    client = client_registry().query_client(params["client_id"])
    try:
        acr_request = parse_acr_request(params, params.get("redirect_uri"), client)
    except OAuth2Error:
        return STRENGTH  # a malformed strength request is answered by /authorize, never by the old login
    return legacy_refusal_reason(client, acr_request, *requested_entries(params))


def _find_account(taxpayer_number: str) -> LegacyEnterpriseAccount | None:
    try:
        number = normalise_taxpayer_number(taxpayer_number)
    except TaxpayerNumberError:
        return None
    return db.session.execute(
        select(LegacyEnterpriseAccount).join(TaxpayerEntity, TaxpayerEntity.id == LegacyEnterpriseAccount.entity_id)
        .where(TaxpayerEntity.taxpayer_number == number)
    ).scalar_one_or_none()


def log_in_with_legacy_password(taxpayer_number: str, password: str, interaction: str | None) -> LoginSession:
    """Check the old enterprise password and open the login session; the caller commits.

    Failures count towards the account's lockout (5 in a Shanghai day, docs/domain.md §1.14) and every attempt
    is audited as ``login.legacy`` with the taxpayer number masked.  An unknown (or inactive)
    number costs the same argon2id verification as a wrong password and gets the same message.
    """
    masked = mask_document_number(clean_input(taxpayer_number)[:32])
    refusal = legacy_refusal_for_interaction(interaction)
    if refusal is not None:
        record_event("login.legacy", "failure", reason=f"refused_{refusal}", taxpayer_number=masked)
        raise LegacyLoginRefused(reason=refusal)
    account = _find_account(taxpayer_number)
    choice = legacy_choice(account) if account is not None else None
    if account is None or choice is None or choice.entity is None:
        # As slow as a wrong password, so the response time does not tell which numbers have an old login.
        spend_password_verification(password)
        record_event("login.legacy", "failure", subject=account.sub if account else None,
                     reason="unknown_account" if account is None else "inactive", taxpayer_number=masked)
        raise LegacyWrongCredential()
    try:
        PasswordFactor().verify(account, password)
    except FactorError as error:
        record_event("login.legacy", "failure", subject=account.sub, reason=error.code, taxpayer_number=masked)
        if error.code == "wrong_credential":
            raise LegacyWrongCredential() from None
        raise
    record_event("login.legacy", subject=account.sub, taxpayer_number=masked)
    account.last_login_at = utcnow()
    login = create_legacy_login_session(account, choice.entity)
    session[BANNER_KEY] = interaction or ""
    return login
