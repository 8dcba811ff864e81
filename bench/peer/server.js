// node-oidc-provider 9 configured as a relying party deploys it, for bench/run.py --peer.
//
//   node bench/peer/server.js CONFIG.json
//
// CONFIG.json (written by bench/peer.py): port, issuer, workers, redisUrl, smsUrl, smsSecret,
// clients (node-oidc-provider client metadata), dummyHash. The primary process makes the signing
// keys and cookie keys, then forks `workers` processes (node:cluster, one per core, as granian's
// workers are) that share them and the listening port; everything stored goes to Redis.
//
// Access tokens are opaque (node-oidc-provider's default format, no resourceIndicators): each is
// a random id stored in Redis with its TTL. That is what a relying party gets out of the box, and
// it keeps introspection exact — a revoked token's key is gone for every worker and node at
// once — which is the property qdtax-idp's introspection keeps too (its access tokens are ES256
// JWTs checked against a deny-list and the grant on every call). JWT access tokens
// (resourceIndicators) are not stored by node-oidc-provider, so a revocation would not reach them.
import cluster from 'node:cluster';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';

import { exportJWK, generateKeyPair } from 'jose';
import Provider from 'oidc-provider';

import { loginHandler } from './login.js';
import { adapterFor, connect } from './redis_adapter.js';

const config = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));

async function signingKeys() {
  const keys = [];
  for (const [alg, options] of [['ES256', {}], ['RS256', { modulusLength: 2048 }]]) {
    const { privateKey } = await generateKeyPair(alg, { extractable: true, ...options });
    keys.push({ ...(await exportJWK(privateKey)), alg, use: 'sig', kid: crypto.randomUUID() });
  }
  return keys;
}

if (cluster.isPrimary) {
  const shared = {
    PEER_JWKS: JSON.stringify(await signingKeys()),
    PEER_COOKIE_KEY: crypto.randomBytes(32).toString('base64url'),
  };
  for (let index = 0; index < config.workers; index += 1) cluster.fork(shared);
  // A worker that dies is replaced, as granian does; SIGTERM stops them all.
  cluster.on('exit', (worker, code, signal) => {
    if (!process.exitCode && signal !== 'SIGTERM') cluster.fork(shared);
  });
  process.on('SIGTERM', () => {
    process.exitCode = 0;
    for (const worker of Object.values(cluster.workers)) worker.process.kill('SIGTERM');
  });
} else {
  const redis = connect(config.redisUrl);
  const PERSON_CLAIMS = { profile: ['name'], phone: ['phone_number', 'phone_number_verified'] };

  const provider = new Provider(config.issuer, {
    adapter: adapterFor(redis),
    clients: config.clients,
    jwks: { keys: JSON.parse(process.env.PEER_JWKS) },
    cookies: { keys: [process.env.PEER_COOKIE_KEY] },
    // The same paths as qdtax-idp's, so the benchmark's requests are the same.
    routes: { authorization: '/authorize', jwks: '/jwks.json', introspection: '/introspect', revocation: '/revoke',
              userinfo: '/userinfo' },
    scopes: ['openid', 'offline_access', 'profile', 'phone'],
    claims: { openid: ['sub'], ...PERSON_CLAIMS },
    acrValues: ['urn:qdtax:acr:sms'],
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      // The resource servers are confidential clients; public ones may not introspect.
      introspection: { enabled: true, allowedPolicy: async (ctx, client) => client.clientAuthMethod !== 'none' },
      revocation: { enabled: true },
      deviceFlow: { enabled: true },
    },
    pkce: { required: () => true },
    // qdtax-idp's lifetimes (idp/core/settings.py): access 600 s, code 60 s, refresh 8 h idle.
    ttl: {
      AccessToken: 600, ClientCredentials: 600, AuthorizationCode: 60, IdToken: 600, DeviceCode: 600,
      RefreshToken: 8 * 3600, Interaction: 600, Session: 8 * 3600, Grant: 24 * 3600,
    },
    // Every refresh is single use (rotation), as qdtax-idp's are.
    rotateRefreshToken: true,
    // A refresh token for every code of a client allowed the grant, as qdtax-idp issues them
    // (node-oidc-provider's default also asks for the offline_access scope).
    issueRefreshToken: async (ctx, client) => client.grantTypeAllowed('refresh_token'),
    expiresWithSession: async () => false,
    // First-party relying party: no consent page (node-oidc-provider's "skip consent" recipe).
    loadExistingGrant: async (ctx) => {
      const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
      if (grantId) {
        const grant = await ctx.oidc.provider.Grant.find(grantId);
        if (grant) return grant;
      }
      const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId,
                                                  accountId: ctx.oidc.session.accountId });
      grant.addOIDCScope('openid profile phone');
      await grant.save();
      return grant;
    },
    findAccount: async (ctx, sub) => {
      const person = await redis.hgetall(`peer:account:${sub}`);
      if (!person.phone) return undefined;
      return {
        accountId: sub,
        claims: async () => ({ sub, name: person.name, phone_number: person.phone, phone_number_verified: true }),
      };
    },
    interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  });
  process.env.PEER_DUMMY_HASH = config.dummyHash;
  const login = loginHandler({ provider, redis, smsUrl: config.smsUrl, smsSecret: config.smsSecret });
  const oidc = provider.callback();
  const server = http.createServer((req, res) => (req.url.startsWith('/interaction/') ? login(req, res) : oidc(req, res)));
  server.keepAliveTimeout = 30_000;
  server.listen(config.port, '127.0.0.1');
  process.on('SIGTERM', () => server.close(() => redis.quit().finally(() => process.exit(0))));
}
