import type { Locator, Page } from '@playwright/test';
import { ADMIN, RADIO, STRATEGIES, expect, test } from './fixtures';
import { LAB_RUNS, ageAuthentication } from './db';
import { expectIssuer, freshLogin, providerEmail, signInAtProvider, startProviderSignIn } from './provider';
import { ACCOUNT_PAGES, PUBLIC_PAGES, WIDTHS, expectAccessible, expectNoOverflow, open, screenshot } from './page-checks';

// axe-core on every page, signed out and signed in with each strategy, the
// admin page and the comparison lab (before and after an experiment): no
// serious or critical violation (contrast included). Then the keyboard alone:
// signing in and out, with the focus visible at every stop.

test.describe('axe, at the desktop and the phone width', () => {
  for (const [name, viewport] of Object.entries(WIDTHS)) {
    test(`signed out: every public page${name === 'desktop' ? '' : ', those that differ on a phone'} (${name})`, async ({ page }, testInfo) => {
      await page.setViewportSize(viewport);
      for (const target of PUBLIC_PAGES.filter((candidate) => name === 'desktop' || candidate.phone)) {
        await open(page, target);
        const header = page.getByRole('banner');
        await expect(header.getByRole('link', { name: 'Sign in', exact: true })).toBeVisible();
        await expect(header.getByRole('link', { name: 'Register', exact: true })).toBeVisible();
        await expect(header.getByRole('button', { name: 'Sign out' })).toHaveCount(0);
        await expectAccessible(page, testInfo, `${target.path} signed out (${name})`);
      }
    });
  }

  for (const strategy of STRATEGIES) {
    for (const [name, viewport] of Object.entries(WIDTHS)) {
      test(`signed in with ${strategy}: the account pages and the home page${name === 'desktop' ? '' : ', those that differ on a phone'}, and the header says who (${name})`, async ({ signedInPage }, testInfo) => {
        const { page, user } = await signedInPage(strategy);
        await page.setViewportSize(viewport);
        for (const target of [...ACCOUNT_PAGES, PUBLIC_PAGES[0]].filter((candidate) => name === 'desktop' || candidate.phone)) {
          await open(page, target);
          const header = page.getByRole('banner');
          await expect(header.getByTestId('signed-in-as')).toHaveText(`Signed in as ${user.name} with a ${RADIO[strategy]}`);
          await expect(header.getByTestId('strategy-badge')).toHaveText(RADIO[strategy]);
          await expect(header.getByRole('link', { name: 'Dashboard', exact: true })).toHaveAttribute('href', '/dashboard');
          await expect(header.getByRole('button', { name: 'Sign out', exact: true })).toBeVisible();
          await expect(header.getByRole('link', { name: 'Sign in', exact: true })).toHaveCount(0);
          await expect(header.getByRole('link', { name: 'Register', exact: true })).toHaveCount(0);
          await expectAccessible(page, testInfo, `${target.path} ${strategy} (${name})`);
        }
      });
    }
  }

  test('signed in: the comparison lab', async ({ signedInPage }, testInfo) => {
    const { page } = await signedInPage('jwt');
    for (const [name, viewport] of Object.entries(WIDTHS)) {
      await page.setViewportSize(viewport);
      await open(page, { path: '/compare', heading: 'Comparison lab' });
      await expect(page.getByRole('banner').getByTestId('strategy-badge')).toHaveText(RADIO.jwt);
      await expectNoOverflow(page, `/compare signed in (${name})`);
      await expectAccessible(page, testInfo, `/compare signed in (${name})`);
    }
  });

  // The states a password account with no provider never shows: a provider-only account's security page
  // (connected providers, "Set a password"), "Confirm it's you" through the provider, the step-up prompt,
  // and the sign-in page's pending-link notice and error.
  test('provider accounts and step-up: the states only they show', async ({ page, newUser }, testInfo) => {
    expectIssuer();
    const check = async (label: string) => {
      for (const [name, viewport] of Object.entries(WIDTHS)) {
        await page.setViewportSize(viewport);
        await expectNoOverflow(page, `${label} (${name})`);
        await expectAccessible(page, testInfo, `${label} (${name})`);
      }
      await page.setViewportSize(WIDTHS.desktop);
    };
    const login = freshLogin('a11y-provider');
    await startProviderSignIn(page, 'jwt');
    await signInAtProvider(page, login);
    await expect(page).toHaveURL(/\/dashboard$/);

    await open(page, { path: '/dashboard/security', heading: 'Security' });
    await expect(page.getByTestId('providers-table')).toContainText(login);
    await expect(page.getByRole('heading', { name: 'Set a password' })).toBeVisible();
    await check('/dashboard/security, provider-only account');

    await ageAuthentication(providerEmail(login), 60 * 60);
    await page.getByRole('button', { name: 'Connect Test provider', exact: true }).click();
    await expect(page.getByRole('link', { name: "Confirm it's you" })).toBeVisible();
    await check('/dashboard/security, asking to confirm');

    await open(page, { path: '/dashboard/confirm?returnTo=%2Fdashboard%2Fsecurity', heading: "Confirm it's you" });
    await expect(page.getByRole('button', { name: 'Confirm with Test provider' })).toBeVisible();
    await check("/dashboard/confirm through the provider");

    await page.context().clearCookies();
    const user = await newUser('a11y-pending');
    await startProviderSignIn(page, 'database');
    await signInAtProvider(page, user.email);
    await expect(page).toHaveURL(/\/login\?link=pending$/);
    await expect(page.getByTestId('pending-link')).toBeVisible();
    await check('/login with a pending link');

    await page.goto('/login?error=provider_email_unverified');
    await expect(page.getByTestId('signin-error')).toBeVisible();
    await check('/login with a provider error');
  });

  test('the admin page', async ({ page, signIn }, testInfo) => {
    await signIn(page, ADMIN, 'database');
    for (const [name, viewport] of Object.entries(WIDTHS)) {
      await page.setViewportSize(viewport);
      await open(page, { path: '/admin', heading: 'Admin' });
      await expectAccessible(page, testInfo, `/admin (${name})`);
    }
  });
});

