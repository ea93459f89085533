import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { hash } from '@node-rs/argon2';
import { test as base, expect, type APIRequestContext, type APIResponse, type BrowserContext, type Cookie, type Page } from '@playwright/test';
import { insertUser } from './db';

export { expect };

export const STRATEGIES = ['database', 'jwt'] as const;
export type Strategy = (typeof STRATEGIES)[number];

/** Cookie each strategy sets on plain http. */
export const COOKIE: Record<Strategy, string> = { database: 'sot.session', jwt: 'sot.jwt' };
/** Accessible name of each strategy's radio button. */
export const RADIO: Record<Strategy, string> = { database: 'Database session', jwt: 'JWT' };
/** Every name a session cookie could have (http and https variants). */
export const SESSION_COOKIE_NAMES = ['sot.session', 'sot.jwt', '__Host-sot.session', '__Host-sot.jwt'];

export const DEMO = { email: 'demo@example.com', password: 'demo-password-123', name: 'Demo User' };
export const ADMIN = { email: 'admin@example.com', password: 'admin-password-123' };
export const STRONG_PASSWORD = 'Lantern-orbit-meadow-42';

export function other(strategy: Strategy): Strategy {
  return strategy === 'database' ? 'jwt' : 'database';
}

/** An email address no other test (or earlier run on the same database) uses. */
export function uniqueEmail(tag: string): string {
  return `${tag}-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}@example.test`;
}

export interface Credentials {
  email: string;
  password: string;
}

/** Fill and submit the sign-in form. */
export async function signInUI(
  page: Page,
  { email, password, strategy, callbackUrl }: Credentials & { strategy: Strategy; callbackUrl?: string },
): Promise<void> {
  await page.goto(callbackUrl === undefined ? '/login' : `/login?callbackUrl=${encodeURIComponent(callbackUrl)}`);
  await page.getByLabel('Email', { exact: true }).fill(email);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('radio', { name: RADIO[strategy] }).check();
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/** Fill and submit the registration form. */
export async function registerUI(
  page: Page,
  { name, email, password, strategy }: Credentials & { name: string; strategy: Strategy },
): Promise<void> {
  await page.goto('/register');
  await page.getByLabel('Name', { exact: true }).fill(name);
  await page.getByLabel('Email', { exact: true }).fill(email);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('radio', { name: RADIO[strategy] }).check();
  await page.getByRole('button', { name: 'Create account' }).click();
}

/** Sign in with the UI and wait for the dashboard. */
export async function signInToDashboard(page: Page, user: Credentials, strategy: Strategy): Promise<void> {
  await signInUI(page, { ...user, strategy });
  await expect(page).toHaveURL(/\/dashboard$/);
  await expect(page.getByText(`Strategy: ${strategy}`)).toBeVisible();
}

/** The session cookies (either strategy, either prefix) a browser context holds. */
export async function sessionCookies(context: BrowserContext): Promise<Cookie[]> {
  return (await context.cookies()).filter((cookie) => SESSION_COOKIE_NAMES.includes(cookie.name));
}

/** The one session cookie of the context; fails unless there is exactly one, with the expected name. */
export async function onlySessionCookie(context: BrowserContext, strategy: Strategy): Promise<Cookie> {
  const cookies = await sessionCookies(context);
  expect(cookies.map((cookie) => cookie.name)).toEqual([COOKIE[strategy]]);
  return cookies[0]!;
}

/**
 * Sign in over plain HTTP through the real credentials endpoint: fetch a CSRF
 * token, then post the credentials form (with the Origin a browser would
 * send). The request context keeps the cookies; a browser context's
 * `context.request` shares them with its pages.
 */
export async function signInHttp(
  request: APIRequestContext,
  { email, password, strategy, callbackUrl = '/dashboard' }: Credentials & { strategy: Strategy; callbackUrl?: string },
  /** Another server than the suite's (an absolute origin); default: the suite's baseURL. */
  server = '',
): Promise<APIResponse> {
  const csrf = await request.get(`${server}/api/auth/csrf`);
  expect(csrf.status()).toBe(200);
  const { csrfToken } = (await csrf.json()) as { csrfToken?: unknown };
  expect(typeof csrfToken).toBe('string');
  const origin = new URL(csrf.url()).origin;
  return request.post(`${server}/api/auth/callback/credentials`, {
    form: { csrfToken: csrfToken as string, email, password, strategy, callbackUrl },
    headers: { origin },
    maxRedirects: 0,
  });
}

/** `Set-Cookie` headers of a response, as name → full header line. */
export function setCookies(response: APIResponse): Map<string, string> {
  const map = new Map<string, string>();
  for (const header of response.headersArray()) {
    if (header.name.toLowerCase() !== 'set-cookie') continue;
    for (const line of header.value.split('\n')) {
      const name = line.split('=')[0]?.trim();
      if (name) map.set(name, line);
    }
  }
  return map;
}

/** Value of a cookie in an APIRequestContext's jar. */
export async function requestCookie(request: APIRequestContext, name: string): Promise<string | undefined> {
  const state = await request.storageState();
  return state.cookies.find((cookie) => cookie.name === name)?.value;
}

/** Every session kind: the browser strategies, and `api` for a Bearer access token (its token family). */
export type SessionKind = Strategy | 'api';

export interface MeResponse {
  user: { id: string; email: string; name: string | null };
  strategy: SessionKind;
  expires: string;
}

/** Checks the exact shape of a signed-in /api/me answer and returns it. */
export async function expectMe(response: APIResponse, expected: { email: string; strategy: SessionKind }): Promise<MeResponse> {
  expect(response.status()).toBe(200);
  expect(response.headers()['content-type']).toContain('application/json');
  const body = (await response.json()) as MeResponse;
  expect(Object.keys(body).sort()).toEqual(['expires', 'strategy', 'user']);
  expect(Object.keys(body.user).sort()).toEqual(['email', 'id', 'name']);
  expect(typeof body.user.id).toBe('string');
  expect(body.user.id.length).toBeGreaterThan(0);
  expect(body.user.email).toBe(expected.email);
  expect(body.strategy).toBe(expected.strategy);
  expect(body.expires).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/);
  expect(Date.parse(body.expires)).toBeGreaterThan(Date.now());
  return body;
}

