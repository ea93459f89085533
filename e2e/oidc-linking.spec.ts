import type { Page } from '@playwright/test';
import { ageAuthentication, auditEventsForEmail, countProviderAccounts, hasPassword, insertProviderAccount, sessionOriginsForEmail } from './db';
import { RADIO, STRATEGIES, STRONG_PASSWORD, decodeSegment, expect, expectMe, onlySessionCookie, signInHttp, signInUI, test, type Strategy } from './fixtures';
import {
  ISSUER,
  PROVIDER_BUTTON,
  confirmProviderLogout,
  expectAtProvider,
  expectIssuer,
  expectNoSessionCookie,
  freshLogin,
  providerEmail,
  signInAtProvider,
  startProviderSignIn,
  submitProviderLogin,
} from './provider';

// Linking provider identities to accounts, against the real test provider
// (./provider.ts): a verified email links only with the account's password as
// well; a signed-in user connects one from the security page; a provider
// cannot be disconnected while it is the last way in; a provider-only account
// sets a password; and "Confirm it's you" through the provider.

const PENDING_LINK_COOKIE = 'sot.provider-link';
const SECURITY = '/dashboard/security';
/** Past the step-up window (10 minutes in the suite), without waiting. */
const PAST_THE_WINDOW_SECONDS = 60 * 60;

test.beforeAll(expectIssuer);

async function cookieNames(page: Page): Promise<string[]> {
  return (await page.context().cookies()).map((cookie) => cookie.name);
}

/** The security page's table of connected providers. */
const providersTable = (page: Page) => page.getByTestId('providers-table');

/** A provider-only account: a new identity signs in (its email is `providerEmail(login)`). */
async function providerOnlyAccount(page: Page, tag: string, strategy: Strategy): Promise<string> {
  const login = freshLogin(tag);
  await startProviderSignIn(page, strategy);
  await signInAtProvider(page, login);
  await expect(page).toHaveURL(/\/dashboard$/);
  await expect(page.getByText(`Strategy: ${strategy}`)).toBeVisible();
  return login;
}

