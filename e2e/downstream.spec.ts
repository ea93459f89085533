import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { type APIRequestContext, type APIResponse } from '@playwright/test';
import { SignJWT, base64url, decodeJwt, decodeProtectedHeader, importJWK, type JWK, type JWTPayload, type JSONWebKeySet } from 'jose';
import {
  COOKIE,
  decodeSegment,
  DEMO,
  encodeSegment,
  expect,
  requestCookie,
  signInHttp,
  STRATEGIES,
  test,
} from './fixtures';

/**
 * The downstream service (examples/downstream/service.mjs): another origin that
 * accepts the app's access tokens, verified with the public keys of the app's
 * JWKS and nothing else. scripts/test.mjs starts it next to the app, allowing
 * exactly the app's origin, and passes its address in E2E_DOWNSTREAM_URL.
 */

const DOWNSTREAM_SCRIPT = path.resolve(__dirname, '..', 'examples', 'downstream', 'service.mjs');
const EVIL_ORIGIN = 'https://evil.example';
const VERIFIED_BY = 'downstream service (public key from the JWKS only)';
const INVALID_TOKEN_CHALLENGE = 'Bearer error="invalid_token"';

function downstreamUrl(): string {
  const url = process.env.E2E_DOWNSTREAM_URL;
  if (!url) throw new Error('E2E_DOWNSTREAM_URL is not set: run the suite with scripts/test.mjs (see playwright.config.ts)');
  return url.replace(/\/+$/, '');
}

const greetingUrl = (base = downstreamUrl()) => `${base}/api/greeting`;

function originOf(baseURL: string | undefined): string {
  if (!baseURL) throw new Error('baseURL is not configured');
  return new URL(baseURL).origin;
}

const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

interface TokenResponse {
  access_token: string;
  token_type: string;
  expires_in: number;
  refresh_token: string;
}

interface Greeting {
  message: string;
  sub: string;
  sid: string;
  kid: string;
  expiresAt: string;
  verifiedBy: string;
}

/** A real access token from the app, for the demo user's credentials. */
async function accessToken(request: APIRequestContext): Promise<string> {
  const response = await request.post('/api/token', { data: { email: DEMO.email, password: DEMO.password } });
  expect(response.status(), `POST /api/token: ${await response.text()}`).toBe(200);
  const body = (await response.json()) as TokenResponse;
  expect(body.token_type).toBe('Bearer');
  expect(typeof body.access_token).toBe('string');
  expect(typeof body.refresh_token).toBe('string');
  expect(body.expires_in).toBeGreaterThan(0);
  const header = decodeProtectedHeader(body.access_token);
  expect(header).toMatchObject({ alg: 'EdDSA', typ: 'at+jwt' });
  expect(typeof header.kid).toBe('string');
  return body.access_token;
}

async function expectGreeting(response: APIResponse, token: string): Promise<Greeting> {
  expect(response.status(), await response.text()).toBe(200);
  expect(response.headers()['content-type']).toContain('application/json');
  const body = (await response.json()) as Greeting;
  expect(Object.keys(body).sort()).toEqual(['expiresAt', 'kid', 'message', 'sid', 'sub', 'verifiedBy']);
  const claims = decodeJwt(token);
  expect(body.sub).toBe(claims.sub);
  expect(body.sid).toBe(claims.sid);
  expect(body.kid).toBe(decodeProtectedHeader(token).kid);
  expect(body.expiresAt).toBe(new Date((claims.exp ?? 0) * 1000).toISOString());
  expect(body.verifiedBy).toBe(VERIFIED_BY);
  return body;
}

async function expectRejected(response: APIResponse, label = 'request'): Promise<void> {
  expect(response.status(), `${label}: ${await response.text()}`).toBe(401);
  expect(await response.json()).toEqual({ error: 'unauthorized' });
  expect(response.headers()['www-authenticate']).toBe(INVALID_TOKEN_CHALLENGE);
}

/** Replace one character in the middle of a base64url segment with a different one. */
function flipCharacter(segment: string): string {
  const index = Math.floor(segment.length / 2);
  const replacement = segment[index] === 'A' ? 'B' : 'A';
  return `${segment.slice(0, index)}${replacement}${segment.slice(index + 1)}`;
}

