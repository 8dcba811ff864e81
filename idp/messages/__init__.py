"""Every page text, in Simplified Chinese and English, one module per feature.

Each module defines ``MESSAGES = {key: {"zh-CN": ..., "en": ...}}``; keys must be unique
across modules (checked at import, so a clash fails loudly instead of hiding a text).
"""

from __future__ import annotations

from idp.messages import (
    account,
    certificate,
    face,
    legacy,
    login,
    passwords,
    qr,
    registration,
    second_factors,
    selection,
    site,
)

_MODULES = (login, face, selection, passwords, registration, account, qr, certificate, second_factors, legacy,
            site)


def _merge() -> dict[str, dict[str, str]]:
    merged: dict[str, dict[str, str]] = {}
    for module in _MODULES:
        clash = merged.keys() & module.MESSAGES.keys()
        if clash:
            raise RuntimeError(f"message keys defined twice: {sorted(clash)}")
        merged.update(module.MESSAGES)
    return merged


MESSAGES = _merge()
