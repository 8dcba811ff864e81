// node-oidc-provider's storage in Redis, as a relying party running it in production writes it
// (the adapter interface of node-oidc-provider's documentation: upsert, find, findByUid,
// findByUserCode, consume, destroy, revokeByGrantId).
//
// One key per stored object with the object's own TTL: a plain JSON string for most models,
// a hash {payload, consumed} for the single-use ones, so consume() is one HSET and not a
// read-modify-write. Every token that belongs to a grant is added to the grant's set, whose TTL
// is stretched to its longest member's; revokeByGrantId deletes the set and its members in one
// Lua script, so a revocation is atomic and seen at once by every worker and node that shares
// this Redis (opaque tokens are found by key on every use: a deleted key is an inactive token).
import Redis from 'ioredis';

const CONSUMABLE = new Set([
  'AuthorizationCode', 'RefreshToken', 'DeviceCode', 'BackchannelAuthenticationRequest', 'PreAuthorizedCode',
]);
const GRANTABLE = new Set([
  'AccessToken', 'AuthorizationCode', 'RefreshToken', 'DeviceCode', 'BackchannelAuthenticationRequest',
  'PreAuthorizedCode',
]);

const PREFIX = 'oidc:';
const grantKey = (grantId) => `${PREFIX}grant:${grantId}`;
const sessionUidKey = (uid) => `${PREFIX}sessionUid:${uid}`;
const userCodeKey = (userCode) => `${PREFIX}userCode:${userCode}`;

// KEYS[1]: the grant's set. Deletes every member, then the set itself.
const REVOKE_GRANT = `
local members = redis.call('SMEMBERS', KEYS[1])
for _, key in ipairs(members) do redis.call('DEL', key) end
redis.call('DEL', KEYS[1])
return #members`;

export function connect(url) {
  const client = new Redis(url, { enableAutoPipelining: true, maxRetriesPerRequest: 2 });
  client.defineCommand('revokeGrant', { numberOfKeys: 1, lua: REVOKE_GRANT });
  return client;
}

export function adapterFor(client) {
  return class RedisAdapter {
    constructor(model) {
      this.model = model;
    }

    key(id) {
      return `${PREFIX}${this.model}:${id}`;
    }

    async upsert(id, payload, expiresIn) {
      const key = this.key(id);
      const multi = client.multi();
      if (CONSUMABLE.has(this.model)) {
        multi.del(key);
        multi.hset(key, 'payload', JSON.stringify(payload));
        if (expiresIn) multi.expire(key, expiresIn);
      } else if (expiresIn) {
        multi.set(key, JSON.stringify(payload), 'EX', expiresIn);
      } else {
        multi.set(key, JSON.stringify(payload));
      }
      if (GRANTABLE.has(this.model) && payload.grantId) {
        const grant = grantKey(payload.grantId);
        multi.sadd(grant, key);
        if (expiresIn) {
          // The set lives as long as its longest-lived member (NX: first member; GT: longer ones).
          multi.expire(grant, expiresIn, 'NX');
          multi.expire(grant, expiresIn, 'GT');
        }
      }
      if (payload.userCode) multi.set(userCodeKey(payload.userCode), id, 'EX', expiresIn);
      if (this.model === 'Session' && payload.uid) multi.set(sessionUidKey(payload.uid), id, 'EX', expiresIn);
      await multi.exec();
    }

    async find(id) {
      if (!id) return undefined;
      const key = this.key(id);
      if (CONSUMABLE.has(this.model)) {
        const { payload, consumed } = await client.hgetall(key);
        if (!payload) return undefined;
        const found = JSON.parse(payload);
        if (consumed) found.consumed = Number(consumed);
        return found;
      }
      const stored = await client.get(key);
      return stored ? JSON.parse(stored) : undefined;
    }

    async findByUid(uid) {
      return this.find(await client.get(sessionUidKey(uid)));
    }

    async findByUserCode(userCode) {
      return this.find(await client.get(userCodeKey(userCode)));
    }

    async consume(id) {
      await client.hset(this.key(id), 'consumed', Math.floor(Date.now() / 1000));
    }

    async destroy(id) {
      await client.del(this.key(id));
    }

    async revokeByGrantId(grantId) {
      await client.revokeGrant(grantKey(grantId));
    }
  };
}
