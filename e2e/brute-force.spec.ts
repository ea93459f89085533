import path from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { type APIRequestContext, type APIResponse } from '@playwright/test';
import {
  RATE_LIMIT_WINDOW_SECONDS,
  awayFromWindowEdge,
  expect,
  postFormFrom,
  setCookies,
  signInHttp,
  signInUI,
  test,
  uniqueEmail,
  type Credentials,
  type RawResponse,
} from './fixtures';

// Brute-force limits, the client address behind them, and no user enumeration,
// over real HTTP against the production server (server.mjs).
//
// The server runs with the default per-account limit and per-address limits
// raised for the whole suite (scripts/test.mjs), since every spec signs in from
// 127.0.0.1. The per-address test therefore connects from another loopback
// address (127.0.0.2), so its exhausted counter touches no other spec.

const ACCOUNT_LIMIT = Number(process.env.RATE_LIMIT_SIGNIN_PER_ACCOUNT ?? 10);
const SIGNIN_IP_LIMIT = Number(process.env.RATE_LIMIT_SIGNIN_PER_IP ?? 30);
async function expectTooManyRequests(response: APIResponse): Promise<void> {
  expect(response.status()).toBe(429);
  expect(await response.json()).toEqual({ error: 'too_many_requests' });
  const retryAfter = Number(response.headers()['retry-after']);
  expect(Number.isInteger(retryAfter)).toBe(true);
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(RATE_LIMIT_WINDOW_SECONDS);
}

function tokenRequest(request: APIRequestContext, credentials: Credentials): Promise<APIResponse> {
  return request.post('/api/token', { data: credentials });
}

// ---- the RateLimit table of the server under test ----

async function rateLimitRows(keyPrefix: string): Promise<{ key: string; count: number }[]> {
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error('DATABASE_URL is not set: the e2e suite needs the database of the server under test');
  const pattern = `${keyPrefix}%`;
  if (url.startsWith('file:')) {
    const db = new Database(path.resolve(url.slice('file:'.length).split('?')[0] ?? ''), { readonly: true, fileMustExist: true });
    try {
      return db.prepare('SELECT "key", "count" FROM "RateLimit" WHERE "key" LIKE ?').all(pattern) as { key: string; count: number }[];
    } finally {
      db.close();
    }
  }
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<{ key: string; count: number }>('SELECT "key", "count" FROM "RateLimit" WHERE "key" LIKE $1', [pattern])).rows;
  } finally {
    await client.end();
  }
}

