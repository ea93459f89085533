import { type APIResponse } from '@playwright/test';
import {
  ADMIN,
  DEMO,
  expect,
  expectUnauthorized,
  signInHttp,
  STRATEGIES,
  test,
} from './fixtures';

/**
 * Headers, CSRF, caching and hostile input, over real HTTP and in Chromium.
 * Requirement ids are OWASP ASVS 5.0.
 */

function cspDirectives(response: APIResponse): Map<string, string> {
  const header = response.headers()['content-security-policy'] ?? '';
  return new Map(
    header
      .split(';')
      .map((part) => part.trim())
      .filter(Boolean)
      .map((part) => {
        const [name, ...values] = part.split(/\s+/);
        return [name ?? '', values.join(' ')] as [string, string];
      }),
  );
}

function expectStrictCsp(response: APIResponse, path: string): string {
  const csp = cspDirectives(response);
  expect(csp.get('object-src'), path).toBe("'none'");
  expect(csp.get('base-uri'), path).toBe("'none'");
  expect(csp.get('frame-ancestors'), path).toBe("'none'");
  const script = csp.get('script-src') ?? '';
  expect(script, path).toMatch(/'nonce-[A-Za-z0-9+/=]{16,}'/);
  expect(script, path).not.toContain("'unsafe-inline'");
  return script;
}

// ASVS 3.4.3 (CSP with object-src/base-uri 'none' and nonces), 3.4.6 (frame-ancestors), 3.4.5 (Referrer-Policy), 3.4.4 (nosniff).
test('every page sends a nonce CSP and the security headers, signed in or not', async ({ playwright, baseURL }) => {
  const publicPages = ['/', '/login', '/register'];
  const client = await playwright.request.newContext({ baseURL });
  const nonces = new Set<string>();
  for (const path of publicPages) {
    const response = await client.get(path);
    expect(response.status(), path).toBe(200);
    nonces.add(expectStrictCsp(response, path));
    expect(response.headers()['referrer-policy'], path).toBe('strict-origin-when-cross-origin');
    expect(response.headers()['x-content-type-options'], path).toBe('nosniff');
  }
  await signInHttp(client, { ...DEMO, strategy: 'database' });
  for (const path of ['/dashboard', '/dashboard/sessions', '/dashboard/security']) {
    const response = await client.get(path);
    expect(response.status(), path).toBe(200);
    nonces.add(expectStrictCsp(response, path));
  }
  const admin = await playwright.request.newContext({ baseURL });
  await signInHttp(admin, { ...ADMIN, strategy: 'jwt' });
  const adminPage = await admin.get('/admin');
  expect(adminPage.status()).toBe(200);
  nonces.add(expectStrictCsp(adminPage, '/admin'));
  expect(nonces.size, 'a fresh nonce per response').toBe(publicPages.length + 4);
  await client.dispose();
  await admin.dispose();
});

// ASVS 3.4.3: the CSP really holds — the app runs in Chromium with no violation reported.
test('pages run under the CSP without violations in Chromium', async ({ page, signIn }) => {
  const violations: string[] = [];
  page.on('console', (message) => {
    if (/Content Security Policy|Refused to/i.test(message.text())) violations.push(message.text());
  });
  await signIn(page, DEMO, 'jwt');
  await page.goto('/login');
  await page.goto('/');
  expect(violations).toEqual([]);
});

// ASVS 3.4.1: HSTS, in production over https (here: behind a TLS-terminating proxy that says so).
test('HSTS only over https', async ({ request }) => {
  expect((await request.get('/login')).headers()['strict-transport-security']).toBeUndefined();
  const https = await request.get('/login', { headers: { 'x-forwarded-proto': 'https' } });
  expect(https.headers()['strict-transport-security']).toMatch(/max-age=\d{8,}; includeSubDomains/);
});

// ASVS 14.3.2: authenticated pages and auth responses are never cached.
test('authenticated pages and auth responses send Cache-Control: no-store', async ({ playwright, baseURL, request }) => {
  const client = await playwright.request.newContext({ baseURL });
  await signInHttp(client, { ...DEMO, strategy: 'database' });
  for (const path of ['/dashboard', '/api/me']) {
    expect((await client.get(path)).headers()['cache-control'], path).toContain('no-store');
  }
  for (const path of ['/login', '/register', '/api/auth/csrf']) {
    expect((await request.get(path)).headers()['cache-control'], path).toContain('no-store');
  }
  const token = await request.post('/api/token', { data: { email: DEMO.email, password: DEMO.password } });
  expect(token.headers()['cache-control']).toContain('no-store');
  await client.dispose();
});

