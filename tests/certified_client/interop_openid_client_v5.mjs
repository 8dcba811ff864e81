// openid-client 5 at its defaults (client_secret_basic, RS256 ID tokens); PKCE, nonce and state
// as its README shows. Driven by tests/test_interop.py through lines.mjs.
import { Issuer, generators } from 'openid-client-v5'
import { close, emit, readLine, settings } from './lines.mjs'

const issuer = await Issuer.discover(settings.OIDC_ISSUER)
const client = new issuer.Client({
  client_id: settings.OIDC_CLIENT_ID,
  client_secret: settings.OIDC_CLIENT_SECRET,
  redirect_uris: [settings.OIDC_REDIRECT_URI],
  post_logout_redirect_uris: [settings.OIDC_POST_LOGOUT_REDIRECT_URI],
  response_types: ['code'],
})

const codeVerifier = generators.codeVerifier()
const nonce = generators.nonce()
const state = generators.state()
emit({
  authorization_url: client.authorizationUrl({
    scope: 'openid profile phone',
    code_challenge: generators.codeChallenge(codeVerifier),
    code_challenge_method: 'S256',
    nonce,
    state,
  }),
})
// Checks state, iss (RFC 9207), the ID token's signature (JWKS), iss, aud, exp, iat, nonce, at_hash.
const callbackParams = client.callbackParams(await readLine())
const tokens = await client.callback(settings.OIDC_REDIRECT_URI, callbackParams, { code_verifier: codeVerifier, nonce, state })
const refreshed = await client.refresh(tokens)
// With a token set, the library checks userinfo's sub against the ID token's.
const userinfo = await client.userinfo(refreshed)

emit({
  logout_url: client.endSessionUrl({
    id_token_hint: tokens.id_token,
    post_logout_redirect_uri: settings.OIDC_POST_LOGOUT_REDIRECT_URI,
    state: 'logged-out',
  }),
})
await readLine()

const handle = await client.deviceAuthorization({ scope: 'openid profile' })
emit({ device: { verification_uri_complete: handle.verification_uri_complete, user_code: handle.user_code } })
await readLine()
const deviceTokens = await handle.poll()

emit({
  result: {
    issuer: issuer.metadata.issuer,
    id_token_alg: JSON.parse(Buffer.from(tokens.id_token.split('.')[0], 'base64url')).alg,
    id_token_claims: tokens.claims(),
    refreshed_id_token_claims: refreshed.claims(),
    userinfo,
    device_id_token_claims: deviceTokens.claims(),
  },
})
close()
