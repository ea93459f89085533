import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose';
import { countRowsWithRawToken, countSessionRows, countSessionRowsForEmail, sessionRecordsForEmail } from './db';
import {
  ADMIN,
  COOKIE,
  DEMO,
  expect,
  expectMe,
  expectUnauthorized,
  onlySessionCookie,
  other,
  requestCookie,
  setCookies,
  signInHttp,
  STRATEGIES,
  test,
} from './fixtures';

interface PublicJwk {
  kty: string;
  crv: string;
  x: string;
  kid: string;
  alg: string;
  use: string;
}

test.describe('database strategy', () => {
  test('the cookie is an opaque token; the database stores only its hash; sign-out deletes the row', async ({ page, context, playwright, baseURL, signIn }) => {
    await signIn(page, DEMO, 'database');
    const { value: token } = await onlySessionCookie(context, 'database');
    // base64url, at least 128 bits (22 characters)
    expect(token).toMatch(/^[A-Za-z0-9_-]{22,}$/);

    expect(await countSessionRows(token)).toBe(1);
    expect(await countRowsWithRawToken(token)).toBe(0);

    await page.getByRole('button', { name: 'Sign out' }).click();
    await expect(page).toHaveURL(/\/(login)?(\?.*)?$/);
    await expect.poll(() => countSessionRows(token)).toBe(0);

    // A copy of the old cookie is worthless: the server revoked it.
    const replay = await playwright.request.newContext({ baseURL, extraHTTPHeaders: { cookie: `${COOKIE.database}=${token}` } });
    await expectUnauthorized(await replay.get('/api/me'));
    await replay.dispose();
  });

  test('each sign-in gets its own row; signing out one leaves the other', async ({ browser, newUser, signIn }) => {
    const user = await newUser('two-devices');
    const email = user.email;
    const first = await browser.newContext();
    const second = await browser.newContext();
    try {
      const firstPage = await first.newPage();
      await signIn(firstPage, user, 'database');
      const secondPage = await second.newPage();
      await signIn(secondPage, user, 'database');

      const a = (await onlySessionCookie(first, 'database')).value;
      const b = (await onlySessionCookie(second, 'database')).value;
      expect(a).not.toBe(b);
      expect(await countSessionRowsForEmail(email)).toBe(2);

      await firstPage.getByRole('button', { name: 'Sign out' }).click();
      await expect.poll(() => countSessionRows(a)).toBe(0);
      expect(await countSessionRows(b)).toBe(1);
      await secondPage.reload();
      await expect(secondPage.getByText('Strategy: database')).toBeVisible();
    } finally {
      await first.close();
      await second.close();
    }
  });
});

test.describe('jwt strategy', () => {
  test('the JWKS publishes public Ed25519 keys only', async ({ request }) => {
    const response = await request.get('/.well-known/jwks.json');
    expect(response.status()).toBe(200);
    expect(response.headers()['content-type']).toContain('json');
    const jwks = (await response.json()) as { keys: PublicJwk[] };
    expect(Object.keys(jwks)).toEqual(['keys']);
    expect(jwks.keys.length).toBeGreaterThan(0);
    for (const key of jwks.keys) {
      expect(Object.keys(key).sort()).toEqual(['alg', 'crv', 'kid', 'kty', 'use', 'x']);
      expect(key).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', use: 'sig' });
      expect(key.x).toMatch(/^[A-Za-z0-9_-]{43}$/); // 32 bytes
      expect(key.kid.length).toBeGreaterThan(0);
    }
    expect(new Set(jwks.keys.map((key) => key.kid)).size).toBe(jwks.keys.length);
  });

  test('the cookie is a compact JWS that verifies with the JWKS and carries the claims', async ({ page, context, request, signIn }) => {
    await signIn(page, DEMO, 'jwt');
    const { value: token } = await onlySessionCookie(context, 'jwt');
    const segments = token.split('.');
    expect(segments).toHaveLength(3);
    for (const segment of segments) expect(segment).toMatch(/^[A-Za-z0-9_-]+$/);

    const header = decodeProtectedHeader(token);
    expect(header.alg).toBe('EdDSA');
    expect(typeof header.kid).toBe('string');

    const jwks = (await (await request.get('/.well-known/jwks.json')).json()) as JSONWebKeySet;
    expect(jwks.keys.map((key) => key.kid)).toContain(header.kid);
    const { payload, protectedHeader } = await jwtVerify(token, createLocalJWKSet(jwks), { algorithms: ['EdDSA'] });
    expect(protectedHeader.kid).toBe(header.kid);
    for (const claim of ['iss', 'aud', 'sub', 'iat', 'exp', 'sid'] as const) {
      expect(payload[claim], `claim ${claim}`).toBeDefined();
    }
    const now = Math.floor(Date.now() / 1000);
    expect(payload.iat!).toBeLessThanOrEqual(now + 5);
    expect(payload.exp!).toBeGreaterThan(now);
    expect(payload.exp!).toBeGreaterThan(payload.iat!);
    expect(typeof payload.sid).toBe('string');
    // no secrets in a token anyone holding it can read
    expect(JSON.stringify(payload)).not.toMatch(/password|hash/i);

    // the token's subject is the signed-in user
    const me = await expectMe(await page.request.get('/api/me'), { email: DEMO.email, strategy: 'jwt' });
    expect(payload.sub).toBe(me.user.id);
    // and /api/me reports the token's own expiry
    expect(Math.abs(Date.parse(me.expires) / 1000 - payload.exp!)).toBeLessThanOrEqual(1);
  });

  test('a JWT sign-in stores a session record (no token) that sign-out revokes; a copied cookie is then refused', async ({ page, context, request, newUser, signIn }) => {
    const user = await newUser('hybrid');
    const email = user.email;
    await signIn(page, user, 'jwt');
    const cookie = await onlySessionCookie(context, 'jwt');
    expect(await sessionRecordsForEmail(email)).toEqual([{ strategy: 'jwt', sessionToken: null, revoked: false }]);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await expect(page).toHaveURL(/\/login/);
    expect(await sessionRecordsForEmail(email)).toEqual([{ strategy: 'jwt', sessionToken: null, revoked: true }]);
    // The server runs in strict revocation mode (the default): the stolen copy is refused at once.
    const replay = await request.get('/api/me', { headers: { cookie: `sot.jwt=${cookie.value}` } });
    expect(replay.status()).toBe(401);
  });
});

