#!/usr/bin/env node
// What does checking a credential cost per request? Measures, one after the
// other with the same settings, against a production server on loopback:
//
//   GET /api/health                       no credential at all (baseline)
//   GET /api/me with the sot.session cookie   database lookup per request
//   GET /api/me with the sot.jwt cookie       signature verification per request
//
// Uses the existing production build (builds it if missing), a fresh SQLite
// database and keys file under .tmp/, and signs in over HTTP once per strategy.
//
//   npm run bench [-- --duration=5 --rounds=3 --warmup=2 --connections=10]
import autocannon from 'autocannon';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT, startServer } from './app-process.mjs';

const DEMO = { email: 'demo@example.com', password: 'demo-password-123' };
const NEXT_BIN = path.join(ROOT, 'node_modules', 'next', 'dist', 'bin', 'next');

function option(name, fallback) {
  const arg = process.argv.slice(2).find((a) => a.startsWith(`--${name}=`));
  if (!arg) return fallback;
  const value = Number(arg.slice(name.length + 3));
  if (!Number.isFinite(value) || value <= 0) {
    console.error(`bench: --${name} needs a positive number`);
    process.exit(2);
  }
  return value;
}

const DURATION = Math.min(option('duration', 5), 60);
const WARMUP = Math.min(option('warmup', 2), 30);
const CONNECTIONS = Math.min(option('connections', 10), 200);
const ROUNDS = Math.min(option('rounds', 3), 9);
// Whole run is bounded: start-up, sign-in, three warm-ups and three measurements, plus slack.
const HARD_LIMIT_MS = (3 * (ROUNDS * DURATION + WARMUP) + 240) * 1000;

let server = null;
let tmpDir = null;
let building = null;

async function cleanup() {
  if (building) building.kill('SIGTERM');
  if (server) await server.stop().catch(() => {});
  server = null;
  if (tmpDir) fs.rmSync(tmpDir, { recursive: true, force: true });
  tmpDir = null;
}

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    console.error(`\n${signal}: stopping the server`);
    cleanup().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  });
}
const watchdog = setTimeout(() => {
  console.error(`bench: gave up after ${HARD_LIMIT_MS / 1000} s`);
  cleanup().finally(() => process.exit(1));
}, HARD_LIMIT_MS);
watchdog.unref();

function run(cmd, args, env) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'inherit', 'inherit'] });
    if (args.includes('build')) building = child;
    child.on('error', reject);
    child.on('exit', (code) => {
      building = null;
      if (code === 0) resolve();
      else reject(new Error(`${path.basename(args[0] ?? cmd)} ${args.slice(1).join(' ')} exited with ${code}`));
    });
  });
}

/** Name=value pairs from a response's Set-Cookie headers. */
function cookiesFrom(response) {
  const jar = new Map();
  for (const line of response.headers.getSetCookie()) {
    const [pair] = line.split(';');
    const eq = pair.indexOf('=');
    if (eq > 0) jar.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
  }
  return jar;
}

/** Sign in over HTTP (csrf token, then the credentials callback); returns the strategy cookie as "name=value". */
async function signIn(baseUrl, strategy) {
  const csrfResponse = await fetch(`${baseUrl}/api/auth/csrf`);
  if (!csrfResponse.ok) throw new Error(`GET /api/auth/csrf: ${csrfResponse.status}`);
  const { csrfToken } = await csrfResponse.json();
  const csrfCookies = [...cookiesFrom(csrfResponse)].map(([name, value]) => `${name}=${value}`).join('; ');
  const response = await fetch(`${baseUrl}/api/auth/callback/credentials`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: csrfCookies },
    body: new URLSearchParams({ csrfToken, ...DEMO, strategy, callbackUrl: '/dashboard' }),
  });
  const name = strategy === 'database' ? 'sot.session' : 'sot.jwt';
  const value = cookiesFrom(response).get(name);
  if (response.status !== 302 || !value) {
    throw new Error(`sign-in (${strategy}) answered ${response.status} without a ${name} cookie`);
  }
  const cookie = `${name}=${value}`;
  const check = await fetch(`${baseUrl}/api/me`, { headers: { cookie } });
  const body = await check.json().catch(() => ({}));
  if (check.status !== 200 || body.strategy !== strategy) {
    throw new Error(`/api/me with the ${strategy} cookie answered ${check.status} ${JSON.stringify(body)}`);
  }
  return cookie;
}

function load(url, headers, seconds) {
  return new Promise((resolve, reject) => {
    autocannon({ url, headers, connections: CONNECTIONS, duration: seconds, timeout: 10 }, (error, result) =>
      error ? reject(error) : resolve(result),
    );
  });
}

async function measureOnce(url, headers) {
  const result = await load(url, headers, DURATION);
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    total: result.requests.total,
    problems: result.errors + result.timeouts + result.non2xx,
  };
}