/** The private half of one of the app's signing keys, read from the key file of the server under test. */
async function appPrivateKey(kid: string): Promise<CryptoKey | Uint8Array> {
  const file = process.env.KEYS_FILE;
  if (!file) throw new Error('KEYS_FILE is not set: the e2e suite needs the key file of the server under test');
  const content = JSON.parse(fs.readFileSync(path.resolve(file), 'utf8')) as { keys: { kid: string; privateJwk: JWK }[] };
  const stored = content.keys.find((key) => key.kid === kid);
  if (!stored) throw new Error(`no key ${kid} in ${file}`);
  return importJWK(stored.privateJwk, 'EdDSA');
}

// ------------------------------------------------------------ API checks ---

test.describe('downstream service: access tokens', () => {
  test('a real access token from the app is accepted, with the key from the JWKS', async ({ request }) => {
    // The user the app knows, over its own API.
    expect((await signInHttp(request, { ...DEMO, strategy: 'database' })).status()).toBe(302);
    const me = (await (await request.get('/api/me')).json()) as { user: { id: string } };

    const token = await accessToken(request);
    const claims = decodeJwt(token);
    expect(claims).toMatchObject({ aud: 'session-or-token:api', sub: me.user.id, email: DEMO.email, name: DEMO.name });

    const greeting = await expectGreeting(await request.get(greetingUrl(), { headers: bearer(token) }), token);
    expect(greeting.sub).toBe(me.user.id);
    expect(greeting.message).toBe(`Hello, ${DEMO.name}`);
    expect(Date.parse(greeting.expiresAt)).toBeGreaterThan(Date.now());

    const jwks = (await (await request.get('/.well-known/jwks.json')).json()) as JSONWebKeySet;
    expect(jwks.keys.map((key) => key.kid)).toContain(greeting.kid);
  });

  test('no or malformed Authorization is refused with 401 and a Bearer challenge', async ({ request }) => {
    await expectRejected(await request.get(greetingUrl()), 'no Authorization');
    const token = await accessToken(request);
    const malformed: Record<string, string> = {
      'Basic scheme': `Basic ${Buffer.from(`${DEMO.email}:${DEMO.password}`).toString('base64')}`,
      'other scheme, real token': `Token ${token}`,
      'scheme only': 'Bearer',
      'empty token': 'Bearer ',
      'two segments': `Bearer ${token.split('.').slice(0, 2).join('.')}`,
      'four segments': `Bearer ${token}.AAAA`,
      garbage: 'Bearer not-a-token',
      'token twice': `Bearer ${token} ${token}`,
      'not base64url': `Bearer ${token.replace('.', '.%')}`,
    };
    for (const [label, value] of Object.entries(malformed)) {
      await expectRejected(await request.get(greetingUrl(), { headers: { Authorization: value } }), label);
    }
    // The scheme name is case-insensitive (RFC 7235): the same token still works.
    await expectGreeting(await request.get(greetingUrl(), { headers: { Authorization: `bearer ${token}` } }), token);
  });

  test('a tampered signature or payload is refused', async ({ request }) => {
    const token = await accessToken(request);
    const [header, payload, signature] = token.split('.') as [string, string, string];
    await expectGreeting(await request.get(greetingUrl(), { headers: bearer(token) }), token);

    await expectRejected(
      await request.get(greetingUrl(), { headers: bearer(`${header}.${payload}.${flipCharacter(signature)}`) }),
      'flipped signature',
    );
    await expectRejected(await request.get(greetingUrl(), { headers: bearer(`${header}.${payload}.`) }), 'no signature');
    const otherName = encodeSegment({ ...decodeSegment(payload), name: 'Mallory' });
    await expectRejected(await request.get(greetingUrl(), { headers: bearer(`${header}.${otherName}.${signature}`) }), 'new name');
    const otherSubject = encodeSegment({ ...decodeSegment(payload), sub: 'someone-else' });
    await expectRejected(
      await request.get(greetingUrl(), { headers: bearer(`${header}.${otherSubject}.${signature}`) }),
      'new subject',
    );
    const longerLife = encodeSegment({ ...decodeSegment(payload), exp: Number(decodeSegment(payload).exp) + 86_400 });
    await expectRejected(
      await request.get(greetingUrl(), { headers: bearer(`${header}.${longerLife}.${signature}`) }),
      'later exp',
    );
  });

  test('alg "none" and an HMAC token keyed with the public key are refused', async ({ request }) => {
    const token = await accessToken(request);
    const [header, payload] = token.split('.') as [string, string, string];
    const kid = decodeSegment(header).kid;

    for (const alg of ['none', 'None', 'NONE']) {
      const unsigned = `${encodeSegment({ alg, typ: 'at+jwt', kid })}.${payload}.`;
      await expectRejected(await request.get(greetingUrl(), { headers: bearer(unsigned) }), `alg ${alg}`);
    }

    // Algorithm confusion: HS256 with the published public key as the shared secret.
    const jwks = (await (await request.get('/.well-known/jwks.json')).json()) as JSONWebKeySet;
    const publicJwk = jwks.keys.find((key) => key.kid === kid);
    expect(publicJwk?.x).toBeTruthy();
    for (const secret of [base64url.decode(publicJwk!.x!), new TextEncoder().encode(JSON.stringify(publicJwk))]) {
      const hmac = await new SignJWT(decodeSegment(payload) as JWTPayload)
        .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', kid: kid as string })
        .sign(secret);
      await expectRejected(await request.get(greetingUrl(), { headers: bearer(hmac) }), 'HS256 with the public key');
    }
  });

  test('a browser-session JWT (sot.jwt cookie) is not an access token', async ({ request }) => {
    expect((await signInHttp(request, { ...DEMO, strategy: 'jwt' })).status()).toBe(302);
    const browserJwt = await requestCookie(request, COOKIE.jwt);
    expect(browserJwt, 'sot.jwt cookie').toBeTruthy();
    // A genuine token, signed by the same key: the app itself accepts it as a session.
    expect((await request.get('/api/me')).status()).toBe(200);
    expect(decodeProtectedHeader(browserJwt!)).toMatchObject({ alg: 'EdDSA', typ: 'JWT' });
    expect(decodeJwt(browserJwt!).aud).toBe('sot:browser');

    await expectRejected(await request.get(greetingUrl(), { headers: bearer(browserJwt!) }), 'browser JWT');

    // The opaque database-session cookie is no bearer token either.
    expect((await signInHttp(request, { ...DEMO, strategy: 'database' })).status()).toBe(302);
    const sessionToken = await requestCookie(request, COOKIE.database);
    expect(sessionToken, 'sot.session cookie').toBeTruthy();
    await expectRejected(await request.get(greetingUrl(), { headers: bearer(sessionToken!) }), 'database session token');
  });

  test("tokens signed with the app's own key are refused unless every claim check passes", async ({ request }) => {
    const real = await accessToken(request);
    const base = decodeJwt(real);
    const kid = decodeProtectedHeader(real).kid!;
    const key = await appPrivateKey(kid);
    const now = Math.floor(Date.now() / 1000);

    const forge = (claims: JWTPayload, header: Record<string, unknown> = {}) =>
      new SignJWT(claims).setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt', kid, ...header }).sign(key);
    const without = (claim: string): JWTPayload => Object.fromEntries(Object.entries(base).filter(([name]) => name !== claim));

    // Control: re-signing the real claims unchanged is accepted, so each refusal below is for its one change.
    const copy = await forge({ ...base });
    await expectGreeting(await request.get(greetingUrl(), { headers: bearer(copy) }), copy);

    const cases: [string, Promise<string>][] = [
      ['browser audience', forge({ ...base, aud: 'sot:browser' })],
      ['no audience', forge(without('aud'))],
      ['other issuer', forge({ ...base, iss: 'someone-else' })],
      ['typ JWT', forge({ ...base }, { typ: 'JWT' })],
      ['no typ', forge({ ...base }, { typ: undefined })],
      ['expired a minute ago', forge({ ...base, iat: now - 3600, exp: now - 60 })],
      ['not valid for ten minutes', forge({ ...base, nbf: now + 600 })],
      ['issued in the future', forge({ ...base, iat: now + 600, exp: now + 1200 })],
      ['no sub', forge(without('sub'))],
      ['no exp', forge(without('exp'))],
      ['no iat', forge(without('iat'))],
      ['no jti', forge(without('jti'))],
      ['no sid', forge(without('sid'))],
      ['no client_id', forge(without('client_id'))],
      ['numeric sub', forge({ ...base, sub: 42 as unknown as string })],
      ['unknown kid', forge({ ...base }, { kid: 'no-such-key' })],
      ['no kid', forge({ ...base }, { kid: undefined })],
    ];
    for (const [label, pending] of cases) {
      await expectRejected(await request.get(greetingUrl(), { headers: bearer(await pending) }), label);
    }
  });

  test('an oversized Authorization header is refused, never a server error', async ({ request }) => {
    const token = await accessToken(request);
    const [header, payload, signature] = token.split('.') as [string, string, string];
    const padded = encodeSegment({ ...decodeSegment(payload), pad: 'x'.repeat(9 * 1024) });
    await expectRejected(await request.get(greetingUrl(), { headers: bearer(`${header}.${padded}.${signature}`) }), '9 KB JWS');
    await expectRejected(await request.get(greetingUrl(), { headers: bearer('A'.repeat(8 * 1024 + 1)) }), 'just over 8 KB');

    // Far over any limit: Node's own header limit may answer 431 before the service sees it.
    const huge = await request.get(greetingUrl(), { headers: bearer('A'.repeat(64 * 1024)) });
    expect([401, 431]).toContain(huge.status());

    // The service is still up and still accepts the real token.
    expect(await (await request.get(`${downstreamUrl()}/health`)).json()).toEqual({ ok: true });
    await expectGreeting(await request.get(greetingUrl(), { headers: bearer(token) }), token);
  });

  test('health and unknown routes', async ({ request }) => {
    const health = await request.get(`${downstreamUrl()}/health`);
    expect(health.status()).toBe(200);
    expect(await health.json()).toEqual({ ok: true });
    const missing = await request.get(`${downstreamUrl()}/api/nothing-here`);
    expect(missing.status()).toBe(404);
    expect(missing.headers()['content-type']).toContain('application/json');
    expect(await missing.json()).toEqual({ error: 'not_found' });
  });
});

