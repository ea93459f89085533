import { auditEventsForEmail } from '../db';
import { rateLimitCounters, sql } from './rate-limit-counters';
import { storedSessionCount } from './session-store';
import {
  COOKIE,
  STRATEGIES,
  expect,
  expectMe,
  expectSignedIn,
  expectSignedOut,
  postFormFrom,
  requestCookie,
  signInHttp,
  test,
  type Strategy,
  type User,
} from '../fixtures';
import { IDS, INSTANCES, instanceOf, type Instance } from './instances';

// Many instances behind nginx on one PostgreSQL (scripts/cluster.mjs, started by
// scripts/test.mjs step "cluster"): round-robin without sticky sessions, so every
// test here is answered by several instances. Each response names its instance in
// `X-Instance` (server.mjs, INSTANCE_ID); the instances' own addresses come in
// E2E_CLUSTER_INSTANCES, for requests that must reach one instance in particular.
// The instances run with TRUSTED_PROXY_HOPS=1: the client address is the last
// X-Forwarded-For entry, the one nginx appended.

const ACCOUNT_LIMIT = Number(process.env.RATE_LIMIT_SIGNIN_PER_ACCOUNT ?? 10);
const SIGNIN_IP_LIMIT = Number(process.env.RATE_LIMIT_SIGNIN_PER_IP ?? 30);
const WINDOW_SECONDS = Number(process.env.RATE_LIMIT_WINDOW_SECONDS ?? 900);
const SPOOFED = '203.0.113.9';

