// A real OpenID Provider for the sign-in tests: panva's oidc-provider (OpenID certified),
// on 127.0.0.1 and a free port, with a login form that checks passwords, no consent screen,
// PKCE required, and a fresh RSA key each run.
//
//   node provider.mjs <setup.json>
//
// setup.json: { "clients": [oidc-provider client metadata…],
//               "users": [{ "login", "password", "sub", "email", "email_verified", "name",
//                           "picture", "github_id" }] }
//
// Prints `READY <issuer>` once it listens. Beside the provider it serves:
// - a stand-in for GitHub's user REST endpoints (`/github/user`, `/github/user/emails`), which
//   answer for the account that an access token of this provider was issued to;
// - `POST /test/forge {"mode"}`, which makes the next ID tokens dishonest, for the refusal
//   tests: `other-key` (signed by a key the JWKS does not publish), `audience` (issued to
//   another client), `rotated` (signed by a new key that the JWKS then publishes, so a client
//   must re-fetch it), or null for honest tokens again.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import * as jose from 'jose';
import Provider from 'oidc-provider';

const setup = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const users = new Map(setup.users.map((user) => [user.sub, user]));

const newKey = (kid) => {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { kid, privateKey, jwk: { ...privateKey.export({ format: 'jwk' }), kid, use: 'sig', alg: 'RS256' } };
};
const signing = newKey('main');
const rotated = newKey('rotated');
const stranger = newKey('main-forged');
let forge = null;

const server = createServer();
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  clients: setup.clients,
  jwks: { keys: [signing.jwk] },
  cookies: { keys: [randomBytes(16).toString('hex')] },
  pkce: { required: () => true },
  features: { devInteractions: { enabled: false } },
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'picture'],
  },
  scopes: ['openid', 'email', 'profile', 'read:user', 'user:email'],
  conformIdTokenClaims: false,
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  async findAccount(_ctx, sub) {
    const user = users.get(sub);
    if (!user) return undefined;
    return {
      accountId: sub,
      async claims() {
        const { email, email_verified, name, picture } = user;
        return { sub, email, email_verified, name, picture };
      },
    };
  },
  // Every requested scope and claim is granted: no consent screen.
  async loadExistingGrant(ctx) {
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope(ctx.oidc.requestParamScopes ? [...ctx.oidc.requestParamScopes].join(' ') : 'openid');
    grant.addOIDCClaims(['sub', 'email', 'email_verified', 'name', 'picture']);
    await grant.save();
    return grant;
  },
});
provider.proxy = false;

const page = (body) => `<!doctype html><meta charset="utf-8"><title>Test provider</title>${body}`;

provider.use(async (ctx, next) => {
  const interaction = ctx.path.match(/^\/interaction\/([\w-]+)$/);
  if (interaction && ctx.method === 'GET') {
    await provider.interactionDetails(ctx.req, ctx.res);
    ctx.type = 'html';
    ctx.body = page(`<form method="post" action="/interaction/${interaction[1]}">
      <label>Login <input name="login" autofocus></label>
      <label>Password <input name="password" type="password"></label>
      <button type="submit">Sign in</button></form>`);
    return;
  }
  if (interaction && ctx.method === 'POST') {
    const body = new URLSearchParams(await text(ctx.req));
    const user = setup.users.find((u) => u.login === body.get('login'));
    if (!user || user.password !== body.get('password')) {
      ctx.status = 401;
      ctx.type = 'html';
      ctx.body = page('<p>Wrong login or password.</p>');
      return;
    }
    await provider.interactionFinished(ctx.req, ctx.res, { login: { accountId: user.sub } }, {
      mergeWithLastSubmission: false,
    });
    ctx.respond = false;
    return;
  }
  if (ctx.path === '/test/forge' && ctx.method === 'POST') {
    forge = JSON.parse(await text(ctx.req)).mode;
    ctx.body = { forge };
    return;
  }
  if (ctx.path === '/github/user' || ctx.path === '/github/user/emails') {
    const token = (ctx.get('authorization') || '').replace(/^(Bearer|token) /i, '');
    const found = token && (await provider.AccessToken.find(token));
    const user = found && users.get(found.accountId);
    ctx.type = 'json';
    if (!user || !ctx.get('user-agent')) {
      ctx.status = 401;
      ctx.body = { message: 'Bad credentials', documentation_url: 'https://docs.github.com/rest' };
      return;
    }
    ctx.body = ctx.path === '/github/user'
      ? { login: user.login, id: user.github_id, name: user.name, avatar_url: user.picture, email: null }
      : [
        { email: `${user.login}@users.noreply.github.com`, primary: false, verified: true, visibility: null },
        { email: user.email, primary: true, verified: user.email_verified, visibility: 'private' },
      ];
    return;
  }
  await next();
  if (ctx.path === '/jwks' && forge === 'rotated') {
    ctx.body = { keys: [...ctx.body.keys, publicJwk(rotated)] };
  }
  if (ctx.path === '/token' && forge && ctx.body?.id_token) {
    const claims = jose.decodeJwt(ctx.body.id_token);
    const key = { 'other-key': stranger, audience: signing, rotated }[forge];
    if (forge === 'audience') claims.aud = 'someone-else';
    ctx.body = {
      ...ctx.body,
      id_token: await new jose.SignJWT(claims)
        .setProtectedHeader({ alg: 'RS256', kid: forge === 'other-key' ? 'main' : key.kid })
        .sign(key.privateKey),
    };
  }
});

function publicJwk({ jwk }) {
  const { kty, n, e, kid, use, alg } = jwk;
  return { kty, n, e, kid, use, alg };
}

function text(req) {
  return new Promise((resolve, reject) => {
    let data = '';
    req.setEncoding('utf8');
    req.on('data', (chunk) => { data += chunk; });
    req.on('end', () => resolve(data));
    req.on('error', reject);
  });
}

server.on('request', provider.callback());
console.log(`READY ${issuer}`);