test.describe('downstream service: CORS', () => {
  const preflight = (request: APIRequestContext, origin: string) =>
    request.fetch(greetingUrl(), {
      method: 'OPTIONS',
      headers: { Origin: origin, 'Access-Control-Request-Method': 'GET', 'Access-Control-Request-Headers': 'authorization' },
    });

  test("the app's origin, exactly, is allowed", async ({ request, baseURL }) => {
    const appOrigin = originOf(baseURL);
    const answer = await preflight(request, appOrigin);
    expect(answer.status()).toBe(204);
    const headers = answer.headers();
    expect(headers['access-control-allow-origin']).toBe(appOrigin);
    expect(headers['access-control-allow-methods']?.split(/,\s*/)).toContain('GET');
    expect(headers['access-control-allow-headers']?.toLowerCase().split(/,\s*/)).toContain('authorization');
    expect(headers['access-control-max-age']).toBe('600');
    expect(headers['vary']).toMatch(/\bOrigin\b/);
    expect(headers['access-control-allow-credentials']).toBeUndefined();

    const token = await accessToken(request);
    const simple = await request.get(greetingUrl(), { headers: { ...bearer(token), Origin: appOrigin } });
    await expectGreeting(simple, token);
    expect(simple.headers()['access-control-allow-origin']).toBe(appOrigin);
    expect(simple.headers()['vary']).toMatch(/\bOrigin\b/);

    // The app's page can read a refusal too.
    const refused = await request.get(greetingUrl(), { headers: { Origin: appOrigin } });
    await expectRejected(refused);
    expect(refused.headers()['access-control-allow-origin']).toBe(appOrigin);
  });

  test('any other origin gets no CORS headers, and its preflight a 403', async ({ request, baseURL }) => {
    const appOrigin = originOf(baseURL);
    const app = new URL(appOrigin);
    const others = [
      EVIL_ORIGIN,
      'null',
      `${appOrigin}.evil.example`,
      `https://${app.host}`,
      `http://localhost:${app.port}`,
      `http://${app.hostname}:${Number(app.port) + 1}`,
    ];
    const token = await accessToken(request);
    for (const origin of others) {
      const answer = await preflight(request, origin);
      expect(answer.status(), `preflight from ${origin}`).toBe(403);
      expect(answer.headers()['access-control-allow-origin'], `preflight from ${origin}`).toBeUndefined();
      expect(answer.headers()['access-control-allow-methods'], `preflight from ${origin}`).toBeUndefined();

      const simple = await request.get(greetingUrl(), { headers: { ...bearer(token), Origin: origin } });
      expect(simple.headers()['access-control-allow-origin'], `GET from ${origin}`).toBeUndefined();
      expect(simple.headers()['vary']).toMatch(/\bOrigin\b/);
    }
  });
});

