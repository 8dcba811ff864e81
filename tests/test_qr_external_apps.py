"""External apps approving QR logins with signed assertions (docs/architecture.md §6, docs/domain.md §1.11): the
individual income tax (IIT) app logs in natural-person business only, for a person registered
and real-name verified here; the electronic business licence app logs in enterprise business as
the enterprise's legal representative."""

from __future__ import annotations

import base64
import dataclasses
import json
import secrets
import time

import pytest
from click.testing import CliRunner
from joserfc import jwt
from joserfc.jwk import ECKey
from test_code_flow import verify_id_token

from idp.cli.main import main
from idp.core.settings import SETTINGS_KEY, current_settings
from idp.protocol.clients import ClientRegistrationError, create_client

from conftest import DOC_NUMBER, make_settings, register_client
from entity_fixtures import BUILDER, TRADER, give_role, load_entities
from qr_steps import device_authorization, poll, register_kiosk

IIT_NOT_ELIGIBLE = ("通过个人所得税APP扫码登录的前提是该纳税人在青岛市电子税务局和个人所得税APP上"
                    "都完成了用户注册和实名认证，并已在个人所得税APP上登录")
ZHANGSAN = {"doc_type": "ID_CARD", "doc_number": DOC_NUMBER}
STRANGER = {"doc_type": "ID_CARD", "doc_number": "440524188001010014"}


class ExternalApp:
    """An external app's backend: a registration with a public JWKS, signing with its private key."""

    def __init__(self, app, kind: str, name: str):
        self.key = ECKey.generate_key("P-256", private=True, auto_kid=True)
        self.client_id = register_client(app, name=name, qr_approver=kind, redirect_uris=[], first_party=False,
                                         jwks={"keys": [self.key.as_dict(private=False)]}).client_id

    def assertion(self, payload: str, *, key: ECKey | None = None, **claims) -> str:
        signing = key or self.key
        body = {"iss": self.client_id, "aud": "http://idp.test", "exp": int(time.time()) + 120,
                "jti": secrets.token_urlsafe(16), "qr": payload, **claims}
        return jwt.encode({"alg": "ES256", "kid": signing.kid}, body, signing)

    def call(self, client, action: str, payload: str, **claims):
        return client.post(f"/api/qr/{action}", json={"assertion": self.assertion(payload, **claims)})


@pytest.fixture
def iit_app(app):
    return ExternalApp(app, "iit_app", "个人所得税APP")


@pytest.fixture
def licence_app(app):
    return ExternalApp(app, "business_licence_app", "电子营业执照APP")


@pytest.fixture
def kiosk(app):
    return register_kiosk(app)


def new_code(client, kiosk) -> dict:
    return device_authorization(client, kiosk).get_json()


def approve_as(external: ExternalApp, client, payload: str, **claims):
    scanned = external.call(client, "scan", payload)
    assert scanned.status_code == 200, scanned.get_json()
    return external.call(client, "approve", payload, **claims)


def refusal(response, status: int, error: str) -> str:
    assert (response.status_code, response.get_json()["error"]) == (status, error), response.get_json()
    return response.get_json()["message"]


def test_iit_app_logs_in_natural_person_business(client, kiosk, iit_app, person):
    codes = new_code(client, kiosk)
    approved = approve_as(iit_app, client, codes["verification_uri_complete"], person=ZHANGSAN,
                          realname_verified=True, amr=["pwd", "face"])
    assert approved.status_code == 200, approved.get_json()
    claims = verify_id_token(client, poll(client, kiosk, codes["device_code"]).get_json()["id_token"], kiosk)
    assert claims["sub"] == person["sub"]
    assert claims["business"] == "natural_person" and "entity" not in claims
    assert claims["amr"] == ["pwd", "face", "mca", "mfa"] and claims["acr"] == "urn:qdtax:loa:3"


def test_iit_app_scan_shows_who_asks(client, kiosk, iit_app, person):
    codes = new_code(client, kiosk)
    shown = iit_app.call(client, "scan", codes["verification_uri_complete"]).get_json()
    assert shown["client"]["name"] == "办税服务厅自助终端" and shown["requester"]["ip"] == "127.0.0.1"


def test_iit_app_refuses_a_person_not_registered_here_with_the_faqs_message(client, kiosk, iit_app, person):
    codes = new_code(client, kiosk)
    refused = approve_as(iit_app, client, codes["verification_uri_complete"], person=STRANGER,
                         realname_verified=True, amr=["pwd", "sms"])
    assert refusal(refused, 403, "iit_not_eligible") == IIT_NOT_ELIGIBLE
    assert poll(client, kiosk, codes["device_code"]).get_json()["error"] == "authorization_pending"