/**
 * Measures the routes in interleaved rounds (A B C, A B C, …) and keeps, per
 * route, the round with the median req/s: drift of the machine over the run
 * then lands on every route alike instead of on whichever ran last.
 */
async function measureInterleaved(targets) {
  for (const target of targets) {
    process.stderr.write(`  warm-up ${WARMUP}s: ${target.label}\n`);
    await load(target.url, target.headers, WARMUP);
  }
  const samples = targets.map(() => []);
  for (let round = 1; round <= ROUNDS; round += 1) {
    for (const [index, target] of targets.entries()) {
      const sample = await measureOnce(target.url, target.headers);
      samples[index].push(sample);
      process.stderr.write(`  round ${round}/${ROUNDS} ${target.label}: ${sample.rps.toFixed(0)} req/s${sample.problems ? `, ${sample.problems} errors/non-2xx` : ''}\n`);
    }
  }
  return targets.map((target, index) => {
    const sorted = [...samples[index]].sort((a, b) => a.rps - b.rps);
    const median = sorted[Math.floor(sorted.length / 2)];
    return { label: target.label, ...median, problems: samples[index].reduce((sum, sample) => sum + sample.problems, 0) };
  });
}

function table(rows) {
  const base = rows[0].rps;
  const lines = [['route', 'req/s', 'p50 ms', 'p99 ms', 'vs unprotected', 'errors']];
  for (const row of rows) {
    lines.push([
      row.label,
      row.rps.toFixed(0),
      row.p50.toFixed(1),
      row.p99.toFixed(1),
      `${(row.rps / base).toFixed(2)}x`,
      String(row.problems),
    ]);
  }
  const widths = lines[0].map((_, i) => Math.max(...lines.map((line) => line[i].length)));
  const fmt = (line) => line.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ');
  return [fmt(lines[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...lines.slice(1).map(fmt)].join('\n');
}

async function main() {
  if (!fs.existsSync(path.join(ROOT, '.next', 'BUILD_ID'))) {
    console.error('no production build: running next build');
    await run(process.execPath, [NEXT_BIN, 'build'], { NODE_ENV: 'production', NEXT_TELEMETRY_DISABLED: '1' });
  }

  fs.mkdirSync(path.join(ROOT, '.tmp'), { recursive: true });
  tmpDir = fs.mkdtempSync(path.join(ROOT, '.tmp', 'bench-'));
  const env = {
    NODE_ENV: 'production',
    DATABASE_URL: `file:${path.join(tmpDir, 'app.db')}`,
    KEYS_FILE: path.join(tmpDir, 'keys.json'),
    LOG_LEVEL: 'warn', // measure the credential checks, not request logging
    NEXT_TELEMETRY_DISABLED: '1',
  };
  await run(process.execPath, [path.join(ROOT, 'scripts', 'setup.mjs')], env);
  server = await startServer({ env, logFile: path.join(tmpDir, 'server.log') });
  const base = server.url;

  const health = await fetch(`${base}/api/health`);
  const healthBody = await health.json().catch(() => null);
  if (health.status !== 200 || healthBody?.ok !== true) {
    throw new Error(`GET /api/health answered ${health.status} ${JSON.stringify(healthBody)}`);
  }
  const databaseCookie = await signIn(base, 'database');
  const jwtCookie = await signIn(base, 'jwt');

  const cpus = os.cpus();
  console.log(`node ${process.version}, ${cpus.length} CPU(s) (${cpus[0]?.model?.trim() ?? 'unknown'}), ${os.platform()}/${os.arch()}`);
  console.log(`autocannon: ${CONNECTIONS} connections, ${WARMUP}s warm-up, then ${ROUNDS} interleaved rounds of ${DURATION}s per route (median round shown), ${base}`);

  const rows = await measureInterleaved([
    { label: 'GET /api/health (unprotected)', url: `${base}/api/health`, headers: {} },
    { label: 'GET /api/me (database session)', url: `${base}/api/me`, headers: { cookie: databaseCookie } },
    { label: 'GET /api/me (JWT)', url: `${base}/api/me`, headers: { cookie: jwtCookie } },
  ]);

  console.log(`\n${table(rows)}`);
  console.log('\nEvery route, /api/health included, passes through proxy.ts (security headers, CSP nonce),');
  console.log('so the ratio is the cost of checking the credential: proxy verification plus the handler\'s check.');
  if (rows.some((row) => row.problems > 0)) {
    throw new Error('some requests failed or answered non-2xx: the numbers above are not comparable');
  }
}

try {
  await main();
} catch (error) {
  console.error(`bench failed: ${error?.message ?? error}`);
  if (server) console.error(server.output().split('\n').slice(-30).join('\n'));
  process.exitCode = 1;
} finally {
  await cleanup();
}
