// Fail closed when the database goes away, recover when it comes back — against
// a real PostgreSQL server that this test stops and restarts under a running
// production server. Run by `npm test` (step "outage") after the build.
//
// ASVS 5.0 16.5.2 (the application continues to operate securely / fails
// closed when an external resource such as the database is unavailable) and
// 16.5.1 (a generic message is returned, no internal details).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { startPgCluster } from '../../scripts/pg-cluster.mjs';
import { ROOT, startServer } from '../../scripts/app-process.mjs';

let cluster;
let server;
let dir;
const cookies = {};

async function signIn(strategy) {
  const csrf = await fetch(`${server.url}/api/auth/csrf`);
  const { csrfToken } = await csrf.json();
  const csrfCookie = csrf.headers.getSetCookie().map((line) => line.split(';')[0]).join('; ');
  const response = await fetch(`${server.url}/api/auth/callback/credentials`, {
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

const me = (cookie) => fetch(`${server.url}/api/me`, { headers: { cookie } });

before(async () => {
  cluster = await startPgCluster({ database: 'sot_outage' });
  dir = fs.mkdtempSync(path.join(ROOT, '.tmp', 'outage-'));
  const env = { DATABASE_URL: cluster.url, KEYS_FILE: path.join(dir, 'keys.json'), NODE_ENV: 'production' };
  const setup = spawnSync(process.execPath, ['scripts/setup.mjs'], { cwd: ROOT, env: { ...process.env, ...env }, encoding: 'utf8' });
  assert.equal(setup.status, 0, setup.stderr);
  server = await startServer({ env, logFile: path.join(dir, 'server.log'), readyPath: '/api/health' });
  cookies.database = await signIn('database');
  cookies.jwt = await signIn('jwt');
});

after(async () => {
  await server?.stop();
  await cluster?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

test('database down: protected pages and APIs answer a generic 503 and show nothing protected; back up: recovery without a restart', async () => {
  for (const cookie of Object.values(cookies)) assert.equal((await me(cookie)).status, 200, 'baseline');

  await cluster.pause();
  try {
    for (const [strategy, cookie] of Object.entries(cookies)) {
      const api = await me(cookie);
      assert.equal(api.status, 503, `/api/me (${strategy})`);
      const body = await api.text();
      assert.deepEqual(JSON.parse(body), { error: 'unavailable' });
      const page = await fetch(`${server.url}/dashboard`, { headers: { cookie }, redirect: 'manual' });
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
    assert.equal(token.status, 503, 'token endpoint');
    assert.deepEqual(await token.json(), { error: 'unavailable' });
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
});
