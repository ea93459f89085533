import {
  ADMIN,
  DEMO,
  expect,
  expectSignedIn,
  expectSignedOut,
  other,
  signInHttp,
  STRATEGIES,
  test,
} from './fixtures';

/** The admin page: who may see it, and an administrator ending someone else's session. */

// ASVS 8.2.1: function-level access — signed out, the admin page sends the browser to sign in.
test('signed out, /admin redirects to the sign-in page', async ({ request, baseURL }) => {
  const response = await request.get('/admin', { maxRedirects: 0 });
  expect(response.status()).toBe(307);
  const target = new URL(response.headers()['location']!, baseURL);
  expect(target.origin).toBe(new URL(baseURL!).origin);
  expect(`${target.pathname}${target.search}`).toBe('/login?callbackUrl=%2Fadmin');
});

for (const strategy of STRATEGIES) {
  // ASVS 8.2.1: a signed-in user without the admin role gets 403 and none of the admin data.
  test(`a user without the admin role gets 403 on /admin (${strategy})`, async ({ request }) => {
    expect((await signInHttp(request, { ...DEMO, strategy })).status()).toBe(302);
    const response = await request.get('/admin', { maxRedirects: 0 });
    expect(response.status()).toBe(403);
    const body = await response.text();
    expect(body).not.toContain('Audit log');
    expect(body).not.toContain(ADMIN.email);
  });
}

test('an admin sees users, sessions and the audit log, and the dashboard links to Admin', async ({ page, signIn }) => {
  await signIn(page, ADMIN, 'jwt');
  await page.getByRole('navigation', { name: 'Account' }).getByRole('link', { name: 'Admin' }).click();
  await expect(page).toHaveURL(/\/admin$/);
  await expect(page.getByRole('heading', { level: 1, name: 'Admin' })).toBeVisible();
  const demo = page.getByTestId('admin-users').locator('tbody tr').filter({ hasText: DEMO.email });
  await expect(demo).toHaveCount(1);
  await expect(demo.locator('td').nth(2)).toHaveText('user');
  await expect(page.getByTestId('admin-sessions').locator('tbody tr').filter({ hasText: 'This device' })).toHaveCount(1);
  await expect(page.getByRole('heading', { name: 'Audit log' })).toBeVisible();
  await expect(page.getByRole('table', { name: 'Audit log' }).getByRole('columnheader')).toHaveText(['Time', 'Event', 'User', 'IP', 'Detail']);
});

for (const strategy of STRATEGIES) {
  // ASVS 7.4.5: administrators can terminate the active sessions of an individual user; 7.4.1: at once.
  test(`an admin revokes a user's ${strategy} session and the user's next request is refused`, async ({ page, newUser, newDevice, signIn }) => {
    const user = await newUser('admin-target');
    await signIn(page, user, strategy);
    const admin = await newDevice();
    await signIn(admin.page, ADMIN, other(strategy));

    await admin.page.goto('/admin');
    const userRow = admin.page.getByTestId('admin-users').locator('tbody tr').filter({ hasText: user.email });
    await expect(userRow.getByTestId('active-session-count')).toHaveText('1');
    const sessionRow = admin.page.getByTestId('admin-sessions').locator('tbody tr').filter({ hasText: user.email });
    await expect(sessionRow).toHaveCount(1);
    await expect(sessionRow).toHaveAttribute('data-strategy', strategy);
    await sessionRow.getByRole('button', { name: /Revoke/ }).click();
    await expect(sessionRow).toHaveCount(0);
    await expect(userRow.getByTestId('active-session-count')).toHaveText('0');

    await expectSignedOut(page);
    await expectSignedIn(admin.page, other(strategy));

    // The audit log names the revocation, by an administrator.
    await admin.page.goto('/admin');
    const audit = admin.page.getByTestId('audit-log').locator('tbody tr').filter({ hasText: 'session.revoked' }).filter({ hasText: user.email });
    await expect(audit.first()).toContainText('by=admin');
    await admin.context.close();
  });
}
