import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { decodeProtectedHeader } from 'jose';
import { type APIRequestContext } from '@playwright/test';
import { COOKIE, expect, expectMe, requestCookie, signInHttp, test, type User } from '../fixtures';
import { INSTANCES, type Instance } from './instances';

// Signing keys in the database (KEYS_ENCRYPTION_KEY set; scripts/cluster.mjs hands
// every instance the same one): a key rotated by `npm run keys:rotate` against the
// cluster's database reaches every instance by its own re-reading of the key table,
// with no restart and no shared file. scripts/test.mjs runs the cluster with
// JWKS_MAX_AGE_SECONDS=15, so a rotated key signs 15 s after it is published, and
// hands this spec the cluster's environment (DATABASE_URL, KEYS_ENCRYPTION_KEY).

const ROOT = path.resolve(__dirname, '..', '..');
const run = promisify(execFile);

// Both tests rotate the one key set: one after the other.
test.describe.configure({ mode: 'serial' });

test.beforeAll(() => {
  expect(INSTANCES.length, 'E2E_CLUSTER_INSTANCES names the instances (scripts/test.mjs sets it)').toBeGreaterThanOrEqual(2);
  expect(process.env.DATABASE_URL, 'the cluster runs on PostgreSQL').toMatch(/^postgres(ql)?:\/\//);
  expect(process.env.KEYS_ENCRYPTION_KEY, "the cluster's KEYS_ENCRYPTION_KEY (scripts/test.mjs hands it over)").toBeTruthy();
});

/** `scripts/keys.ts rotate` with the cluster's environment, as an operator runs `npm run keys:rotate`. */
async function rotate(...args: string[]): Promise<{ kid: string; activatesAt: number }> {
  const { stdout } = await run(process.execPath, [path.join(ROOT, 'node_modules/tsx/dist/cli.mjs'), '--conditions=react-server', 'scripts/keys.ts', 'rotate', ...args], {
    cwd: ROOT,
    env: process.env,
    encoding: 'utf8',
  });
  const match = /added (\S+); published now, signs from (\S+)/.exec(stdout);
  expect(match, stdout).toBeTruthy();
  expect(stdout, 'the database store rotated, not a file').toContain('database key store');
  return { kid: match![1]!, activatesAt: Date.parse(match![2]!) };
}

async function kidsOf(request: APIRequestContext, instance: Instance): Promise<string[]> {
  const response = await request.get(`${instance.url}/.well-known/jwks.json`);
  expect(response.status(), instance.id).toBe(200);
  return ((await response.json()) as { keys: { kid: string }[] }).keys.map((key) => key.kid).sort();
}

/** An access token from a password grant on exactly this instance. */
async function accessTokenFrom(request: APIRequestContext, instance: Instance, user: User): Promise<string> {
  const response = await request.post(`${instance.url}/api/token`, { data: { email: user.email, password: user.password } });
  expect(response.status(), `POST /api/token on ${instance.id}`).toBe(200);
  expect(response.headers()['x-instance']).toBe(instance.id);
  return ((await response.json()) as { access_token: string }).access_token;
}

const kidOf = (token: string) => decodeProtectedHeader(token).kid;

/** Every instance answers /api/me to this Bearer token. */
async function expectVerifiedEverywhere(request: APIRequestContext, token: string, user: User, what: string): Promise<void> {
  for (const instance of INSTANCES) {
    const response = await request.get(`${instance.url}/api/me`, { headers: { authorization: `Bearer ${token}` } });
    expect(response.headers()['x-instance']).toBe(instance.id);
    expect(response.status(), `${what}, verified on ${instance.id}`).toBe(200);
    await expectMe(response, { email: user.email, strategy: 'api' });
  }
}

test('a key rotated against the database is published by every instance within seconds, signs on every one once active, and verifies on all', async ({
  request,
  playwright,
  newUser,
}) => {
  test.setTimeout(120_000);
  const user = await newUser('keys');
  const before = await Promise.all(INSTANCES.map((instance) => kidsOf(request, instance)));
  for (const kids of before) expect(kids, 'every instance publishes the same keys').toEqual(before[0]);
  const earlier = await accessTokenFrom(request, INSTANCES[0]!, user);

  const rotatedAt = Date.now();
  const added = await rotate();
  expect(before[0]).not.toContain(added.kid);
  expect(added.activatesAt - rotatedAt, 'the new key waits for the JWKS cache lifetime').toBeGreaterThan(5_000);

  // Published by every instance within seconds (each re-reads the key table every 5 s) …
  await expect
    .poll(async () => (await Promise.all(INSTANCES.map((instance) => kidsOf(request, instance)))).map((kids) => kids.includes(added.kid)), {
      timeout: 12_000,
      intervals: [250],
    })
    .toEqual(INSTANCES.map(() => true));
  // … and so before any of them signs with it: verifiers that cache the JWKS know it in time.
  const published = Date.now();
  expect(published, 'every instance lists the key before it signs').toBeLessThan(added.activatesAt);
  for (const instance of INSTANCES) {
    const token = await accessTokenFrom(request, instance, user);
    if (Date.now() < added.activatesAt) expect(kidOf(token), `${instance.id} still signs with the current key`).not.toBe(added.kid);
  }

  // Once active, every instance signs with it, and every other instance verifies what it signed.
  await expect.poll(() => Date.now() >= added.activatesAt, { timeout: Math.max(1_000, added.activatesAt - Date.now() + 5_000), intervals: [250] }).toBe(true);
  for (const instance of INSTANCES) {
    const token = await accessTokenFrom(request, instance, user);
    expect(kidOf(token), `${instance.id} signs with the rotated key`).toBe(added.kid);
    await expectVerifiedEverywhere(request, token, user, `access token from ${instance.id}`);
  }
  await expectVerifiedEverywhere(request, earlier, user, 'a token signed before the rotation (the previous key keeps verifying)');

  // A browser JWT too: signed in on one instance, accepted by all.
  const [first] = INSTANCES as [Instance];
  const browser = await playwright.request.newContext();
  try {
    expect((await signInHttp(browser, { ...user, strategy: 'jwt' }, first.url)).status()).toBe(302);
    const cookie = await requestCookie(browser, COOKIE.jwt);
    expect(cookie).toBeTruthy();
    expect(kidOf(cookie!)).toBe(added.kid);
    for (const instance of INSTANCES) {
      const response = await request.get(`${instance.url}/api/me`, { headers: { cookie: `${COOKIE.jwt}=${cookie}` } });
      expect(response.headers()['x-instance']).toBe(instance.id);
      await expectMe(response, { email: user.email, strategy: 'jwt' });
    }
  } finally {
    await browser.dispose();
  }
});

test('a key rotated to sign at once: a token one instance signs with it verifies on the others before their next re-read', async ({ request, newUser }) => {
  const user = await newUser('keys-now');
  const added = await rotate('--now');
  const [signer, ...others] = INSTANCES as [Instance, ...Instance[]];

  // The signer switches at its next re-read of the key table (within 5 s).
  let token = '';
  await expect
    .poll(
      async () => {
        token = await accessTokenFrom(request, signer, user);
        return kidOf(token);
      },
      { timeout: 12_000, intervals: [500] },
    )
    .toBe(added.kid);
  // The others may not have re-read yet: a kid they do not know makes them ask the database first.
  for (const instance of others) {
    const response = await request.get(`${instance.url}/api/me`, { headers: { authorization: `Bearer ${token}` } });
    expect(response.headers()['x-instance']).toBe(instance.id);
    await expectMe(response, { email: user.email, strategy: 'api' });
  }
});
