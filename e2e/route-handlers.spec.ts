import { decodeJwt, decodeProtectedHeader } from 'jose';
import { COOKIE, DEMO, expect, requestCookie, signInHttp, test } from './fixtures';

/**
 * Route handlers run without the proxy (proxy.ts matches pages only) and
 * still answer with the security headers (next.config.js), no-store where
 * private; and the browser JWT stays small. Requirement ids are OWASP ASVS 5.0.
 */

// ASVS 3.4.4 / 3.4.5 / 14.3.2: the headers that do not vary come with every route handler's answer.
test('route handlers keep their security headers without a proxy; private answers are not cached', async ({ request, playwright, baseURL }) => {
  const client = await playwright.request.newContext({ baseURL });
  await signInHttp(client, { ...DEMO, strategy: 'jwt' });
  const answers: [string, Promise<import('@playwright/test').APIResponse>, boolean][] = [
    ['/api/ping', request.get('/api/ping'), false],
    ['/api/health', request.get('/api/health'), true],
    ['/.well-known/jwks.json', request.get('/.well-known/jwks.json'), false],
    ['/api/me (signed out)', request.get('/api/me'), true],
    ['/api/me (signed in)', client.get('/api/me'), true],
    ['/api/auth/csrf', request.get('/api/auth/csrf'), true],
    ['POST /api/token (400)', request.post('/api/token', { data: { email: 'x' } }), true],
    ['POST /api/token/revoke (400)', request.post('/api/token/revoke', { data: {} }), true],
  ];
  for (const [label, pending, privateAnswer] of answers) {
    const headers = (await pending).headers();
    expect(headers['x-content-type-options'], label).toBe('nosniff');
    expect(headers['referrer-policy'], label).toBe('strict-origin-when-cross-origin');
    expect(headers['x-frame-options'], label).toBe('DENY');
    if (privateAnswer) expect(headers['cache-control'], label).toContain('no-store');
    // No proxy ran: pages get a per-request CSP from it, route handlers none.
    expect(headers['content-security-policy'], label).toBeUndefined();
  }
  expect((await request.get('/')).headers()['content-security-policy']).toContain("'nonce-");
  // ASVS 3.4.1: HSTS over https, route handlers included.
  const https = await request.get('/api/health', { headers: { 'x-forwarded-proto': 'https' } });
  expect(https.headers()['strict-transport-security']).toMatch(/max-age=\d{8,}; includeSubDomains/);
  await client.dispose();
});

test('the browser JWT cookie is at most 400 bytes and carries only what the server needs', async ({ request }) => {
  expect((await signInHttp(request, { ...DEMO, strategy: 'jwt' })).status()).toBe(302);
  const token = await requestCookie(request, COOKIE.jwt);
  expect(token).toBeTruthy();
  // The budget grew from 350 when the token began to carry when and how the user authenticated
  // (auth_time, amr: step-up must trust them without a lookup in stateless mode).
  expect(`${COOKIE.jwt}=${token}`.length).toBeLessThanOrEqual(400);
  // Over https the name gets the __Host- prefix: still within the budget.
  expect(`__Host-${COOKIE.jwt}=${token}`.length).toBeLessThanOrEqual(400);
  const header = decodeProtectedHeader(token!);
  expect(Object.keys(header).sort()).toEqual(['alg', 'kid', 'typ']);
  expect(header.kid).toMatch(/^[A-Za-z0-9_-]{8,12}$/);
  const claims = decodeJwt(token!);
  expect(Object.keys(claims).sort()).toEqual(['amr', 'aud', 'auth_time', 'exp', 'iat', 'iss', 'sid', 'sub']);
  expect(claims.amr).toEqual(['pwd']);
  // Authenticated at this sign-in: at most a second or two before the token was signed.
  expect(typeof claims.auth_time).toBe('number');
  expect(claims.iat! - (claims.auth_time as number)).toBeGreaterThanOrEqual(0);
  expect(claims.iat! - (claims.auth_time as number)).toBeLessThanOrEqual(2);
  // The name and e-mail the token no longer carries still come back from the server.
  const me = (await (await request.get('/api/me')).json()) as { user: { email: string; name: string | null } };
  expect(me.user).toMatchObject({ email: DEMO.email, name: DEMO.name });
});
