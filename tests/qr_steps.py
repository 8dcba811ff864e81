"""Steps shared by the QR scan login tests: the bureau app's registration and login, a QR-showing
client, device authorization, polling, and the approval API (all through HTTP)."""

from __future__ import annotations

from urllib.parse import urlsplit

import sqlalchemy as sa

from idp.core.database import db
from idp.models import QrLoginRequest

from conftest import (
    PASSWORD,
    RelyingParty,
    authorization_request,
    csrf_from,
    hidden_value,
    let_sms_cooldown_pass,
    login_through_pages,
    query_of,
    redeem,
    register_client,
)

QR_GRANT = "urn:qdtax:params:oauth:grant-type:qr-scan"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
APP_REDIRECT = "http://127.0.0.1:8765/cb"


def register_bureau_app(app) -> RelyingParty:
    """The bureau's mobile app: a native public client holding ``qr:approve``."""
    return register_client(app, name="青岛税务APP", public=True, first_party=True, qr_approver="bureau_app",
                           redirect_uris=[APP_REDIRECT], scope="openid profile qr:approve")


def register_kiosk(app, **kwargs) -> RelyingParty:
    """A desktop client that shows QR codes and polls (confidential unless told otherwise)."""
    kwargs.setdefault("name", "办税服务厅自助终端")
    kwargs.setdefault("grant_types", [QR_GRANT, "refresh_token"])
    kwargs.setdefault("redirect_uris", [])
    return register_client(app, **kwargs)


def _face_second_factor(client, location: str) -> str:
    """Password page, then a passed face check on the development provider; returns the resume URL."""
    page = client.get(location).get_data(as_text=True)
    client.post("/login", data={"csrf_token": csrf_from(page), "interaction": hidden_value(page, "interaction"),
                                "identifier": "zhangsan", "password": PASSWORD})
    response = client.get("/login/face")
    if response.status_code == 200:  # the separate consent to face processing, once
        client.post("/login/face/consent", data={"csrf_token": csrf_from(response.get_data(as_text=True))})
        response = client.get("/login/face")
    scan_page = response.headers["Location"]
    token = csrf_from(client.get(scan_page).get_data(as_text=True))
    passed = client.post(scan_page, data={"csrf_token": token, "outcome": "pass"})
    back = urlsplit(passed.headers["Location"])  # absolute (the issuer's URL): keep this client's cookies
    returned = client.get(f"{back.path}?{back.query}")
    assert returned.status_code == 302, returned.get_data(as_text=True)
    return returned.headers["Location"]


def app_login(app, client, bureau_app: RelyingParty, *, face: bool = False, choice: str | None = None,
              **extra) -> dict:
    """The app logs in like any native client (code + PKCE); returns its token response.
    ``choice`` picks a taxpayer on the selection page (a choice key) when there is one."""
    let_sms_cooldown_pass(app)  # a person may log in on several devices in a row
    request = authorization_request(bureau_app, scope="openid profile qr:approve", **extra)
    response = client.get("/authorize", query_string=request.params)
    if face:
        location = _face_second_factor(client, response.headers["Location"])
    else:
        location = login_through_pages(app, client, response.headers["Location"]).headers["Location"]
    for _ in range(6):
        response = client.get(location)
        if response.status_code == 200 and choice:
            html = response.get_data(as_text=True)
            response = client.post("/select", data={"csrf_token": csrf_from(html),
                                                    "interaction": hidden_value(html, "interaction"),
                                                    "business": hidden_value(html, "business"), "choice": choice})
        location = response.headers["Location"]
        if location.startswith(bureau_app.redirect_uri):
            break
    tokens = redeem(client, bureau_app, query_of(location)["code"], request.verifier)
    assert tokens.status_code == 200, tokens.get_json()
    return tokens.get_json()


def device_authorization(client, kiosk: RelyingParty, scope: str = "openid profile"):
    data = {"scope": scope}
    if kiosk.client_secret:
        return client.post("/device_authorization", data=data, headers=kiosk.basic_auth)
    return client.post("/device_authorization", data={**data, "client_id": kiosk.client_id})


def poll(client, kiosk: RelyingParty, device_code: str, grant_type: str = QR_GRANT):
    data = {"grant_type": grant_type, "device_code": device_code}
    if kiosk.client_secret:
        return client.post("/token", data=data, headers=kiosk.basic_auth)
    return client.post("/token", data={**data, "client_id": kiosk.client_id})


def bearer(access_token: str) -> dict:
    return {"Authorization": f"Bearer {access_token}"}


def app_call(client, action: str, access_token: str, **body):
    """``POST /api/qr/<action>`` as the bureau app (``payload`` or ``user_code`` in ``body``)."""
    return client.post(f"/api/qr/{action}", json=body, headers=bearer(access_token))


def scan_and_approve(client, access_token: str, payload: str) -> None:
    scanned = app_call(client, "scan", access_token, payload=payload)
    assert scanned.status_code == 200, scanned.get_json()
    approved = app_call(client, "approve", access_token, payload=payload)
    assert approved.status_code == 200, approved.get_json()


def age_qr_requests(app, seconds: int) -> None:
    """Let ``seconds`` pass for every QR request, as the database sees it (expiry, polling)."""
    from datetime import timedelta

    with app.app_context():
        for row in db.session.execute(sa.select(QrLoginRequest)).scalars():
            row.expires_at -= timedelta(seconds=seconds)
            row.created_at -= timedelta(seconds=seconds)
            if row.next_poll_at is not None:
                row.next_poll_at -= timedelta(seconds=seconds)
        db.session.commit()