test.describe('the comparison lab', () => {
  // It runs an experiment from this machine's address: see e2e/compare.spec.ts.
  test.describe.configure({ lock: LAB_RUNS });

  // One run serves both checks: axe before and after it, and (as e2e/layout.spec.ts does for the other
  // pages) the width of its results, with the screenshot the README shows.
  test('before and after an experiment: axe, and the results fit 1280 and 360 px', async ({ page }, testInfo) => {
    await page.setViewportSize(WIDTHS.desktop);
    await open(page, { path: '/compare', heading: 'Comparison lab' });
    await expectAccessible(page, testInfo, '/compare before a run');
    const section = page.getByRole('region', { name: 'Revocation', exact: true });
    await section.getByRole('button', { name: 'Run Revocation' }).click();
    await expect(section.getByRole('status')).toHaveText('Done.', { timeout: 45_000 });
    await expect(section.getByTestId('claim-revocation').getByRole('table')).toBeVisible();
    await expectAccessible(page, testInfo, '/compare after Revocation (desktop)');
    await screenshot(page, testInfo, 'compare-1280', { downTo: section, readme: true });
    await page.setViewportSize(WIDTHS.phone);
    await expectNoOverflow(page, '/compare after Revocation (phone)');
    await expectAccessible(page, testInfo, '/compare after Revocation (phone)');
    await screenshot(page, testInfo, 'compare-360');
    await page.setViewportSize(WIDTHS.desktop);
    await expectNoOverflow(page, '/compare after Revocation (desktop)');
  });
});

/** The focused element shows a focus ring: it matches :focus-visible and has a solid outline at least 2 px wide. */
async function expectFocusRing(page: Page, what: string): Promise<void> {
  const ring = await page.evaluate(() => {
    const element = document.activeElement;
    if (!element || element === document.body) return null;
    const style = getComputedStyle(element);
    return { visible: element.matches(':focus-visible'), style: style.outlineStyle, width: parseFloat(style.outlineWidth) };
  });
  expect(ring, `${what}: something has the focus`).not.toBeNull();
  expect(ring!.visible, `${what}: :focus-visible`).toBe(true);
  expect(ring!.style, `${what}: outline style`).not.toBe('none');
  expect(ring!.width, `${what}: outline width`).toBeGreaterThanOrEqual(2);
}

/**
 * Presses Tab until `target` has the focus (at most `limit` times), checking the
 * focus ring at every stop. Past the page's last control the focus leaves the
 * page once (to the browser) before it starts again at the top.
 */
async function tabTo(page: Page, target: Locator, what: string, limit = 10): Promise<void> {
  let leftThePage = false;
  for (let presses = 1; presses <= limit; presses += 1) {
    await page.keyboard.press('Tab');
    if (!leftThePage && (await page.evaluate(() => document.activeElement === document.body || document.activeElement === null))) {
      leftThePage = true;
      continue;
    }
    await expectFocusRing(page, `Tab ${presses} towards ${what}`);
    if (await target.evaluate((element) => element === document.activeElement)) return;
  }
  throw new Error(`${what} not reached in ${limit} presses of Tab`);
}

test('keyboard only: sign in with a JWT, reach the dashboard, sign out from the header; the focus is visible at every stop', async ({ page, newUser }) => {
  const user = await newUser('keyboard');
  await page.goto('/login');
  await expect(page.getByRole('heading', { level: 1, name: 'Sign in' })).toBeVisible();

  const email = page.getByLabel('Email', { exact: true });
  await tabTo(page, email, 'the Email field');
  await page.keyboard.type(user.email);
  await page.keyboard.press('Tab');
  await expect(page.getByLabel('Password', { exact: true })).toBeFocused();
  await expectFocusRing(page, 'Password');
  await page.keyboard.type(user.password);
  // Into the strategy group: the checked radio takes the focus; an arrow key moves the choice.
  await page.keyboard.press('Tab');
  await expect(page.getByRole('radio', { name: RADIO.database })).toBeFocused();
  await expectFocusRing(page, 'the strategy group');
  await page.keyboard.press('ArrowDown');
  await expect(page.getByRole('radio', { name: RADIO.jwt })).toBeChecked();
  await expect(page.getByRole('radio', { name: RADIO.jwt })).toBeFocused();
  await page.keyboard.press('Tab');
  const submit = page.getByRole('button', { name: 'Sign in', exact: true });
  await expect(submit).toBeFocused();
  await expectFocusRing(page, 'the Sign in button');
  await page.keyboard.press('Enter');

  await expect(page).toHaveURL(/\/dashboard$/);
  await expect(page.getByText('Strategy: jwt')).toBeVisible();
  const header = page.getByRole('banner');
  await expect(header.getByTestId('strategy-badge')).toHaveText(RADIO.jwt);

  await tabTo(page, header.getByRole('button', { name: 'Sign out', exact: true }), 'the header’s Sign out', 60);
  await page.keyboard.press('Enter');
  await expect(page).toHaveURL(/\/login\?signedOut=/);
  await expect(header.getByRole('link', { name: 'Sign in', exact: true })).toBeVisible();
  await expect(header.getByTestId('signed-in-as')).toHaveCount(0);
  expect((await page.context().request.get('/api/me')).status()).toBe(401);
});
