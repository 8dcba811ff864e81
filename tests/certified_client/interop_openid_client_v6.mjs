// openid-client 6 at its defaults: the client secret given to discovery() (so client_secret_post),
// PKCE, nonce and state as its README shows. Driven by tests/test_interop.py through lines.mjs.
import * as client from 'openid-client'
import { close, emit, readLine, settings } from './lines.mjs'

const config = await client.discovery(
  new URL(settings.OIDC_ISSUER),
  settings.OIDC_CLIENT_ID,
  settings.OIDC_CLIENT_SECRET,
  undefined,
  {
    // The test provider is plain http on loopback, which v6 refuses unless told. Over TLS v6
    // would skip the ID token signature (OIDC Core 3.1.3.7 step 6); here it verifies it.
    execute: [client.allowInsecureRequests, client.enableNonRepudiationChecks],
  },
)

const codeVerifier = client.randomPKCECodeVerifier()
const nonce = client.randomNonce()
const state = client.randomState()
const authorizationUrl = client.buildAuthorizationUrl(config, {
  redirect_uri: settings.OIDC_REDIRECT_URI,
  scope: 'openid profile phone',
  code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
  code_challenge_method: 'S256',
  nonce,
  state,
})
emit({ authorization_url: authorizationUrl.href })

const tokens = await client.authorizationCodeGrant(config, new URL(await readLine()), {
  pkceCodeVerifier: codeVerifier,
  expectedNonce: nonce,
  expectedState: state,
  idTokenExpected: true,
})
const claims = tokens.claims()
const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token)
const userinfo = await client.fetchUserInfo(config, refreshed.access_token, claims.sub)

emit({
  logout_url: client.buildEndSessionUrl(config, {
    id_token_hint: tokens.id_token,
    post_logout_redirect_uri: settings.OIDC_POST_LOGOUT_REDIRECT_URI,
    state: 'logged-out',
  }).href,
})
await readLine()

const device = await client.initiateDeviceAuthorization(config, { scope: 'openid profile' })
emit({ device: { verification_uri_complete: device.verification_uri_complete, user_code: device.user_code } })
await readLine()
const deviceTokens = await client.pollDeviceAuthorizationGrant(config, device)

emit({
  result: {
    issuer: config.serverMetadata().issuer,
    id_token_alg: JSON.parse(Buffer.from(tokens.id_token.split('.')[0], 'base64url')).alg,
    id_token_claims: claims,
    refreshed_id_token_claims: refreshed.claims(),
    userinfo,
    device_id_token_claims: deviceTokens.claims(),
  },
})
close()
