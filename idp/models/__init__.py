"""Every table of the provider; importing this package registers them all with the metadata."""

from idp.models.audit import AuditEvent
from idp.models.client import Client
from idp.models.factor_state import MethodLockout, SmsCode
from idp.models.person import Person
from idp.models.session import BrowserSession, LoginSession
from idp.models.token import AuthorizationCode, Grant, RefreshToken, RevokedToken, UsedAssertion

__all__ = [
    "AuditEvent",
    "AuthorizationCode",
    "BrowserSession",
    "Client",
    "Grant",
    "LoginSession",
    "MethodLockout",
    "Person",
    "RefreshToken",
    "RevokedToken",
    "SmsCode",
    "UsedAssertion",
]
