import { type APIRequestContext } from '@playwright/test';
import { COOKIE, expect, requestCookie, signInHttp, test, type MeResponse, type User } from '../fixtures';
import type { RestartTimings } from '../../scripts/cluster.mjs';
import { INSTANCES, type Health, type Instance, type Kind } from './instances';

// One instance restarted under load (scripts/test.mjs, step "cluster"): users signed in
// with every kind of credential keep hammering nginx while one instance is stopped
// gracefully (SIGTERM) and started again on the same port, through the control channel
// (E2E_CLUSTER_CONTROL). Nobody may be signed out, and clients may see at most a few
// failed requests, all of them during the restart. Credentials revoked while the instance
// is down are refused by its successor from its first request: pushed revocation loads
// the current revocations when it starts (lib/sessions/feed.ts).
//
// Runs alone, after every other cluster spec (project "restart" in playwright.config.ts):
// while an instance is down, direct requests to it fail.

interface Credential {
  kind: Kind;
  email: string;
  /** Headers that present it (a cookie or a Bearer token), nothing else. */
  headers: Record<string, string>;
  /** Revokes it on the instance (or nginx) it was issued by. */
  revoke: () => Promise<void>;
  dispose: () => Promise<void>;
}

type Outcome = 'ok' | 'signedOut' | 'wrongUser' | 'other4xx' | 'server5xx' | 'connection' | 'otherStatus';

interface Failure {
  outcome: Outcome;
  what: string;
  /** performance.now() when the request was sent and when it failed. */
  sent: number;
  failed: number;
}

const CONTROL = process.env.E2E_CLUSTER_CONTROL ?? '';
const NGINX = process.env.E2E_BASE_URL ?? 'http://127.0.0.1:3000';
const KINDS: Kind[] = ['database', 'jwt', 'api'];
/** Users under load; each is signed in with every kind of credential. */
const LOAD_USERS = 2;
const ME_LOOPS_PER_CREDENTIAL = 2;
const DASHBOARD_LOOPS = 2;
const LOOPS = LOAD_USERS * KINDS.length * ME_LOOPS_PER_CREDENTIAL + DASHBOARD_LOOPS;
/**
 * Failed requests (5xx, connection errors) clients may see, all during the restart.
 * Expected: none. The old process finishes the requests it has, and nginx passes a GET
 * that cannot reach it (refused connection, a keep-alive connection closed under it) to the
 * next instance. What can still fail is a request in flight at the instant the old process
 * goes away, and each load loop has at most one request in flight: at most one per loop.
 * An instance that nginx kept sending requests to while it was down would fail each loop
 * over and over for the whole downtime, far beyond this.
 */
const MAX_DISRUPTED = LOOPS;
/** Load responses the restarted instance must answer through nginx before the load stops. */
const BACK_IN_ROTATION = 20;
/** Deadline of each poll below (not a duration anything must fit in: a poll ends as soon as its condition holds). */
const POLL_DEADLINE_MS = 60_000;

test.describe.configure({ mode: 'serial' });

test.beforeAll(() => {
  expect(INSTANCES.length, 'E2E_CLUSTER_INSTANCES names the instances (scripts/test.mjs sets it)').toBeGreaterThanOrEqual(2);
  expect(CONTROL, 'E2E_CLUSTER_CONTROL: the control channel (scripts/test.mjs sets it)').toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
});

async function health(instance: Instance): Promise<{ status: number; instance: string | null; body: Health }> {
  const response = await fetch(`${instance.url}/api/health`, { signal: AbortSignal.timeout(5_000) });
  return { status: response.status, instance: response.headers.get('x-instance'), body: (await response.json()) as Health };
}

/** True when the instance accepts connections at all. */
async function reachable(instance: Instance): Promise<boolean> {
  try {
    const response = await fetch(`${instance.url}/api/health`, { signal: AbortSignal.timeout(5_000) });
    await response.arrayBuffer();
    return true;
  } catch {
    return false;
  }
}

