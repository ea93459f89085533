import { randomBytes } from 'node:crypto';
import { type APIRequestContext } from '@playwright/test';
import { SignJWT, generateKeyPair } from 'jose';
import { tokenHash } from './db';
import {
  COOKIE,
  decodeSegment,
  DEMO,
  encodeSegment,
  expect,
  expectDashboardRedirect,
  expectUnauthorized,
  RADIO,
  requestCookie,
  signInHttp,
  signInUI,
  STRATEGIES,
  test,
  type Strategy,
} from './fixtures';

/** callbackUrl values that must never be followed off this origin. */
const HOSTILE_CALLBACKS = ['https://evil.example/', '//evil.example', '/\\evil.example', 'javascript:alert(1)'];

test.describe('signed out', () => {
  test('GET /dashboard redirects to /login with the callbackUrl', async ({ request, baseURL }) => {
    await expectDashboardRedirect(await request.get('/dashboard', { maxRedirects: 0 }), baseURL!);
  });

  test('GET /api/me is 401 with a JSON error and a Bearer challenge', async ({ request }) => {
    await expectUnauthorized(await request.get('/api/me'));
  });

  test('the overview page links to the sign-in page', async ({ page }) => {
    await page.goto('/');
    await page.getByRole('link', { name: /sign in/i }).first().click();
    await expect(page).toHaveURL(/\/login(\?.*)?$/);
    await expect(page.getByRole('radiogroup', { name: 'Session strategy' })).toBeVisible();
    await page.getByRole('link', { name: /create|register/i }).first().click();
    await expect(page).toHaveURL(/\/register$/);
  });
});

/** Signs the demo user in over HTTP in a fresh request context and returns the strategy cookie's value. */
async function freshToken(request: APIRequestContext, strategy: Strategy): Promise<string> {
  const response = await signInHttp(request, { ...DEMO, strategy });
  expect(response.status()).toBe(302);
  const token = await requestCookie(request, COOKIE[strategy]);
  expect(token, `${COOKIE[strategy]} cookie after sign-in`).toBeTruthy();
  return token!;
}

/** A signed-in check with a hand-made cookie: /api/me must refuse it and /dashboard must redirect. */
async function expectRejected(request: APIRequestContext, baseURL: string, cookie: string): Promise<void> {
  const headers = { cookie };
  await expectUnauthorized(await request.get('/api/me', { headers }));
  await expectDashboardRedirect(await request.get('/dashboard', { headers, maxRedirects: 0 }), baseURL);
}

for (const strategy of STRATEGIES) {
  test.describe(`${strategy} strategy`, () => {
    test('signing in from the redirect returns to the dashboard', async ({ page }) => {
      await page.goto('/dashboard');
      await expect(page).toHaveURL(/\/login\?callbackUrl=%2Fdashboard$/);
      await page.getByLabel('Email', { exact: true }).fill(DEMO.email);
      await page.getByLabel('Password', { exact: true }).fill(DEMO.password);
      await page.getByRole('radio', { name: RADIO[strategy] }).check();
      await page.getByRole('button', { name: 'Sign in' }).click();
      await expect(page).toHaveURL(/\/dashboard$/);
      await expect(page.getByText(`Strategy: ${strategy}`)).toBeVisible();
    });

    test('a same-origin callbackUrl is honoured', async ({ page }) => {
      await signInUI(page, { ...DEMO, strategy, callbackUrl: '/dashboard/x' });
      await expect.poll(() => new URL(page.url()).pathname).toBe('/dashboard/x');
    });

    for (const callbackUrl of HOSTILE_CALLBACKS) {
      test(`callbackUrl ${JSON.stringify(callbackUrl)} lands on /dashboard`, async ({ page, context, baseURL }) => {
        const offsite: string[] = [];
        await context.route(
          (url) => url.hostname.endsWith('evil.example'),
          async (route) => {
            offsite.push(route.request().url());
            await route.abort();
          },
        );
        await signInUI(page, { ...DEMO, strategy, callbackUrl });
        await expect(page).toHaveURL(`${new URL(baseURL!).origin}/dashboard`);
        await expect(page.getByText(`Strategy: ${strategy}`)).toBeVisible();
        expect(offsite).toEqual([]);
      });
    }

    test('HTTP sign-in ignores off-site callbackUrl values', async ({ request, baseURL }) => {
      for (const callbackUrl of HOSTILE_CALLBACKS) {
        const response = await signInHttp(request, { ...DEMO, strategy, callbackUrl });
        expect(response.status(), `status for ${callbackUrl}`).toBe(302);
        const location = new URL(response.headers()['location'] ?? '', baseURL);
        expect(location.hostname, `Location host for ${callbackUrl}`).not.toContain('evil');
        expect(location.protocol, `Location scheme for ${callbackUrl}`).toMatch(/^https?:$/);
        expect(location.pathname, `Location path for ${callbackUrl}`).toBe('/dashboard');
      }
    });

    test('HTTP sign-in redirects to the origin the request was sent to', async ({ request, baseURL }) => {
      const response = await signInHttp(request, { ...DEMO, strategy });
      expect(response.status()).toBe(302);
      const location = new URL(response.headers()['location'] ?? '', baseURL);
      // a redirect to another host name (say localhost instead of 127.0.0.1) would leave the new cookie behind
      expect(location.origin).toBe(new URL(baseURL!).origin);
      expect(location.pathname).toBe('/dashboard');
    });
  });
}

