"""pyoidc (``oic``) at its defaults: ``Client`` with its client authentication methods, the
provider configuration and JWKS from discovery, PKCE from ``add_code_challenge``. It has no
device grant. Driven by tests/test_interop.py through lines.py."""

from __future__ import annotations

from urllib.parse import urlsplit

from oic import rndstr
from oic.oic import Client
from oic.oic.message import AuthorizationResponse, RegistrationResponse
from oic.utils.authn.client import CLIENT_AUTHN_METHOD

from lines import SETTINGS, emit, read_line

client = Client(client_authn_method=CLIENT_AUTHN_METHOD)
provider = client.provider_config(SETTINGS["OIDC_ISSUER"])
client.store_registration_info(RegistrationResponse(
    client_id=SETTINGS["OIDC_CLIENT_ID"], client_secret=SETTINGS["OIDC_CLIENT_SECRET"],
    redirect_uris=[SETTINGS["OIDC_REDIRECT_URI"]],
    post_logout_redirect_uris=[SETTINGS["OIDC_POST_LOGOUT_REDIRECT_URI"]]))
client.redirect_uris = [SETTINGS["OIDC_REDIRECT_URI"]]

state, nonce = rndstr(), rndstr()
pkce, code_verifier = client.add_code_challenge()
request = client.construct_AuthorizationRequest(request_args={
    "client_id": client.client_id, "response_type": "code", "scope": "openid profile phone",
    "redirect_uri": SETTINGS["OIDC_REDIRECT_URI"], "state": state, "nonce": nonce, **pkce})
emit({"authorization_url": request.request(client.authorization_endpoint)})

response = client.parse_response(AuthorizationResponse, info=urlsplit(read_line()).query, sformat="urlencoded")
assert response["state"] == state, "state mismatch"
# Verifies the ID token's signature (keys from jwks_uri), iss, aud, exp, iat and nonce.
tokens = client.do_access_token_request(
    state=state, request_args={"code": response["code"], "code_verifier": code_verifier,
                               "redirect_uri": SETTINGS["OIDC_REDIRECT_URI"]},
    authn_method="client_secret_basic")
id_token = tokens["id_token"]
refreshed = client.do_access_token_refresh(state=state, authn_method="client_secret_basic")
userinfo = client.do_user_info_request(state=state)

logout = client.construct_EndSessionRequest(state=state, request_args={
    "id_token_hint": id_token.jwt,
    "post_logout_redirect_uri": SETTINGS["OIDC_POST_LOGOUT_REDIRECT_URI"], "state": "logged-out"})
emit({"logout_url": logout.request(client.end_session_endpoint)})
read_line()

emit({"result": {
    "issuer": provider["issuer"],
    "id_token_alg": id_token.jws_header["alg"],
    "id_token_claims": id_token.to_dict(),
    "refreshed_id_token_claims": refreshed["id_token"].to_dict() if "id_token" in refreshed else None,
    "userinfo": userinfo.to_dict(),
    "device_id_token_claims": None,
}})