// ----------------------------------- a separately started service instance ---

interface OwnService {
  child: ChildProcess;
  output: () => string;
  /** Resolves with the address once the service listens; rejects if it exits first. */
  ready: Promise<string>;
  /** Resolves with the exit code and signal. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stop: () => Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts another instance of the downstream service with its own environment. */
function startOwnService(env: Record<string, string>): OwnService {
  const child = spawn(process.execPath, [DOWNSTREAM_SCRIPT], {
    env: { ...process.env, DOWNSTREAM_HOST: '127.0.0.1', DOWNSTREAM_PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    // 'close', not 'exit': by then everything it wrote has been read.
    child.once('close', (code, signal) => resolve({ code, signal }));
  });
  const ready = new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      const match = /listening on (http:\/\/\S+)/.exec(output);
      if (match) resolve(match[1]!);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    void exited.then(() => reject(new Error(`the service exited before listening:\n${output}`)));
  });
  ready.catch(() => {}); // observed by the tests that wait for it
  return {
    child,
    output: () => output,
    ready,
    exited,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

test.describe('downstream service: process', () => {
  test('JWKS unreachable: 503 unavailable, bad tokens still 401; logs carry no token; SIGTERM stops it cleanly', async ({ request, baseURL }) => {
    const token = await accessToken(request);
    const service = startOwnService({
      APP_ORIGIN: originOf(baseURL),
      JWKS_URL: `http://127.0.0.1:${await closedPort()}/.well-known/jwks.json`,
    });
    try {
      const url = await service.ready;
      const unavailable = await request.get(greetingUrl(url), { headers: bearer(token) });
      expect(unavailable.status()).toBe(503);
      expect(await unavailable.json()).toEqual({ error: 'unavailable' });

      await expectRejected(await request.get(greetingUrl(url), { headers: bearer('not-a-token') }), 'garbage');
      const [header, payload] = token.split('.') as [string, string, string];
      const unsigned = `${encodeSegment({ ...decodeSegment(header), alg: 'none' })}.${payload}.`;
      await expectRejected(await request.get(greetingUrl(url), { headers: bearer(unsigned) }), 'alg none');
    } finally {
      const { code, signal } = await service.stop();
      expect({ code, signal }).toEqual({ code: 0, signal: null });
    }
    const log = service.output();
    expect(log).toMatch(/GET \/api\/greeting 503\b/);
    expect(log).toMatch(/GET \/api\/greeting 401\b/);
    expect(log).not.toContain(token.split('.')[2]!);
    expect(log).not.toContain(token.split('.')[1]!);
  });

  test('bad configuration stops start-up with a message naming the variable', async () => {
    const cases: [Record<string, string>, string][] = [
      [{ DOWNSTREAM_PORT: '70000' }, 'DOWNSTREAM_PORT'],
      [{ DOWNSTREAM_PORT: 'four thousand' }, 'DOWNSTREAM_PORT'],
      [{ APP_ORIGIN: 'not a url' }, 'APP_ORIGIN'],
      [{ APP_ORIGIN: 'http://127.0.0.1:3000/dashboard' }, 'APP_ORIGIN'],
      [{ JWKS_URL: 'ftp://127.0.0.1/jwks.json' }, 'JWKS_URL'],
      [{ API_AUDIENCE: ' ' }, 'API_AUDIENCE'],
    ];
    for (const [env, variable] of cases) {
      const service = startOwnService(env);
      const outcome = await Promise.race([service.exited, service.ready.then(() => 'listening' as const)]);
      if (outcome === 'listening') await service.stop();
      expect(outcome, `${JSON.stringify(env)} must not start`).toEqual({ code: 1, signal: null });
      expect(service.output()).toContain(variable);
    }
  });
});

// ------------------------------------------------------------ in Chromium ---

for (const strategy of STRATEGIES) {
  test(`the dashboard calls the downstream service with an access token (${strategy})`, async ({ page, signIn }) => {
    await signIn(page, DEMO, strategy);
    const target = new URL(greetingUrl());
    const answered = page.waitForResponse((response) => {
      const url = new URL(response.url());
      return url.origin === target.origin && url.pathname === target.pathname && response.request().method() === 'GET';
    });
    await page.getByRole('button', { name: 'Call the downstream service' }).click();
    const response = await answered;
    expect(response.status()).toBe(200);

    // The browser sent an access token, not its session cookie.
    const authorization = await response.request().headerValue('authorization');
    expect(authorization).toMatch(/^Bearer [A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    const token = authorization!.slice('Bearer '.length);
    expect(decodeProtectedHeader(token)).toMatchObject({ alg: 'EdDSA', typ: 'at+jwt' });
    expect(await response.request().headerValue('cookie')).toBeNull();

    await expect(page.getByTestId('downstream-result')).toContainText(`Hello, ${DEMO.name}`);
    const me = (await (await page.request.get('/api/me')).json()) as { user: { id: string } };
    expect(decodeJwt(token).sub).toBe(me.user.id);
  });
}

test('a page on another origin cannot call the downstream service, even with a valid token', async ({ page, request, baseURL }) => {
  const token = await accessToken(request);
  // Runs in the page: a plain fetch, with the token when there is one.
  const callDownstream = ({ url, token: bearerToken }: { url: string; token: string }) =>
    fetch(url, bearerToken ? { headers: { Authorization: `Bearer ${bearerToken}` } } : {}).then(
      async (response) => ({ fetched: true, status: response.status, body: await response.text() }),
      (error: unknown) => ({ fetched: false, status: 0, body: error instanceof Error ? error.name : String(error) }),
    );
  const args = { url: greetingUrl(), token };

  // Control: the same call from a page of the app's own origin works.
  await page.goto('/login');
  expect(await page.evaluate(callDownstream, args)).toMatchObject({ fetched: true, status: 200 });

  const elsewhere = http.createServer((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    res.end('<!doctype html><html><head><title>Elsewhere</title></head><body><p>another origin</p></body></html>');
  });
  await new Promise<void>((resolve) => elsewhere.listen(0, '127.0.0.1', resolve));
  try {
    const otherOrigin = `http://127.0.0.1:${(elsewhere.address() as AddressInfo).port}`;
    expect(otherOrigin).not.toBe(originOf(baseURL));
    await page.goto(otherOrigin);
    await expect(page).toHaveTitle('Elsewhere');

    // With the token (preflighted): the preflight is refused, fetch rejects.
    expect(await page.evaluate(callDownstream, args)).toEqual({ fetched: false, status: 0, body: 'TypeError' });
    // Without it (a simple request, no preflight): the answer carries no CORS header, so it cannot be read.
    expect(await page.evaluate(callDownstream, { url: greetingUrl(), token: '' })).toEqual({
      fetched: false,
      status: 0,
      body: 'TypeError',
    });
  } finally {
    elsewhere.closeAllConnections();
    await new Promise<void>((resolve) => elsewhere.close(() => resolve()));
  }
});