test.describe('linking a provider identity to an existing account', () => {
  test('a verified email waits for the password; signing in with it connects the provider, which then signs straight in', async ({ page, newUser }) => {
    // The test provider gives a login containing "@" that address, verified.
    const user = await newUser('link-proof');
    await startProviderSignIn(page, 'database');
    await signInAtProvider(page, user.email);

    await expect(page).toHaveURL(/\/login\?link=pending$/);
    await expect(page.getByTestId('pending-link')).toHaveText(
      `An account with the address ${user.email} already exists. Sign in with your password once to connect Test provider to it; after that, Test provider signs you in directly.`,
    );
    await expectNoSessionCookie(page);
    expect(await countProviderAccounts(ISSUER, user.email)).toBe(0);
    const pending = (await page.context().cookies()).find((cookie) => cookie.name === PENDING_LINK_COOKIE);
    expect(pending?.httpOnly).toBe(true);
    expect(pending?.value).not.toContain(user.email);

    await signInUI(page, { ...user, strategy: 'jwt' });
    await expect(page).toHaveURL(`${SECURITY}?done=connected&provider=oidc`);
    await expect(page.getByRole('status').filter({ hasText: 'is connected' })).toHaveText(
      'Test provider is connected to your account: you can sign in with it from now on.',
    );
    await expect(providersTable(page).getByRole('row')).toHaveCount(2);
    await expect(providersTable(page)).toContainText(ISSUER);
    await expect(providersTable(page)).toContainText(user.email);
    expect(await countProviderAccounts(ISSUER, user.email)).toBe(1);
    expect(await cookieNames(page)).not.toContain(PENDING_LINK_COOKIE);
    const linked = (await auditEventsForEmail(user.email)).filter((row) => row.event === 'provider.linked');
    expect(linked.map((row) => row.detail)).toEqual([{ issuer: ISSUER, subject: user.email, via: 'password_proof' }]);

    // A password session: signing out does not end the provider's session, so the provider signs straight back in.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await expect(page).toHaveURL(/\/login\?signedOut=/);
    await page.getByRole('radio', { name: RADIO.database }).check();
    await page.getByRole('button', { name: PROVIDER_BUTTON }).click();
    await expect(page).toHaveURL(/\/dashboard$/);
    await expect(page.getByText('Strategy: database')).toBeVisible();
    await expect(page.getByTestId('signin-issuer')).toHaveText(ISSUER);
    await expectMe(await page.request.get('/api/me'), { email: user.email, strategy: 'database' });
    await onlySessionCookie(page.context(), 'database');
  });

  test('a password sign-in through the HTTP credentials callback is proof as well', async ({ page, newUser }) => {
    const user = await newUser('link-proof-http');
    await startProviderSignIn(page, 'jwt');
    await signInAtProvider(page, user.email);
    await expect(page).toHaveURL(/\/login\?link=pending$/);
    expect(await countProviderAccounts(ISSUER, user.email)).toBe(0);

    // The browser context's request client carries the same cookies, the pending link among them.
    const response = await signInHttp(page.context().request, { ...user, strategy: 'database' });
    expect(response.status()).toBe(302);
    expect(response.headers()['location']).toMatch(/\/dashboard$/);
    expect(await countProviderAccounts(ISSUER, user.email)).toBe(1);
    expect(await cookieNames(page)).not.toContain(PENDING_LINK_COOKIE);
    const linked = (await auditEventsForEmail(user.email)).filter((row) => row.event === 'provider.linked');
    expect(linked.map((row) => row.detail)).toEqual([{ issuer: ISSUER, subject: user.email, via: 'password_proof' }]);
    await expectMe(await page.request.get('/api/me'), { email: user.email, strategy: 'database' });
  });

  test("a password sign-in to another account completes nothing, and uses the pending link up", async ({ page, newUser }) => {
    const [owner, other] = await Promise.all([newUser('link-owner'), newUser('link-other')]);
    await startProviderSignIn(page, 'jwt');
    await signInAtProvider(page, owner.email);
    await expect(page).toHaveURL(/\/login\?link=pending$/);

    await signInUI(page, { ...other, strategy: 'jwt' });
    await expect(page).toHaveURL(/\/dashboard$/);
    expect(await cookieNames(page)).not.toContain(PENDING_LINK_COOKIE);
    expect(await countProviderAccounts(ISSUER, owner.email)).toBe(0);

    // The owner's own sign-in afterwards links nothing either: the pending link is gone.
    await page.context().clearCookies();
    await signInUI(page, { ...owner, strategy: 'jwt' });
    await expect(page).toHaveURL(/\/dashboard$/);
    expect(await countProviderAccounts(ISSUER, owner.email)).toBe(0);
    expect((await auditEventsForEmail(owner.email)).map((row) => row.event)).not.toContain('provider.linked');
  });

  test('an unverified email never links, not even after the password', async ({ page, newUser }) => {
    // A login starting with "unverified" gets its address unverified from the test provider.
    const user = await newUser('unverified-link');
    expect(user.email.startsWith('unverified')).toBe(true);
    await startProviderSignIn(page, 'database');
    await signInAtProvider(page, user.email);
    await expect(page).toHaveURL(/\/login\?error=provider_email_unverified$/);
    await expect(page.getByTestId('pending-link')).toHaveCount(0);
    expect(await cookieNames(page)).not.toContain(PENDING_LINK_COOKIE);

    await signInUI(page, { ...user, strategy: 'database' });
    await expect(page).toHaveURL(/\/dashboard$/);
    expect(await countProviderAccounts(ISSUER, user.email)).toBe(0);
  });
});