/** Checks the signed-out /api/me answer. */
export async function expectUnauthorized(response: APIResponse): Promise<void> {
  expect(response.status()).toBe(401);
  expect(await response.json()).toEqual({ error: 'unauthorized' });
  expect(response.headers()['www-authenticate']).toMatch(/^Bearer\b/);
}

/** Checks that GET /dashboard (without following redirects) sends a signed-out client to the login page. */
export async function expectDashboardRedirect(response: APIResponse, baseURL: string): Promise<void> {
  expect(response.status()).toBe(307);
  const location = response.headers()['location'];
  expect(location, 'Location header').toBeTruthy();
  const target = new URL(location!, baseURL);
  expect(target.origin).toBe(new URL(baseURL).origin);
  expect(`${target.pathname}${target.search}`).toBe('/login?callbackUrl=%2Fdashboard');
}

/** Decode one base64url JSON segment of a compact JWS. */
export function decodeSegment(segment: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(segment, 'base64url').toString('utf8')) as Record<string, unknown>;
}

export function encodeSegment(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

// ---- fixtures ----

export interface User extends Credentials {
  id: string;
  name: string;
}

interface Fixtures {
  /**
   * A fresh account of this test's own, not signed in. Created in the app's
   * database the way the seed creates the demo accounts, so only the tests
   * about signing up pay for the sign-up flow.
   */
  newUser: (tag: string) => Promise<User>;
  /** Another browser with its own cookie jar (a second device), closed after the test. */
  newDevice: () => Promise<{ context: BrowserContext; page: Page }>;
  /**
   * Signs a browser in through the real credentials endpoint over HTTP (no
   * form typing; the tests about the sign-in form use it) and opens the dashboard.
   */
  signIn: (page: Page, user: Credentials, strategy: Strategy) => Promise<void>;
  /**
   * A new page in this worker's browser context that is signed in with the
   * strategy (see `sharedSignIn`), closed after the test; with the user.
   */
  signedInPage: (strategy: Strategy) => Promise<{ page: Page; user: User }>;
}

interface WorkerFixtures {
  /** The argon2id hash of STRONG_PASSWORD, made once per worker with the app's parameters. */
  strongPasswordHash: string;
  /**
   * One browser context per strategy, signed in over HTTP (as `signIn` does) as
   * a fresh account of this worker's own: one sign-in per strategy and worker,
   * shared by the tests that only look at pages. Tests that sign out, revoke or
   * change the account use `newUser` and `signIn` instead.
   */
  sharedSignIn: (strategy: Strategy) => Promise<{ context: BrowserContext; user: User }>;
}

/** An account made the way the seed makes one (no sign-up flow), with STRONG_PASSWORD. */
async function createUser(tag: string, passwordHash: string, name = `${tag} user`): Promise<User> {
  const user = { id: `e2e${randomBytes(12).toString('hex')}`, name, email: uniqueEmail(tag), password: STRONG_PASSWORD };
  await insertUser({ ...user, passwordHash });
  return user;
}

export const test = base.extend<Fixtures, WorkerFixtures>({
  strongPasswordHash: [
    async ({}, provide) => {
      await provide(await hash(STRONG_PASSWORD, { algorithm: 2, memoryCost: 19456, timeCost: 2, parallelism: 1 }));
    },
    { scope: 'worker' },
  ],
  sharedSignIn: [
    async ({ browser, strongPasswordHash }, provide, workerInfo) => {
      const signedIn = new Map<Strategy, Promise<{ context: BrowserContext; user: User }>>();
      const start = async (strategy: Strategy) => {
        const context = await browser.newContext({ baseURL: workerInfo.project.use.baseURL });
        const user = await createUser(`shared-${strategy}`, strongPasswordHash, 'Ada Lovelace');
        const response = await signInHttp(context.request, { ...user, strategy });
        expect(response.status(), 'sign-in over HTTP').toBe(302);
        return { context, user };
      };
      await provide((strategy) => {
        if (!signedIn.has(strategy)) signedIn.set(strategy, start(strategy));
        return signedIn.get(strategy)!;
      });
      await Promise.all([...signedIn.values()].map(async (entry) => (await entry).context.close()));
    },
    { scope: 'worker' },
  ],
  newUser: async ({ strongPasswordHash }, provide) => {
    await provide((tag) => createUser(tag, strongPasswordHash));
  },
  newDevice: async ({ browser }, provide) => {
    const contexts: BrowserContext[] = [];
    await provide(async () => {
      const context = await browser.newContext();
      contexts.push(context);
      return { context, page: await context.newPage() };
    });
    await Promise.all(contexts.map((context) => context.close()));
  },
  signIn: async ({}, provide) => {
    await provide(async (page, user, strategy) => {
      const response = await signInHttp(page.context().request, { ...user, strategy });
      expect(response.status(), 'sign-in over HTTP').toBe(302);
      await page.goto('/dashboard');
      await expect(page.getByText(`Strategy: ${strategy}`)).toBeVisible();
    });
  },
  signedInPage: async ({ sharedSignIn }, provide) => {
    const pages: Page[] = [];
    await provide(async (strategy) => {
      const { context, user } = await sharedSignIn(strategy);
      const page = await context.newPage();
      pages.push(page);
      return { page, user };
    });
    await Promise.all(pages.map((page) => page.close()));
  },
});

/** Asserts that this browser is signed out: /dashboard lands on /login and /api/me is 401. */
export async function expectSignedOut(page: Page): Promise<void> {
  await page.goto('/dashboard');
  await expect(page).toHaveURL(/\/login\?callbackUrl=%2Fdashboard$/);
  await expectUnauthorized(await page.context().request.get('/api/me'));
}

/** Asserts that this browser is still signed in with the strategy. */
export async function expectSignedIn(page: Page, strategy: Strategy): Promise<void> {
  await page.goto('/dashboard');
  await expect(page).toHaveURL(/\/dashboard$/);
  await expect(page.getByText(`Strategy: ${strategy}`)).toBeVisible();
  expect((await page.context().request.get('/api/me')).status()).toBe(200);
}

/** The rate limits' window length on the suite's server (scripts/test.mjs sets a day). */
export const RATE_LIMIT_WINDOW_SECONDS = Number(process.env.RATE_LIMIT_WINDOW_SECONDS ?? 900);

/**
 * Counters live in fixed windows aligned to multiples of the window length; a
 * test that fills one must not straddle a window's end (the count would start
 * again halfway). The suite's server uses day-long windows (scripts/test.mjs),
 * so this only ever waits in the last minute before midnight UTC: until the
 * clock is past the edge.
 */
export async function awayFromWindowEdge(): Promise<void> {
  const length = RATE_LIMIT_WINDOW_SECONDS * 1000;
  const nearEdge = () => length - (Date.now() % length) < 60_000;
  if (nearEdge()) await expect.poll(nearEdge, { timeout: 70_000, intervals: [1_000] }).toBe(false);
}

/** A raw HTTP answer (status, headers, body) and, behind the cluster's nginx, the instance that gave it. */
export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  instance: string | undefined;
}

/**
 * POSTs a form to the suite's server (E2E_BASE_URL) from a chosen local address
 * (127.0.0.x): what a per-address limit sees, without a cookie jar or retries.
 */
export function postFormFrom(localAddress: string, pathname: string, form: Record<string, string>, headers: Record<string, string> = {}): Promise<RawResponse> {
  const base = new URL(process.env.E2E_BASE_URL ?? 'http://127.0.0.1:3000');
  const body = new URLSearchParams(form).toString();
  return new Promise((resolve, reject) => {
    const request = http.request(
      {
        host: base.hostname,
        port: base.port,
        path: pathname,
        method: 'POST',
        localAddress,
        agent: false,
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body), ...headers },
      },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (text += chunk));
        response.on('end', () => {
          const instance = response.headers['x-instance'];
          resolve({ status: response.statusCode ?? 0, headers: response.headers, body: text, instance: Array.isArray(instance) ? instance[0] : instance });
        });
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}
