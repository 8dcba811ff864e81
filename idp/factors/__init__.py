"""Authentication factors as plug-ins (docs/architecture.md §2).

Each factor module defines one :class:`~idp.factors.base.Factor`; ``FACTORS`` maps the
method name to it.  A factor never touches the OAuth layer.
"""

from __future__ import annotations

from typing import cast

from idp.factors.app_code import AppCodeFactor
from idp.factors.base import Factor
from idp.factors.face import FaceFactor
from idp.factors.password import PasswordFactor
from idp.factors.sms_code import SmsCodeFactor
from idp.factors.webauthn import SecurityKeyFactor

FACTORS: dict[str, Factor] = {
    factor.METHOD: factor
    for factor in (PasswordFactor(), SmsCodeFactor(), FaceFactor(), SecurityKeyFactor(), AppCodeFactor())
}



def face_factor() -> FaceFactor:
    """``FACTORS["face"]`` with its calls for an identity that has no account yet (registration)."""
    return cast(FaceFactor, FACTORS["face"])


__all__ = ["FACTORS", "Factor", "face_factor"]
