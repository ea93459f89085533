import type { Locator, Page } from '@playwright/test';
import { expect, test } from './fixtures';

// The comparison lab's other-origin experiments in Chromium: the downstream
// service (started next to the app by scripts/test.mjs) called for real, the
// XSS demo frame's report (localStorage read, HttpOnly cookie unreadable but
// used) and the CSRF demo's forged forms refused, each defence named.

async function runExperiment(page: Page, title: string): Promise<Locator> {
  const section = page.getByRole('region', { name: title, exact: true });
  await section.getByRole('button', { name: `Run ${title}` }).click();
  await expect(section.getByRole('status')).toHaveText('Done.', { timeout: 45_000 });
  return section;
}

const cellsOf = async (row: Locator) => (await row.locator('th, td').allTextContents()).map((text) => text.trim());

test('across origins: the downstream service accepts the access token and refuses the session cookie; its CORS allows exactly this app', async ({ page, baseURL }) => {
  await page.goto('/compare');
  const section = await runExperiment(page, 'Across origins');
  const claim = section.getByTestId('claim-downstream');
  await expect(claim.getByTestId('column-token')).toContainText('downstream: accepted (200)');
  await expect(claim.getByTestId('column-session')).toContainText('downstream: refused (401)');
  expect((await cellsOf(claim.getByTestId('row-session-app')))[1]).toBe('200');
  expect((await cellsOf(claim.getByTestId('row-preflight-app')))[2]).toBe(new URL(baseURL!).origin);
  expect((await cellsOf(claim.getByTestId('row-preflight-other')))[1]).toBe('403');
  await expect(claim.getByTestId('verdict')).toContainText('True here');
});

test('XSS: the injected script reads the localStorage token, cannot read the HttpOnly cookie, but can use it', async ({ page }) => {
  await page.goto('/compare');
  const section = await runExperiment(page, 'XSS and localStorage');
  await expect(section.getByTestId('claim-xss-server').getByTestId('verdict')).toContainText('HttpOnly cookies');
  const browser = section.getByTestId('claim-xss-browser');
  await expect(browser).toBeVisible({ timeout: 30_000 });
  expect((await cellsOf(browser.getByTestId('row-token-read')))[1]).toBe('yes');
  expect((await cellsOf(browser.getByTestId('row-cookie-read')))[1]).toBe('no');
  expect((await cellsOf(browser.getByTestId('row-cookie-used')))[1]).toBe('200');
  await expect(browser.getByTestId('verdict')).toContainText('True: the injected script read the token');
  // Nothing of the visitor's: the lab page's own storage is untouched.
  expect(await page.evaluate(() => localStorage.length)).toBe(0);
});

test('CSRF: forged forms refused in the browser (SameSite from another site, the origin check from the same site); Bearer never attached', async ({ page, context }) => {
  await page.goto('/compare');
  const section = await runExperiment(page, 'Cross-site request forgery');
  const server = section.getByTestId('claim-csrf');
  await expect(server.getByTestId('verdict')).toContainText('Not on this server');
  expect((await cellsOf(server.getByTestId('row-cookie-same-site')))[4]).toBe('refused by the origin check (403)');
  expect((await cellsOf(server.getByTestId('row-bearer-forged')))[4]).toBe('refused: no valid credential attached (401)');
  const browser = section.getByTestId('claim-csrf-browser');
  await expect(browser).toBeVisible({ timeout: 30_000 });
  const cross = await cellsOf(browser.getByTestId('row-browser-cross-site'));
  expect(cross[1], 'SameSite: the browser did not attach the cookie cross-site').toBe('no');
  expect(cross[4]).toMatch(/^refused/);
  const same = await cellsOf(browser.getByTestId('row-browser-same-site'));
  expect(same[1], 'same site: the cookie was attached').toBe('yes');
  expect(same[3]).toBe('refused');
  expect(same[4]).toBe('refused by the origin check (403)');
  expect(cross[2]).toBe('absent');
  await expect(browser.getByTestId('verdict')).toContainText('did not attach the cookie (SameSite)');
  await expect(browser.getByTestId('verdict')).toContainText("the server's origin check refused the request");
  // The demo cookie is the demo's, scoped to its endpoint; no session cookie was set.
  const cookies = await context.cookies();
  expect(cookies.map((cookie) => cookie.name).filter((name) => name.startsWith('sot.') && name !== 'sot.csrf-demo')).toEqual([]);
  const demo = cookies.find((cookie) => cookie.name === 'sot.csrf-demo');
  expect(demo?.httpOnly).toBe(true);
  expect(demo?.sameSite).toBe('Lax');
  expect(demo?.path).toBe('/api/compare/csrf-demo');
});
