import { ageAuthentication, countProviderAccounts, grantAdminRole, insertProviderAccount, sessionRecordsForEmail } from './db';
import { COOKIE, decodeSegment, encodeSegment, expect, other, STRATEGIES, test } from './fixtures';
import { freshLogin, ISSUER } from './provider';

// Step-up authentication: sensitive actions need a recent authentication
// (STEP_UP_WINDOW_SECONDS, 10 minutes in the suite). Instead of waiting, the
// tests move the session's recorded authentication time into the past.
const PAST_THE_WINDOW_SECONDS = 60 * 60;

for (const strategy of STRATEGIES) {
  test(`${strategy}: an action outside the window asks "Confirm it's you" and goes ahead after the password`, async ({ page, newUser, signIn }) => {
    const user = await newUser('step-up');
    await signIn(page, user, strategy);
    await expect(page.getByTestId('auth-methods')).toHaveText('pwd');
    await ageAuthentication(user.email, PAST_THE_WINDOW_SECONDS);

    await page.goto('/dashboard/sessions');
    await page.getByRole('button', { name: 'Sign out everywhere else' }).click();
    await page.getByRole('link', { name: "Confirm it's you" }).click();
    await expect(page).toHaveURL(/\/dashboard\/confirm\?returnTo=%2Fdashboard%2Fsessions$/);

    // A wrong password does not confirm.
    const form = page.getByRole('form', { name: "Confirm it's you" });
    await form.getByLabel('Password').fill('not-the-password');
    await form.getByRole('button', { name: 'Confirm' }).click();
    await expect(page.getByText('That password is not right.')).toBeVisible();

    await form.getByLabel('Password').fill(user.password);
    await form.getByRole('button', { name: 'Confirm' }).click();
    await expect(page).toHaveURL(/\/dashboard\/sessions$/);
    await page.getByRole('button', { name: 'Sign out everywhere else' }).click();
    await expect(page.getByText(/Signed out \d+ other sessions?\./)).toBeVisible();
  });

  test(`${strategy}: a form posted again after the window is refused`, async ({ page, newUser, signIn }) => {
    const user = await newUser('step-up-replay');
    await signIn(page, user, strategy);
    await page.goto('/dashboard/security');
    const form = page.getByRole('form', { name: 'Change password' });
    // The form was loaded inside the window; by the time it is posted, the window has passed.
    await ageAuthentication(user.email, PAST_THE_WINDOW_SECONDS);
    await form.getByLabel('Current password').fill(user.password);
    await form.getByLabel('New password').fill('Another-strong-password-77');
    await page.getByRole('button', { name: 'Change password' }).click();
    await expect(page.getByRole('link', { name: "Confirm it's you" })).toBeVisible();
    await expect(page.getByText(/Password changed/)).toHaveCount(0);
    // The token endpoint refuses a browser session outside the window too (RFC 9470's challenge).
    const exchange = await page.request.post('/api/token', { headers: { origin: new URL(page.url()).origin, 'sec-fetch-site': 'same-origin' } });
    expect(exchange.status()).toBe(401);
    expect((await exchange.json()).error).toBe('insufficient_user_authentication');
  });
}

test('a JWT cookie edited to a fresh auth_time is refused (its signature fails)', async ({ page, context, newUser, signIn }) => {
  const user = await newUser('step-up-forged');
  await signIn(page, user, 'jwt');
  const cookie = (await context.cookies()).find((candidate) => candidate.name === COOKIE.jwt);
  expect(cookie).toBeDefined();
  const [header, payload, signature] = cookie!.value.split('.');
  const claims = decodeSegment(payload!);
  expect(typeof claims.auth_time).toBe('number');
  expect(claims.amr).toEqual(['pwd']);
  await ageAuthentication(user.email, PAST_THE_WINDOW_SECONDS);
  const forged = `${header}.${encodeSegment({ ...claims, auth_time: Math.floor(Date.now() / 1000) + 1 })}.${signature}`;
  await context.addCookies([{ ...cookie!, value: forged }]);
  await page.goto('/dashboard/security');
  await expect(page).toHaveURL(/\/login/);
});

// Each sensitive action checks the window on the server; the two below are not covered above.
test('disconnecting a provider outside the window asks to confirm first and disconnects nothing until then', async ({ page, newUser, signIn }) => {
  const user = await newUser('step-up-disconnect');
  const subject = freshLogin('step-up-disconnect');
  await insertProviderAccount(user.id, ISSUER, subject);
  await signIn(page, user, 'database');
  await ageAuthentication(user.email, PAST_THE_WINDOW_SECONDS);

  await page.goto('/dashboard/security');
  const disconnect = page.getByRole('button', { name: `Disconnect Test provider (${subject})` });
  await disconnect.click();
  await page.getByRole('link', { name: "Confirm it's you" }).click();
  expect(await countProviderAccounts(ISSUER, subject)).toBe(1);

  const form = page.getByRole('form', { name: "Confirm it's you" });
  await form.getByLabel('Password').fill(user.password);
  await form.getByRole('button', { name: 'Confirm' }).click();
  await expect(page).toHaveURL(/\/dashboard\/security$/);
  await page.getByRole('button', { name: `Disconnect Test provider (${subject})` }).click();
  await expect(page).toHaveURL(/\/dashboard\/security\?done=disconnected/);
  expect(await countProviderAccounts(ISSUER, subject)).toBe(0);
});

for (const strategy of STRATEGIES) {
  test(`an administrator's ${strategy} session outside the window revokes nothing until it confirms`, async ({ page, newUser, newDevice, signIn }) => {
    const [admin, target] = await Promise.all([newUser('step-up-admin'), newUser('step-up-admin-target')]);
    await grantAdminRole(admin.email);
    const device = await newDevice();
    await signIn(device.page, target, other(strategy));
    await signIn(page, admin, strategy);
    await ageAuthentication(admin.email, PAST_THE_WINDOW_SECONDS);

    await page.goto('/admin');
    const sessionRow = page.getByTestId('admin-sessions').locator('tbody tr').filter({ hasText: target.email });
    await sessionRow.getByRole('button', { name: /Revoke/ }).click();
    await sessionRow.getByRole('link', { name: "Confirm it's you" }).click();
    await expect(page).toHaveURL(/\/dashboard\/confirm\?returnTo=%2Fadmin$/);
    expect((await sessionRecordsForEmail(target.email)).map((row) => row.revoked)).toEqual([false]);

    const form = page.getByRole('form', { name: "Confirm it's you" });
    await form.getByLabel('Password').fill(admin.password);
    await form.getByRole('button', { name: 'Confirm' }).click();
    await expect(page).toHaveURL(/\/admin$/);
    await page.getByTestId('admin-sessions').locator('tbody tr').filter({ hasText: target.email }).getByRole('button', { name: /Revoke/ }).click();
    await expect(page.getByTestId('admin-sessions').locator('tbody tr').filter({ hasText: target.email })).toHaveCount(0);
    expect((await sessionRecordsForEmail(target.email)).map((row) => row.revoked)).toEqual([true]);
  });
}
