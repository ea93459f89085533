// Fail closed when the database goes away, recover when it comes back — against
// a real PostgreSQL server that this test stops and restarts under a running
// production server. Run by `npm test` (step "outage") after the build.
//
// ASVS 5.0 16.5.2 (the application continues to operate securely / fails
// closed when an external resource such as the database is unavailable) and
// 16.5.1 (a generic message is returned, no internal details).
//
// A second server on the same database runs with REVOCATION_MODE=stateless,
// where a JWT is checked without a session lookup: what still works there is
// observed too. Every answer is recorded in data/results/outage.json
// (tests/outage/record.mjs) for the comparison lab's outage experiment.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { startPgCluster } from '../../scripts/pg-cluster.mjs';
import { ROOT, startServer } from '../../scripts/app-process.mjs';
import { observations, recordOutage } from './record.mjs';

let cluster;
let server;
let stateless;
let dir;
const cookies = {};
const statelessCookies = {};

async function signIn(strategy, base = server) {
  const csrf = await fetch(`${base.url}/api/auth/csrf`);
  const { csrfToken } = await csrf.json();
  const csrfCookie = csrf.headers.getSetCookie().map((line) => line.split(';')[0]).join('; ');
  const response = await fetch(`${base.url}/api/auth/callback/credentials`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: csrfCookie },
    body: new URLSearchParams({ csrfToken, email: 'demo@example.com', password: 'demo-password-123', strategy }),
  });
  const name = strategy === 'database' ? 'sot.session' : 'sot.jwt';
  const line = response.headers.getSetCookie().find((cookie) => cookie.startsWith(`${name}=`));
  assert.ok(line, `signed in with ${strategy}`);
  return line.split(';')[0];
}