test.describe('the security page', () => {
  for (const strategy of STRATEGIES) {
    test(`${strategy}: a signed-in user connects a provider; the session stays as it was`, async ({ page, newUser, signIn }) => {
      const user = await newUser(`connect-${strategy}`);
      await signIn(page, user, strategy);
      const before = await onlySessionCookie(page.context(), strategy);
      await page.goto(SECURITY);
      await expect(page.getByText('No provider is connected to your account.')).toBeVisible();

      const login = freshLogin(`connect-${strategy}`);
      await page.getByRole('button', { name: 'Connect Test provider', exact: true }).click();
      await expectAtProvider(page);
      await signInAtProvider(page, login);
      await expect(page).toHaveURL(`${SECURITY}?done=connected&provider=oidc`);
      await expect(page.getByRole('status').filter({ hasText: 'is connected' })).toBeVisible();
      const row = providersTable(page).getByRole('row', { name: new RegExp(login) });
      await expect(row).toContainText(ISSUER);
      // When it was connected, in UTC, and as a machine-readable time: just now.
      const connected = row.locator('time');
      await expect(connected).toHaveText(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC$/);
      expect(Math.abs(Date.parse((await connected.getAttribute('datetime')) ?? '') - Date.now())).toBeLessThan(5 * 60_000);
      expect(await countProviderAccounts(ISSUER, login)).toBe(1);

      // The same session: same cookie, one session on the account, signed in with the password.
      expect((await onlySessionCookie(page.context(), strategy)).value).toBe(before.value);
      const origins = await sessionOriginsForEmail(user.email);
      expect(origins.map((origin) => origin.signInMethod)).toEqual(['password']);
      const linked = (await auditEventsForEmail(user.email)).filter((row) => row.event === 'provider.linked');
      expect(linked.map((row) => row.detail)).toEqual([{ issuer: ISSUER, subject: login, via: 'security_page' }]);
    });
  }

  test('an identity that signs in to another account is not connected', async ({ page, newUser, signIn, newDevice }) => {
    // Someone else's provider-only account.
    const elsewhere = await newDevice();
    const login = await providerOnlyAccount(elsewhere.page, 'connect-taken', 'jwt');

    const user = await newUser('connect-taken');
    await signIn(page, user, 'database');
    await page.goto(SECURITY);
    await page.getByRole('button', { name: 'Connect Test provider', exact: true }).click();
    await expectAtProvider(page);
    await signInAtProvider(page, login);
    await expect(page).toHaveURL(`${SECURITY}?providerError=identity_in_use`);
    await expect(page.getByRole('alert').filter({ hasText: 'another account' })).toHaveText(
      'That provider identity already signs in to another account, so it was not connected.',
    );
    await expect(page.getByText('No provider is connected to your account.')).toBeVisible();
    expect(await countProviderAccounts(ISSUER, login)).toBe(1);
    expect((await auditEventsForEmail(providerEmail(login))).map((row) => row.event)).not.toContain('provider.unlinked');
  });

  test('a provider-only account cannot disconnect its last way in; it sets a password, then can, and signs in with it', async ({ page }) => {
    const login = await providerOnlyAccount(page, 'last-way-in', 'database');
    const email = providerEmail(login);
    await page.goto(SECURITY);
    const disconnect = page.getByRole('button', { name: `Disconnect Test provider (${login})` });
    await disconnect.click();
    await expect(page.getByText('This provider is the only way to sign in to your account.')).toHaveText(
      'This provider is the only way to sign in to your account. Set a password or connect another provider first.',
    );
    expect(await countProviderAccounts(ISSUER, login)).toBe(1);

    // No current password to give: the form asks for the new one only.
    const form = page.getByRole('form', { name: 'Set a password' });
    await expect(page.getByRole('form', { name: 'Change password' })).toHaveCount(0);
    await form.getByLabel('New password').fill('short');
    await form.getByRole('button', { name: 'Set password' }).click();
    await expect(form.getByRole('alert')).toBeVisible();
    expect(await hasPassword(email)).toBe(false);
    await form.getByLabel('New password').fill(STRONG_PASSWORD);
    await form.getByRole('button', { name: 'Set password' }).click();
    await expect(page).toHaveURL(`${SECURITY}?done=password_set`);
    await expect(page.getByRole('status').filter({ hasText: 'Password set' })).toBeVisible();
    expect(await hasPassword(email)).toBe(true);
    // From now on the normal form, which asks for the current password.
    await expect(page.getByRole('form', { name: 'Change password' }).getByLabel('Current password')).toBeVisible();
    await expect(page.getByRole('form', { name: 'Set a password' })).toHaveCount(0);

    await page.getByRole('button', { name: `Disconnect Test provider (${login})` }).click();
    await expect(page).toHaveURL(`${SECURITY}?done=disconnected&provider=oidc`);
    await expect(page.getByRole('status').filter({ hasText: 'disconnected' })).toHaveText('Test provider was disconnected.');
    await expect(page.getByText('No provider is connected to your account.')).toBeVisible();
    expect(await countProviderAccounts(ISSUER, login)).toBe(0);

    // This session came from the provider: signing out ends the provider's session too.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await confirmProviderLogout(page);
    await expect(page).toHaveURL(/\/login\?signedOut=/);
    await signInUI(page, { email, password: STRONG_PASSWORD, strategy: 'jwt' });
    await expect(page).toHaveURL(/\/dashboard$/);
    await expect(page.getByText('Strategy: jwt')).toBeVisible();
    await expectMe(await page.request.get('/api/me'), { email, strategy: 'jwt' });
  });
});

