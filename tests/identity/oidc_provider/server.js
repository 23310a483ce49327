// Test-only OpenID Connect providers for the Portalis identity plugin tests.
//
// Two modes, both listening on 127.0.0.1 only:
//
//   --mode provider  A real, spec-compliant OpenID Provider (panva/oidc-provider) with one
//                    confidential client (PKCE required) and one fixed test account.  The
//                    login and consent interactions are plain HTTP endpoints, so a test can
//                    drive them with an HTTP client and no browser:
//                      GET  /interaction/:uid          -> JSON {uid, prompt, ...}
//                      POST /interaction/:uid/login    form: login, password
//                      POST /interaction/:uid/confirm  grants the requested scopes/claims
//                      POST /interaction/:uid/abort    the user cancels (access_denied)
//
//   --mode rogue     A small hand-written "provider" that follows the protocol (discovery,
//                    JWKS, authorize, token with client auth + PKCE, userinfo) but issues the
//                    ID tokens a well-behaved provider never would: wrong audience, alg none,
//                    expired, wrong nonce, foreign issuer, unknown key...  The defect is
//                    chosen per authorization request with the extra query parameter
//                    `rogue_scenario=<name>` (see SCENARIOS below).  It also serves a lying
//                    discovery document under /liar/ that names another issuer.
//
// The server listens on --port (0 = any free port) and, once ready, writes
// {"port": N, "issuer": "..."} as JSON to --ready-file.  It never contacts the network.

import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({
  options: {
    mode: { type: 'string', default: 'provider' },
    port: { type: 'string', default: '0' },
    'client-id': { type: 'string', default: 'portalis' },
    'client-secret': { type: 'string', default: 'portalis-secret' },
    'redirect-uri': { type: 'string', multiple: true, default: [] },
    'ready-file': { type: 'string' },
  },
});

if (!['provider', 'rogue'].includes(args.mode)) {
  throw new Error(`unknown --mode ${args.mode}`);
}
if (args['redirect-uri'].length === 0) {
  throw new Error('at least one --redirect-uri is required');
}

const CLIENT = {
  client_id: args['client-id'],
  client_secret: args['client-secret'],
  redirect_uris: args['redirect-uri'],
};

// The fixed test account (same data in both modes).
const ACCOUNT = {
  username: 'ada',
  password: 'correct horse battery staple',
  sub: 'ada-0001',
  claims: {
    given_name: 'Ada',
    family_name: 'Lovelace',
    name: 'Ada Lovelace',
    email: 'ada@example.test',
    email_verified: true,
  },
};

