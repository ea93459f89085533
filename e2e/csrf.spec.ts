import { type APIRequestContext } from '@playwright/test';
import { COOKIE, DEMO, STRATEGIES, expect, expectMe, expectSignedOut, expectUnauthorized, requestCookie, signInHttp, test } from './fixtures';

/**
 * The cross-site rule where a session cookie is what a state-changing request
 * acts with: route handlers (no proxy runs on them: lib/auth/route.ts), pages
 * and server actions (the proxy). Every current browser says where a
 * state-changing request comes from (Origin, Sec-Fetch-Site), so one that
 * carries a session cookie and says nothing is refused; API clients without
 * cookies (a password, a refresh token, a Bearer token) are not browsers and
 * pass. Cross-site requests in general: hardening.spec.ts. Requirement ids are
 * OWASP ASVS 5.0.
 */

const FORBIDDEN = { error: 'forbidden' };

async function expectForbidden(response: Promise<import('@playwright/test').APIResponse>, label: string): Promise<void> {
  const answer = await response;
  expect(answer.status(), label).toBe(403);
  expect(await answer.json(), label).toEqual(FORBIDDEN);
}

async function signedInClient(playwright: { request: { newContext(options: { baseURL?: string }): Promise<APIRequestContext> } }, baseURL: string, strategy: (typeof STRATEGIES)[number]) {
  const client = await playwright.request.newContext({ baseURL });
  expect((await signInHttp(client, { ...DEMO, strategy })).status()).toBe(302);
  expect(await requestCookie(client, COOKIE[strategy])).toBeTruthy();
  return client;
}

for (const strategy of STRATEGIES) {
  // ASVS 3.5.1 / 3.5.3: a cookie-authenticated state change must show it comes from this origin.
  test(`${strategy}: a state change with the session cookie and neither Origin nor Sec-Fetch-Site is refused`, async ({ playwright, baseURL }) => {
    const client = await signedInClient(playwright, baseURL!, strategy);

    // Route handlers that act with the cookie: the session exchange, sign-out, sign-in (which would replace the session).
    await expectForbidden(client.post('/api/token'), 'POST /api/token (session exchange)');
    await expectForbidden(client.post('/api/auth/signout'), 'POST /api/auth/signout');
    await expectForbidden(client.post('/api/auth/callback/credentials', { form: { email: DEMO.email, password: DEMO.password, strategy } }), 'credentials callback');
    // Pages and server actions (the proxy): a form post, and a post shaped like a server action call.
    await expectForbidden(client.post('/login', { form: { email: DEMO.email } }), 'POST /login');
    await expectForbidden(client.post('/dashboard', { headers: { 'next-action': '0'.repeat(42), 'content-type': 'text/plain;charset=UTF-8' }, data: '[]' }), 'server action on /dashboard');

    // None of them did anything: the session is the same one.
    await expectMe(await client.get('/api/me'), { email: DEMO.email, strategy });

    // Control: the same requests saying where they come from are accepted.
    const sameOrigin = { origin: new URL(baseURL!).origin, 'sec-fetch-site': 'same-origin' };
    const exchange = await client.post('/api/token', { headers: sameOrigin });
    expect(exchange.status()).toBe(200);
    expect(typeof ((await exchange.json()) as { access_token?: unknown }).access_token).toBe('string');
    const signOut = await client.post('/api/auth/signout', { headers: sameOrigin });
    expect(signOut.status()).toBe(200);
    await expectUnauthorized(await client.get('/api/me'));
    await client.dispose();
  });

  test(`${strategy}: a cross-site state change with the session cookie is refused, pages and server actions included`, async ({ playwright, baseURL }) => {
    const client = await signedInClient(playwright, baseURL!, strategy);
    const crossSite: Record<string, string>[] = [{ origin: 'https://evil.example' }, { 'sec-fetch-site': 'cross-site' }, { origin: 'null' }];
    for (const headers of crossSite) {
      const label = JSON.stringify(headers);
      await expectForbidden(client.post('/api/token', { headers }), `exchange ${label}`);
      await expectForbidden(client.post('/api/auth/signout', { headers }), `sign-out ${label}`);
      await expectForbidden(client.post('/dashboard', { headers: { ...headers, 'next-action': '0'.repeat(42) }, data: '[]' }), `server action ${label}`);
    }
    await expectMe(await client.get('/api/me'), { email: DEMO.email, strategy });
    await client.dispose();
  });
}

test('API clients without cookies need neither Origin nor Sec-Fetch-Site: password grant, Bearer, refresh, revoke', async ({ request }) => {
  const grant = await request.post('/api/token', { data: { email: DEMO.email, password: DEMO.password } });
  expect(grant.status()).toBe(200);
  const pair = (await grant.json()) as { access_token: string; refresh_token: string };
  const me = await request.get('/api/me', { headers: { authorization: `Bearer ${pair.access_token}` } });
  expect(me.status()).toBe(200);
  expect(((await me.json()) as { user: { email: string } }).user.email).toBe(DEMO.email);
  const refreshed = await request.post('/api/token/refresh', { data: { refresh_token: pair.refresh_token } });
  expect(refreshed.status()).toBe(200);
  const next = (await refreshed.json()) as { refresh_token: string };
  expect((await request.post('/api/token/revoke', { data: { token: next.refresh_token } })).status()).toBe(200);
  // The session exchange without a cookie is simply unauthenticated, not a cross-site refusal.
  await expectUnauthorized(await request.post('/api/token'));
});

test("the browser's own state changes still pass: the sign-out button (a server action)", async ({ page, signIn }) => {
  await signIn(page, DEMO, 'jwt');
  await page.getByRole('button', { name: 'Sign out' }).first().click();
  await expect(page).toHaveURL(/\/login/);
  await expectSignedOut(page);
});
