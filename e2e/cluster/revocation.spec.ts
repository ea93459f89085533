import { type APIRequestContext } from '@playwright/test';
import { COOKIE, expect, requestCookie, signInHttp, test, type User } from '../fixtures';
import { cutFeedConnections, sessionStore } from './session-store';
import { INSTANCES, type Health, type Instance, type Kind } from './instances';

// Pushed revocation across instances (scripts/test.mjs runs the cluster with
// REVOCATION_MODE=pushed, sessions in PostgreSQL or in Redis): a credential revoked on one instance is
// refused by every other one without a store read per request, because the
// revocation's NOTIFY reached their memory. Requests go to the instances
// directly (E2E_CLUSTER_INSTANCES), so the test chooses which one revokes and
// which ones must refuse.

interface Credential {
  kind: Kind;
  /** Headers that present it (a cookie or a Bearer token). */
  headers: Record<string, string>;
  /** Revokes it on the instance it was issued by; resolves when that instance has answered. */
  revoke: () => Promise<void>;
  dispose: () => Promise<void>;
}

const KINDS: Kind[] = ['database', 'jwt', 'api'];
const REFUSAL_DEADLINE_MS = 5_000;

// One test at a time: the cut below must not land in the middle of the delay measurement.
test.describe.configure({ mode: 'serial' });

const clientFor = (playwright: { request: { newContext: (options: { baseURL: string }) => Promise<APIRequestContext> } }): NewClient => (baseURL) =>
  playwright.request.newContext({ baseURL });

test.beforeAll(() => {
  expect(INSTANCES.length, 'E2E_CLUSTER_INSTANCES names the instances').toBeGreaterThanOrEqual(2);
});

async function health(instance: Instance): Promise<Health> {
  const response = await fetch(`${instance.url}/api/health`);
  expect(response.status).toBe(200);
  return (await response.json()) as Health;
}

async function meStatus(instance: Instance, headers: Record<string, string>): Promise<number> {
  const response = await fetch(`${instance.url}/api/me`, { headers, redirect: 'manual' });
  await response.arrayBuffer();
  return response.status;
}

/** Signs in on `instance` and returns the credential, accepted by every instance. */
type NewClient = (baseURL: string) => Promise<APIRequestContext>;