test.describe('forged credentials are refused', () => {
  test('JWT with a modified signature', async ({ request, playwright, baseURL }) => {
    const api = await playwright.request.newContext({ baseURL });
    const token = await freshToken(api, 'jwt');
    await api.dispose();
    const [header, claims, signature] = token.split('.') as [string, string, string];
    // flip one character in the middle of the signature (the last one may only hold padding bits)
    const i = Math.floor(signature.length / 2);
    const flipped = signature.slice(0, i) + (signature[i] === 'A' ? 'B' : 'A') + signature.slice(i + 1);
    await expectRejected(request, baseURL!, `${COOKIE.jwt}=${header}.${claims}.${flipped}`);
  });

  test('JWT with modified claims and the original signature', async ({ request, playwright, baseURL }) => {
    const api = await playwright.request.newContext({ baseURL });
    const token = await freshToken(api, 'jwt');
    await api.dispose();
    const [header, claims, signature] = token.split('.') as [string, string, string];
    const payload = decodeSegment(claims);
    const forged = encodeSegment({ ...payload, sub: 'someone-else', exp: Number(payload.exp) + 86_400 });
    await expectRejected(request, baseURL!, `${COOKIE.jwt}=${header}.${forged}.${signature}`);
  });

  test('unsigned JWT (alg "none")', async ({ request, playwright, baseURL }) => {
    const api = await playwright.request.newContext({ baseURL });
    const token = await freshToken(api, 'jwt');
    await api.dispose();
    const [header, claims] = token.split('.') as [string, string, string];
    const none = encodeSegment({ ...decodeSegment(header), alg: 'none' });
    await expectRejected(request, baseURL!, `${COOKIE.jwt}=${none}.${claims}.`);
  });

  test('JWT signed by a key the server does not have', async ({ request, playwright, baseURL }) => {
    const api = await playwright.request.newContext({ baseURL });
    const token = await freshToken(api, 'jwt');
    await api.dispose();
    const [header, claims] = token.split('.') as [string, string, string];
    const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
    const original = decodeSegment(header);
    const forged = await new SignJWT(decodeSegment(claims))
      .setProtectedHeader({ alg: 'EdDSA', kid: String(original.kid) })
      .sign(privateKey);
    await expectRejected(request, baseURL!, `${COOKIE.jwt}=${forged}`);
  });

  test('garbage in the JWT cookie', async ({ request, baseURL }) => {
    await expectRejected(request, baseURL!, `${COOKIE.jwt}=not-a-jwt`);
  });

  test('unknown database session token', async ({ request, baseURL }) => {
    await expectRejected(request, baseURL!, `${COOKIE.database}=${randomBytes(32).toString('base64url')}`);
  });

  test('the stored hash of a valid database token is not itself a token', async ({ request, playwright, baseURL }) => {
    const api = await playwright.request.newContext({ baseURL });
    const token = await freshToken(api, 'database');
    // the real token works...
    expect((await api.get('/api/me')).status()).toBe(200);
    await api.dispose();
    // ...but what the database stores for it does not
    await expectRejected(request, baseURL!, `${COOKIE.database}=${tokenHash(token)}`);
  });

  test("one strategy's credential in the other strategy's cookie", async ({ request, playwright, baseURL }) => {
    const api = await playwright.request.newContext({ baseURL });
    const jwt = await freshToken(api, 'jwt');
    const opaque = await freshToken(api, 'database');
    await api.dispose();
    await expectRejected(request, baseURL!, `${COOKIE.database}=${jwt}`);
    await expectRejected(request, baseURL!, `${COOKIE.jwt}=${opaque}`);
  });

  for (const strategy of STRATEGIES) {
    test(`a browser with a forged ${strategy} cookie is sent to the login page`, async ({ page, context, baseURL }) => {
      const value =
        strategy === 'jwt'
          ? `${encodeSegment({ alg: 'EdDSA' })}.${encodeSegment({ sub: 'x', exp: 4102444800 })}.${randomBytes(64).toString('base64url')}`
          : randomBytes(32).toString('base64url');
      await context.addCookies([{ name: COOKIE[strategy], value, url: baseURL!, httpOnly: true, sameSite: 'Lax' }]);
      await page.goto('/dashboard');
      await expect(page).toHaveURL(/\/login\?callbackUrl=%2Fdashboard$/);
      await expect(page.getByRole('button', { name: 'Sign in' })).toBeVisible();
    });
  }
});