function readBody(req, limit = 64 * 1024) {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks = [];
    req.on('data', (chunk) => {
      size += chunk.length;
      if (size > limit) {
        reject(new Error('request body too large'));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

async function readForm(req) {
  return Object.fromEntries(new URLSearchParams(await readBody(req)));
}

function b64u(value) {
  return Buffer.from(value).toString('base64url');
}

function sha256b64u(value) {
  return crypto.createHash('sha256').update(value).digest('base64url');
}

// OIDC at_hash: base64url of the left half of the access token's hash, with the hash
// function of the ID token's signature algorithm (SHA-256 for RS256/PS256/ES256...).
function atHash(accessToken, alg) {
  const digest = crypto.createHash(`sha${alg.slice(2)}`).update(accessToken).digest();
  return digest.subarray(0, digest.length / 2).toString('base64url');
}

function timingSafeEqualStr(a, b) {
  const ab = Buffer.from(String(a));
  const bb = Buffer.from(String(b));
  return ab.length === bb.length && crypto.timingSafeEqual(ab, bb);
}

// ---------------------------------------------------------------------------------------
// Real provider (panva/oidc-provider)
// ---------------------------------------------------------------------------------------

async function makeProvider(issuer) {
  const { default: Provider } = await import('oidc-provider');

  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const signingKey = {
    ...privateKey.export({ format: 'jwk' }),
    kid: `op-${crypto.randomBytes(4).toString('hex')}`,
    use: 'sig',
    alg: 'RS256',
  };

  const provider = new Provider(issuer, {
    clients: [
      {
        ...CLIENT,
        grant_types: ['authorization_code'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
        id_token_signed_response_alg: 'RS256',
      },
    ],
    jwks: { keys: [signingKey] },
    cookies: { keys: [crypto.randomBytes(32).toString('hex')] },
    pkce: { required: () => true },
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name', 'given_name', 'family_name'],
    },
    features: {
      devInteractions: { enabled: false },
    },
    interactions: {
      url: (ctx, interaction) => `/interaction/${interaction.uid}`,
    },
    async findAccount(ctx, sub) {
      if (sub !== ACCOUNT.sub) return undefined;
      return {
        accountId: sub,
        async claims() {
          return { sub, ...ACCOUNT.claims };
        },
      };
    },
    ttl: {
      AccessToken: 300,
      AuthorizationCode: 60,
      IdToken: 300,
      Interaction: 600,
      Session: 3600,
      Grant: 3600,
    },
  });

  const interactionPath = /^\/interaction\/([A-Za-z0-9_-]+)(?:\/(login|confirm|abort))?$/;

  provider.use(async (ctx, next) => {
    const match = interactionPath.exec(ctx.path);
    if (!match) {
      await next();
      return;
    }
    ctx.set('cache-control', 'no-store');
    const [, uid, action] = match;
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    if (details.uid !== uid) {
      ctx.throw(400, 'interaction mismatch');
    }
    const { prompt, params, session } = details;

    if (ctx.method === 'GET' && !action) {
      ctx.type = 'json';
      ctx.body = {
        uid,
        prompt: prompt.name,
        reasons: prompt.reasons,
        client_id: params.client_id,
        scope: params.scope,
      };
      return;
    }
    if (ctx.method !== 'POST' || !action) {
      ctx.throw(405);
    }

    let result;
    if (action === 'abort') {
      result = { error: 'access_denied', error_description: 'End-User aborted interaction' };
    } else if (action === 'login') {
      if (prompt.name !== 'login') ctx.throw(400, 'not a login prompt');
      const form = await readForm(ctx.req);
      if (form.login !== ACCOUNT.username || !timingSafeEqualStr(form.password, ACCOUNT.password)) {
        ctx.status = 401;
        ctx.type = 'json';
        ctx.body = { error: 'invalid_credentials' };
        return;
      }
      result = { login: { accountId: ACCOUNT.sub } };
    } else {
      if (prompt.name !== 'consent') ctx.throw(400, 'not a consent prompt');
      const { grantId } = details;
      const grant = grantId
        ? await provider.Grant.find(grantId)
        : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
      const missing = prompt.details;
      if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
      if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
      if (missing.missingResourceScopes) {
        for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes)) {
          grant.addResourceScope(indicator, scopes.join(' '));
        }
      }
      const savedGrantId = await grant.save();
      result = { consent: grantId ? {} : { grantId: savedGrantId } };
    }

    const redirectTo = await provider.interactionResult(ctx.req, ctx.res, result, {
      mergeWithLastSubmission: action !== 'login',
    });
    ctx.status = 303;
    ctx.redirect(redirectTo);
  });

  return provider.callback();
}

// ---------------------------------------------------------------------------------------
// Rogue provider: protocol-correct plumbing, deliberately broken ID tokens
// ---------------------------------------------------------------------------------------

const SCENARIOS = new Set([
  'ok', // a correct RS256 ID token (control case)
  'es256', // a correct ES256 ID token
  'ps256', // a correct PS256 ID token
  'multi_aud_azp', // aud = [client, other], azp = client: valid
  'rotated_key', // signed with a key that is published only after the RP fetched the JWKS
  'wrong_aud', // aud = another client
  'multi_aud_no_azp', // aud = [client, other] and no azp
  'wrong_azp', // azp names another client
  'alg_none', // unsigned token, alg "none"
  'hs256', // HMAC-signed with the client secret (algorithm confusion)
  'rs384', // validly signed, but with an algorithm the RP did not pin
  'bad_signature', // signed with an unpublished key under the published kid
  'unknown_kid', // signed with an unpublished key under a kid the JWKS never has
  'expired', // exp in the past (beyond any leeway)
  'iat_future', // issued an hour in the future
  'no_nonce', // nonce claim omitted
  'wrong_nonce', // nonce of another login
  'wrong_iss', // iss names another provider
  'no_sub', // sub omitted
  'bad_at_hash', // at_hash does not match the access token
  'no_id_token', // token response without id_token
  'userinfo_other_sub', // userinfo answers for another subject
  'iss_param_foreign', // authorization response iss parameter names another provider
  'no_iss_param', // authorization response without iss although discovery promises it
]);

async function makeRogue(issuer) {
  const mainKey = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const ecKey = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const unpublishedKey = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const published = [
    // No "alg" on the RSA key: it signs RS256, PS256 and RS384 tokens alike.
    { kid: 'rogue-rsa', alg: undefined, key: mainKey },
    { kid: 'rogue-ec', alg: 'ES256', key: ecKey },
  ];
  const codes = new Map();
  const accessTokens = new Map();
  const otherIssuer = 'https://other-provider.example.test';

  function jwks() {
    return {
      keys: published.map(({ kid, alg, key }) => ({
        ...key.publicKey.export({ format: 'jwk' }),
        kid,
        ...(alg ? { alg } : {}),
        use: 'sig',
      })),
    };
  }

  function sign(header, payload, { alg, privateKey }) {
    const input = `${b64u(JSON.stringify({ ...header, alg }))}.${b64u(JSON.stringify(payload))}`;
    const data = Buffer.from(input);
    let signature;
    switch (alg) {
      case 'none':
        signature = '';
        break;
      case 'HS256':
        signature = crypto.createHmac('sha256', CLIENT.client_secret).update(data).digest('base64url');
        break;
      case 'RS256':
        signature = crypto.sign('sha256', data, privateKey).toString('base64url');
        break;
      case 'RS384':
        signature = crypto.sign('sha384', data, privateKey).toString('base64url');
        break;
      case 'PS256':
        signature = crypto
          .sign('sha256', data, {
            key: privateKey,
            padding: crypto.constants.RSA_PKCS1_PSS_PADDING,
            saltLength: 32,
          })
          .toString('base64url');
        break;
      case 'ES256':
        signature = crypto
          .sign('sha256', data, { key: privateKey, dsaEncoding: 'ieee-p1363' })
          .toString('base64url');
        break;
      default:
        throw new Error(`cannot sign ${alg}`);
    }
    return `${input}.${signature}`;
  }

  function discovery(claimedIssuer) {
    return {
      issuer: claimedIssuer,
      authorization_endpoint: `${issuer}/authorize`,
      token_endpoint: `${issuer}/token`,
      userinfo_endpoint: `${issuer}/userinfo`,
      jwks_uri: `${issuer}/jwks`,
      response_types_supported: ['code'],
      subject_types_supported: ['public'],
      // Deliberately advertises "none" and HS256: the RP must pin its own algorithms.
      id_token_signing_alg_values_supported: ['RS256', 'ES256', 'PS256', 'RS384', 'HS256', 'none'],
      code_challenge_methods_supported: ['S256'],
      token_endpoint_auth_methods_supported: ['client_secret_basic'],
      authorization_response_iss_parameter_supported: true,
    };
  }

  function idTokenFor(entry, accessToken) {
    const now = Math.floor(Date.now() / 1000);
    const { scenario } = entry;
    const claims = {
      iss: scenario === 'wrong_iss' ? otherIssuer : issuer,
      sub: ACCOUNT.sub,
      aud: CLIENT.client_id,
      exp: now + 300,
      iat: now,
      auth_time: now,
      nonce: entry.nonce,
      ...ACCOUNT.claims,
    };
    let signer = { alg: 'RS256', privateKey: mainKey.privateKey };
    let kid = 'rogue-rsa';
    switch (scenario) {
      case 'es256':
        signer = { alg: 'ES256', privateKey: ecKey.privateKey };
        kid = 'rogue-ec';
        break;
      case 'ps256':
        signer.alg = 'PS256';
        break;
      case 'multi_aud_azp':
        claims.aud = [CLIENT.client_id, 'another-client'];
        claims.azp = CLIENT.client_id;
        break;
      case 'rotated_key': {
        const fresh = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
        kid = `rogue-rotated-${published.length}`;
        published.push({ kid, alg: 'RS256', key: fresh });
        signer = { alg: 'RS256', privateKey: fresh.privateKey };
        break;
      }
      case 'wrong_aud':
        claims.aud = 'another-client';
        break;
      case 'multi_aud_no_azp':
        claims.aud = [CLIENT.client_id, 'another-client'];
        break;
      case 'wrong_azp':
        claims.azp = 'another-client';
        break;
      case 'alg_none':
        signer = { alg: 'none' };
        break;
      case 'hs256':
        signer = { alg: 'HS256' };
        break;
      case 'rs384':
        signer.alg = 'RS384';
        break;
      case 'bad_signature':
        signer.privateKey = unpublishedKey.privateKey;
        break;
      case 'unknown_kid':
        signer.privateKey = unpublishedKey.privateKey;
        kid = 'never-published';
        break;
      case 'expired':
        claims.iat = now - 3600;
        claims.auth_time = now - 3600;
        claims.exp = now - 1800;
        break;
      case 'iat_future':
        claims.iat = now + 3600;
        claims.exp = now + 7200;
        break;
      case 'no_nonce':
        delete claims.nonce;
        break;
      case 'wrong_nonce':
        claims.nonce = crypto.randomBytes(16).toString('base64url');
        break;
      case 'no_sub':
        delete claims.sub;
        break;
      default:
        break;
    }
    if (signer.alg !== 'none' && signer.alg !== 'HS256') {
      claims.at_hash = atHash(scenario === 'bad_at_hash' ? 'another access token' : accessToken, signer.alg);
    }
    const header = { typ: 'JWT' };
    if (signer.alg !== 'none') header.kid = kid;
    return sign(header, claims, signer);
  }

  function json(res, status, body, extraHeaders = {}) {
    res.writeHead(status, {
      'content-type': 'application/json',
      'cache-control': 'no-store',
      ...extraHeaders,
    });
    res.end(JSON.stringify(body));
  }

  function clientAuthenticated(req) {
    const header = req.headers.authorization || '';
    if (!header.startsWith('Basic ')) return false;
    const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8');
    const sep = decoded.indexOf(':');
    if (sep < 0) return false;
    const id = decodeURIComponent(decoded.slice(0, sep).replace(/\+/g, ' '));
    const secret = decodeURIComponent(decoded.slice(sep + 1).replace(/\+/g, ' '));
    return id === CLIENT.client_id && timingSafeEqualStr(secret, CLIENT.client_secret);
  }

  return async (req, res) => {
    try {
      const url = new URL(req.url, issuer);
      const path = url.pathname;

      if (req.method === 'GET' && path === '/.well-known/openid-configuration') {
        json(res, 200, discovery(issuer));
        return;
      }
      if (req.method === 'GET' && path === '/liar/.well-known/openid-configuration') {
        // Served under /liar but claims to be the issuer at the root.
        json(res, 200, discovery(issuer));
        return;
      }
      if (req.method === 'GET' && path === '/jwks') {
        json(res, 200, jwks(), { 'content-type': 'application/jwk-set+json' });
        return;
      }
      if (req.method === 'GET' && path === '/authorize') {
        const q = url.searchParams;
        const redirectUri = q.get('redirect_uri');
        if (q.get('client_id') !== CLIENT.client_id || !CLIENT.redirect_uris.includes(redirectUri)) {
          json(res, 400, { error: 'invalid_request', error_description: 'unknown client or redirect_uri' });
          return;
        }
        const scenario = q.get('rogue_scenario') || 'ok';
        if (!SCENARIOS.has(scenario)) {
          json(res, 400, { error: 'invalid_request', error_description: `unknown scenario ${scenario}` });
          return;
        }
        const back = new URL(redirectUri);
        const fail = (error, description) => {
          back.searchParams.set('error', error);
          back.searchParams.set('error_description', description);
          if (q.get('state')) back.searchParams.set('state', q.get('state'));
          back.searchParams.set('iss', issuer);
          res.writeHead(302, { location: back.toString() });
          res.end();
        };
        if (q.get('response_type') !== 'code') return fail('unsupported_response_type', 'code only');
        if (q.get('code_challenge_method') !== 'S256' || !q.get('code_challenge')) {
          return fail('invalid_request', 'PKCE S256 required');
        }
        if (!(q.get('scope') || '').split(' ').includes('openid')) {
          return fail('invalid_scope', 'openid scope required');
        }
        const code = crypto.randomBytes(24).toString('base64url');
        codes.set(code, {
          scenario,
          nonce: q.get('nonce'),
          codeChallenge: q.get('code_challenge'),
          redirectUri,
          expiresAt: Date.now() + 60_000,
        });
        back.searchParams.set('code', code);
        if (q.get('state')) back.searchParams.set('state', q.get('state'));
        if (scenario === 'iss_param_foreign') back.searchParams.set('iss', otherIssuer);
        else if (scenario !== 'no_iss_param') back.searchParams.set('iss', issuer);
        res.writeHead(302, { location: back.toString() });
        res.end();
        return;
      }
      if (req.method === 'POST' && path === '/token') {
        if (!clientAuthenticated(req)) {
          json(res, 401, { error: 'invalid_client' }, { 'www-authenticate': 'Basic realm="rogue"' });
          return;
        }
        const form = await readForm(req);
        const entry = codes.get(form.code);
        codes.delete(form.code); // single use
        if (
          form.grant_type !== 'authorization_code'
          || !entry
          || entry.expiresAt < Date.now()
          || entry.redirectUri !== form.redirect_uri
          || !form.code_verifier
          || !timingSafeEqualStr(sha256b64u(form.code_verifier), entry.codeChallenge)
        ) {
          json(res, 400, { error: 'invalid_grant', error_description: 'code, redirect_uri or PKCE verifier rejected' });
          return;
        }
        const accessToken = crypto.randomBytes(24).toString('base64url');
        accessTokens.set(accessToken, entry);
        const body = { access_token: accessToken, token_type: 'Bearer', expires_in: 300, scope: 'openid email profile' };
        if (entry.scenario !== 'no_id_token') body.id_token = idTokenFor(entry, accessToken);
        json(res, 200, body);
        return;
      }
      if (req.method === 'GET' && path === '/userinfo') {
        const auth = req.headers.authorization || '';
        const entry = auth.startsWith('Bearer ') ? accessTokens.get(auth.slice(7)) : undefined;
        if (!entry) {
          json(res, 401, { error: 'invalid_token' }, { 'www-authenticate': 'Bearer error="invalid_token"' });
          return;
        }
        const sub = entry.scenario === 'userinfo_other_sub' ? 'somebody-else' : ACCOUNT.sub;
        json(res, 200, { sub, ...ACCOUNT.claims });
        return;
      }
      json(res, 404, { error: 'not_found' });
    } catch (err) {
      console.error(err);
      if (!res.headersSent) json(res, 500, { error: 'server_error' });
      else res.end();
    }
  };
}

// ---------------------------------------------------------------------------------------

const server = http.createServer();
server.listen(Number(args.port), '127.0.0.1', async () => {
  try {
    const { port } = server.address();
    const issuer = `http://127.0.0.1:${port}`;
    const handler = args.mode === 'rogue' ? await makeRogue(issuer) : await makeProvider(issuer);
    server.on('request', handler);
    const ready = JSON.stringify({ port, issuer, mode: args.mode });
    if (args['ready-file']) {
      // Write then rename so a reader never sees a half-written file.
      fs.writeFileSync(`${args['ready-file']}.tmp`, ready);
      fs.renameSync(`${args['ready-file']}.tmp`, args['ready-file']);
    }
    console.log(`ready ${ready}`);
  } catch (err) {
    console.error(err);
    process.exit(1);
  }
});

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    server.close();
    server.closeAllConnections();
    process.exit(0);
  });
}
