import { expect, test } from '@playwright/test';
import { countUsers } from './db';
import {
  DEMO,
  STRATEGIES,
  STRONG_PASSWORD,
  decodeSegment,
  expectMe,
  onlySessionCookie,
  registerUI,
  sessionCookies,
  signInUI,
  uniqueEmail,
} from './fixtures';
import { finishSignUp } from './mailbox';

for (const strategy of STRATEGIES) {
  test.describe(`${strategy} strategy`, () => {
    test('register, see the evidence, reload, sign out', async ({ page, context }) => {
      const email = uniqueEmail(`flow-${strategy}`);
      const name = `Flow ${strategy} user`;
      await registerUI(page, { name, email, password: STRONG_PASSWORD, strategy });
      await finishSignUp(page, email);

      await expect(page).toHaveURL(/\/dashboard$/);
      await expect(page.getByText(`Strategy: ${strategy}`)).toBeVisible();
      await expect(page.getByText(name, { exact: true })).toBeVisible();
      await expect(page.getByText(email, { exact: true })).toBeVisible();

      // Only this strategy's cookie, with the expected attributes.
      const cookie = await onlySessionCookie(context, strategy);
      expect(cookie.httpOnly).toBe(true);
      expect(cookie.sameSite).toBe('Lax');
      expect(cookie.path).toBe('/');

      // The page states the cookie's size, and it matches the cookie.
      const size = (await page.getByTestId('cookie-size').textContent()) ?? '';
      expect(size).toMatch(/^\s*\d+ bytes\s*$/);
      const bytes = Number(size.trim().split(' ')[0]);
      expect(bytes).toBeGreaterThanOrEqual(cookie.value.length);
      expect(bytes).toBeLessThanOrEqual(cookie.name.length + 1 + cookie.value.length);

      if (strategy === 'jwt') {
        const [headerSegment, claimsSegment] = cookie.value.split('.');
        const header = JSON.parse((await page.getByTestId('jwt-header').textContent()) ?? '') as Record<string, unknown>;
        const claims = JSON.parse((await page.getByTestId('jwt-claims').textContent()) ?? '') as Record<string, unknown>;
        // The page shows the decoded header and claims of the very cookie it set.
        expect(header).toEqual(decodeSegment(headerSegment!));
        expect(claims).toEqual(decodeSegment(claimsSegment!));
        expect(header.alg).toBe('EdDSA');
        expect(typeof claims.sub).toBe('string');
        await expect(page.getByTestId('expires-in')).toBeVisible();
        await expect(page.getByTestId('session-row')).toHaveCount(0);
      } else {
        const row = page.getByTestId('session-row');
        await expect(row).toBeVisible();
        const rowText = (await row.textContent()) ?? '';
        // The stored token is a hash: the raw cookie value is never shown.
        expect(rowText).not.toContain(cookie.value);
        await expect(page.getByTestId('jwt-header')).toHaveCount(0);
        await expect(page.getByTestId('jwt-claims')).toHaveCount(0);
      }

      // A reload keeps the session.
      await page.reload();
      await expect(page).toHaveURL(/\/dashboard$/);
      await expect(page.getByText(`Strategy: ${strategy}`)).toBeVisible();

      // The API agrees with the page.
      await expectMe(await page.request.get('/api/me'), { email, strategy });

      // Sign out: the cookie is gone and the dashboard is closed again.
      await page.getByRole('button', { name: 'Sign out' }).click();
      await expect(page).toHaveURL(/\/(login)?(\?.*)?$/);
      expect(await sessionCookies(context)).toEqual([]);
      await page.goto('/dashboard');
      await expect(page).toHaveURL(/\/login\?callbackUrl=%2Fdashboard$/);
      await expect(page.getByRole('button', { name: 'Sign in' })).toBeVisible();
    });

    test('sign in with the demo user; reload stays signed in', async ({ page, context }) => {
      await signInUI(page, { ...DEMO, strategy });
      await expect(page).toHaveURL(/\/dashboard$/);
      await expect(page.getByText(`Strategy: ${strategy}`)).toBeVisible();
      await expect(page.getByText(DEMO.name, { exact: true })).toBeVisible();
      await expect(page.getByText(DEMO.email, { exact: true })).toBeVisible();
      await onlySessionCookie(context, strategy);
      await page.reload();
      await expect(page.getByText(`Strategy: ${strategy}`)).toBeVisible();
    });

    test('wrong password shows the error and sets no cookie', async ({ page, context }) => {
      await signInUI(page, { email: DEMO.email, password: 'not-the-password-1', strategy });
      await expect(page.getByText('Invalid email or password')).toBeVisible();
      await expect(page).toHaveURL(/\/login/);
      expect(await sessionCookies(context)).toEqual([]);
      expect((await page.request.get('/api/me')).status()).toBe(401);
    });

    test('unknown email shows the same error and sets no cookie', async ({ page, context }) => {
      await signInUI(page, { email: uniqueEmail('nobody'), password: DEMO.password, strategy });
      await expect(page.getByText('Invalid email or password')).toBeVisible();
      expect(await sessionCookies(context)).toEqual([]);
    });

    test('registration of a taken email answers like a new one (e2e/recovery.spec.ts); a weak password is refused', async ({ page, context }) => {
      await registerUI(page, { name: 'Second Demo', email: DEMO.email, password: STRONG_PASSWORD, strategy });
      await expect(page.getByRole('status')).toHaveText(`Check your inbox: we sent a link to ${DEMO.email} to finish signing up.`);
      await expect(page.getByText(/already exists/i)).toHaveCount(0);
      await expect(page).toHaveURL(/\/register/);
      expect(await sessionCookies(context)).toEqual([]);
      expect(await countUsers(DEMO.email)).toBe(1);

      const weakEmail = uniqueEmail('weak');
      await registerUI(page, { name: 'Weak', email: weakEmail, password: '123', strategy });
      await expect(page.getByRole('alert').first()).toBeVisible();
      await expect(page).toHaveURL(/\/register/);
      expect(await sessionCookies(context)).toEqual([]);
      expect(await countUsers(weakEmail)).toBe(0);
    });
  });
}
