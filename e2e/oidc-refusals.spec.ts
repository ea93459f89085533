import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { RunningServer } from '../scripts/app-process.d.mts';
import type { IdTokenDefect, RunningIdp } from '../scripts/idp.d.mts';
import { ageAuthentication, auditEventsForEmail, countProviderAccounts, countUsers, sessionOriginsForEmail } from './db';
import { expect, sessionCookies, test, type Strategy } from './fixtures';
import { expectAtProvider, freshLogin, providerEmail, signInAtProvider, startAppWithOwnProvider, startProviderSignIn, submitProviderLogin } from './provider';

// A provider whose token endpoint hands back a bad ID token: the real test
// provider (scripts/idp.mjs) with its ID tokens spoiled in one way at a time
// (idp.spoilIdTokens), in front of an app of its own, so this spec reads that
// app's log and nothing else's. Every refusal of a sign-in ends on the sign-in
// page with the generic words, no 5xx and no session; the server log says why.
// A provider that answers from a session it already had (an old auth_time)
// signs the user in as of that time, and confirms nothing.

const GENERIC_REFUSAL = 'Sign-in with the provider could not be completed. Please try again.';

interface LogLine {
  level?: string;
  event?: string;
  cause?: string | null;
  reason?: string;
}

/** What the server log must hold for each defect: Auth.js's refusal (a claim check) or ours (the signature). */
const CASES: { defect: IdTokenDefect; what: string; strategy: Strategy; logged: (line: LogLine) => boolean }[] = [
  {
    defect: 'nonce',
    what: 'another nonce than the one this sign-in sent',
    strategy: 'database',
    logged: (line) => line.event === 'authjs.error' && /"nonce" claim value/.test(line.cause ?? ''),
  },
  {
    defect: 'issuer',
    what: 'another issuer than the configured one',
    strategy: 'jwt',
    logged: (line) => line.event === 'authjs.error' && /"iss" \(issuer\) claim value/.test(line.cause ?? ''),
  },
  {
    defect: 'expired',
    what: 'an expiry in the past',
    strategy: 'database',
    logged: (line) => line.event === 'authjs.error' && /"exp" \(expiration time\) claim value/.test(line.cause ?? ''),
  },
  {
    defect: 'foreign-key',
    what: 'a signature by a key the provider does not publish',
    strategy: 'jwt',
    logged: (line) => line.event === 'signin.provider_id_token_refused' && line.reason === 'signature',
  },
];

function logLines(text: string): LogLine[] {
  return text.split('\n').flatMap((line) => {
    if (!line.startsWith('{')) return [];
    try {
      return [JSON.parse(line) as LogLine];
    } catch {
      return [];
    }
  });
}