async function newCredential(newClient: NewClient, kind: Kind, user: User, instance: Instance): Promise<Credential> {
  if (kind === 'api') {
    const response = await fetch(`${instance.url}/api/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: user.email, password: user.password }),
    });
    expect(response.status).toBe(200);
    const pair = (await response.json()) as { access_token: string; refresh_token: string };
    return {
      kind,
      headers: { authorization: `Bearer ${pair.access_token}` },
      revoke: async () => {
        const revoke = await fetch(`${instance.url}/api/token/revoke`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ token: pair.refresh_token }),
        });
        expect(revoke.status).toBe(200);
      },
      dispose: async () => {},
    };
  }
  const client = await newClient(instance.url);
  const signIn = await signInHttp(client, { ...user, strategy: kind });
  expect(signIn.status()).toBe(302);
  const token = await requestCookie(client, COOKIE[kind]);
  expect(token).toBeTruthy();
  return {
    kind,
    headers: { cookie: `${COOKIE[kind]}=${token}` },
    revoke: async () => {
      const signOut = await client.post('/api/auth/signout', { headers: { origin: instance.url, 'sec-fetch-site': 'same-origin' } });
      expect(signOut.status()).toBe(200);
    },
    dispose: () => client.dispose(),
  };
}

/** Milliseconds from now until `instance` refuses the credential (polled as fast as it answers). */
async function timeToRefusal(instance: Instance, credential: Credential, started: number): Promise<number> {
  for (;;) {
    const status = await meStatus(instance, credential.headers);
    if (status === 401) return performance.now() - started;
    expect(status, `${instance.id} answers 200 or 401`).toBe(200);
    expect(performance.now() - started, `${instance.id} refuses the revoked ${credential.kind} credential`).toBeLessThan(REFUSAL_DEADLINE_MS);
  }
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

function summary(delays: number[]): string {
  const sorted = [...delays].sort((a, b) => a - b);
  return `n=${sorted.length} p50 ${percentile(sorted, 50).toFixed(1)} ms, p99 ${percentile(sorted, 99).toFixed(1)} ms, max ${sorted.at(-1)!.toFixed(1)} ms`;
}

test('every instance runs pushed revocation with a live feed', async () => {
  for (const instance of INSTANCES) {
    await expect.poll(async () => (await health(instance)).revocationFeed?.live, { message: instance.id }).toBe(true);
  }
});

test('revoked on one instance, refused by every other: delay over more than 100 revocations (p50/p99 printed)', async ({ playwright, newUser }) => {
  test.setTimeout(180_000);
  const ROUNDS = 102;
  const users = new Map<Kind, User>();
  for (const kind of KINDS) users.set(kind, await newUser(`pushed-${kind}`));
  const delays = new Map<Kind, number[]>(KINDS.map((kind) => [kind, []]));
  for (let round = 0; round < ROUNDS; round += 1) {
    const kind = KINDS[round % KINDS.length]!;
    const revoking = INSTANCES[round % INSTANCES.length]!;
    const others = INSTANCES.filter((instance) => instance !== revoking);
    const credential = await newCredential(clientFor(playwright), kind, users.get(kind)!, revoking);
    try {
      // Accepted everywhere first (and so remembered by instances that keep sessions).
      for (const instance of INSTANCES) expect(await meStatus(instance, credential.headers), `${kind} on ${instance.id} before`).toBe(200);
      await credential.revoke();
      const started = performance.now();
      const refusedAfter = await Promise.all(others.map((instance) => timeToRefusal(instance, credential, started)));
      // The instance that revoked refuses it at once: it applied the revocation before answering.
      expect(await meStatus(revoking, credential.headers)).toBe(401);
      delays.get(kind)!.push(Math.max(...refusedAfter));
    } finally {
      await credential.dispose();
    }
  }
  const all = [...delays.values()].flat();
  expect(all.length).toBeGreaterThanOrEqual(100);
  console.log(`cluster (sessions in ${sessionStore()}): pushed revocation, from the revoking response to refusal by every other instance: ${summary(all)}`);
  for (const [kind, values] of delays) console.log(`cluster (sessions in ${sessionStore()}): pushed revocation, ${kind}: ${summary(values)}`);
});

test('the feed connection cut: revoked credentials are still refused everywhere, instances fall back to reads and recover', async ({ playwright, newUser }) => {
  test.setTimeout(120_000);
  const user = await newUser('pushed-cut');
  const [revoking] = INSTANCES;
  const credentials = await Promise.all(KINDS.map((kind) => newCredential(clientFor(playwright), kind, user, revoking!)));
  const untouched = await newCredential(clientFor(playwright), 'jwt', user, revoking!);
  try {
    for (const credential of [...credentials, untouched])
      for (const instance of INSTANCES) expect(await meStatus(instance, credential.headers), `${credential.kind} on ${instance.id}`).toBe(200);
    const fallbacksBefore = await Promise.all(INSTANCES.map(async (instance) => (await health(instance)).revocationFeed!.fallbacks));

    // Cut every instance's feed connection (what a restart of the store or a network blip does):
    // PostgreSQL's LISTEN backends, or Redis's pub/sub clients.
    expect(await cutFeedConnections(), 'one feed connection per instance').toBe(INSTANCES.length);

    // Revoked while the channel is down (or coming back): refused everywhere all the same.
    const started = performance.now();
    for (const credential of credentials) await credential.revoke();
    for (const credential of credentials)
      for (const instance of INSTANCES) await timeToRefusal(instance, credential, started);

    // Each instance noticed the cut (fell back to reads) and went live again.
    for (const [index, instance] of INSTANCES.entries()) {
      await expect
        .poll(async () => (await health(instance)).revocationFeed, { message: `${instance.id} recovers`, timeout: 15_000 })
        .toEqual({ live: true, fallbacks: fallbacksBefore[index]! + 1 });
    }
    // Live again: still refused (loaded from the store), the untouched credential still accepted …
    for (const instance of INSTANCES) {
      for (const credential of credentials) expect(await meStatus(instance, credential.headers), `${credential.kind} on ${instance.id} after`).toBe(401);
      expect(await meStatus(instance, untouched.headers), `untouched on ${instance.id}`).toBe(200);
    }
    // … and a revocation now is pushed again.
    await untouched.revoke();
    const again = performance.now();
    await Promise.all(INSTANCES.map((instance) => timeToRefusal(instance, untouched, again)));
  } finally {
    for (const credential of [...credentials, untouched]) await credential.dispose();
  }
});
