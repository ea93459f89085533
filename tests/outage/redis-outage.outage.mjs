// Fail closed when Redis (REDIS_URL: the rate-limit counters) goes away, recover
// when it comes back — against a real redis-server that this test stops and
// restarts under a running production server. Run by `npm test` (step "outage").
//
// ASVS 5.0 16.5.2 (fails closed when an external resource is unavailable) and
// 16.5.1 (a generic message, no internal details). A request must not wait for
// Redis either: the client has no offline queue. The answers are recorded in
// data/results/outage.json (tests/outage/record.mjs) for the comparison lab.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { findRedisServer, startRedis } from '../../scripts/redis-process.mjs';
import { ROOT, startServer } from '../../scripts/app-process.mjs';
import { observations, recordOutage } from './record.mjs';

const skip = findRedisServer() ? false : 'redis-server is not installed (apt-get install -y redis-server)';
let redis;
let server;
let dir;

const passwordGrant = (password) =>
  fetch(`${server.url}/api/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: 'demo@example.com', password }),
    signal: AbortSignal.timeout(10_000),
  });

before(async () => {
  if (skip) return;
  redis = await startRedis();
  dir = fs.mkdtempSync(path.join(ROOT, '.tmp', 'redis-outage-'));
  const env = {
    DATABASE_URL: `file:${path.join(dir, 'app.db')}`,
    KEYS_FILE: path.join(dir, 'keys.json'),
    REDIS_URL: redis.url,
    NODE_ENV: 'production',
  };
  const setup = spawnSync(process.execPath, ['scripts/setup.mjs'], { cwd: ROOT, env: { ...process.env, ...env }, encoding: 'utf8' });
  assert.equal(setup.status, 0, setup.stderr);
  server = await startServer({ env, logFile: path.join(dir, 'server.log'), readyPath: '/api/health' });
});

after(async () => {
  await server?.stop();
  await redis?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

test('redis down: rate-limited endpoints answer a generic 503 at once; back up: they work again without a restart', { skip }, async () => {
  const seen = observations();
  const wrong = seen.observe('token-wrong-password', 'POST /api/token, wrong password', 'none');
  const right = seen.observe('token-right-password', 'POST /api/token, right password', 'none');
  const health = seen.observe('health', 'GET /api/health', 'none');
  const byPassword = { 'wrong-password': wrong, 'demo-password-123': right };
  wrong.baseline = (await passwordGrant('wrong-password')).status;
  assert.equal(wrong.baseline, 401, 'baseline: counted in Redis, refused as a wrong password');
  health.baseline = (await fetch(`${server.url}/api/health`)).status;

  await redis.pause();
  try {
    for (const password of ['wrong-password', 'demo-password-123']) {
      const started = performance.now();
      const response = await passwordGrant(password);
      byPassword[password].outage = response.status;
      const elapsed = performance.now() - started;
      assert.equal(response.status, 503, 'POST /api/token fails closed');
      const body = await response.text();
      assert.deepEqual(JSON.parse(body), { error: 'unavailable' });
      for (const leak of ['access_token', 'redis', 'Redis', 'ECONNREFUSED', 'Stream', 'at ']) assert.ok(!body.includes(leak), `no "${leak}" in the answer`);
      assert.ok(elapsed < 2_000, `answered in ${Math.round(elapsed)} ms, without waiting for Redis`);
    }
    health.outage = (await fetch(`${server.url}/api/health`)).status;
    assert.equal(health.outage, 200, 'what does not need Redis still works');
  } finally {
    await redis.resume();
  }

  // Same server process: it counts again once Redis is back (its client reconnects by itself).
  const deadline = Date.now() + 20_000;
  let status = 0;
  while (Date.now() < deadline) {
    status = (await passwordGrant('demo-password-123')).status;
    if (status === 200) break;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  assert.equal(status, 200, 'the right password gets tokens again');
  assert.ok(server.running, 'the server never died');
  assert.match(server.output(), /redis\.unavailable/, 'the outage is in the log');
  right.recovered = status;
  wrong.recovered = (await passwordGrant('wrong-password')).status;
  health.recovered = (await fetch(`${server.url}/api/health`)).status;
  await recordOutage({
    [`redis-${process.env.REVOCATION_MODE || 'strict'}`]: { unavailable: 'redis', database: 'sqlite', revocationMode: process.env.REVOCATION_MODE || 'strict', requests: seen.list },
  });
});