test.describe('a provider whose ID token must be refused', () => {
  // One provider whose behaviour each test sets: one test at a time.
  test.describe.configure({ mode: 'serial' });
  let server: RunningServer;
  let idp: RunningIdp;
  let dir: string;
  let serverLog: string;

  test.beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'oidc-refusals-'));
    serverLog = path.join(dir, 'server.log');
    ({ server, idp } = await startAppWithOwnProvider({ logFile: serverLog }));
  });
  test.afterAll(async () => {
    await Promise.all([server?.stop(), idp?.stop()]);
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });
  test.afterEach(() => idp?.spoilIdTokens(null));

  for (const { defect, what, strategy, logged } of CASES) {
    test(`an ID token with ${what} is refused: the sign-in page says so, no session, the log says why`, async ({ page }) => {
      const login = freshLogin(`refused-${defect}`);
      const email = providerEmail(login);
      // The same identity signs in once with an honest ID token: the account exists, so
      // nothing but the refusal keeps the second sign-in from starting a session.
      idp.spoilIdTokens(null);
      await startProviderSignIn(page, strategy, `${server.url}/login`, idp.issuer);
      await signInAtProvider(page, login);
      await expect(page).toHaveURL(`${server.url}/dashboard`);
      await expect(page.getByText(`Strategy: ${strategy}`)).toBeVisible();
      expect(await sessionOriginsForEmail(email)).toHaveLength(1);
      await page.context().clearCookies();

      idp.spoilIdTokens(defect);
      const offset = fs.statSync(serverLog).size;
      const failures: string[] = [];
      page.on('response', (response) => {
        if (response.status() >= 500) failures.push(`${response.status()} ${response.url()}`);
      });
      await startProviderSignIn(page, strategy, `${server.url}/login`, idp.issuer);
      await signInAtProvider(page, login);

      await expect(page).toHaveURL((url) => url.origin === server.url && url.pathname === '/login' && url.searchParams.has('error'));
      await expect(page.getByTestId('signin-error')).toHaveText(GENERIC_REFUSAL);
      expect(failures).toEqual([]);
      const body = (await page.locator('body').textContent()) ?? '';
      expect(body, 'no stack trace, no internal error text').not.toMatch(/\bat \S+ \(|claim value|JWSSignatureVerificationFailed|OperationProcessingError/);
      expect(await sessionCookies(page.context())).toEqual([]);
      // Still the one session of the honest sign-in; no second account, no second user.
      expect(await sessionOriginsForEmail(email)).toHaveLength(1);
      expect(await countUsers(email)).toBe(1);
      expect(await countProviderAccounts(idp.issuer, login)).toBe(1);
      const recorded = () => logLines(fs.readFileSync(serverLog).subarray(offset).toString('utf8')).some(logged);
      await expect.poll(recorded, { message: `the server log records the ${defect} refusal` }).toBe(true);
    });
  }

  test("a sign-in takes the provider's auth_time, not the moment it arrived: an hour-old one is shown as such and does not count as recent", async ({ page }) => {
    const login = freshLogin('stale-signin');
    idp.spoilIdTokens('stale-auth-time');
    await startProviderSignIn(page, 'jwt', `${server.url}/login`, idp.issuer);
    await signInAtProvider(page, login);
    await expect(page).toHaveURL(`${server.url}/dashboard`);
    const authTime = page.getByTestId('auth-time');
    await expect(authTime).toContainText("ago: sensitive actions ask you to confirm it's you first");
    const authenticatedAt = Date.parse((await authTime.locator('time').getAttribute('datetime')) ?? '');
    expect(Date.now() - authenticatedAt).toBeGreaterThan(59 * 60_000);
    expect(Date.now() - authenticatedAt).toBeLessThan(62 * 60_000);
    // The server agrees: a sensitive action asks to confirm first.
    await page.goto(`${server.url}/dashboard/security`);
    await page.getByRole('button', { name: 'Connect Test provider', exact: true }).click();
    await expect(page.getByRole('link', { name: "Confirm it's you" })).toBeVisible();
  });

  test("confirming through a provider that does not sign the user in again (an hour-old auth_time) confirms nothing", async ({ page }) => {
    const security = `${server.url}/dashboard/security`;
    const login = freshLogin('refused-stale-confirm');
    const email = providerEmail(login);
    await startProviderSignIn(page, 'database', `${server.url}/login`, idp.issuer);
    await signInAtProvider(page, login);
    await expect(page).toHaveURL(`${server.url}/dashboard`);
    // Past the step-up window (10 minutes) without waiting.
    await ageAuthentication(email, 60 * 60);

    await page.goto(`${server.url}/dashboard/confirm?returnTo=${encodeURIComponent('/dashboard/security')}`);
    idp.spoilIdTokens('stale-auth-time');
    const offset = fs.statSync(serverLog).size;
    await page.getByRole('button', { name: 'Confirm with Test provider' }).click();
    await expectAtProvider(page, idp.issuer);
    await submitProviderLogin(page, login);

    await expect(page).toHaveURL(`${server.url}/dashboard/confirm?returnTo=%2Fdashboard%2Fsecurity&providerError=not_fresh`);
    await expect(page.getByRole('alert').filter({ hasText: 'did not confirm' })).toHaveText(
      'The provider did not confirm a new sign-in, so nothing was confirmed. Please try again.',
    );
    expect((await auditEventsForEmail(email)).map((row) => row.event)).not.toContain('session.reauthenticated');
    const recorded = () =>
      logLines(fs.readFileSync(serverLog).subarray(offset).toString('utf8')).some(
        (line) => line.event === 'step_up.provider_refused' && line.reason === 'not_fresh',
      );
    await expect.poll(recorded, { message: 'the server log records the refusal' }).toBe(true);

    // Still signed in with the same one session, still outside the window: the sensitive action asks again.
    expect(await sessionOriginsForEmail(email)).toHaveLength(1);
    await page.goto(security);
    await page.getByRole('button', { name: 'Connect Test provider', exact: true }).click();
    await expect(page.getByRole('link', { name: "Confirm it's you" })).toBeVisible();

    // The same confirmation with an honest provider goes through: the refusal above was the old auth_time.
    idp.spoilIdTokens(null);
    await page.getByRole('link', { name: "Confirm it's you" }).click();
    await page.getByRole('button', { name: 'Confirm with Test provider' }).click();
    await expectAtProvider(page, idp.issuer);
    await submitProviderLogin(page, login);
    await expect(page).toHaveURL(security);
    expect((await auditEventsForEmail(email)).filter((row) => row.event === 'session.reauthenticated')).toHaveLength(1);
  });
});