test.describe('brute-force limits', () => {
  // ASVS 6.3.1: password brute force against one account is stopped (HTTP callback and token endpoint share the budget).
  test('after the per-account limit of failures, the credentials callback and /api/token answer 429 with Retry-After', async ({ request, newUser }) => {
    test.setTimeout(90_000);
    const user = await newUser('bf-account');
    await awayFromWindowEdge();
    for (let i = 0; i < ACCOUNT_LIMIT; i += 1) {
      const failed = await signInHttp(request, { email: user.email, password: `wrong-password-${i}`, strategy: 'database' });
      expect(failed.status(), `failure ${i + 1} is an ordinary failure`).toBe(302);
    }
    // The right password does not help while the account is over its limit: nothing is checked.
    await expectTooManyRequests(await signInHttp(request, { ...user, strategy: 'database' }));
    await expectTooManyRequests(await tokenRequest(request, user));
    // …and the same casing games do not get a fresh budget.
    await expectTooManyRequests(await tokenRequest(request, { email: `  ${user.email.toUpperCase()} `, password: user.password }));
  });

  // ASVS 6.3.1 / 6.1.1: the form says how long to wait, with no hint whether the account exists.
  test('the sign-in form shows "Too many attempts" once the account is over its limit', async ({ request, page, newUser }) => {
    test.setTimeout(90_000);
    const user = await newUser('bf-form');
    await awayFromWindowEdge();
    for (let i = 0; i < ACCOUNT_LIMIT; i += 1) expect((await tokenRequest(request, { ...user, password: `wrong-${i}-x` })).status()).toBe(401);
    await signInUI(page, { ...user, strategy: 'database' });
    await expect(page.getByRole('alert').filter({ hasText: 'Too many attempts' })).toHaveText(/^Too many attempts\. Try again in \d+ minutes?\.$/);
    await expect(page).toHaveURL(/\/login/);
  });

  // ASVS 6.3.1: only failures use the account's budget; a legitimate user is not locked out by signing in.
  test('successful sign-ins do not use up the account budget', async ({ request, newUser }) => {
    test.setTimeout(90_000);
    const user = await newUser('bf-success');
    for (let i = 0; i < ACCOUNT_LIMIT + 2; i += 1) expect((await tokenRequest(request, user)).status()).toBe(200);
    expect((await tokenRequest(request, { ...user, password: 'wrong-password-1' })).status()).toBe(401);
    expect((await signInHttp(request, { ...user, strategy: 'jwt' })).status()).toBe(302);
  });

  // ASVS 6.3.1 / 2.4.1: the per-address counter follows the socket, not X-Forwarded-For or our own header.
  test('a spoofed X-Forwarded-For does not reset the per-address counter', async () => {
    test.setTimeout(120_000);
    const from = '127.0.0.2';
    const attempt = (headers: Record<string, string> = {}) =>
      postFormFrom(from, '/api/auth/callback/credentials', { email: 'not-an-email', password: 'x', strategy: 'jwt' }, headers);

    await awayFromWindowEdge();
    let sent = 0;
    let last: RawResponse | null = null;
    while (sent <= SIGNIN_IP_LIMIT + 1) {
      const batch = await Promise.all(Array.from({ length: 10 }, () => attempt()));
      sent += batch.length;
      last = batch.find((response) => response.status === 429) ?? last;
      if (last) break;
    }
    expect(last?.status, `429 after at most ${SIGNIN_IP_LIMIT + 1} attempts`).toBe(429);

    const spoofs: Record<string, string>[] = [
      { 'x-forwarded-for': '198.51.100.23' },
      { 'x-forwarded-for': '198.51.100.24, 127.0.0.2' },
      { 'x-real-ip': '198.51.100.25' },
      { 'x-sot-client-ip': '198.51.100.26' },
    ];
    for (const spoof of spoofs) {
      const response = await attempt(spoof);
      expect(response.status, JSON.stringify(spoof)).toBe(429);
      expect(JSON.parse(response.body)).toEqual({ error: 'too_many_requests' });
      expect(Number(response.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    }

    // The counter is the socket address's; no spoofed address got a bucket of its own.
    const rows = await rateLimitRows('signin:ip:');
    const mine = rows.find((row) => row.key === `signin:ip:${from}`);
    expect(mine?.count).toBeGreaterThan(SIGNIN_IP_LIMIT);
    expect(rows.filter((row) => row.key.includes('198.51.100.'))).toEqual([]);
  });
});

test.describe('no user enumeration', () => {
  const UNKNOWN_PASSWORD = 'Some-password-that-fails-9';

  /** Cookie names a response sets (values differ by nature: CSRF tokens). */
  const cookieNames = (response: APIResponse) => [...setCookies(response).keys()].sort();

  // ASVS 6.3.8: unknown email and wrong password answer alike (status, body, cookies) on every endpoint.
  test('unknown email and wrong password get the same answer from the callback, /api/token and the form', async ({ playwright, baseURL, page, newUser }) => {
    test.setTimeout(90_000);
    const user = await newUser('enum');
    const unknown = uniqueEmail('nobody');

    const fresh = () => playwright.request.newContext({ baseURL });
    const [a, b] = [await fresh(), await fresh()];
    const wrong = await signInHttp(a, { email: user.email, password: UNKNOWN_PASSWORD, strategy: 'database' });
    const missing = await signInHttp(b, { email: unknown, password: UNKNOWN_PASSWORD, strategy: 'database' });
    expect(missing.status()).toBe(wrong.status());
    expect(missing.headers()['location']).toBe(wrong.headers()['location']);
    expect(await missing.text()).toBe(await wrong.text());
    expect(cookieNames(missing)).toEqual(cookieNames(wrong));
    await Promise.all([a.dispose(), b.dispose()]);

    const wrongToken = await tokenRequest(page.request, { email: user.email, password: UNKNOWN_PASSWORD });
    const missingToken = await tokenRequest(page.request, { email: unknown, password: UNKNOWN_PASSWORD });
    expect(missingToken.status()).toBe(401);
    expect(wrongToken.status()).toBe(401);
    expect(await missingToken.json()).toEqual(await wrongToken.json());
    expect(cookieNames(missingToken)).toEqual(cookieNames(wrongToken));

    for (const email of [user.email, unknown]) {
      await signInUI(page, { email, password: UNKNOWN_PASSWORD, strategy: 'jwt' });
      await expect(page.getByRole('alert').filter({ hasText: 'Invalid email or password' })).toHaveText('Invalid email or password');
      await expect(page).toHaveURL(/\/login/);
    }
  });

  // ASVS 6.3.8: …and take about as long (an unknown email is checked against a dummy hash).
  test('an unknown email takes about as long as a wrong password', async ({ request, newUser }) => {
    test.setTimeout(90_000);
    const user = await newUser('timing');
    const unknown = uniqueEmail('nobody-timing');
    const time = async (send: () => Promise<APIResponse>) => {
      const started = performance.now();
      const response = await send();
      const elapsed = performance.now() - started;
      expect(response.status()).toBe(401);
      return elapsed;
    };
    const median = (values: number[]) => [...values].sort((x, y) => x - y)[Math.floor(values.length / 2)]!;
    const wrong: number[] = [];
    const missing: number[] = [];
    // Interleaved, so drift of a busy machine lands on both; 5 each stays under the per-account limit.
    for (let i = 0; i < 5; i += 1) {
      wrong.push(await time(() => tokenRequest(request, { email: user.email, password: `${UNKNOWN_PASSWORD}-${i}` })));
      missing.push(await time(() => tokenRequest(request, { email: unknown, password: `${UNKNOWN_PASSWORD}-${i}` })));
    }
    expect(
      median(missing),
      `median unknown-email ${median(missing).toFixed(1)} ms vs wrong-password ${median(wrong).toFixed(1)} ms`,
    ).toBeGreaterThanOrEqual(median(wrong) / 2);
  });
});
