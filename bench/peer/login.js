// The peer's own login: a password step (argon2id) and an SMS-code step, driving
// node-oidc-provider's interaction. It does the work qdtax-idp's login does per step, so the
// two logins compare: look up the person, verify the password hash (the same argon2id
// parameters: the hashes are written by qdtax-idp's own hasher, see bench/peer.py), send a
// 6-digit code to the SMS gateway (signed JSON over HTTP, like idp's HttpGateway), check it,
// finish the interaction. No CSRF token: the interaction is bound to node-oidc-provider's
// `_interaction` cookie, and this is a benchmark peer, not a product.
import crypto from 'node:crypto';
import http from 'node:http';

import { verify } from '@node-rs/argon2';

const CODE_TTL = 300;
const MAX_BODY = 8192;
const agent = new http.Agent({ keepAlive: true });

function readForm(req) {
  return new Promise((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk) => {
      body += chunk;
      if (body.length > MAX_BODY) reject(new Error('form too large'));
    });
    req.on('end', () => resolve(new URLSearchParams(body)));
    req.on('error', reject);
  });
}

function escape(text) {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page(res, status, title, form) {
  const body = `<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>${escape(title)}</title></head>`
    + `<body><main><h1>${escape(title)}</h1>${form}</main></body></html>`;
  res.writeHead(status, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
  res.end(body);
}

function redirect(res, location) {
  res.writeHead(303, { Location: location, 'Content-Length': '0' });
  res.end();
}

function sendSms(gatewayUrl, secret, phone, text) {
  const body = JSON.stringify({ phone, text });
  const timestamp = String(Math.floor(Date.now() / 1000));
  const signature = crypto.createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
  return new Promise((resolve, reject) => {
    const request = http.request(gatewayUrl, {
      method: 'POST',
      agent,
      headers: {
        'Content-Type': 'application/json',
        'Content-Length': Buffer.byteLength(body),
        'X-Timestamp': timestamp,
        'X-Signature': signature,
      },
    }, (response) => {
      response.resume();
      response.on('end', () => (response.statusCode === 200 ? resolve() : reject(new Error(`SMS gateway ${response.statusCode}`))));
    });
    request.on('error', reject);
    request.end(body);
  });
}

export function loginHandler({ provider, redis, smsUrl, smsSecret }) {
  const pendingKey = (uid) => `peer:sms:${uid}`;

  async function passwordStep(req, res, uid) {
    const form = await readForm(req);
    const person = await redis.hgetall(`peer:person:${form.get('identifier') ?? ''}`);
    // Unknown people cost a hash too, so the answer's timing does not tell who exists.
    const hash = person.hash ?? process.env.PEER_DUMMY_HASH;
    const ok = await verify(hash, form.get('password') ?? '');
    if (!ok || !person.sub) {
      page(res, 401, '登录失败 / Sign-in failed', loginForm(uid));
      return;
    }
    const code = String(crypto.randomInt(0, 1_000_000)).padStart(6, '0');
    const digest = crypto.createHash('sha256').update(`${uid}:${code}`).digest('hex');
    await redis.set(pendingKey(uid), JSON.stringify({ sub: person.sub, digest, tries: 0 }), 'EX', CODE_TTL);
    await sendSms(smsUrl, smsSecret, person.phone, `您的验证码是 ${code}，5 分钟内有效。`);
    redirect(res, `/interaction/${uid}/sms`);
  }

  async function smsStep(req, res, uid) {
    const form = await readForm(req);
    const pending = JSON.parse((await redis.get(pendingKey(uid))) ?? 'null');
    const digest = crypto.createHash('sha256').update(`${uid}:${form.get('code') ?? ''}`).digest();
    if (!pending || pending.tries >= 5
        || !crypto.timingSafeEqual(digest, Buffer.from(pending.digest, 'hex'))) {
      if (pending) await redis.set(pendingKey(uid), JSON.stringify({ ...pending, tries: pending.tries + 1 }), 'KEEPTTL');
      page(res, 401, '验证码错误 / Wrong code', smsForm(uid));
      return;
    }
    await redis.del(pendingKey(uid));
    await provider.interactionFinished(req, res, {
      login: { accountId: pending.sub, amr: ['pwd', 'sms'], acr: 'urn:qdtax:acr:sms' },
    }, { mergeWithLastSubmission: false });
  }

  return async function handle(req, res) {
    const [, , uid, step] = new URL(req.url, 'http://peer').pathname.split('/');
    try {
      // Loads the interaction through the adapter and checks the browser's interaction cookie.
      const details = await provider.interactionDetails(req, res);
      if (details.uid !== uid || details.prompt.name !== 'login') {
        page(res, 400, '请求无效 / Invalid request', '');
      } else if (req.method === 'GET' && !step) {
        page(res, 200, '登录 / Sign in', loginForm(uid));
      } else if (req.method === 'POST' && step === 'login') {
        await passwordStep(req, res, uid);
      } else if (req.method === 'GET' && step === 'sms') {
        page(res, 200, '短信验证 / SMS code', smsForm(uid));
      } else if (req.method === 'POST' && step === 'sms') {
        await smsStep(req, res, uid);
      } else {
        page(res, 404, '未找到 / Not found', '');
      }
    } catch (error) {
      if (!res.headersSent) page(res, 400, '请求无效 / Invalid request', escape(error.message));
    }
  };
}

function loginForm(uid) {
  return `<form method="post" action="/interaction/${escape(uid)}/login">`
    + '<label>手机号 / Phone <input name="identifier" autocomplete="username" required></label>'
    + '<label>密码 / Password <input type="password" name="password" autocomplete="current-password" required></label>'
    + '<button>登录 / Sign in</button></form>';
}

function smsForm(uid) {
  return `<form method="post" action="/interaction/${escape(uid)}/sms">`
    + '<label>验证码 / Code <input name="code" inputmode="numeric" autocomplete="one-time-code" required></label>'
    + '<button>确认 / Confirm</button></form>';
}