def test_iit_app_refuses_a_person_not_real_name_verified_in_the_iit_app(client, kiosk, iit_app, person):
    codes = new_code(client, kiosk)
    refused = approve_as(iit_app, client, codes["verification_uri_complete"], person=ZHANGSAN,
                         realname_verified=False, amr=["pwd", "sms"])
    assert refusal(refused, 403, "iit_not_eligible") == IIT_NOT_ELIGIBLE


def test_iit_app_refuses_a_person_below_the_required_real_name_level(app, client, kiosk, iit_app, person):
    """QR_IIT_MIN_REALNAME_LEVEL (3 by default: every level here is real-name verified)."""
    from idp.core.database import db
    from idp.models import Person

    with app.app_context():
        db.session.get(Person, person["id"]).realname_level = 3
        db.session.commit()
    original = current_settings(app)
    app.config[SETTINGS_KEY] = dataclasses.replace(original, QR_IIT_MIN_REALNAME_LEVEL=4)
    try:
        codes = new_code(client, kiosk)
        refused = approve_as(iit_app, client, codes["verification_uri_complete"], person=ZHANGSAN,
                             realname_verified=True, amr=["pwd", "sms"])
    finally:
        app.config[SETTINGS_KEY] = original
    refusal(refused, 403, "iit_not_eligible")


def test_an_external_apps_own_login_must_reach_loa2(client, kiosk, iit_app, person):
    codes = new_code(client, kiosk)
    refused = approve_as(iit_app, client, codes["verification_uri_complete"], person=ZHANGSAN,
                         realname_verified=True, amr=["pwd"])
    refusal(refused, 403, "app_session_too_weak")


def test_licence_app_logs_in_enterprise_business_as_the_legal_representative(app, client, kiosk, licence_app,
                                                                               person):
    load_entities(app)
    give_role(app, TRADER, "legal_representative")
    codes = new_code(client, kiosk)
    approved = approve_as(licence_app, client, codes["verification_uri_complete"], enterprise={"uscc": TRADER},
                          legal_representative=ZHANGSAN, amr=["pin", "face"])
    assert approved.status_code == 200, approved.get_json()
    claims = verify_id_token(client, poll(client, kiosk, codes["device_code"]).get_json()["id_token"], kiosk)
    assert claims["sub"] == person["sub"] and claims["business"] == "enterprise"
    assert claims["entity"]["id"] == TRADER and claims["entity"]["role"] == "legal_representative"


def test_licence_app_refuses_someone_who_is_not_the_legal_representative(app, client, kiosk, licence_app, person):
    load_entities(app)
    give_role(app, TRADER, "tax_officer")
    give_role(app, BUILDER, "legal_representative", confirmed=False)
    for uscc in (TRADER, BUILDER):  # another role; or a legal representative role never confirmed
        codes = new_code(client, kiosk)
        refused = approve_as(licence_app, client, codes["verification_uri_complete"], enterprise={"uscc": uscc},
                             legal_representative=ZHANGSAN, amr=["pin", "face"])
        assert refusal(refused, 403, "not_legal_representative").startswith("未查询到您与该企业的关联关系信息")


def test_licence_app_refuses_a_legal_representative_not_registered_here(app, client, kiosk, licence_app, person):
    load_entities(app)
    codes = new_code(client, kiosk)
    refused = approve_as(licence_app, client, codes["verification_uri_complete"], enterprise={"uscc": TRADER},
                         legal_representative=STRANGER, amr=["pin", "face"])
    assert refusal(refused, 403, "not_registered") == "该用户未注册，请在自然人业务入口进行用户注册"


def test_licence_app_refuses_an_enterprise_unknown_here(app, client, kiosk, licence_app, person):
    codes = new_code(client, kiosk)
    refused = approve_as(licence_app, client, codes["verification_uri_complete"], enterprise={"uscc": TRADER},
                         legal_representative=ZHANGSAN, amr=["pin", "face"])
    refusal(refused, 403, "entity_not_registered")