// ASVS 3.5.1 / 3.5.2 / 3.5.3: state-changing requests must come from this origin.
test.describe('cross-site requests that change state are refused', () => {
  const attempts: [string, Record<string, string>][] = [
    ['foreign Origin', { origin: 'https://evil.example' }],
    ['Origin: null', { origin: 'null' }],
    ['Sec-Fetch-Site: cross-site', { 'sec-fetch-site': 'cross-site' }],
    ['Sec-Fetch-Site: same-site', { 'sec-fetch-site': 'same-site', origin: 'http://other.localhost' }],
  ];
  for (const [label, headers] of attempts) {
    test(label, async ({ request }) => {
      for (const path of ['/api/token', '/api/token/refresh', '/api/token/revoke', '/api/auth/callback/credentials', '/api/auth/signout', '/login']) {
        const response = await request.post(path, { headers, data: {} });
        expect(response.status(), `${path} with ${label}`).toBe(403);
        expect(await response.json()).toEqual({ error: 'forbidden' });
      }
    });
  }

  test('a cross-site sign-in form post sets no cookie', async ({ request }) => {
    const response = await request.post('/api/auth/callback/credentials', {
      headers: { origin: 'https://evil.example' },
      form: { email: DEMO.email, password: DEMO.password, strategy: 'jwt' },
      maxRedirects: 0,
    });
    expect(response.status()).toBe(403);
    expect(response.headers()['set-cookie'] ?? '').not.toMatch(/sot\./);
  });
});

// ASVS 3.5.3: GET does not change state — the Auth.js sign-out page does not sign anyone out.
test('GET never signs out', async ({ playwright, baseURL }) => {
  const client = await playwright.request.newContext({ baseURL });
  await signInHttp(client, { ...DEMO, strategy: 'database' });
  await client.get('/api/auth/signout');
  expect((await client.get('/api/me')).status()).toBe(200);
  await client.dispose();
});

// ASVS 2.2.1 / 16.5.1: hostile cookies and headers get 4xx, never 500 and never details.
for (const strategy of STRATEGIES) {
  test(`malformed and oversized ${strategy} cookies are refused cleanly`, async ({ request }) => {
    const name = strategy === 'database' ? 'sot.session' : 'sot.jwt';
    for (const value of ['', '%', '"quoted"', 'a'.repeat(5000), 'e30.e30.', '..', '\u00ff\u00fe', 'x;y=z']) {
      const cookie = `${name}=${encodeURIComponent(value)}`;
      await expectUnauthorized(await request.get('/api/me', { headers: { cookie } }));
      const page = await request.get('/dashboard', { headers: { cookie }, maxRedirects: 0 });
      expect(page.status()).toBe(307);
    }
  });
}

test('an oversized header block is refused with 431, not 500', async ({ request }) => {
  const response = await request.get('/api/me', { headers: { cookie: `sot.session=${'a'.repeat(20_000)}` } });
  expect(response.status()).toBe(431);
});

// ASVS 8.2.1 / 8.3.1: the admin area is enforced on the server — 401 (or the login redirect) signed out, 403 for other roles.
test('admin area: redirect when signed out, 403 for a user, 200 for an admin', async ({ playwright, baseURL, request }) => {
  const signedOut = await request.get('/admin', { maxRedirects: 0 });
  expect(signedOut.status()).toBe(307);
  expect(signedOut.headers()['location']).toContain('/login?callbackUrl=%2Fadmin');
  const user = await playwright.request.newContext({ baseURL });
  await signInHttp(user, { ...DEMO, strategy: 'database' });
  expect((await user.get('/admin', { maxRedirects: 0 })).status()).toBe(403);
  const admin = await playwright.request.newContext({ baseURL });
  await signInHttp(admin, { ...ADMIN, strategy: 'database' });
  expect((await admin.get('/admin')).status()).toBe(200);
  await user.dispose();
  await admin.dispose();
});

// ASVS 7.2.4: every sign-in issues a new session token and ends the one the browser had (fixation).
test('signing in again replaces the previous session and revokes it', async ({ page, context, request, signIn }) => {
  await signIn(page, DEMO, 'database');
  const first = (await context.cookies()).find((cookie) => cookie.name === 'sot.session');
  expect(first).toBeTruthy();
  await signIn(page, DEMO, 'database');
  const second = (await context.cookies()).find((cookie) => cookie.name === 'sot.session');
  expect(second?.value).toBeTruthy();
  expect(second?.value).not.toBe(first?.value);
  await expectUnauthorized(await request.get('/api/me', { headers: { cookie: `sot.session=${first?.value}` } }));
  expect((await request.get('/api/me', { headers: { cookie: `sot.session=${second?.value}` } })).status()).toBe(200);

  // Switching strategy on sign-in leaves exactly one session cookie, of the new kind.
  await signIn(page, DEMO, 'jwt');
  const names = (await context.cookies()).map((cookie) => cookie.name).filter((name) => name.startsWith('sot.'));
  expect(names).toEqual(['sot.jwt']);
  await expectUnauthorized(await request.get('/api/me', { headers: { cookie: `sot.session=${second?.value}` } }));
});
