import { HOSTILE_TARGETS, SAFE_TARGETS } from '../tests/support/redirect-corpus';
import { expect, RADIO, signInHttp, test, type Credentials } from './fixtures';

/**
 * ASVS 5.0 V3.7.2 / CWE-601 over HTTP: after sign-in the server only ever
 * redirects to a path on its own origin, whether the target came in the form
 * field, the query string of the sign-in page or Auth.js's callback-url
 * cookie. The corpus is the unit test's (tests/support/redirect-corpus.ts).
 */
const strings = HOSTILE_TARGETS.filter((target): target is string => typeof target === 'string' && target.length > 0);

function expectSameOriginLocation(location: string | undefined, baseURL: string, expectedPath: string, label: string): void {
  expect(location, `Location for ${label}`).toBeTruthy();
  const target = new URL(location!, baseURL);
  expect(target.origin, `origin for ${label}`).toBe(new URL(baseURL).origin);
  expect(`${target.pathname}${target.search}${target.hash}`, `path for ${label}`).toBe(expectedPath);
  // The header itself must not be readable as another host by a lenient client either.
  expect(location!, `raw Location for ${label}`).not.toMatch(/^(\/\/|\/\\|[a-z][a-z0-9+.-]*:(?!\/\/127\.0\.0\.1|\/\/localhost))/i);
}

test.describe('after sign-in, every redirect stays on this origin', () => {
  let user: Credentials;
  test.beforeEach(async ({ newUser }) => {
    user = await newUser('redirects');
  });

  test('the credentials endpoint: hostile targets in the form field land on /dashboard', async ({ playwright, baseURL }) => {
    for (const target of strings) {
      const request = await playwright.request.newContext({ baseURL });
      const response = await signInHttp(request, { ...user, strategy: 'database', callbackUrl: target });
      expect(response.status(), JSON.stringify(target)).toBe(302);
      expectSameOriginLocation(response.headers()['location'], baseURL!, '/dashboard', JSON.stringify(target));
      await request.dispose();
    }
  });

  test('the credentials endpoint: safe targets are kept, normalised', async ({ playwright, baseURL }) => {
    for (const [target, expected] of SAFE_TARGETS) {
      const request = await playwright.request.newContext({ baseURL });
      const response = await signInHttp(request, { ...user, strategy: 'jwt', callbackUrl: target });
      expect(response.status()).toBe(302);
      expectSameOriginLocation(response.headers()['location'], baseURL!, expected, target);
      await request.dispose();
    }
  });

  test("Auth.js's callback-url cookie: hostile values land on /dashboard", async ({ playwright, baseURL }) => {
    for (const target of strings) {
      const request = await playwright.request.newContext({ baseURL });
      const csrf = await request.get('/api/auth/csrf');
      const { csrfToken } = (await csrf.json()) as { csrfToken: string };
      const jar = (await request.storageState()).cookies.map((cookie) => `${cookie.name}=${cookie.value}`);
      // The cookie Auth.js reads when the form names no target, set by the client to anything it likes.
      const response = await request.post('/api/auth/callback/credentials', {
        form: { csrfToken, email: user.email, password: user.password, strategy: 'database' },
        headers: { origin: new URL(baseURL!).origin, cookie: [...jar, `authjs.callback-url=${encodeURIComponent(target)}`].join('; ') },
        maxRedirects: 0,
      });
      expect(response.status(), JSON.stringify(target)).toBe(302);
      expectSameOriginLocation(response.headers()['location'], baseURL!, '/dashboard', JSON.stringify(target));
      await request.dispose();
    }
  });

  test('the sign-in page: a hostile ?callbackUrl= ends on /dashboard of this origin', async ({ page, baseURL }) => {
    for (const target of ['/.//evil.example', '/%2e//evil.example', '/x/..//evil.example', '/\\evil.example', 'https://evil.example/']) {
      await page.context().clearCookies();
      await page.goto(`/login?callbackUrl=${encodeURIComponent(target)}`);
      await page.getByLabel('Email', { exact: true }).fill(user.email);
      await page.getByLabel('Password', { exact: true }).fill(user.password);
      await page.getByRole('radio', { name: RADIO.database }).check();
      await page.getByRole('button', { name: 'Sign in' }).click();
      await expect(page, target).toHaveURL(`${new URL(baseURL!).origin}/dashboard`);
    }
  });
});
