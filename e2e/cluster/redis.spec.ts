import crypto from 'node:crypto';
import { expect, postFormFrom, signInHttp, test } from '../fixtures';
import { rateLimitCounters, redisUrl, sql, withRedis } from './rate-limit-counters';
import { IDS, INSTANCES, instanceOf } from './instances';

// The cluster with Redis (scripts/cluster.mjs --redis; scripts/test.mjs step
// "cluster" starts it so when redis-server is installed): every instance counts
// rate limits in the one Redis, so the per-account and per-address limits hold
// across instances while nginx spreads the requests round-robin, and the counters
// are in Redis, not in the RateLimit table. AUTH_SECRET (the cluster's, handed
// over by scripts/test.mjs) names an account's counter: an HMAC of the address.

const ACCOUNT_LIMIT = Number(process.env.RATE_LIMIT_SIGNIN_PER_ACCOUNT ?? 10);
const SIGNIN_IP_LIMIT = Number(process.env.RATE_LIMIT_SIGNIN_PER_IP ?? 30);
const WINDOW_SECONDS = Number(process.env.RATE_LIMIT_WINDOW_SECONDS ?? 900);
const AUTH_SECRET = process.env.AUTH_SECRET ?? '';

test.skip(!redisUrl(), 'the cluster runs without Redis (redis-server is not installed: scripts/test.mjs says so)');

test.beforeAll(() => {
  expect(INSTANCES.length, 'E2E_CLUSTER_INSTANCES names the instances (scripts/test.mjs sets it)').toBeGreaterThanOrEqual(2);
  expect(AUTH_SECRET.length, 'AUTH_SECRET: the cluster’s, to name an account’s counter (scripts/test.mjs sets it)').toBeGreaterThanOrEqual(32);
});

/** The counter of an email's sign-in budget, as lib/security/rate-limit.ts names it. */
function accountCounterKey(email: string): string {
  const digest = crypto.createHmac('sha256', AUTH_SECRET).update(`rate-limit:account:${email.trim().toLowerCase()}`).digest('base64url');
  return `signin:account:${digest}`;
}

/** The counter in Redis: its count and how long Redis keeps it; null when there is none. */
function redisCounter(key: string) {
  return withRedis(async (client) => {
    const [count, ttl] = await Promise.all([client.hget(`rate-limit:${key}`, 'count'), client.pttl(`rate-limit:${key}`)]);
    return count === null ? null : { count: Number(count), ttlMs: ttl };
  });
}

async function rateLimitRows(key: string): Promise<number> {
  const [row] = await sql<{ n: string }>('SELECT COUNT(*) AS n FROM "RateLimit" WHERE "key" = $1', [key]);
  return Number(row?.n);
}

/** Counters live in fixed windows; a test that fills one must not straddle a window's end. */
async function awayFromWindowEdge(): Promise<void> {
  const length = WINDOW_SECONDS * 1000;
  const nearEdge = () => length - (Date.now() % length) < 60_000;
  if (nearEdge()) await expect.poll(nearEdge, { timeout: 70_000, intervals: [1_000] }).toBe(false);
}


test('per-account limit: failures on every instance add up in Redis; over it, every instance refuses', async ({ request, newUser }) => {
  test.setTimeout(120_000);
  const user = await newUser('redis-account-limit');
  const key = accountCounterKey(user.email);
  await awayFromWindowEdge();

  const answeredBy: (string | undefined)[] = [];
  for (let i = 0; i < ACCOUNT_LIMIT; i += 1) {
    const response = await request.post('/api/token', { data: { email: user.email, password: `wrong-password-${i}` } });
    expect(response.status(), `failure ${i + 1}`).toBe(401);
    answeredBy.push(instanceOf(response));
    // Every failure is in the one counter at once, whichever instance took it.
    expect((await redisCounter(key))?.count, `counter after failure ${i + 1} (${instanceOf(response)})`).toBe(i + 1);
  }
  expect([...new Set(answeredBy)].sort(), 'the failures were spread over every instance').toEqual(IDS);

  const over = await request.post('/api/token', { data: { email: user.email, password: 'wrong-password-x' } });
  expect(over.status()).toBe(429);
  expect(Number(over.headers()['retry-after'])).toBeGreaterThanOrEqual(1);
  expect((await signInHttp(request, { ...user, strategy: 'jwt' })).status(), 'the right password through the form callback').toBe(429);
  for (const instance of INSTANCES) {
    const response = await request.post(`${instance.url}/api/token`, { data: { email: user.email, password: user.password } });
    expect(response.status(), `the right password on ${instance.id} directly`).toBe(429);
  }

  // Every attempt counted, refused ones too; the counter expires with its window (plus the clock margin).
  const counter = await redisCounter(key);
  expect(counter?.count).toBe(ACCOUNT_LIMIT + 2 + INSTANCES.length);
  expect(counter?.ttlMs).toBeGreaterThan(0);
  expect(counter?.ttlMs).toBeLessThanOrEqual((WINDOW_SECONDS + 60) * 1000);
  expect(await rateLimitRows(key), 'nothing in the RateLimit table').toBe(0);
});

test('per-address limit: exactly the limit gets through across the instances, counted in Redis', async () => {
  test.setTimeout(180_000);
  const from = '127.0.0.4';
  const key = `signin:ip:${from}`;
  const total = SIGNIN_IP_LIMIT + 10;
  await awayFromWindowEdge();

  const results: { status: number; instance: string | undefined }[] = [];
  while (results.length < total) {
    const batch = Math.min(10, total - results.length);
    // In parallel: the instances race on one counter, and still exactly `limit` pass.
    results.push(...(await Promise.all(Array.from({ length: batch }, () => postFormFrom(from, '/api/auth/callback/credentials', { email: 'not-an-email', password: 'x', strategy: 'jwt' })))));
  }
  const refused = results.filter((result) => result.status === 429);
  expect(refused.length, `429s among ${total} attempts (limit ${SIGNIN_IP_LIMIT})`).toBe(total - SIGNIN_IP_LIMIT);
  expect([...new Set(results.map((result) => result.instance))].sort(), 'answered by every instance').toEqual(IDS);
  expect([...new Set(refused.map((result) => result.instance))].sort(), 'refused by every instance').toEqual(IDS);

  expect((await redisCounter(key))?.count).toBe(total);
  expect((await rateLimitCounters('signin:ip:')).find((counter) => counter.key === key)?.count).toBe(total);
  expect(await rateLimitRows(key), 'nothing in the RateLimit table').toBe(0);
});
