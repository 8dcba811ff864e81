// oauth4webapi at its defaults. It has no default client authentication (each call names one):
// ClientSecretBasic, as the provider registers clients. PKCE, nonce and state as its README
// shows. Driven by tests/test_interop.py through lines.mjs.
import * as oauth from 'oauth4webapi'
import { close, emit, readLine, settings } from './lines.mjs'

// The test provider is plain http on loopback, which oauth4webapi refuses unless told.
const http = { [oauth.allowInsecureRequests]: true }
const issuer = new URL(settings.OIDC_ISSUER)
const as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, http))
const client = { client_id: settings.OIDC_CLIENT_ID }
const clientAuth = oauth.ClientSecretBasic(settings.OIDC_CLIENT_SECRET)

const codeVerifier = oauth.generateRandomCodeVerifier()
const nonce = oauth.generateRandomNonce()
const state = oauth.generateRandomState()
const authorizationUrl = new URL(as.authorization_endpoint)
for (const [name, value] of Object.entries({
  client_id: client.client_id,
  redirect_uri: settings.OIDC_REDIRECT_URI,
  response_type: 'code',
  scope: 'openid profile phone',
  code_challenge: await oauth.calculatePKCECodeChallenge(codeVerifier),
  code_challenge_method: 'S256',
  nonce,
  state,
})) authorizationUrl.searchParams.set(name, value)
emit({ authorization_url: authorizationUrl.href })

const callbackParams = oauth.validateAuthResponse(as, client, new URL(await readLine()), state)
const codeResponse = await oauth.authorizationCodeGrantRequest(
  as, client, clientAuth, callbackParams, settings.OIDC_REDIRECT_URI, codeVerifier, http)
const tokens = await oauth.processAuthorizationCodeResponse(as, client, codeResponse, {
  expectedNonce: nonce, requireIdToken: true,
})
// Over TLS the signature may be skipped (OIDC Core 3.1.3.7 step 6); here it is verified.
await oauth.validateApplicationLevelSignature(as, codeResponse, http)
const claims = oauth.getValidatedIdTokenClaims(tokens)

const refreshed = await oauth.processRefreshTokenResponse(as, client,
  await oauth.refreshTokenGrantRequest(as, client, clientAuth, tokens.refresh_token, http))
const userinfo = await oauth.processUserInfoResponse(as, client, claims.sub,
  await oauth.userInfoRequest(as, client, refreshed.access_token, http))

// No end-session helper: the URL is built from discovery (RP-Initiated Logout 1.0 section 2).
const logoutUrl = new URL(as.end_session_endpoint)
logoutUrl.searchParams.set('id_token_hint', tokens.id_token)
logoutUrl.searchParams.set('post_logout_redirect_uri', settings.OIDC_POST_LOGOUT_REDIRECT_URI)
logoutUrl.searchParams.set('state', 'logged-out')
emit({ logout_url: logoutUrl.href })
await readLine()

const device = await oauth.processDeviceAuthorizationResponse(as, client,
  await oauth.deviceAuthorizationRequest(as, client, clientAuth, { scope: 'openid profile' }, http))
emit({ device: { verification_uri_complete: device.verification_uri_complete, user_code: device.user_code } })
await readLine()
let deviceTokens
for (;;) {
  await new Promise((resolve) => setTimeout(resolve, (device.interval ?? 5) * 1000))
  try {
    deviceTokens = await oauth.processDeviceCodeResponse(as, client,
      await oauth.deviceCodeGrantRequest(as, client, clientAuth, device.device_code, http))
    break
  } catch (error) {
    if (!(error instanceof oauth.ResponseBodyError && error.error === 'authorization_pending')) throw error
  }
}

emit({
  result: {
    issuer: as.issuer,
    id_token_alg: JSON.parse(Buffer.from(tokens.id_token.split('.')[0], 'base64url')).alg,
    id_token_claims: claims,
    refreshed_id_token_claims: oauth.getValidatedIdTokenClaims(refreshed),
    userinfo,
    device_id_token_claims: oauth.getValidatedIdTokenClaims(deviceTokens),
  },
})
close()