async function me(url: string, credential: Credential): Promise<{ status: number; instance: string | null; body: MeResponse | null }> {
  const response = await fetch(`${url}/api/me`, { headers: credential.headers, redirect: 'manual', signal: AbortSignal.timeout(15_000) });
  const instance = response.headers.get('x-instance');
  if (response.status !== 200) {
    await response.arrayBuffer();
    return { status: response.status, instance, body: null };
  }
  return { status: response.status, instance, body: (await response.json()) as MeResponse };
}

function control(pathname: string): Promise<Response> {
  return fetch(`${CONTROL}${pathname}`, { method: 'POST', signal: AbortSignal.timeout(180_000) });
}

/** Signs `user` in on `server` (an instance or nginx) with a credential of `kind`. */
async function newCredential(newClient: (baseURL: string) => Promise<APIRequestContext>, kind: Kind, user: User, server: string): Promise<Credential> {
  if (kind === 'api') {
    const response = await fetch(`${server}/api/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: user.email, password: user.password }),
    });
    expect(response.status, 'POST /api/token').toBe(200);
    const pair = (await response.json()) as { access_token: string; refresh_token: string };
    expect(pair.access_token).toBeTruthy();
    return {
      kind,
      email: user.email,
      headers: { authorization: `Bearer ${pair.access_token}` },
      revoke: async () => {
        const revoke = await fetch(`${server}/api/token/revoke`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ token: pair.refresh_token }),
        });
        expect(revoke.status, 'POST /api/token/revoke').toBe(200);
      },
      dispose: async () => {},
    };
  }
  const client = await newClient(server);
  const signIn = await signInHttp(client, { ...user, strategy: kind });
  expect(signIn.status(), `${kind} sign-in`).toBe(302);
  const token = await requestCookie(client, COOKIE[kind]);
  expect(token, `${COOKIE[kind]} cookie`).toBeTruthy();
  return {
    kind,
    email: user.email,
    headers: { cookie: `${COOKIE[kind]}=${token}` },
    revoke: async () => {
      const signOut = await client.post('/api/auth/signout', { headers: { origin: server, 'sec-fetch-site': 'same-origin' } });
      expect(signOut.status(), 'POST /api/auth/signout').toBe(200);
    },
    dispose: () => client.dispose(),
  };
}

/** Continuous requests through nginx, every outcome counted, until stop(). */
class Load {
  readonly counts: Record<Outcome, number> = { ok: 0, signedOut: 0, wrongUser: 0, other4xx: 0, server5xx: 0, connection: 0, otherStatus: 0 };
  readonly byInstance = new Map<string, number>();
  readonly failures: Failure[] = [];
  /** From when an instance counts as back (set once its restart has resolved), the responses it answered. */
  backSince: { id: string; at: number } | null = null;
  answeredSinceBack = 0;
  private stopping = false;
  private readonly loops: Promise<void>[] = [];

  get total(): number {
    return Object.values(this.counts).reduce((sum, n) => sum + n, 0);
  }

  answered(id: string): number {
    return this.byInstance.get(id) ?? 0;
  }

  start(credentials: Credential[], dashboardCredentials: Credential[]): void {
    for (const credential of credentials)
      for (let i = 0; i < ME_LOOPS_PER_CREDENTIAL; i += 1) this.loops.push(this.loop(credential, '/api/me'));
    for (let i = 0; i < DASHBOARD_LOOPS; i += 1) this.loops.push(this.loop(dashboardCredentials[i % dashboardCredentials.length]!, '/dashboard'));
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.loops);
  }

  private async loop(credential: Credential, pathname: '/api/me' | '/dashboard'): Promise<void> {
    while (!this.stopping) {
      const sent = performance.now();
      try {
        const response = await fetch(`${NGINX}${pathname}`, { headers: credential.headers, redirect: 'manual', signal: AbortSignal.timeout(30_000) });
        const answeredBy = response.headers.get('x-instance') ?? '(none)';
        this.byInstance.set(answeredBy, this.answered(answeredBy) + 1);
        if (this.backSince && answeredBy === this.backSince.id && sent >= this.backSince.at) this.answeredSinceBack += 1;
        const outcome = await this.classify(response, credential, pathname);
        this.counts[outcome] += 1;
        if (outcome !== 'ok') this.failures.push({ outcome, what: `${pathname} (${credential.kind}) → ${response.status} from ${answeredBy}`, sent, failed: performance.now() });
      } catch (error) {
        this.counts.connection += 1;
        const cause = error instanceof Error ? `${error.message}${error.cause instanceof Error ? `: ${error.cause.message}` : ''}` : String(error);
        this.failures.push({ outcome: 'connection', what: `${pathname} (${credential.kind}) → ${cause}`, sent, failed: performance.now() });
      }
    }
  }

  private async classify(response: Response, credential: Credential, pathname: '/api/me' | '/dashboard'): Promise<Outcome> {
    const { status } = response;
    if (pathname === '/dashboard') {
      await response.arrayBuffer();
      if (status === 200) return 'ok';
      // Signed out, the dashboard sends the browser to the sign-in page.
      if (status === 307 && (response.headers.get('location') ?? '').includes('/login')) return 'signedOut';
    } else if (status === 200) {
      const body = (await response.json()) as MeResponse;
      return body.user.email === credential.email && body.strategy === credential.kind ? 'ok' : 'wrongUser';
    } else {
      await response.arrayBuffer();
      if (status === 401) return 'signedOut';
    }
    if (status >= 500) return 'server5xx';
    if (status >= 400) return 'other4xx';
    return 'otherStatus';
  }
}

test('one instance restarted under load: nobody signed out, credentials revoked while it was down refused from its first request', async ({
  playwright,
  newUser,
}) => {
  test.setTimeout(240_000);
  const newClient = (baseURL: string) => playwright.request.newContext({ baseURL });
  const target = INSTANCES[1]!;
  const issuer = INSTANCES.find((instance) => instance !== target)!;

  // The control channel refuses what it does not know.
  const unknown = await control('/instances/no-such-instance/restart');
  expect(unknown.status, 'restart of an unknown instance').toBe(404);
  expect(((await unknown.json()) as { error: string }).error).toContain('no-such-instance');

  for (const instance of INSTANCES)
    await expect.poll(async () => (await health(instance)).body.revocationFeed?.live, { message: `${instance.id} feed live`, timeout: POLL_DEADLINE_MS }).toBe(true);

  // Signed in through nginx: the load. Signed in on an instance that stays up: revoked while the target is down.
  const users = await Promise.all(Array.from({ length: LOAD_USERS }, (_, i) => newUser(`restart-load-${i}`)));
  const load: Credential[] = [];
  for (const user of users) for (const kind of KINDS) load.push(await newCredential(newClient, kind, user, NGINX));
  const doomedUser = await newUser('restart-revoked');
  const doomed = await Promise.all(KINDS.map((kind) => newCredential(newClient, kind, doomedUser, issuer.url)));
  const run = new Load();
  let held = false;
  try {
    // Every credential works on every instance (the target has seen the doomed ones: it remembers sessions).
    for (const credential of [...load, ...doomed])
      for (const instance of INSTANCES) expect((await me(instance.url, credential)).status, `${credential.kind} on ${instance.id} before`).toBe(200);

    run.start(
      load,
      load.filter((credential) => credential.kind !== 'api'),
    );
    // Load reaching every instance before the restart.
    await expect
      .poll(() => INSTANCES.every((instance) => run.answered(instance.id) >= BACK_IN_ROTATION), { message: 'load on every instance', timeout: POLL_DEADLINE_MS })
      .toBe(true);

    // Restart, held down until the revocations are in.
    const restartBegun = performance.now();
    const restarting = control(`/instances/${target.id}/restart?hold=1`);
    held = true;
    await expect.poll(() => reachable(target), { message: `${target.id} goes down`, timeout: POLL_DEADLINE_MS }).toBe(false);
    for (const credential of doomed) await credential.revoke();
    for (const credential of doomed)
      for (const instance of INSTANCES.filter((other) => other !== target))
        await expect.poll(async () => (await me(instance.url, credential)).status, { message: `revoked ${credential.kind} on ${instance.id}`, timeout: POLL_DEADLINE_MS }).toBe(401);
    expect(await reachable(target), `${target.id} still down when the revocations are in`).toBe(false);
    const resumed = await control(`/instances/${target.id}/resume`);
    held = false;
    expect(resumed.status, 'resume the held restart').toBe(200);

    const restarted = await restarting;
    const restartEnded = performance.now();
    expect(restarted.status, `restart ${target.id}`).toBe(200);
    const timings = (await restarted.json()) as RestartTimings;
    run.backSince = { id: target.id, at: restartEnded };

    // Its successor's first requests with the revoked credentials: refused.
    const firstAnswers = await Promise.all(doomed.map((credential) => me(target.url, credential)));
    for (const [index, answer] of firstAnswers.entries()) {
      expect(answer.status, `revoked ${doomed[index]!.kind} on the restarted ${target.id}, first request`).toBe(401);
      expect(answer.instance).toBe(target.id);
    }

    // A new process (graceful exit of the old one), with its feed live from the start.
    expect(timings.id).toBe(target.id);
    expect(timings.pid).not.toBe(timings.previousPid);
    expect(timings.previousExit, 'the old process stopped gracefully (server.mjs exits 143 on SIGTERM)').toEqual({ code: 143, signal: null });
    const after = await health(target);
    expect(after.status).toBe(200);
    expect(after.instance).toBe(target.id);
    expect(after.body.revocationFeed).toEqual({ live: true, fallbacks: 0 });

    // Load going on until nginx sends the restarted instance its share again.
    await expect.poll(() => run.answeredSinceBack, { message: `${target.id} back in rotation`, timeout: POLL_DEADLINE_MS }).toBeGreaterThanOrEqual(BACK_IN_ROTATION);
    await run.stop();

    const { counts } = run;
    const disrupted = run.failures.filter((failure) => failure.outcome === 'server5xx' || failure.outcome === 'connection');
    const outsideRestart = disrupted.filter((failure) => failure.failed < restartBegun || failure.sent > restartEnded);
    const distribution = INSTANCES.map((instance) => `${instance.id} ×${run.answered(instance.id)}`).join(', ');
    console.log(
      `cluster: restart under load: ${target.id} restarted (stop ${timings.stopMs} ms, held down ${timings.downMs} ms, start ${timings.startMs} ms, SIGTERM→ready ${timings.totalMs} ms); ` +
        `${run.total} requests through nginx from ${LOOPS} loops: ${counts.ok} ×200, ${counts.signedOut} ×401/signed out, ${counts.other4xx} other 4xx, ` +
        `${counts.server5xx} ×5xx, ${counts.connection} connection errors (bound ${MAX_DISRUPTED}), ${counts.wrongUser} wrong user, ${counts.otherStatus} other; ` +
        `answered by ${distribution}, ${run.answeredSinceBack} by ${target.id} after it was back; ` +
        `${doomed.length} credentials revoked while it was down refused from its first request`,
    );
    for (const failure of run.failures.slice(0, 20)) console.log(`cluster: restart under load: ${failure.outcome}: ${failure.what}`);

    expect(counts.signedOut, 'no signed-in user signed out (401, or the dashboard sending to /login)').toBe(0);
    expect(counts.wrongUser, 'every /api/me answer names its own user').toBe(0);
    expect(counts.other4xx, 'no other 4xx').toBe(0);
    expect(counts.otherStatus, 'no other status').toBe(0);
    expect(disrupted.length, `5xx and connection errors (at most one per load loop)`).toBeLessThanOrEqual(MAX_DISRUPTED);
    expect(outsideRestart.map((failure) => failure.what), '5xx and connection errors only during the restart').toEqual([]);
    expect(counts.ok).toBeGreaterThan(0);

    // Every instance, the restarted one included, accepts every credential and names itself.
    for (const instance of INSTANCES) {
      for (const credential of load) {
        const answer = await me(instance.url, credential);
        expect(answer.status, `${credential.kind} on ${instance.id} after`).toBe(200);
        expect(answer.instance).toBe(instance.id);
        expect(answer.body?.user.email).toBe(credential.email);
        expect(answer.body?.strategy).toBe(credential.kind);
      }
      for (const credential of doomed) expect((await me(instance.url, credential)).status, `revoked ${credential.kind} on ${instance.id} after`).toBe(401);
    }
  } finally {
    // A failure while the target is held down: let it start again (for whatever runs next).
    if (held) await control(`/instances/${target.id}/resume`).catch(() => undefined);
    await run.stop();
    for (const credential of [...load, ...doomed]) await credential.dispose();
  }
});