test.beforeAll(() => {
  expect(INSTANCES.length, 'E2E_CLUSTER_INSTANCES names the instances (scripts/test.mjs sets it)').toBeGreaterThanOrEqual(2);
  expect(process.env.DATABASE_URL, 'the cluster runs on PostgreSQL').toMatch(/^postgres(ql)?:\/\//);
});

/** "app-1 ×4, app-2 ×3, app-3 ×3" */
function distribution(ids: (string | undefined)[]): string {
  const counts = new Map<string, number>();
  for (const id of ids) counts.set(id ?? '(none)', (counts.get(id ?? '(none)') ?? 0) + 1);
  return [...counts.entries()]
    .sort(([a], [b]) => a.localeCompare(b, 'en', { numeric: true }))
    .map(([id, n]) => `${id} ×${n}`)
    .join(', ');
}

/** Counters live in fixed windows; a test that fills one must not straddle a window's end (see brute-force.spec.ts). */
async function awayFromWindowEdge(): Promise<void> {
  const length = WINDOW_SECONDS * 1000;
  const nearEdge = () => length - (Date.now() % length) < 60_000;
  if (nearEdge()) await expect.poll(nearEdge, { timeout: 70_000, intervals: [1_000] }).toBe(false);
}

/** A request with exactly this cookie and nothing else: no cookie jar that sign-out could empty. */
function withCookie(url: string, strategy: Strategy, token: string, init: RequestInit = {}): Promise<Response> {
  return fetch(url, { ...init, redirect: 'manual', headers: { ...(init.headers as Record<string, string>), cookie: `${COOKIE[strategy]}=${token}` } });
}


test.describe('browsing through nginx', () => {
  for (const strategy of STRATEGIES) {
    test(`${strategy}: ten dashboard loads are answered by every instance; sign-out; another browser stays signed in`, async ({ page, signIn, newUser, newDevice }) => {
      test.setTimeout(120_000);
      const user = await newUser(`cluster-browse-${strategy}`);

      // A second browser of the same account, signed in before and checked after.
      const other = await newDevice();
      await signIn(other.page, user, strategy);
      await expectMe(await other.context.request.get('/api/me'), { email: user.email, strategy });

      await signIn(page, user, strategy);
      // Every response of this browser, and those of the protected pages (the
      // /dashboard document and the RSC prefetches of /dashboard/sessions and
      // /dashboard/security), which the answering instance served only after
      // checking the session itself.
      const everyResponse: string[] = [];
      const protectedResponses: string[] = [];
      page.on('response', (response) => {
        const id = response.headers()['x-instance'];
        if (!id) return;
        everyResponse.push(id);
        if (new URL(response.url()).pathname.startsWith('/dashboard') && response.status() === 200) protectedResponses.push(id);
      });
      const documents: (string | undefined)[] = [];
      for (let i = 0; i < 10; i += 1) {
        const response = await page.goto('/dashboard');
        expect(response?.status(), `load ${i + 1}`).toBe(200);
        await expect(page).toHaveURL(/\/dashboard$/);
        await expect(page.getByText(`Strategy: ${strategy}`)).toBeVisible();
        documents.push(response?.headers()['x-instance']);
        // meanwhile the other browser is signed in throughout
        expect((await other.context.request.get('/api/me')).status(), `other browser after load ${i + 1}`).toBe(200);
      }
      await page.waitForLoadState('networkidle');
      console.log(
        `cluster: ${strategy}, ten dashboard loads: documents ${distribution(documents)}; protected responses ${distribution(protectedResponses)}; all responses ${distribution(everyResponse)}`,
      );
      expect([...new Set(everyResponse)].sort(), 'every instance answered this browser').toEqual(IDS);
      expect([...new Set(protectedResponses)].sort(), "every instance served this browser's protected pages").toEqual(IDS);

      await page.getByRole('button', { name: 'Sign out' }).click();
      await expect(page).toHaveURL(/\/(login)?(\?.*)?$/);
      await expectSignedOut(page);

      // The other browser never noticed: still signed in, whichever instance answers.
      for (let i = 0; i < INSTANCES.length; i += 1) {
        await expectMe(await other.context.request.get('/api/me'), { email: user.email, strategy });
      }
      await expectSignedIn(other.page, strategy);
    });
  }
});

test('100 parallel sign-ins spread over the instances give 100 distinct working sessions', async ({ playwright, baseURL, newUser }) => {
  test.setTimeout(180_000);
  const SIGN_INS = 100;
  const users: User[] = [];
  for (let i = 0; i < 20; i += 1) users.push(await newUser(`cluster-parallel-${i}`));
  const clients = await Promise.all(Array.from({ length: SIGN_INS }, () => playwright.request.newContext({ baseURL })));
  try {
    const started = Date.now();
    const signIns = await Promise.all(
      clients.map(async (client, i) => {
        const user = users[i % users.length]!;
        const strategy = STRATEGIES[i % STRATEGIES.length]!;
        const response = await signInHttp(client, { ...user, strategy });
        return { client, user, strategy, status: response.status(), instance: instanceOf(response), token: await requestCookie(client, COOKIE[strategy]) };
      }),
    );
    const elapsed = Date.now() - started;
    expect(signIns.map((s) => s.status)).toEqual(Array(SIGN_INS).fill(302));
    const tokens = signIns.map((s) => s.token);
    expect(tokens.every((token) => typeof token === 'string' && token.length > 0), 'every sign-in set its cookie').toBe(true);
    expect(new Set(tokens).size, 'distinct sessions').toBe(SIGN_INS);
    console.log(`cluster: ${SIGN_INS} parallel sign-ins in ${elapsed} ms: ${distribution(signIns.map((s) => s.instance))}`);
    expect([...new Set(signIns.map((s) => s.instance))].sort(), 'sign-ins answered by every instance').toEqual(IDS);

    // Every session works (its /api/me answered by whichever instance nginx picks).
    const checks = await Promise.all(signIns.map(async (s) => ({ s, response: await s.client.get('/api/me') })));
    for (const { s, response } of checks) await expectMe(response, { email: s.user.email, strategy: s.strategy });
    console.log(`cluster: ${SIGN_INS} /api/me checks: ${distribution(checks.map((c) => instanceOf(c.response)))}`);

    // None lost: the database holds exactly one session row per sign-in.
    expect(await storedSessionCount(users.map((user) => user.email))).toBe(SIGN_INS);
  } finally {
    await Promise.all(clients.map((client) => client.dispose()));
  }
});

test.describe('rate limits across instances', () => {
  // The limit is per account, counted in the shared store (Redis when the cluster has it, else the database): failures spread over
  // the instances add up, and a spoofed X-Forwarded-For changes nothing.
  test('the per-account limit counts failures on every instance; a spoofed X-Forwarded-For is not the recorded address', async ({ request, newUser }) => {
    test.setTimeout(120_000);
    const user = await newUser('cluster-account-limit');
    const spoof = { 'x-forwarded-for': SPOOFED };
    await awayFromWindowEdge();

    const answeredBy: (string | undefined)[] = [];
    for (let i = 0; i < ACCOUNT_LIMIT; i += 1) {
      // One request per attempt, so round-robin moves on each time. (An attempt of
      // k requests with k a multiple of the instance count would always land on the
      // same instance; the callback and /api/token sharing one budget is
      // brute-force.spec.ts's subject.)
      const response = await request.post('/api/token', { data: { email: user.email, password: `wrong-password-${i}` }, headers: spoof });
      expect(response.status(), `failure ${i + 1} is an ordinary failure`).toBe(401);
      answeredBy.push(instanceOf(response));
    }
    console.log(`cluster: ${ACCOUNT_LIMIT} failed sign-ins of one account: ${distribution(answeredBy)}`);
    expect([...new Set(answeredBy)].sort(), 'the failures were spread over every instance').toEqual(IDS);

    // Failure number limit + 1 is refused, whichever instance takes it …
    const over = await request.post('/api/token', { data: { email: user.email, password: 'wrong-password-x' }, headers: spoof });
    expect(over.status()).toBe(429);
    expect(await over.json()).toEqual({ error: 'too_many_requests' });
    expect(Number(over.headers()['retry-after'])).toBeGreaterThanOrEqual(1);
    // … and so is the right password, over the credentials callback through nginx and on each instance directly.
    const callback = await signInHttp(request, { ...user, strategy: 'jwt' });
    expect(callback.status()).toBe(429);
    for (const instance of INSTANCES) {
      const response = await request.post(`${instance.url}/api/token`, { data: { email: user.email, password: user.password } });
      expect(response.status(), instance.id).toBe(429);
      expect(instanceOf(response)).toBe(instance.id);
    }

    // The audit log has the client's address (nginx's view of it), never the spoofed one.
    const failures = (await auditEventsForEmail(user.email)).filter((row) => row.event === 'signin.failed');
    expect(failures).toHaveLength(ACCOUNT_LIMIT);
    expect([...new Set(failures.map((row) => row.ip))]).toEqual(['127.0.0.1']);
    const spoofedRows = await sql<{ event: string }>('SELECT "event" FROM "AuditEvent" WHERE "ip" = $1', [SPOOFED]);
    expect(spoofedRows).toEqual([]);
    const spoofedKeys = (await rateLimitCounters('')).filter((counter) => counter.key.includes(SPOOFED));
    expect(spoofedKeys).toEqual([]);
  });

  // Same as brute-force.spec.ts against one server, here through nginx: the
  // per-address counter follows the address nginx saw, not what the client wrote.
  test('a spoofed X-Forwarded-For does not get a fresh per-address budget', async () => {
    test.setTimeout(180_000);
    const from = '127.0.0.3';
    const attempt = (headers: Record<string, string> = {}) =>
      postFormFrom(from, '/api/auth/callback/credentials', { email: 'not-an-email', password: 'x', strategy: 'jwt' }, headers);

    await awayFromWindowEdge();
    let sent = 0;
    let blocked: Awaited<ReturnType<typeof attempt>> | null = null;
    const answeredBy: (string | undefined)[] = [];
    while (sent <= SIGNIN_IP_LIMIT + 1) {
      const batch = await Promise.all(Array.from({ length: 10 }, () => attempt()));
      sent += batch.length;
      answeredBy.push(...batch.map((response) => response.instance));
      blocked = batch.find((response) => response.status === 429) ?? blocked;
      if (blocked) break;
    }
    expect(blocked?.status, `429 after at most ${SIGNIN_IP_LIMIT + 1} attempts`).toBe(429);
    console.log(`cluster: per-address limit ${SIGNIN_IP_LIMIT} reached after ${sent} attempts from ${from}: ${distribution(answeredBy)}`);
    expect([...new Set(answeredBy)].sort()).toEqual(IDS);

    const spoofs: Record<string, string>[] = [
      { 'x-forwarded-for': SPOOFED },
      { 'x-forwarded-for': `${SPOOFED}, 198.51.100.24` },
      { 'x-real-ip': SPOOFED },
      { 'x-sot-client-ip': SPOOFED },
    ];
    for (const spoof of spoofs) {
      // once per instance: none of them hands out a fresh budget
      for (let i = 0; i < INSTANCES.length; i += 1) {
        const response = await attempt(spoof);
        expect(response.status, JSON.stringify(spoof)).toBe(429);
        expect(JSON.parse(response.body)).toEqual({ error: 'too_many_requests' });
      }
    }

    const rows = await rateLimitCounters('signin:ip:');
    expect(rows.find((row) => row.key === `signin:ip:${from}`)?.count).toBeGreaterThan(SIGNIN_IP_LIMIT);
    expect(rows.filter((row) => row.key.includes('203.0.113.') || row.key.includes('198.51.100.'))).toEqual([]);
    const spoofedAudit = await sql<{ event: string }>('SELECT "event" FROM "AuditEvent" WHERE "ip" LIKE $1 OR "ip" LIKE $2', ['203.0.113.%', '198.51.100.%']);
    expect(spoofedAudit).toEqual([]);
  });
});

test.describe('one session, every instance', () => {
  for (const strategy of STRATEGIES) {
    test(`${strategy}: signed in through one instance, works on every instance; sign-out through another is refused on all`, async ({ playwright, newUser }) => {
      const [first, second] = INSTANCES as [Instance, Instance];
      const user = await newUser(`cluster-shared-${strategy}`);
      const client = await playwright.request.newContext({ baseURL: first.url });
      let token: string | undefined;
      try {
        const signedIn = await signInHttp(client, { ...user, strategy });
        expect(signedIn.status()).toBe(302);
        expect(instanceOf(signedIn)).toBe(first.id);
        token = await requestCookie(client, COOKIE[strategy]);
      } finally {
        await client.dispose();
      }
      expect(token).toBeTruthy();

      // The same credential on every instance, and through nginx.
      for (const instance of INSTANCES) {
        const me = await withCookie(`${instance.url}/api/me`, strategy, token!);
        expect(me.status, instance.id).toBe(200);
        expect(me.headers.get('x-instance')).toBe(instance.id);
        const body = (await me.json()) as { user: { email: string }; strategy: string };
        expect(body.user.email).toBe(user.email);
        expect(body.strategy).toBe(strategy);
        const dashboard = await withCookie(`${instance.url}/dashboard`, strategy, token!);
        expect(dashboard.status, `${instance.id} /dashboard`).toBe(200);
        // React separates the text parts with a comment: "Strategy: <!-- -->jwt"
        expect(await dashboard.text()).toMatch(new RegExp(`Strategy: (<!-- -->)?${strategy}<`));
      }

      // Sign out through another instance than the one that signed in …
      const signOut = await withCookie(`${second.url}/api/auth/signout`, strategy, token!, {
        method: 'POST',
        headers: { origin: second.url, 'sec-fetch-site': 'same-origin' },
      });
      expect(signOut.status).toBe(200);
      expect(signOut.headers.get('x-instance')).toBe(second.id);

      // … and every instance refuses the kept copy: in strict mode on its next request (it reads the
      // store); in pushed mode, which the cluster step runs, once the revocation's notice has reached
      // it — milliseconds (revocation.spec.ts measures the delay), so this polls briefly.
      for (const instance of INSTANCES) {
        await expect
          .poll(async () => (await withCookie(`${instance.url}/api/me`, strategy, token!)).status, { message: instance.id, timeout: 2_000, intervals: [5] })
          .toBe(401);
        expect(await (await withCookie(`${instance.url}/api/me`, strategy, token!)).json()).toEqual({ error: 'unauthorized' });
      }
      const viaNginx = await Promise.all(INSTANCES.map(() => withCookie(`${process.env.E2E_BASE_URL}/api/me`, strategy, token!)));
      expect(viaNginx.map((response) => response.status)).toEqual(INSTANCES.map(() => 401));
      const page = await withCookie(`${second.url}/dashboard`, strategy, token!);
      expect(page.status).toBe(307);
    });
  }
});