const me = (cookie, base = server) => fetch(`${base.url}/api/me`, { headers: { cookie } });
const dashboard = (cookie, base = server) => fetch(`${base.url}/dashboard`, { headers: { cookie }, redirect: 'manual' });
const passwordGrant = (base = server) =>
  fetch(`${base.url}/api/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: 'demo@example.com', password: 'demo-password-123' }),
  });
// The first server's mode: the environment's, as for any server started here (strict unless set).
const DEFAULT_MODE = process.env.REVOCATION_MODE || 'strict';
const LEAKS = ['Prisma', 'P1001', 'ECONNREFUSED', 'postgresql://', 'at '];

before(async () => {
  cluster = await startPgCluster({ database: 'sot_outage' });
  dir = fs.mkdtempSync(path.join(ROOT, '.tmp', 'outage-'));
  const env = { DATABASE_URL: cluster.url, KEYS_FILE: path.join(dir, 'keys.json'), NODE_ENV: 'production' };
  const setup = spawnSync(process.execPath, ['scripts/setup.mjs'], { cwd: ROOT, env: { ...process.env, ...env }, encoding: 'utf8' });
  assert.equal(setup.status, 0, setup.stderr);
  [server, stateless] = await Promise.all([
    startServer({ env, logFile: path.join(dir, 'server.log'), readyPath: '/api/health' }),
    startServer({ env: { ...env, REVOCATION_MODE: 'stateless' }, logFile: path.join(dir, 'stateless.log'), readyPath: '/api/health' }),
  ]);
  cookies.database = await signIn('database');
  cookies.jwt = await signIn('jwt');
  statelessCookies.database = await signIn('database', stateless);
  statelessCookies.jwt = await signIn('jwt', stateless);
});

after(async () => {
  await Promise.all([server?.stop(), stateless?.stop()]);
  await cluster?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

/** Every observed request's status on one server, keyed as in data/results/outage.json. */
async function answers(base, cookieSet) {
  return {
    'me-database': (await me(cookieSet.database, base)).status,
    'me-jwt': (await me(cookieSet.jwt, base)).status,
    'dashboard-database': (await dashboard(cookieSet.database, base)).status,
    'dashboard-jwt': (await dashboard(cookieSet.jwt, base)).status,
    'token-none': (await passwordGrant(base)).status,
  };
}

/** The observation list of one server, in the order the lab shows it. */
function observationsFor() {
  const recorded = observations();
  for (const credential of ['database', 'jwt']) recorded.observe(`me-${credential}`, 'GET /api/me', credential);
  for (const credential of ['database', 'jwt']) recorded.observe(`dashboard-${credential}`, 'GET /dashboard', credential);
  recorded.observe('token-none', 'POST /api/token (password grant)', 'none');
  return recorded;
}

function note(recorded, phase, statuses) {
  for (const entry of recorded.list) entry[phase] = statuses[entry.key] ?? null;
}

async function recoveredStatus(cookie, base) {
  const deadline = Date.now() + 20_000;
  let status = 0;
  while (Date.now() < deadline) {
    status = (await me(cookie, base)).status;
    if (status === 200) break;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return status;
}

test('database down: protected pages and APIs answer a generic 503 and show nothing protected; back up: recovery without a restart', async () => {
  const strict = observationsFor();
  const statelessSeen = observationsFor();
  const baseline = {};
  for (const [strategy, cookie] of Object.entries(cookies)) {
    baseline[`me-${strategy}`] = (await me(cookie)).status;
    assert.equal(baseline[`me-${strategy}`], 200, 'baseline');
  }
  for (const [strategy, cookie] of Object.entries(cookies)) baseline[`dashboard-${strategy}`] = (await dashboard(cookie)).status;
  baseline['token-none'] = (await passwordGrant()).status;
  note(strict, 'baseline', baseline);
  // The stateless server's baseline also puts the demo user's profile in its memory, as any request would.
  note(statelessSeen, 'baseline', await answers(stateless, statelessCookies));
  assert.equal(statelessSeen.list.find((entry) => entry.key === 'me-jwt')?.baseline, 200, 'stateless baseline');

  await cluster.pause();
  const during = {};
  try {
    for (const [strategy, cookie] of Object.entries(cookies)) {
      const api = await me(cookie);
      during[`me-${strategy}`] = api.status;
      assert.equal(api.status, 503, `/api/me (${strategy})`);
      const body = await api.text();
      assert.deepEqual(JSON.parse(body), { error: 'unavailable' });
      const page = await fetch(`${server.url}/dashboard`, { headers: { cookie }, redirect: 'manual' });
      during[`dashboard-${strategy}`] = page.status;
      assert.equal(page.status, 503, `/dashboard (${strategy})`);
      const html = await page.text();
      for (const leak of ['Demo User', 'demo@example.com', 'Prisma', 'P1001', 'ECONNREFUSED', 'postgresql://', 'at ']) {
        assert.ok(!html.includes(leak) && !body.includes(leak), `no "${leak}" in the answer`);
      }
    }
    const token = await fetch(`${server.url}/api/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'demo@example.com', password: 'demo-password-123' }),
    });
    during['token-none'] = token.status;
    assert.equal(token.status, 503, 'token endpoint');
    assert.deepEqual(await token.json(), { error: 'unavailable' });
    note(strict, 'outage', during);

    // Stateless: a database session and a password grant still need the database (a generic 503);
    // a JWT is checked without a session lookup, and /api/me answers from the token and the profile
    // this server read moments ago. The dashboard renders from the database, so with a JWT too it
    // answers the generic 503 before rendering, not an error page after a failed read.
    const statelessDuring = {};
    const statelessBodies = {};
    for (const [strategy, cookie] of Object.entries(statelessCookies)) {
      for (const [name, request] of [['me', me], ['dashboard', dashboard]]) {
        const response = await request(cookie, stateless);
        const body = await response.text();
        statelessDuring[`${name}-${strategy}`] = response.status;
        statelessBodies[`${name}-${strategy}`] = body;
        for (const leak of LEAKS) assert.ok(!body.includes(leak), `stateless ${name} (${strategy}): no "${leak}" in the answer`);
        if (response.status !== 200) {
          // Fails closed: nothing of the user's.
          assert.ok(response.status >= 500, `stateless ${name} (${strategy}) fails closed, got ${response.status}`);
          for (const leak of ['Demo User', 'demo@example.com']) assert.ok(!body.includes(leak), `stateless ${name} (${strategy}): no "${leak}" in the answer`);
        }
      }
    }
    const statelessToken = await passwordGrant(stateless);
    statelessDuring['token-none'] = statelessToken.status;
    assert.equal(statelessToken.status, 503, 'stateless token endpoint');
    assert.equal(statelessDuring['me-database'], 503, 'stateless server, database session: /api/me');
    assert.equal(statelessDuring['dashboard-database'], 503, 'stateless server, database session: /dashboard');
    assert.equal(statelessDuring['me-jwt'], 200, 'stateless server, JWT: /api/me needs no database read');
    assert.equal(statelessDuring['dashboard-jwt'], 503, 'stateless server, JWT: /dashboard fails closed with 503, not the error page (500)');
    assert.match(statelessBodies['dashboard-jwt'], /temporarily unavailable/i, 'stateless server, JWT: /dashboard says the service is temporarily unavailable');
    note(statelessSeen, 'outage', statelessDuring);
  } finally {
    await cluster.resume();
  }

  // Same server process, no restart: it answers again once the database is back.
  const deadline = Date.now() + 20_000;
  let status = 0;
  while (Date.now() < deadline) {
    status = (await me(cookies.database)).status;
    if (status === 200) break;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  assert.equal(status, 200, 'database session works again');
  assert.equal((await me(cookies.jwt)).status, 200, 'JWT session works again');
  assert.ok(server.running, 'the server never died');
  assert.equal(await recoveredStatus(statelessCookies.database, stateless), 200, 'stateless server: database session works again');
  note(strict, 'recovered', await answers(server, cookies));
  note(statelessSeen, 'recovered', await answers(stateless, statelessCookies));
  assert.ok(stateless.running, 'the stateless server never died');

  await recordOutage({
    [`database-${DEFAULT_MODE}`]: { unavailable: 'database', database: 'postgresql', revocationMode: DEFAULT_MODE, requests: strict.list },
    'database-stateless': { unavailable: 'database', database: 'postgresql', revocationMode: 'stateless', requests: statelessSeen.list },
  });
});
