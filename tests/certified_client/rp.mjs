// A relying party built on panva's openid-client (OpenID Certified), driven by
// tests/test_certified_client.py over stdin/stdout, one JSON object per line:
//   out 1: {"authorization_url": ...}   (PKCE S256, nonce and state, built from discovery)
//   in  1: the callback URL the provider redirected the browser to
//   out 2: what the library accepted: ID token claims, refresh, userinfo, introspection, revocation
// Settings come from the environment (OIDC_ISSUER, OIDC_CLIENT_ID, OIDC_CLIENT_SECRET,
// OIDC_REDIRECT_URI) so the client secret never shows in a process listing.
// Any check the library refuses throws, and the script exits non-zero with the reason on stderr.
import { createInterface } from 'node:readline'
import * as client from 'openid-client'

const { OIDC_ISSUER, OIDC_CLIENT_ID, OIDC_CLIENT_SECRET, OIDC_REDIRECT_URI } = process.env
const stdin = createInterface({ input: process.stdin })
const lines = stdin[Symbol.asyncIterator]()

async function readLine () {
  const { value, done } = await lines.next()
  if (done) throw new Error('stdin closed before the callback URL arrived')
  return value.trim()
}

function emit (object) {
  process.stdout.write(JSON.stringify(object) + '\n')
}

const config = await client.discovery(
  new URL(OIDC_ISSUER),
  OIDC_CLIENT_ID,
  undefined,
  client.ClientSecretBasic(OIDC_CLIENT_SECRET),
  {
    // The test provider is served over plain http on loopback; v6 refuses http otherwise.
    // Over TLS the library may skip ID token signatures (OIDC Core 3.1.3.7 step 6); here it
    // must verify them against the provider's JWKS like a relying party without TLS would.
    execute: [client.allowInsecureRequests, client.enableNonRepudiationChecks],
  },
)

const codeVerifier = client.randomPKCECodeVerifier()
const nonce = client.randomNonce()
const state = client.randomState()
const authorizationUrl = client.buildAuthorizationUrl(config, {
  redirect_uri: OIDC_REDIRECT_URI,
  scope: 'openid profile phone',
  code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
  code_challenge_method: 'S256',
  nonce,
  state,
})
emit({ authorization_url: authorizationUrl.href })

// Checks state, iss (RFC 9207), the code exchange with the PKCE verifier, and the ID token:
// signature, iss, aud, azp, exp, iat and nonce.
const tokens = await client.authorizationCodeGrant(config, new URL(await readLine()), {
  pkceCodeVerifier: codeVerifier,
  expectedNonce: nonce,
  expectedState: state,
  idTokenExpected: true,
})
const claims = tokens.claims()

const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token)
const userinfo = await client.fetchUserInfo(config, refreshed.access_token, claims.sub)

const introspectedBeforeRevocation = await client.tokenIntrospection(config, refreshed.access_token)
await client.tokenRevocation(config, refreshed.refresh_token, { token_type_hint: 'refresh_token' })
const refreshTokenAfterRevocation = await client.tokenIntrospection(config, refreshed.refresh_token, {
  token_type_hint: 'refresh_token',
})
const accessTokenAfterRevocation = await client.tokenIntrospection(config, refreshed.access_token)

emit({
  server_issuer: config.serverMetadata().issuer,
  id_token_claims: claims,
  refreshed_id_token_claims: refreshed.claims(),
  refresh_token_rotated: refreshed.refresh_token !== tokens.refresh_token,
  userinfo,
  introspection_before_revocation: introspectedBeforeRevocation,
  refresh_token_after_revocation: refreshTokenAfterRevocation,
  access_token_after_revocation: accessTokenAfterRevocation,
})
stdin.close()
