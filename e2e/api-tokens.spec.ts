import { type APIRequestContext } from '@playwright/test';
import { decodeProtectedHeader, decodeJwt } from 'jose';
import {
  DEMO,
  expect,
  expectMe,
  expectUnauthorized,
  requestCookie,
  signInHttp,
  test,
} from './fixtures';

/**
 * The token API over real HTTP, as a mobile app or CLI would use it: access
 * token + rotating refresh token, reuse detection, revocation, and the rule
 * that token kinds never cross.
 */

interface Pair {
  access_token: string;
  token_type: string;
  expires_in: number;
  refresh_token: string;
}

async function tokenPair(request: APIRequestContext): Promise<Pair> {
  const response = await request.post('/api/token', { data: { email: DEMO.email, password: DEMO.password } });
  expect(response.status()).toBe(200);
  expect(response.headers()['cache-control']).toContain('no-store');
  return (await response.json()) as Pair;
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

test('POST /api/token returns an RFC 9068 access token and an opaque refresh token', async ({ request }) => {
  const pair = await tokenPair(request);
  expect(Object.keys(pair).sort()).toEqual(['access_token', 'expires_in', 'refresh_token', 'token_type']);
  expect(pair.token_type).toBe('Bearer');
  expect(pair.expires_in).toBeGreaterThan(0);
  expect(pair.expires_in).toBeLessThanOrEqual(15 * 60);
  expect(decodeProtectedHeader(pair.access_token)).toMatchObject({ alg: 'EdDSA', typ: 'at+jwt' });
  const claims = decodeJwt(pair.access_token);
  for (const claim of ['iss', 'aud', 'sub', 'exp', 'iat', 'jti', 'sid', 'client_id']) expect(claims).toHaveProperty(claim);
  expect(pair.refresh_token).toMatch(/^[A-Za-z0-9_-]{43}$/);
});

test('Bearer access token works on /api/me', async ({ request }) => {
  const pair = await tokenPair(request);
  // A Bearer access token is its own session kind: the token family it belongs to.
  await expectMe(await request.get('/api/me', { headers: bearer(pair.access_token) }), { email: DEMO.email, strategy: 'api' });
});

test('refresh rotates; replaying a spent refresh token answers 401 and revokes the whole family', async ({ request }) => {
  const first = await tokenPair(request);
  const second = await request.post('/api/token/refresh', { data: { refresh_token: first.refresh_token } });
  expect(second.status()).toBe(200);
  const secondPair = (await second.json()) as Pair;
  expect(secondPair.refresh_token).not.toBe(first.refresh_token);

  const third = await request.post('/api/token/refresh', { data: { refresh_token: secondPair.refresh_token } });
  expect(third.status()).toBe(200);
  const thirdPair = (await third.json()) as Pair;

  // The first refresh token was spent and its successor has been used too: a second party holds it.
  const reuse = await request.post('/api/token/refresh', { data: { refresh_token: first.refresh_token } });
  expect(reuse.status()).toBe(401);
  expect(await reuse.json()).toEqual({ error: 'invalid_grant' });

  // The family is revoked: the newest refresh token and every access token of it are refused.
  expect((await request.post('/api/token/refresh', { data: { refresh_token: thirdPair.refresh_token } })).status()).toBe(401);
  await expectUnauthorized(await request.get('/api/me', { headers: bearer(thirdPair.access_token) }));
  await expectUnauthorized(await request.get('/api/me', { headers: bearer(first.access_token) }));
});

test('concurrent refreshes with one refresh token do not log the client out', async ({ request }) => {
  const pair = await tokenPair(request);
  const answers = await Promise.all(
    Array.from({ length: 4 }, () => request.post('/api/token/refresh', { data: { refresh_token: pair.refresh_token } })),
  );
  expect(answers.map((answer) => answer.status())).toEqual([200, 200, 200, 200]);
  const successors = new Set(await Promise.all(answers.map(async (answer) => ((await answer.json()) as Pair).refresh_token)));
  expect(successors.size).toBe(1);
  const next = await request.post('/api/token/refresh', { data: { refresh_token: [...successors][0] } });
  expect(next.status()).toBe(200);
});

test('bad credentials and bad bodies get generic 4xx answers', async ({ request }) => {
  const wrong = await request.post('/api/token', { data: { email: DEMO.email, password: 'not-the-password' } });
  expect(wrong.status()).toBe(401);
  expect(await wrong.json()).toEqual({ error: 'invalid_grant' });
  const unknown = await request.post('/api/token', { data: { email: 'nobody@example.com', password: 'not-the-password' } });
  expect(unknown.status()).toBe(401);
  expect(await unknown.json()).toEqual({ error: 'invalid_grant' });
  for (const body of ['{"email":', '[1,2]', '{"email":"x","password":1}']) {
    const response = await request.post('/api/token', { headers: { 'content-type': 'application/json' }, data: body });
    expect(response.status(), body).toBe(400);
    expect(await response.json()).toEqual({ error: 'invalid_request' });
  }
  const huge = await request.post('/api/token', { data: { email: DEMO.email, password: 'x'.repeat(20_000) } });
  expect(huge.status()).toBe(400);
  const refreshGarbage = await request.post('/api/token/refresh', { data: { refresh_token: 'nope' } });
  expect(refreshGarbage.status()).toBe(401);
});

test('token kinds never cross', async ({ request, playwright, baseURL }) => {
  const pair = await tokenPair(request);
  // An access token at the refresh endpoint, a refresh token as a bearer token.
  expect((await request.post('/api/token/refresh', { data: { refresh_token: pair.access_token } })).status()).toBe(401);
  await expectUnauthorized(await request.get('/api/me', { headers: bearer(pair.refresh_token) }));
  // A browser-session JWT as a bearer token.
  const browser = await playwright.request.newContext({ baseURL });
  await signInHttp(browser, { ...DEMO, strategy: 'jwt' });
  const browserJwt = await requestCookie(browser, 'sot.jwt');
  expect(browserJwt).toBeTruthy();
  await expectUnauthorized(await request.get('/api/me', { headers: bearer(String(browserJwt)) }));
  // …and an access token in the browser cookie.
  await expectUnauthorized(await request.get('/api/me', { headers: { cookie: `sot.jwt=${pair.access_token}` } }));
  await browser.dispose();
});

test('garbage and oversized Authorization headers answer 401, never 500', async ({ request }) => {
  for (const header of ['Bearer', 'Bearer ', 'Basic Zm9vOmJhcg==', 'Bearer a.b', 'Bearer %%%.%%%.%%%', `Bearer ${'a'.repeat(6000)}.b.c`, 'bearer x.y.z']) {
    const response = await request.get('/api/me', { headers: { authorization: header } });
    expect(response.status(), header.slice(0, 20)).toBe(401);
    expect(response.headers()['www-authenticate']).toContain('invalid_token');
  }
});

test('a bad Authorization header is not rescued by a valid cookie', async ({ playwright, baseURL }) => {
  const client = await playwright.request.newContext({ baseURL });
  await signInHttp(client, { ...DEMO, strategy: 'database' });
  expect((await client.get('/api/me')).status()).toBe(200);
  await expectUnauthorized(await client.get('/api/me', { headers: { authorization: 'Bearer a.b.c' } }));
  await client.dispose();
});

test('a browser session exchanges itself for tokens, same origin only', async ({ playwright, baseURL }) => {
  const client = await playwright.request.newContext({ baseURL });
  await signInHttp(client, { ...DEMO, strategy: 'database' });
  const sameOrigin = await client.post('/api/token', { headers: { origin: String(baseURL), 'sec-fetch-site': 'same-origin' } });
  expect(sameOrigin.status()).toBe(200);
  const crossSite = await client.post('/api/token', { headers: { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' } });
  expect(crossSite.status()).toBe(403);
  await client.dispose();
});

test('POST /api/token/revoke ends the family behind a token', async ({ request }) => {
  const pair = await tokenPair(request);
  const revoke = await request.post('/api/token/revoke', { data: { token: pair.refresh_token } });
  expect(revoke.status()).toBe(200);
  await expectUnauthorized(await request.get('/api/me', { headers: bearer(pair.access_token) }));
  expect((await request.post('/api/token/refresh', { data: { refresh_token: pair.refresh_token } })).status()).toBe(401);
});

test('the JWKS is cacheable and lists only public keys', async ({ request }) => {
  const response = await request.get('/.well-known/jwks.json');
  expect(response.headers()['cache-control']).toMatch(/public, max-age=\d+/);
  const { keys } = (await response.json()) as { keys: Record<string, unknown>[] };
  for (const key of keys) expect(key).not.toHaveProperty('d');
});
