"""Every table of the provider; importing this package registers them all with the metadata."""

from idp.consent.records import ConsentRecord
from idp.models.audit import AuditChain, AuditEvent
from idp.models.backchannel_logout import BackchannelLogout
from idp.models.certificate import CertificateChallenge
from idp.models.client import Client
from idp.models.dpop import SeenDpopProof
from idp.models.entity import AgencyAgreement, CrossRegionRegistration, EntityRole, TaxpayerEntity
from idp.models.face import DevFaceSession, FaceCheck, FaceConsent
from idp.models.factor_state import LegacyAccountLockout, MethodLockout, SmsCode
from idp.models.legacy_account import LegacyEnterpriseAccount
from idp.models.person import Person
from idp.models.pushed_request import PushedAuthorizationRequest
from idp.models.qr_login import QrLoginRequest, QrLookupFailure
from idp.models.registration import RealnameRecord, Registration
from idp.models.second_factor import AppCode, SecurityKey
from idp.models.session import BrowserSession, LoginSession
from idp.models.signing_key import SigningKeyRow
from idp.models.token import AuthorizationCode, Grant, RefreshToken, RevokedToken, UsedAssertion

__all__ = [
    "AgencyAgreement",
    "AppCode",
    "CrossRegionRegistration",
    "EntityRole",
    "TaxpayerEntity",
    "AuditChain",
    "AuditEvent",
    "BackchannelLogout",
    "CertificateChallenge",
    "ConsentRecord",
    "AuthorizationCode",
    "BrowserSession",
    "Client",
    "DevFaceSession",
    "FaceCheck",
    "FaceConsent",
    "Grant",
    "LegacyAccountLockout",
    "LegacyEnterpriseAccount",
    "LoginSession",
    "MethodLockout",
    "Person",
    "PushedAuthorizationRequest",
    "QrLoginRequest",
    "QrLookupFailure",
    "RealnameRecord",
    "Registration",
    "RefreshToken",
    "RevokedToken",
    "SecurityKey",
    "SeenDpopProof",
    "SigningKeyRow",
    "SmsCode",
    "UsedAssertion",
]
