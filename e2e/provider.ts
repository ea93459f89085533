import { randomBytes } from 'node:crypto';
import type { Page } from '@playwright/test';
import type { RunningServer } from '../scripts/app-process.d.mts';
import type { RunningIdp } from '../scripts/idp.d.mts';
import { RADIO, expect, sessionCookies, type Strategy } from './fixtures';

// The test OpenID Connect provider (scripts/idp.mjs: oidc-provider, started by
// scripts/test.mjs next to the app, its address in E2E_IDP_ISSUER), driven
// through its own sign-in and consent pages.
export const ISSUER = process.env.E2E_IDP_ISSUER ?? '';
// Not "Sign in …": the password form's button is found by that name.
export const PROVIDER_BUTTON = 'Continue with Test provider';
export const FLOW_COOKIE = 'sot.provider-flow';

/** The address the test provider gives a login without "@" (scripts/idp.mjs). */
export const providerEmail = (login: string) => `${login.toLowerCase()}@idp.example.test`;

/** A login the provider has never seen: a new subject each time. */
export function freshLogin(tag: string): string {
  return `${tag}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}

export function expectIssuer(): void {
  expect(ISSUER, 'E2E_IDP_ISSUER: scripts/test.mjs starts the test provider').toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
}

/** The browser is on one of the provider's interaction pages (sign-in or consent). */
export async function expectAtProvider(page: Page, issuer = ISSUER): Promise<void> {
  await expect(page).toHaveURL((url) => url.origin === issuer && url.pathname.startsWith('/interaction/'));
}

/** /login with a strategy picked, then the provider button: the browser ends on the provider's sign-in page. */
export async function startProviderSignIn(page: Page, strategy: Strategy, path = '/login', issuer = ISSUER): Promise<void> {
  await page.goto(path);
  await page.getByRole('radio', { name: RADIO[strategy] }).check();
  await page.getByRole('button', { name: PROVIDER_BUTTON }).click();
  await expectAtProvider(page, issuer);
}

/** The provider's own sign-in page: sign in as `login` (any password); its consent page follows. */
export async function loginAtProvider(page: Page, login: string): Promise<void> {
  await submitProviderLogin(page, login);
  await expect(page.getByRole('button', { name: 'Continue' })).toBeVisible();
}

/** The provider's sign-in form, filled and sent (what follows depends on the provider's session and grants). */
export async function submitProviderLogin(page: Page, login: string): Promise<void> {
  await page.locator('input[name="login"]').fill(login);
  await page.locator('input[name="password"]').fill('any password will do');
  await page.getByRole('button', { name: 'Sign-in' }).click();
}

/** Sign in at the provider and consent: the provider sends the browser back to the app. */
export async function signInAtProvider(page: Page, login: string): Promise<void> {
  await loginAtProvider(page, login);
  await page.getByRole('button', { name: 'Continue' }).click();
}

/**
 * Sign-out of a provider session sends the browser to the provider's logout
 * page (RP-initiated logout, on by default): confirm it there; the provider
 * sends the browser back to the app.
 */
export async function confirmProviderLogout(page: Page, issuer = ISSUER): Promise<void> {
  await expect(page).toHaveURL((url) => url.origin === issuer && url.pathname.startsWith('/session/end'));
  await page.getByRole('button', { name: 'Yes, sign me out' }).click();
}

export async function expectNoSessionCookie(page: Page): Promise<void> {
  expect(await sessionCookies(page.context())).toEqual([]);
}

/**
 * An app of its own and a test provider of its own, on loopback: for specs that
 * change how the provider behaves or read the app's log. The provider must know
 * the app's callback URL, so the app's port is chosen first.
 */
export async function startAppWithOwnProvider(options: { logFile?: string } = {}): Promise<{ server: RunningServer; idp: RunningIdp }> {
  // ES modules: loaded at run time (the specs are compiled as CommonJS).
  const { freePort, startServer } = await import('../scripts/app-process.mjs');
  const { CALLBACK_PATH, startIdp } = await import('../scripts/idp.mjs');
  const port = await freePort();
  const idp = await startIdp({ redirectUris: [`http://127.0.0.1:${port}${CALLBACK_PATH}`] });
  try {
    return { idp, server: await startServer({ port, env: idp.env, logFile: options.logFile }) };
  } catch (error) {
    await idp.stop();
    throw error;
  }
}