test.describe("confirm it's you through the provider", () => {
  for (const strategy of STRATEGIES) {
    test(`${strategy}: a provider-only account outside the window signs in again at the provider, then goes ahead`, async ({ page }) => {
      const login = await providerOnlyAccount(page, `step-up-${strategy}`, strategy);
      const email = providerEmail(login);
      const before = await onlySessionCookie(page.context(), strategy);
      await ageAuthentication(email, PAST_THE_WINDOW_SECONDS);

      // Outside the window the server refuses each sensitive action and asks to confirm.
      await page.goto(SECURITY);
      await page.getByRole('button', { name: 'Connect Test provider', exact: true }).click();
      await expect(page.getByRole('link', { name: "Confirm it's you" })).toBeVisible();
      const form = page.getByRole('form', { name: 'Set a password' });
      await form.getByLabel('New password').fill(STRONG_PASSWORD);
      await form.getByRole('button', { name: 'Set password' }).click();
      await form.getByRole('link', { name: "Confirm it's you" }).click();
      await expect(page).toHaveURL(/\/dashboard\/confirm\?returnTo=%2Fdashboard%2Fsecurity$/);
      expect(await hasPassword(email)).toBe(false);

      // No password to confirm with: the provider is asked to sign the user in again, even with its session still open.
      await expect(page.getByRole('form', { name: "Confirm it's you" })).toHaveCount(0);
      await page.getByRole('button', { name: 'Confirm with Test provider' }).click();
      await expectAtProvider(page);
      await expect(page.locator('input[name="login"]')).toBeVisible();
      await submitProviderLogin(page, login);
      await expect(page).toHaveURL(/\/dashboard\/security$/);
      const confirmed = (await auditEventsForEmail(email)).filter((row) => row.event === 'session.reauthenticated');
      expect(confirmed.map((row) => row.detail.method)).toEqual(['oidc']);

      // Still the same session (not a new sign-in), now inside the window: the action goes ahead.
      expect((await sessionOriginsForEmail(email)).length).toBe(1);
      const after = await onlySessionCookie(page.context(), strategy);
      if (strategy === 'database') expect(after.value).toBe(before.value);
      // A browser JWT is re-issued with the new auth_time, for the same session (`sid`).
      else expect(decodeSegment(after.value.split('.')[1]!).sid).toBe(decodeSegment(before.value.split('.')[1]!).sid);
      await form.getByLabel('New password').fill(STRONG_PASSWORD);
      await form.getByRole('button', { name: 'Set password' }).click();
      await expect(page).toHaveURL(`${SECURITY}?done=password_set`);
      expect(await hasPassword(email)).toBe(true);
    });
  }

  test('a sign-in at the provider as someone not connected to the account confirms nothing', async ({ page, newUser, signIn }) => {
    // The account has a connected identity, linked without any provider session in this browser.
    const user = await newUser('step-up-not-linked');
    await insertProviderAccount(user.id, ISSUER, freshLogin('step-up-connected'));
    await signIn(page, user, 'database');
    await ageAuthentication(user.email, PAST_THE_WINDOW_SECONDS);
    await page.goto(`/dashboard/confirm?returnTo=${encodeURIComponent(SECURITY)}`);
    await page.getByRole('button', { name: 'Confirm with Test provider' }).click();
    await expectAtProvider(page);
    await signInAtProvider(page, freshLogin('step-up-stranger'));
    await expect(page).toHaveURL(/\/dashboard\/confirm\?returnTo=%2Fdashboard%2Fsecurity&providerError=not_linked$/);
    await expect(page.getByRole('alert').filter({ hasText: 'not the one connected' })).toHaveText(
      'That provider account is not the one connected to your account, so nothing was confirmed.',
    );
    expect((await auditEventsForEmail(user.email)).map((row) => row.event)).not.toContain('session.reauthenticated');
    // Still outside the window: the action is refused.
    await page.goto(SECURITY);
    await page.getByRole('button', { name: 'Connect Test provider', exact: true }).click();
    await expect(page.getByRole('link', { name: "Confirm it's you" })).toBeVisible();
  });
});
