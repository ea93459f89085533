import { randomBytes } from 'node:crypto';
import type { Page } from '@playwright/test';
import type { RunningServer } from '../scripts/app-process.d.mts';
import type { RunningIdp } from '../scripts/idp.d.mts';
import { RADIO, expect, type Strategy } from './fixtures';

// Provider sign-in through the test provider's own pages (scripts/idp.mjs).

/** The provider button's name on /login (not "Sign in …": the password form's button is found by that name). */
export const PROVIDER_BUTTON = 'Continue with Test provider';

/** A login the provider has never seen: a new subject each time. */
export function freshLogin(tag: string): string {
  return `${tag}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}

/** The address the test provider gives a login without "@". */
export const providerEmail = (login: string) => `${login.toLowerCase()}@idp.example.test`;

/** `loginPage` with a strategy picked, then the provider button: the browser ends on the provider's sign-in page at `issuer`. */
export async function leaveForProvider(page: Page, strategy: Strategy, issuer: string, loginPage = '/login'): Promise<void> {
  await page.goto(loginPage);
  await page.getByRole('radio', { name: RADIO[strategy] }).check();
  await page.getByRole('button', { name: PROVIDER_BUTTON }).click();
  await expect(page).toHaveURL((url) => url.origin === issuer && url.pathname.startsWith('/interaction/'));
}

/** The provider's own sign-in page (any password) and its consent page: the provider sends the browser back to the app. */
export async function signInAtProvider(page: Page, login: string): Promise<void> {
  await page.locator('input[name="login"]').fill(login);
  await page.locator('input[name="password"]').fill('any password will do');
  await page.getByRole('button', { name: 'Sign-in' }).click();
  await page.getByRole('button', { name: 'Continue' }).click();
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