def test_an_assertion_is_single_use(client, kiosk, iit_app, person):
    """``jti`` single use (RFC 7523 section 3 practice): a replayed approval is refused."""
    payload = new_code(client, kiosk)["verification_uri_complete"]
    signed = iit_app.assertion(payload)
    assert client.post("/api/qr/scan", json={"assertion": signed}).status_code == 200
    refusal(client.post("/api/qr/scan", json={"assertion": signed}), 401, "assertion_replayed")


@pytest.mark.parametrize("tamper", ["other_key", "wrong_audience", "expired", "too_long_lived", "no_jti",
                                    "unregistered_issuer"])
def test_assertions_must_be_signed_by_the_registered_key_for_us_and_short_lived(client, kiosk, iit_app, tamper):
    payload = new_code(client, kiosk)["verification_uri_complete"]
    claims = {"other_key": {}, "wrong_audience": {"aud": "https://elsewhere.test"},
              "expired": {"exp": int(time.time()) - 120}, "too_long_lived": {"exp": int(time.time()) + 3600},
              "no_jti": {"jti": None}, "unregistered_issuer": {"iss": "someone-else"}}[tamper]
    key = ECKey.generate_key("P-256", private=True, auto_kid=True) if tamper == "other_key" else None
    signed = iit_app.assertion(payload, key=key, **claims)
    refusal(client.post("/api/qr/scan", json={"assertion": signed}), 401, "invalid_assertion")


def test_an_assertion_nested_deeper_than_the_json_parser_goes_is_invalid(client, kiosk, iit_app):
    """The issuer is read before the signature is checked, so the payload may be anything."""
    deep = base64.urlsafe_b64encode(b"[" * 5000).rstrip(b"=").decode()
    refusal(client.post("/api/qr/scan", json={"assertion": f"eyJhbGciOiJFUzI1NiJ9.{deep}.c2ln"}), 401,
            "invalid_assertion")


def test_a_relying_party_key_cannot_approve(app, client, kiosk, person):
    """Only clients registered as QR approvers count, whatever keys they hold."""
    key = ECKey.generate_key("P-256", private=True, auto_kid=True)
    rp = register_client(app, name="普通应用", auth_method="private_key_jwt", redirect_uris=["https://rp.test/cb"],
                         jwks={"keys": [key.as_dict(private=False)]})
    payload = new_code(client, kiosk)["verification_uri_complete"]
    signed = jwt.encode({"alg": "ES256", "kid": key.kid}, {"iss": rp.client_id, "aud": "http://idp.test",
                        "exp": int(time.time()) + 60, "jti": "x", "qr": payload}, key)
    refusal(client.post("/api/qr/scan", json={"assertion": signed}), 401, "invalid_assertion")


def test_an_external_approver_must_register_its_keys(app):
    with app.app_context(), pytest.raises(ClientRegistrationError, match="JWKS"):
        create_client(name="个人所得税APP", redirect_uris=[], qr_approver="iit_app", auth_method="client_secret_basic")


def test_idp_clients_add_registers_an_external_approver_that_can_then_sign(app, client, kiosk, database_url,
                                                                           instance_dir, tmp_path, monkeypatch):
    """``idp clients add --qr-approver iit_app --jwks-file``: key-authenticated, no grant types."""
    for name, value in make_settings(database_url, instance_dir).items():
        monkeypatch.setenv(f"IDP_{name}", str(value))
    key = ECKey.generate_key("P-256", private=True, auto_kid=True)
    jwks_file = tmp_path / "iit.jwks.json"
    jwks_file.write_text(json.dumps({"keys": [key.as_dict(private=False)]}))
    added = CliRunner().invoke(main, ["clients", "add", "--name", "个人所得税APP", "--qr-approver", "iit_app",
                                      "--jwks-file", str(jwks_file), "--json"], catch_exceptions=False)
    registered = json.loads(added.output)
    assert registered["token_endpoint_auth_method"] == "private_key_jwt" and "client_secret" not in registered
    listed = json.loads(CliRunner().invoke(main, ["clients", "list", "--json"], catch_exceptions=False).output)
    row = next(r for r in listed if r["client_id"] == registered["client_id"])
    assert (row["qr_approver"], row["grant_types"]) == ("iit_app", [])
    payload = new_code(client, kiosk)["verification_uri_complete"]
    signed = jwt.encode({"alg": "ES256", "kid": key.kid}, {"iss": registered["client_id"], "aud": "http://idp.test",
                        "exp": int(time.time()) + 60, "jti": "first", "qr": payload}, key)
    assert client.post("/api/qr/scan", json={"assertion": signed}).status_code == 200
