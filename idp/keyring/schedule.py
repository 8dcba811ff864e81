"""The optional automatic rotation (``KEY_ROTATION_DAYS``), run by whichever worker sees it due."""

from __future__ import annotations

import logging

from flask import Flask

from idp.audit.log import record_event
from idp.core.database import db
from idp.core.settings import current_settings
from idp.housekeeping.hooks import before_ordinary_requests
from idp.keyring import current_keyring
from idp.keyring.records import KeyringError

log = logging.getLogger(__name__)


def rotate_when_due() -> None:
    keyring = current_keyring()
    if not keyring.rotation_due():
        return
    try:
        # Never forced: a next key younger than the JWKS max-age waits for the next request.
        keyring.rotate()
    except KeyringError as error:
        log.info("scheduled key rotation deferred: %s", error)
        return
    record_event("keys.rotate", scheduled=True)
    db.session.commit()


def install_rotation_schedule(app: Flask) -> None:
    if current_settings(app).KEY_ROTATION_DAYS > 0:
        before_ordinary_requests(app, rotate_when_due)
