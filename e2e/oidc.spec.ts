import { randomBytes } from 'node:crypto';
import { hash } from '@node-rs/argon2';
import type { Page } from '@playwright/test';
import type { RunningServer } from '../scripts/app-process.d.mts';
import type { RunningIdp } from '../scripts/idp.d.mts';
import { countProviderAccounts, countUsers, hasPassword, insertUser, sessionOriginsForEmail } from './db';
import { COOKIE, DEMO, RADIO, STRATEGIES, expect, onlySessionCookie, other, test, uniqueEmail } from './fixtures';
import {
  FLOW_COOKIE,
  ISSUER,
  PROVIDER_BUTTON,
  confirmProviderLogout,
  expectIssuer,
  expectNoSessionCookie,
  freshLogin,
  loginAtProvider,
  providerEmail,
  signInAtProvider,
  startProviderSignIn,
} from './provider';

// Provider sign-in against a real OpenID Connect provider (./provider.ts).

test.beforeAll(expectIssuer);

/**
 * Consents on the provider's page with the browser's cookies, but follows the
 * provider's redirects without the browser: the app's callback URL (code and
 * state) it would have been sent to, not yet visited.
 */
async function callbackUrlWithoutVisiting(page: Page, issuer = ISSUER): Promise<URL> {
  const form = page.locator('form', { has: page.getByRole('button', { name: 'Continue' }) });
  const action = new URL((await form.getAttribute('action')) ?? '', page.url()).toString();
  const fields = Object.fromEntries(
    await form.locator('input[type="hidden"]').evaluateAll((inputs) => inputs.map((input) => [(input as HTMLInputElement).name, (input as HTMLInputElement).value])),
  ) as Record<string, string>;
  let response = await page.context().request.post(action, { form: fields, maxRedirects: 0 });
  for (let hop = 0; hop < 5; hop++) {
    const location = response.headers()['location'];
    expect(location, 'the provider answers consent with a redirect').toBeTruthy();
    const next = new URL(location ?? '', response.url());
    if (next.origin !== issuer) return next;
    response = await page.context().request.get(next.toString(), { maxRedirects: 0 });
  }
  throw new Error('the provider did not send the browser back to the app');
}

