"""Assurance levels: the ``acr`` values of the bureau's logins and how a login's factors (RFC 8176
``amr``) decide them (docs/domain.md §13). The one place ``acr`` is derived from ``amr``."""

from __future__ import annotations

LOA_1 = "urn:qdtax:loa:1"
LOA_2 = "urn:qdtax:loa:2"
LOA_3 = "urn:qdtax:loa:3"
ACR_VALUES = (LOA_1, LOA_2, LOA_3)

#: RFC 8176 values that count as a second, different kind of factor beside a knowledge factor.
POSSESSION_OR_INHERENCE = frozenset({"sms", "face", "hwk", "otp", "mca"})
KNOWLEDGE = frozenset({"pwd", "pin"})


def derive_acr(amr: list[str]) -> str:
    """The strength of a login from the factors it did (docs/domain.md §13 table)."""
    done = set(amr)
    two_kinds = bool(done & KNOWLEDGE) and bool(done & POSSESSION_OR_INHERENCE)
    # docs/domain.md §13: a certificate's hardware key (its PIN checked by the UKey itself) plus the
    # person's SMS code or face check is two kinds too: the enterprise's key, then the person.
    two_kinds = two_kinds or ("hwk" in done and bool(done & {"sms", "face"}))
    if two_kinds and "face" in done:
        return LOA_3
    if two_kinds:
        return LOA_2
    return LOA_1


def with_mfa(amr: list[str]) -> list[str]:
    """RFC 8176 ``mfa`` is added whenever two different kinds of factor were used."""
    ordered = list(dict.fromkeys(amr))
    if derive_acr(ordered) != LOA_1 and "mfa" not in ordered:
        ordered.append("mfa")
    return ordered