for (const strategy of STRATEGIES) {
  test.describe(`${strategy} strategy over HTTP`, () => {
    test('csrf + credentials callback sets only the strategy cookie; /api/me has the contract shape', async ({ request }) => {
      const response = await signInHttp(request, { ...DEMO, strategy });
      expect(response.status()).toBe(302);
      const cookies = setCookies(response);
      const line = cookies.get(COOKIE[strategy]);
      expect(line, `Set-Cookie ${COOKIE[strategy]}`).toBeTruthy();
      expect(line).toMatch(/;\s*HttpOnly/i);
      expect(line).toMatch(/;\s*SameSite=Lax/i);
      expect(line).toMatch(/;\s*Path=\/(;|$)/i);
      expect(cookies.has(COOKIE[other(strategy)])).toBe(false);
      expect(await requestCookie(request, COOKIE[other(strategy)])).toBeUndefined();

      const me = await expectMe(await request.get('/api/me'), { email: DEMO.email, strategy });
      expect(me.user.name).toBe(DEMO.name);
      expect(JSON.stringify(me)).not.toMatch(/password/i);
    });

    test('a wrong password over HTTP sets no session cookie', async ({ request }) => {
      const response = await signInHttp(request, { email: DEMO.email, password: 'wrong-password-000', strategy });
      expect(response.status()).toBeLessThan(500);
      const cookies = setCookies(response);
      expect(cookies.has(COOKIE.database) || cookies.has(COOKIE.jwt)).toBe(false);
      await expectUnauthorized(await request.get('/api/me'));
    });
  });
}

test('two browser contexts with different strategies work side by side', async ({ browser, signIn }) => {
  const dbContext = await browser.newContext();
  const jwtContext = await browser.newContext();
  try {
    const dbPage = await dbContext.newPage();
    const jwtPage = await jwtContext.newPage();
    await Promise.all([signIn(dbPage, DEMO, 'database'), signIn(jwtPage, ADMIN, 'jwt')]);

    await onlySessionCookie(dbContext, 'database');
    await onlySessionCookie(jwtContext, 'jwt');

    await expectMe(await dbPage.request.get('/api/me'), { email: DEMO.email, strategy: 'database' });
    await expectMe(await jwtPage.request.get('/api/me'), { email: ADMIN.email, strategy: 'jwt' });

    await Promise.all([dbPage.reload(), jwtPage.reload()]);
    await expect(dbPage.getByText('Strategy: database')).toBeVisible();
    await expect(dbPage.getByText(DEMO.email, { exact: true })).toBeVisible();
    await expect(jwtPage.getByText('Strategy: jwt')).toBeVisible();
    await expect(jwtPage.getByText(ADMIN.email, { exact: true })).toBeVisible();

    // signing one out leaves the other signed in
    await dbPage.getByRole('button', { name: 'Sign out' }).click();
    await expect(dbPage).toHaveURL(/\/(login)?(\?.*)?$/);
    await expectUnauthorized(await dbPage.request.get('/api/me'));
    await expectMe(await jwtPage.request.get('/api/me'), { email: ADMIN.email, strategy: 'jwt' });
    await onlySessionCookie(jwtContext, 'jwt');
  } finally {
    await dbContext.close();
    await jwtContext.close();
  }
});