test.describe('sign-in with an OpenID Connect provider', () => {
  test('the sign-in and registration pages offer the configured provider only', async ({ page }) => {
    await page.goto('/login');
    const providers = page.getByRole('group', { name: 'Sign in with a provider' });
    await expect(providers.getByRole('button')).toHaveText([PROVIDER_BUTTON]);
    await page.goto('/register');
    await expect(page.getByRole('group', { name: 'Sign in with a provider' }).getByRole('button')).toHaveText([PROVIDER_BUTTON]);
  });

  for (const strategy of STRATEGIES) {
    test(`a new identity gets a provider-only account and a ${strategy} session, then signs out`, async ({ page }) => {
      const login = freshLogin(`oidc-${strategy}`);
      const email = providerEmail(login);
      await startProviderSignIn(page, strategy);
      await signInAtProvider(page, login);

      await expect(page).toHaveURL(/\/dashboard$/);
      await expect(page.getByText(`Strategy: ${strategy}`)).toBeVisible();
      await onlySessionCookie(page.context(), strategy);
      // The flow cookie was for the round trip only.
      expect((await page.context().cookies()).map((cookie) => cookie.name)).not.toContain(FLOW_COOKIE);
      await expect(page.getByTestId('signin-method')).toContainText('OpenID Connect provider');
      await expect(page.getByTestId('signin-issuer')).toHaveText(ISSUER);
      await expect(page.getByTestId('signin-subject')).toHaveText(login);
      await expect(page.getByTestId('signin-method')).toContainText('provider session id (sid) recorded');
      await expect(page.getByText(email, { exact: true })).toBeVisible();
      // When and how the user authenticated: the provider's auth_time (its sign-in moments ago); the test provider states no amr.
      const authTime = page.getByTestId('auth-time');
      await expect(authTime).toContainText('within the last');
      const authenticatedAt = Date.parse((await authTime.locator('time').getAttribute('datetime')) ?? '');
      expect(Date.now() - authenticatedAt).toBeGreaterThan(-5_000);
      expect(Date.now() - authenticatedAt).toBeLessThan(2 * 60_000);
      await expect(page.getByTestId('auth-methods')).toHaveText('not stated by the provider');

      // Stored by (issuer, subject); no password; the session records where it came from.
      expect(await countProviderAccounts(ISSUER, login)).toBe(1);
      expect(await hasPassword(email)).toBe(false);
      const [origin] = await sessionOriginsForEmail(email);
      expect(origin).toMatchObject({ strategy, signInMethod: 'oidc', idpIssuer: ISSUER, idpSubject: login });
      expect(origin?.idpSessionId).toBeTruthy();

      await page.getByRole('button', { name: 'Sign out' }).click();
      await confirmProviderLogout(page);
      await expect(page).toHaveURL(/\/login\?signedOut=/);
      await expectNoSessionCookie(page);
      await page.goto('/dashboard');
      await expect(page).toHaveURL(/\/login\?callbackUrl=/);
    });
  }

  test('the same identity comes back to the same account, with the strategy picked this time', async ({ page }) => {
    const login = freshLogin('oidc-again');
    await startProviderSignIn(page, 'jwt');
    await signInAtProvider(page, login);
    await expect(page.getByText('Strategy: jwt')).toBeVisible();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await confirmProviderLogout(page);
    await expect(page).toHaveURL(/\/login\?signedOut=/);

    // Sign-out ended the provider session too (RP-initiated logout): the provider asks again.
    await startProviderSignIn(page, other('jwt'));
    await signInAtProvider(page, login);
    await expect(page).toHaveURL(/\/dashboard$/);
    await expect(page.getByText('Strategy: database')).toBeVisible();
    await onlySessionCookie(page.context(), 'database');
    expect(await countUsers(providerEmail(login))).toBe(1);
    expect(await countProviderAccounts(ISSUER, login)).toBe(1);
    expect((await sessionOriginsForEmail(providerEmail(login))).map((row) => row.strategy)).toEqual(['jwt', 'database']);
  });

  test('an identity whose verified email an account already uses is not signed in and not linked on its own', async ({ page }) => {
    // The seeded demo account; the provider vouches for the same address.
    await startProviderSignIn(page, 'database');
    await signInAtProvider(page, DEMO.email);
    // The link waits for the account's password (e2e/oidc-linking.spec.ts completes it).
    await expect(page).toHaveURL(/\/login\?link=pending$/);
    await expect(page.getByTestId('pending-link')).toContainText(`An account with the address ${DEMO.email} already exists`);
    await expect(page.getByTestId('pending-link')).toContainText('Sign in with your password once to connect Test provider');
    await expectNoSessionCookie(page);
    expect(await countProviderAccounts(ISSUER, DEMO.email)).toBe(0);
    expect(await hasPassword(DEMO.email)).toBe(true);
  });

  test('an unverified email never takes over an account, and never makes one', async ({ page }) => {
    // An account whose address starts with "unverified": the test provider sends it unverified.
    const email = uniqueEmail('unverified-owner');
    await insertUser({ id: `u${randomBytes(8).toString('hex')}`, email, name: 'Owner', passwordHash: await hash('Owner-password-1234') });
    await startProviderSignIn(page, 'jwt');
    await signInAtProvider(page, email);
    // The same answer as for any unverified address: nothing says the account exists.
    await expect(page).toHaveURL(/\/login\?error=provider_email_unverified$/);
    await expectNoSessionCookie(page);
    expect(await countProviderAccounts(ISSUER, email)).toBe(0);
    expect(await hasPassword(email)).toBe(true);

    const stranger = freshLogin('unverified');
    await page.context().clearCookies();
    await startProviderSignIn(page, 'jwt');
    await signInAtProvider(page, stranger);
    await expect(page).toHaveURL(/\/login\?error=provider_email_unverified$/);
    await expect(page.getByTestId('signin-error')).toContainText('did not confirm that this email address is yours');
    await expectNoSessionCookie(page);
    expect(await countUsers(providerEmail(stranger))).toBe(0);
  });

  test('a callback whose state was edited on the way back is refused, and so is a replay of the real one', async ({ page }) => {
    const login = freshLogin('oidc-tampered');
    await startProviderSignIn(page, 'database');
    await loginAtProvider(page, login);
    const original = await callbackUrlWithoutVisiting(page);
    expect(original.pathname).toBe('/api/auth/callback/oidc');

    const tampered = new URL(original);
    const state = tampered.searchParams.get('state') ?? '';
    expect(state).not.toBe('');
    tampered.searchParams.set('state', `${state.slice(0, -2)}${state.endsWith('AA') ? 'BB' : 'AA'}`);
    const refused = await page.goto(tampered.toString());
    expect(refused?.status()).toBe(200);
    await expect(page).toHaveURL(/\/login\?error=provider_flow$/);
    await expect(page.getByTestId('signin-error')).toContainText('could not be verified');
    await expectNoSessionCookie(page);

    // The flow cookie went with the refusal: the genuine callback is refused now too.
    await page.goto(original.toString());
    await expect(page).toHaveURL(/\/login\?error=provider_flow$/);
    await expectNoSessionCookie(page);
    expect(await countProviderAccounts(ISSUER, login)).toBe(0);
  });
});

