import { type APIRequestContext, type Page } from '@playwright/test';
import {
  expect,
  expectSignedIn,
  expectSignedOut,
  expectUnauthorized,
  other,
  sessionCookies,
  signInToDashboard,
  signInUI,
  STRATEGIES,
  STRONG_PASSWORD,
  test,
  type Credentials,
} from './fixtures';
import { auditEventsForEmail } from './db';

/**
 * The account pages: the user's own sessions (every kind), ending them one by
 * one or all at once, and changing the password. Each test uses a fresh
 * account, signed in from two browser contexts — two devices.
 */

interface Pair {
  access_token: string;
  refresh_token: string;
}

/** Signs the user in through the token API (a third "device": an API client). */
async function tokenPair(request: APIRequestContext, user: Credentials): Promise<Pair> {
  const response = await request.post('/api/token', { data: { email: user.email, password: user.password } });
  expect(response.status()).toBe(200);
  return (await response.json()) as Pair;
}

async function expectTokensRefused(request: APIRequestContext, pair: Pair): Promise<void> {
  expect((await request.get('/api/me', { headers: { authorization: `Bearer ${pair.access_token}` } })).status()).toBe(401);
  const refresh = await request.post('/api/token/refresh', { data: { refresh_token: pair.refresh_token } });
  expect(refresh.status()).toBe(401);
}

async function openSessions(page: Page) {
  await page.goto('/dashboard/sessions');
  await expect(page.getByRole('heading', { level: 1, name: 'Active sessions' })).toBeVisible();
  return page.getByTestId('sessions-table').locator('tbody tr');
}

test('the dashboard links to the account pages, and not to Admin for a user', async ({ page, newUser, signIn }) => {
  await signIn(page, await newUser('nav'), 'database');
  const nav = page.getByRole('navigation', { name: 'Account' });
  await expect(nav.getByRole('link', { name: 'Active sessions' })).toHaveAttribute('href', '/dashboard/sessions');
  await expect(nav.getByRole('link', { name: 'Security' })).toHaveAttribute('href', '/dashboard/security');
  await expect(nav.getByRole('link', { name: 'Admin' })).toHaveCount(0);
  // The user's own audit trail: registering signed them in.
  await expect(page.getByRole('heading', { name: 'Recent activity' })).toBeVisible();
});

test('the account pages are for signed-in users only', async ({ request, baseURL }) => {
  for (const path of ['/dashboard/sessions', '/dashboard/security']) {
    const response = await request.get(path, { maxRedirects: 0 });
    expect(response.status()).toBe(307);
    const target = new URL(response.headers()['location']!, baseURL);
    expect(`${target.pathname}${target.search}`).toBe(`/login?callbackUrl=${encodeURIComponent(path)}`);
  }
});

// ASVS 7.5.2: users can view their currently active sessions — of every kind.
test('the sessions page lists database, JWT and API sessions and marks this device', async ({ page, request, newUser, newDevice, signIn }) => {
  const user = await newUser('list');
  await signIn(page, user, 'database');
  const b = await newDevice();
  await signIn(b.page, user, 'jwt');
  await tokenPair(request, user);

  const rows = await openSessions(page);
  await expect(rows).toHaveCount(3);
  for (const strategy of ['database', 'jwt', 'api']) await expect(rows.and(page.locator(`[data-strategy="${strategy}"]`))).toHaveCount(1);
  const current = rows.filter({ hasText: 'This device' });
  await expect(current).toHaveCount(1);
  await expect(current).toHaveAttribute('data-strategy', 'database');
  await expect(current).toContainText(/Chrome on Linux|Unknown device/);
  await expect(page.getByRole('button', { name: /Revoke/ })).toHaveCount(3);

  // The other device sees the same three, with its own marked.
  const rowsB = await openSessions(b.page);
  await expect(rowsB).toHaveCount(3);
  await expect(rowsB.filter({ hasText: 'This device' })).toHaveAttribute('data-strategy', 'jwt');
  await b.context.close();
});

for (const strategy of STRATEGIES) {
  // ASVS 7.5.2 (terminate any or all active sessions), 7.4.1 (a terminated session cannot be used again).
  test(`"Sign out everywhere else" from a ${strategy} session ends the other browser and the API tokens`, async ({ page, request, newUser, newDevice, signIn }) => {
    test.slow();
    const user = await newUser('others');
    await signIn(page, user, strategy);
    const b = await newDevice();
    await signIn(b.page, user, other(strategy));
    const pair = await tokenPair(request, user);

    const rows = await openSessions(page);
    await expect(rows).toHaveCount(3);
    await page.getByRole('button', { name: 'Sign out everywhere else' }).click();
    await expect(page.getByRole('status')).toHaveText('Signed out 2 other sessions.');
    await expect(rows).toHaveCount(1);
    await expect(rows.first()).toContainText('This device');

    await expectSignedOut(b.page);
    await expectTokensRefused(request, pair);
    await expectSignedIn(page, strategy);
    await b.context.close();
  });

  // ASVS 7.5.2 and 7.4.1: ending one chosen session; ending this one signs this browser out.
  test(`revoking one session by row (${strategy} device)`, async ({ page, newUser, newDevice, signIn }) => {
    const user = await newUser('row');
    await signIn(page, user, strategy);
    const b = await newDevice();
    await signIn(b.page, user, other(strategy));

    const rows = await openSessions(page);
    await expect(rows).toHaveCount(2);
    const theirs = rows.filter({ hasNotText: 'This device' });
    await theirs.getByRole('button', { name: /Revoke/ }).click();
    await expect(rows).toHaveCount(1);
    await expectSignedOut(b.page);
    await expectSignedIn(page, strategy);

    // The last row is this device: revoking it signs this browser out, cookie and all.
    const mine = await openSessions(page);
    await mine.filter({ hasText: 'This device' }).getByRole('button', { name: /Revoke/ }).click();
    await expect(page).toHaveURL(/\/login\?signedOut=revoked$/);
    expect(await sessionCookies(page.context())).toEqual([]);
    await expectSignedOut(page);
    await b.context.close();
  });
}

// ASVS 8.2.2: a session id that belongs to someone else is refused; nothing is revoked.
test('a forged session id cannot revoke another user\'s session', async ({ page, newUser, newDevice, signIn }) => {
  await signIn(page, await newUser('forger'), 'database');
  const victim = await newDevice();
  await signIn(victim.page, await newUser('victim'), 'jwt');
  const victimRows = await openSessions(victim.page);
  const victimSessionId = await victimRows.first().getAttribute('data-session-id');
  expect(victimSessionId).toBeTruthy();

  const rows = await openSessions(page);
  const form = rows.first().locator('form');
  await form.locator('input[name="sessionId"]').evaluate((input, id) => ((input as HTMLInputElement).value = id), victimSessionId!);
  await form.getByRole('button', { name: /Revoke/ }).click();
  await expect(form.getByRole('alert')).toHaveText('That session could not be revoked.');

  await expectSignedIn(victim.page, 'jwt');
  await expectSignedIn(page, 'database');
  await victim.context.close();
});

for (const strategy of STRATEGIES) {
  // ASVS 6.2.2 / 6.2.3 (change password with the current one), 7.5.1 (re-authentication before changing
  // an authentication factor), 7.4.3 (other sessions end after a password change).
  test(`changing the password (${strategy}) needs the current one and signs out every other session`, async ({ page, request, newUser, newDevice, signIn }) => {
    test.slow(); // several argon2id hashes and three sign-ins
    const user = await newUser('password');
    await signIn(page, user, strategy);
    const b = await newDevice();
    await signIn(b.page, user, other(strategy));
    const pair = await tokenPair(request, user);
    const newPassword = 'Quartz-harbor-violet-77';
    const form = page.getByRole('form', { name: 'Change password' });

    await page.goto('/dashboard/security');
    await page.getByLabel('Current password').fill('not-my-password-1');
    await page.getByLabel('New password').fill(newPassword);
    await page.getByRole('button', { name: 'Change password' }).click();
    await expect(form.getByRole('alert')).toHaveText('Current password is incorrect');
    await expectSignedIn(b.page, other(strategy));

    await page.goto('/dashboard/security');
    await page.getByLabel('Current password').fill(STRONG_PASSWORD);
    await page.getByLabel('New password').fill('short');
    await page.getByRole('button', { name: 'Change password' }).click();
    await expect(form.getByRole('alert')).toContainText('at least');
    await expectSignedIn(b.page, other(strategy));

    await page.goto('/dashboard/security');
    await page.getByLabel('Current password').fill(STRONG_PASSWORD);
    await page.getByLabel('New password').fill(newPassword);
    await page.getByRole('button', { name: 'Change password' }).click();
    await expect(form.getByRole('status')).toHaveText('Password changed. 2 other sessions were signed out.');

    await expectSignedOut(b.page);
    await expectTokensRefused(request, pair);
    await expectSignedIn(page, strategy);
    await expect(page.getByTestId('recent-activity')).toContainText('password.changed');

    // The old password no longer signs in; the new one does.
    const c = await newDevice();
    await signInUI(c.page, { email: user.email, password: STRONG_PASSWORD, strategy });
    await expect(c.page.getByRole('form', { name: 'Sign in' }).getByRole('alert')).toHaveText('Invalid email or password');
    expect((await request.post('/api/token', { data: { email: user.email, password: STRONG_PASSWORD } })).status()).toBe(401);
    await signInToDashboard(c.page, { email: user.email, password: newPassword }, strategy);
    await expectUnauthorized(await request.get('/api/me'));
    await b.context.close();
    await c.context.close();
  });
}

// ASVS 16.3.1: ending a session at sign-in (the browser's previous one) and at sign-out is recorded with the client address.
test('the session replaced at sign-in and the one ended at sign-out are audited with the client address', async ({ page, newUser, signIn }) => {
  const user = await newUser('audit');
  await signIn(page, user, 'database');
  await signIn(page, user, 'jwt');
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(/\/login\?signedOut=revoked$/);

  const revocations = (await auditEventsForEmail(user.email)).filter((row) => row.event === 'session.revoked' || row.event === 'signout');
  expect(revocations.map((row) => [row.event, row.detail.reason ?? null, row.detail.kind ?? row.detail.strategy])).toEqual([
    ['session.revoked', 'replaced_at_sign_in', 'database'],
    ['session.revoked', 'sign_out', 'jwt'],
    ['signout', null, 'jwt'],
  ]);
  for (const row of revocations) expect(row.ip, `${row.event} records the address`).toMatch(/^(127\.0\.0\.1|::1|::ffff:127\.0\.0\.1)$/);
});