test.describe('a provider that cannot be reached', () => {
  test.describe.configure({ mode: 'serial' });
  // An app of its own, with a provider of its own that these tests stop.
  let server: RunningServer;
  let idp: RunningIdp;

  test.beforeAll(async () => {
    // ES modules: loaded at run time (the specs are compiled as CommonJS).
    const { freePort, startServer } = await import('../scripts/app-process.mjs');
    const { CALLBACK_PATH, startIdp } = await import('../scripts/idp.mjs');
    const port = await freePort();
    idp = await startIdp({ redirectUris: [`http://127.0.0.1:${port}${CALLBACK_PATH}`] });
    server = await startServer({ port, env: idp.env });
  });
  test.afterAll(async () => {
    await Promise.all([server?.stop(), idp?.stop()]);
  });

  test('gone before the code exchange: a clear error on the sign-in page, no 500, no session', async ({ page }) => {
    const statuses: number[] = [];
    page.on('response', (response) => statuses.push(response.status()));
    await startProviderSignIn(page, 'database', `${server.url}/login`, idp.issuer);
    await loginAtProvider(page, freshLogin('oidc-down'));
    const callback = await callbackUrlWithoutVisiting(page, idp.issuer);
    await idp.stop();
    await page.goto(callback.toString());
    await expect(page).toHaveURL((url) => url.origin === server.url && url.pathname === '/login' && url.searchParams.has('error'));
    await expect(page.getByTestId('signin-error')).toHaveText('Sign-in with the provider could not be completed. Please try again.');
    expect(statuses.filter((status) => status >= 500)).toEqual([]);
    await expectNoSessionCookie(page);
  });

  test('down when the button is pressed: a clear error on the form, no 500, no flow cookie', async ({ page }) => {
    expect(idp.running).toBe(false);
    const statuses: number[] = [];
    page.on('response', (response) => statuses.push(response.status()));
    await page.goto(`${server.url}/login`);
    await page.getByRole('radio', { name: RADIO.jwt }).check();
    await page.getByRole('button', { name: PROVIDER_BUTTON }).click();
    await expect(page.getByRole('alert').filter({ hasText: 'cannot be reached' })).toHaveText(
      'Test provider cannot be reached right now. Please try again later, or sign in with your password.',
    );
    expect(new URL(page.url()).pathname).toBe('/login');
    expect(statuses.filter((status) => status >= 500)).toEqual([]);
    const names = (await page.context().cookies()).map((cookie) => cookie.name);
    expect(names).not.toContain(FLOW_COOKIE);
    expect(names.filter((name) => name === COOKIE.jwt || name === COOKIE.database)).toEqual([]);
  });
});
