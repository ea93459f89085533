#!/usr/bin/env node
// What does a protected request cost next to a bare Next.js route? Measures,
// in one run against one production server on loopback (autocannon; rounds in
// which every route is measured once, in a different order each round), every
// route in routesFor() and prints, per route, req/s, p50/p99 latency, the
// server's CPU time per request and the ratio to the limit: /api/ping, a route
// with nothing but a constant JSON answer that no proxy runs on. Protected
// pages are also compared with the public page `/`, which is rendered the same
// way (same layout, same proxy and CSP nonce). The targets (issue 8) are
// printed next to the ratios; nothing fails on them — the machine decides.
// With --postgres, the API routes again against a throwaway PostgreSQL cluster
// (scripts/pg-cluster.mjs), with their own limit measured on that server.
//
// CPU per request is the server process's own utime + stime (/proc/<pid>/stat)
// over a round, divided by the requests answered in it: unlike req/s, it does
// not depend on how much CPU the load generator or other processes take.
//
// The proxy's own cost is measured on the same route: /api/ping with the
// header `x-sot-proxy-probe`, which the proxy matcher (proxy.ts) lets through
// to a proxy that returns at once — so the difference is what Next.js spends
// on running a proxy at all.
//
// Uses the existing production build (builds it if missing), a fresh SQLite
// database and keys file under .tmp/, and signs in over HTTP once per strategy.
//
//   npm run bench [-- --duration=5 --rounds=3 --warmup=2 --connections=10]
//                 [--only=ping,me-jwt,…] [--json=bench.json] [--postgres]
//                 (the figures always go to data/results/bench.json, or data/results/bench-cluster.json
//                 with --cluster, where the comparison lab reads them; --json= writes a copy elsewhere too)
//                 [--cpu-prof=<dir>]   (a V8 CPU profile of each server, as `node --cpu-prof` writes)
//                 [--cluster[=N]]      (instead: through nginx on PostgreSQL, see clusterBench below)
import autocannon from 'autocannon';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT, startServer } from './app-process.mjs';

const DEMO = { email: 'demo@example.com', password: 'demo-password-123' };
const NEXT_BIN = path.join(ROOT, 'node_modules', 'next', 'dist', 'bin', 'next');
/** Makes the proxy matcher include /api/ping; the proxy then returns at once (see proxy.ts). */
const PROXY_PROBE_HEADER = 'x-sot-proxy-probe';
const CLOCK_TICKS_PER_SECOND = 100; // USER_HZ on Linux

const args = process.argv.slice(2);
function raw(name) {
  const arg = args.find((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  if (!arg) return undefined;
  return arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : '';
}
function option(name, fallback) {
  const text = raw(name);
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) {
    console.error(`bench: --${name} needs a positive number`);
    process.exit(2);
  }
  return value;
}
const known = ['duration', 'rounds', 'warmup', 'connections', 'only', 'json', 'postgres', 'cpu-prof', 'cluster'];
for (const arg of args) {
  const name = arg.replace(/^--/, '').split('=')[0];
  if (!arg.startsWith('--') || !known.includes(name)) {
    console.error(`bench: unknown option ${arg} (known: ${known.map((k) => `--${k}`).join(' ')})`);
    process.exit(2);
  }
}

const DURATION = Math.min(option('duration', 5), 60);
const WARMUP = Math.min(option('warmup', 2), 30);
const CONNECTIONS = Math.min(option('connections', 10), 200);
const ROUNDS = Math.min(option('rounds', 3), 9);
const ONLY = raw('only') ? new Set(raw('only').split(',').filter(Boolean)) : null;
const JSON_FILE = raw('json') || null;
/** Where the latest figures always go (data/ is not in git): the comparison lab's cost experiment reads bench.json. */
const RESULTS_DIR = path.join(ROOT, 'data', 'results');
const POSTGRES = raw('postgres') !== undefined;
const CPU_PROF_DIR = raw('cpu-prof') ? path.resolve(raw('cpu-prof')) : null;
const CLUSTER = raw('cluster') === undefined ? null : raw('cluster') === '' ? 3 : option('cluster', 3);

let servers = [];
let tmpDir = null;
let building = null;
let cluster = null;

async function cleanup() {
  if (building) building.kill('SIGTERM');
  await Promise.all(servers.map((server) => server.stop().catch(() => {})));
  servers = [];
  if (cluster) await cluster.stop().catch(() => {});
  cluster = null;
  if (tmpDir) fs.rmSync(tmpDir, { recursive: true, force: true });
  tmpDir = null;
}

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    console.error(`\n${signal}: stopping the server`);
    cleanup().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  });
}

function run(cmd, argv, env) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, argv, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'inherit', 'inherit'] });
    if (argv.includes('build')) building = child;
    child.on('error', reject);
    child.on('exit', (code) => {
      building = null;
      if (code === 0) resolve();
      else reject(new Error(`${path.basename(argv[0] ?? cmd)} ${argv.slice(1).join(' ')} exited with ${code}`));
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
  return `${name}=${value}`;
}

/** A fresh access token (password grant). */
async function accessToken(baseUrl) {
  const response = await fetch(`${baseUrl}/api/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(DEMO),
  });
  const body = await response.json().catch(() => ({}));
  if (response.status !== 200 || typeof body.access_token !== 'string') {
    throw new Error(`POST /api/token answered ${response.status} ${JSON.stringify(body)}`);
  }
  return body.access_token;
}

/** utime + stime of a process (or the sum over several), in milliseconds. */
function cpuMs(pid) {
  if (Array.isArray(pid)) return pid.reduce((sum, one) => sum + cpuMs(one), 0);
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may contain spaces: count fields after its closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_SECOND;
}

function load(target, headers, seconds) {
  return new Promise((resolve, reject) => {
    autocannon(
      {
        url: target.server.url + target.path,
        method: target.method ?? 'GET',
        headers,
        body: target.body,
        connections: CONNECTIONS,
        duration: seconds,
        timeout: 10,
      },
      (error, result) => (error ? reject(error) : resolve(result)),
    );
  });
}

/** Requests that did not get the expected status (or failed, or timed out). */
function unexpected(result, expected) {
  const byStatus = result.statusCodeStats ?? {};
  const wrong = Object.entries(byStatus).reduce((sum, [status, { count }]) => (Number(status) === expected ? sum : sum + count), 0);
  return wrong + result.errors + result.timeouts;
}

async function measureOnce(target) {
  const headers = typeof target.headers === 'function' ? await target.headers() : target.headers;
  const pid = target.server.pids ?? target.server.pid;
  const before = cpuMs(pid);
  const result = await load(target, headers, DURATION);
  const cpu = cpuMs(pid) - before;
  const answered = result.requests.total;
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    total: answered,
    cpuMsPerRequest: answered > 0 ? cpu / answered : NaN,
    problems: unexpected(result, target.status),
  };
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
};

const SETTLE_MS = 500;
const settle = () => new Promise((resolve) => setTimeout(resolve, SETTLE_MS));

/** The targets in a different order every round (seeded, so runs are alike), the limit included. */
function orderFor(round, count) {
  const order = [...Array(count).keys()];
  let seed = round * 7919 + 17;
  for (let i = order.length - 1; i > 0; i -= 1) {
    seed = (seed * 48271) % 2147483647;
    const j = seed % (i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}

/**
 * Measures the routes in interleaved rounds (A B C, C A B, …): drift of the
 * machine over the run lands on every route alike instead of on whichever ran
 * last, and the order changes every round so that no route always follows the
 * same one (a heavy page leaves garbage for the next route's window). Before
 * each measurement the server gets a moment to finish collecting it. Per
 * route: the median req/s and the median CPU per request over the rounds;
 * latency from the round with the median req/s.
 */
async function measureInterleaved(targets) {
  for (const target of targets) {
    process.stderr.write(`  warm-up ${WARMUP}s: ${target.label}\n`);
    await load(target, typeof target.headers === 'function' ? await target.headers() : target.headers, WARMUP);
  }
  if (CPU_PROF_DIR) for (const server of new Set(targets.map((target) => target.server))) process.kill(server.pid, 'SIGUSR2');
  const samples = targets.map(() => []);
  for (let round = 1; round <= ROUNDS; round += 1) {
    for (const index of orderFor(round, targets.length)) {
      const target = targets[index];
      await settle();
      const sample = await measureOnce(target);
      samples[index].push(sample);
      process.stderr.write(
        `  round ${round}/${ROUNDS} ${target.label}: ${sample.rps.toFixed(0)} req/s, ${sample.cpuMsPerRequest.toFixed(3)} ms CPU/req${sample.problems ? `, ${sample.problems} unexpected` : ''}\n`,
      );
    }
  }
  return targets.map((target, index) => {
    const list = samples[index];
    const rps = median(list.map((s) => s.rps));
    const representative = list.find((s) => s.rps === rps);
    return {
      key: target.key,
      label: target.label,
      group: target.group,
      rps,
      p50: representative.p50,
      p99: representative.p99,
      cpuMsPerRequest: median(list.map((s) => s.cpuMsPerRequest)),
      problems: list.reduce((sum, s) => sum + s.problems, 0),
      rounds: list,
    };
  });
}

function formatTable(header, lines) {
  const all = [header, ...lines];
  const widths = header.map((_, i) => Math.max(...all.map((line) => line[i].length)));
  const fmt = (line) => line.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ');
  return [fmt(header), widths.map((w) => '-'.repeat(w)).join('  '), ...lines.map(fmt)].join('\n');
}

/**
 * The ratio of a route to another, paired by round: each round's figure over
 * the other route's in the same round (measured within a minute of it), then
 * the median over the rounds. Load that other processes put on the machine
 * comes and goes over tens of seconds; pairing by round cancels most of it.
 */
function pairedRatio(row, base, pick) {
  if (!base) return null;
  return median(row.rounds.map((sample, round) => pick(sample, base.rounds[round])));
}

/** Adds ratios and target verdicts to measured rows. */
function evaluate(rows, targets) {
  const byKey = new Map(rows.map((row) => [row.key, row]));
  const rpsRatio = (sample, base) => sample.rps / base.rps;
  return rows.map((row) => {
    const target = targets.find((t) => t.key === row.key);
    const limit = byKey.get(target.limitKey ?? 'ping');
    const vsLimit = pairedRatio(row, limit, rpsRatio);
    // The same ratio from CPU time: what the route would reach next to the limit if only the server's CPU counted.
    const cpuVsLimit = pairedRatio(row, limit, (sample, base) => base.cpuMsPerRequest / sample.cpuMsPerRequest);
    let verdict = null;
    if (target.goal) {
      const ratio = pairedRatio(row, byKey.get(target.goal.of), rpsRatio);
      verdict = { of: target.goal.of, min: target.goal.min, ratio, met: ratio !== null && ratio >= target.goal.min };
    }
    return { ...row, vsLimit, cpuVsLimit, target: verdict };
  });
}

function printRows(rows) {
  const header = ['route', 'req/s', 'p50 ms', 'p99 ms', 'CPU ms/req', 'vs limit', 'CPU vs limit', 'target (req/s)', 'unexpected'];
  const lines = rows.map((row) => [
    row.label,
    row.rps.toFixed(0),
    row.p50.toFixed(1),
    row.p99.toFixed(1),
    row.cpuMsPerRequest.toFixed(3),
    row.vsLimit === null ? '-' : `${row.vsLimit.toFixed(2)}x`,
    row.cpuVsLimit === null ? '-' : `${row.cpuVsLimit.toFixed(2)}x`,
    row.target === null
      ? row.key === 'ping'
        ? 'limit'
        : '-'
      : `${(Math.floor(row.target.ratio * 100) / 100).toFixed(2)}x ${row.target.of === 'ping' ? '' : `of ${row.target.of} `}>= ${row.target.min.toFixed(2)} ${row.target.met ? 'ok' : 'MISSED'}`,
    String(row.problems),
  ]);
  console.log(formatTable(header, lines));
}

async function startApp(env, label) {
  // `--cpu-prof` is not allowed in NODE_OPTIONS: a preload records the profile instead (written when the server stops).
  const extra = CPU_PROF_DIR
    ? {
        NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import ${pathToFileURL(path.join(ROOT, 'scripts', 'cpu-profile.mjs')).href}`.trim(),
        SOT_CPU_PROF_DIR: CPU_PROF_DIR,
        SOT_CPU_PROF_ON_SIGNAL: '1', // started after the warm-up (see measureInterleaved)
      }
    : {};
  const server = await startServer({ env: { ...env, ...extra }, logFile: path.join(tmpDir, `server-${label}.log`) });
  servers.push(server);
  return server;
}

/** The routes of one server; `only` filters by key. */
function routesFor(server, credentials, { pages = true } = {}) {
  const { databaseCookie, jwtCookie, bearer } = credentials;
  const list = [
    { key: 'ping', label: 'GET /api/ping (bare route: the limit)', path: '/api/ping', status: 200 },
    { key: 'ping-proxied', label: 'GET /api/ping through an empty proxy', path: '/api/ping', headers: { [PROXY_PROBE_HEADER]: '1' }, status: 200, group: 'proxy' },
    { key: 'health', label: 'GET /api/health', path: '/api/health', status: 200, goal: { of: 'ping', min: 0.95 } },
    { key: 'jwks', label: 'GET /.well-known/jwks.json', path: '/.well-known/jwks.json', status: 200, goal: { of: 'ping', min: 0.95 } },
    // Control: a POST to the bare route, which Next.js itself answers (405, no handler): what a POST costs by itself.
    { key: 'ping-post', label: 'POST /api/ping (control: 405 from Next.js)', path: '/api/ping', method: 'POST', status: 405, group: 'control' },
    { key: 'token-401', label: 'POST /api/token, no credential (401)', path: '/api/token', method: 'POST', status: 401, goal: { of: 'ping', min: 0.95 } },
    {
      key: 'revoke-400',
      label: 'POST /api/token/revoke, malformed (400)',
      path: '/api/token/revoke',
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
      status: 400,
      goal: { of: 'ping', min: 0.95 },
    },
    // Control: the bare route with the JWT cookie a protected request carries (what the header alone costs).
    { key: 'ping-cookie', label: 'GET /api/ping with the JWT cookie (control)', path: '/api/ping', headers: { cookie: jwtCookie }, status: 200, group: 'control' },
    { key: 'me-jwt', label: 'GET /api/me, JWT cookie', path: '/api/me', headers: { cookie: jwtCookie }, status: 200, goal: { of: 'ping', min: 0.9 } },
    {
      key: 'me-database',
      label: 'GET /api/me, database cookie',
      path: '/api/me',
      headers: { cookie: databaseCookie },
      status: 200,
      goal: { of: 'ping', min: credentials.postgres ? 0.75 : 0.85 },
    },
    // A fresh access token for every round: a long run outlives one (ACCESS_TOKEN_TTL_SECONDS).
    { key: 'me-bearer', label: 'GET /api/me, Bearer access token', path: '/api/me', headers: async () => ({ authorization: `Bearer ${await bearer()}` }), status: 200, goal: { of: 'ping', min: 0.9 } },
  ];
  if (pages) {
    list.push(
      { key: 'page', label: 'GET / (public page, proxy + CSP nonce)', path: '/', status: 200, group: 'pages' },
      { key: 'dashboard-jwt', label: 'GET /dashboard, JWT cookie', path: '/dashboard', headers: { cookie: jwtCookie }, status: 200, group: 'pages', goal: { of: 'page', min: 0.85 } },
      { key: 'dashboard-database', label: 'GET /dashboard, database cookie', path: '/dashboard', headers: { cookie: databaseCookie }, status: 200, group: 'pages', goal: { of: 'page', min: 0.85 } },
    );
  }
  return list.filter((target) => target.key === 'ping' || !ONLY || ONLY.has(target.key)).map((target) => ({ ...target, server }));
}

async function prepare(label, env) {
  await run(process.execPath, [path.join(ROOT, 'scripts', 'setup.mjs')], env);
  const server = await startApp(env, label);
  const base = server.url;
  const ping = await fetch(`${base}/api/ping`);
  if (ping.status !== 200) throw new Error(`GET /api/ping answered ${ping.status}: is the build current?`);
  const probe = await fetch(`${base}/api/ping`, { headers: { [PROXY_PROBE_HEADER]: '1' } });
  if (probe.headers.get('x-sot-proxy') !== 'probe') console.error('  note: the proxy did not answer the probe header: "through an empty proxy" measures no proxy');
  const databaseCookie = await signIn(base, 'database');
  const jwtCookie = await signIn(base, 'jwt');
  for (const [strategy, cookie] of [['database', databaseCookie], ['jwt', jwtCookie]]) {
    const check = await fetch(`${base}/api/me`, { headers: { cookie } });
    const body = await check.json().catch(() => ({}));
    if (check.status !== 200 || body.strategy !== strategy) {
      throw new Error(`/api/me with the ${strategy} cookie answered ${check.status} ${JSON.stringify(body)}`);
    }
  }
  return { server, credentials: { databaseCookie, jwtCookie, jwtCookieBytes: jwtCookie.length, bearer: () => accessToken(base) } };
}

async function main() {
  if (!fs.existsSync(path.join(ROOT, '.next', 'BUILD_ID'))) {
    console.error('no production build: running next build');
    await run(process.execPath, [NEXT_BIN, 'build'], { NODE_ENV: 'production', NEXT_TELEMETRY_DISABLED: '1' });
  }
  if (CPU_PROF_DIR) fs.mkdirSync(CPU_PROF_DIR, { recursive: true });

  fs.mkdirSync(path.join(ROOT, '.tmp'), { recursive: true });
  tmpDir = fs.mkdtempSync(path.join(ROOT, '.tmp', 'bench-'));
  const common = {
    NODE_ENV: 'production',
    KEYS_FILE: path.join(tmpDir, 'keys.json'),
    LOG_LEVEL: 'warn', // measure the requests, not request logging
    NEXT_TELEMETRY_DISABLED: '1',
    // The bench signs in and asks for tokens a few times per round from one address.
    RATE_LIMIT_TOKEN_PER_IP: '1000',
  };
  const sqlite = await prepare('sqlite', { ...common, DATABASE_URL: `file:${path.join(tmpDir, 'app.db')}` });

  const cpus = os.cpus();
  const machine = `node ${process.version}, ${cpus.length} CPU(s) (${cpus[0]?.model?.trim() ?? 'unknown'}), ${os.platform()}/${os.arch()}`;
  const settings = `autocannon: ${CONNECTIONS} connections, ${WARMUP}s warm-up, then ${ROUNDS} rounds of ${DURATION}s per route, order shuffled per round (medians; ratios paired by round)`;
  console.log(machine);
  console.log(settings);
  console.log(`browser JWT cookie: ${sqlite.credentials.jwtCookieBytes} bytes (name=value)`);

  const targets = routesFor(sqlite.server, sqlite.credentials);
  const rows = evaluate(await measureInterleaved(targets), targets);
  console.log('\nSQLite');
  printRows(rows);
  printProxyCost(rows);

  let postgresRows = null;
  if (POSTGRES) {
    const { findPgBin, startPgCluster } = await import('./pg-cluster.mjs');
    if (!findPgBin()) throw new Error('--postgres: no PostgreSQL server binaries (/usr/lib/postgresql/<version>/bin)');
    // One server at a time: the SQLite one would only take memory.
    await Promise.all(servers.map((server) => server.stop()));
    servers = [];
    cluster = await startPgCluster({ database: 'sot_bench' });
    const pg = await prepare('postgres', { ...common, KEYS_FILE: path.join(tmpDir, 'keys.json'), DATABASE_URL: cluster.url });
    const pgTargets = routesFor(pg.server, { ...pg.credentials, postgres: true }, { pages: false }).filter((t) =>
      ['ping', 'me-database', 'me-jwt', 'me-bearer'].includes(t.key),
    );
    postgresRows = evaluate(await measureInterleaved(pgTargets), pgTargets);
    console.log('\nPostgreSQL (same build; the limit measured again on this server)');
    printRows(postgresRows);
  }

  const strip = (list) => list?.map(({ rounds, ...row }) => ({ ...row, rounds: rounds.map((r) => ({ ...r })) })) ?? null;
  writeReport('bench.json', {
    date: new Date().toISOString(),
    machine,
    settings: { connections: CONNECTIONS, warmupSeconds: WARMUP, rounds: ROUNDS, durationSeconds: DURATION, only: ONLY ? [...ONLY] : null, cpuProfile: CPU_PROF_DIR !== null },
    // What the servers ran with (the environment the bench was started in, else the app's defaults).
    revocationMode: process.env.REVOCATION_MODE || 'strict',
    sessionStore: process.env.SESSION_STORE || 'database',
    jwtCookieBytes: sqlite.credentials.jwtCookieBytes,
    proxyHop: proxyHop(rows),
    sqlite: strip(rows),
    postgres: strip(postgresRows),
  });
  const problems = [...rows, ...(postgresRows ?? [])].filter((row) => row.problems > 0);
  if (problems.length > 0) {
    throw new Error(`unexpected answers on ${problems.map((row) => row.label).join(', ')}: the numbers above are not comparable`);
  }
}

/**
 * Writes a run's figures to data/results/<name> (replaced whole: a reader never
 * sees half a file) and, with --json=, to that file as well.
 */
function writeReport(name, report) {
  const text = JSON.stringify(report, null, 2) + '\n';
  fs.mkdirSync(RESULTS_DIR, { recursive: true });
  const target = path.join(RESULTS_DIR, name);
  const partial = `${target}.${process.pid}.tmp`;
  fs.writeFileSync(partial, text);
  fs.renameSync(partial, target);
  console.log(`\nfigures written to ${path.relative(process.cwd(), target) || target}`);
  if (JSON_FILE) {
    fs.writeFileSync(JSON_FILE, text);
    console.log(`figures written to ${JSON_FILE}`);
  }
}

/** What running a proxy at all costs: the bare route with and without a proxy that returns at once. */
function proxyHop(rows) {
  const ping = rows.find((row) => row.key === 'ping');
  const proxied = rows.find((row) => row.key === 'ping-proxied');
  if (!ping || !proxied) return null;
  return {
    extraCpuMsPerRequest: pairedRatio(proxied, ping, (sample, base) => sample.cpuMsPerRequest - base.cpuMsPerRequest),
    rpsRatio: pairedRatio(proxied, ping, (sample, base) => sample.rps / base.rps),
  };
}

function printProxyCost(rows) {
  const hop = proxyHop(rows);
  if (!hop) return;
  console.log(
    `\nproxy hop (Next.js running a proxy that returns at once, same route): +${hop.extraCpuMsPerRequest.toFixed(3)} ms CPU per request, ` +
      `${hop.rpsRatio.toFixed(2)}x the req/s of the bare route`,
  );
}

// ------------------------------------------------------------------ --cluster ---
//
// Through nginx on PostgreSQL (scripts/cluster.mjs), for each revocation mode
// with sessions in PostgreSQL, and pushed mode with sessions in Redis, with 1 and
// with N instances: the unprotected bare route and /api/me with a
// database cookie and a JWT cookie (req/s, p99, CPU per request summed over the
// instances), then the store reads per request from PostgreSQL's own
// statistics: committed transactions (pg_stat_database.xact_commit; every query
// of the app is one) over a window of load on one route, divided by the requests
// answered. PostgreSQL publishes a backend's counters at most once a second and
// an idle backend's after about ten, so each reading waits for that.

const STATS_FLUSH_MS = 11_000;
const READS_WINDOW_SECONDS = 3;

async function committedTransactions(databaseUrl) {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query('SELECT xact_commit::bigint AS n FROM pg_stat_database WHERE datname = current_database()');
    return Number(rows[0].n);
  } finally {
    await client.end();
  }
}

/** Commands Redis has processed (INFO stats), the reading's own INFO included. */
async function redisCommands(redisUrl) {
  const { Redis } = await import('ioredis');
  const client = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await client.connect();
  try {
    const info = await client.info('stats');
    return Number(/total_commands_processed:(\d+)/.exec(info)?.[1] ?? NaN);
  } finally {
    client.disconnect();
  }
}

/**
 * Store reads per request of each route: committed PostgreSQL transactions (and
 * Redis commands, when the cluster has Redis) during a window of load on it, per
 * request answered. Readings are taken once PostgreSQL has published its
 * counters; the one after a route is the one before the next.
 */
async function readsPerRequest(targets, databaseUrl, redisUrl) {
  const flushed = () => new Promise((resolve) => setTimeout(resolve, STATS_FLUSH_MS));
  const reading = async () => ({ pg: await committedTransactions(databaseUrl), redis: redisUrl ? await redisCommands(redisUrl) : 0 });
  await flushed();
  let before = await reading();
  const reads = new Map();
  for (const target of targets) {
    const headers = typeof target.headers === 'function' ? await target.headers() : target.headers;
    const result = await load(target, headers, READS_WINDOW_SECONDS);
    await flushed();
    const after = await reading();
    // Each reading is a transaction (and a command) of its own: one of them is in each difference.
    reads.set(target.key, {
      postgres: (after.pg - before.pg - 1) / result.requests.total,
      redis: redisUrl ? (after.redis - before.redis - 2) / result.requests.total : null,
    });
    before = after;
  }
  return reads;
}

function clusterRoutes(server, credentials, mode) {
  const pushed = mode === 'pushed';
  return [
    { key: 'ping', label: 'GET /api/ping (unprotected, the limit)', path: '/api/ping', status: 200 },
    { key: 'me-database', label: 'GET /api/me, database cookie', path: '/api/me', headers: { cookie: credentials.databaseCookie }, status: 200, goal: pushed ? { of: 'ping', min: 0.9 } : undefined },
    { key: 'me-jwt', label: 'GET /api/me, JWT cookie', path: '/api/me', headers: { cookie: credentials.jwtCookie }, status: 200, goal: pushed ? { of: 'ping', min: 0.95 } : undefined },
  ].map((target) => ({ ...target, server }));
}

async function clusterBench() {
  const { findNginx, startCluster } = await import('./cluster.mjs');
  const { findPgBin } = await import('./pg-cluster.mjs');
  if (!findNginx() || !findPgBin()) throw new Error('--cluster needs nginx (apt-get install -y nginx) and the PostgreSQL server binaries');
  if (!fs.existsSync(path.join(ROOT, '.next', 'BUILD_ID'))) {
    console.error('no production build: running next build');
    await run(process.execPath, [NEXT_BIN, 'build'], { NODE_ENV: 'production', NEXT_TELEMETRY_DISABLED: '1' });
  }
  const cpus = os.cpus();
  const machine = `node ${process.version}, ${cpus.length} CPU(s) (${cpus[0]?.model?.trim() ?? 'unknown'}), ${os.platform()}/${os.arch()}`;
  console.log(machine);
  console.log(
    `through nginx on PostgreSQL, 1 and ${CLUSTER} instance(s); autocannon: ${CONNECTIONS} connections, ${WARMUP}s warm-up, ${ROUNDS} rounds of ${DURATION}s per route (medians; ratios paired by round); CPU = all instances`,
  );
  const { findRedisServer } = await import('./redis-process.mjs');
  const variants = [
    { mode: 'strict', store: 'database' },
    { mode: 'pushed', store: 'database' },
    { mode: 'stateless', store: 'database' },
    ...(findRedisServer() ? [{ mode: 'pushed', store: 'redis' }] : []),
  ];
  if (!findRedisServer()) console.log('redis-server not found: no run with sessions in Redis (apt-get install -y redis-server)');
  const report = [];
  for (const { mode, store } of variants) {
    for (const instances of [...new Set([1, CLUSTER])]) {
      process.stderr.write(`\n${mode}, sessions in ${store}, ${instances} instance(s): starting\n`);
      cluster = await startCluster({
        instances,
        port: 0,
        freshDatabase: true,
        redis: store === 'redis',
        freshRedis: true,
        env: { LOG_LEVEL: 'warn', REVOCATION_MODE: mode, SESSION_STORE: store, RATE_LIMIT_TOKEN_PER_IP: '1000', ...(store === 'redis' ? {} : { REDIS_URL: '' }) },
        log: (line) => process.stderr.write(`  ${line}\n`),
      });
      const server = { url: cluster.url, pids: cluster.instances.map((instance) => instance.pid) };
      const credentials = { databaseCookie: await signIn(cluster.url, 'database'), jwtCookie: await signIn(cluster.url, 'jwt') };
      const targets = clusterRoutes(server, credentials, mode);
      const rows = evaluate(await measureInterleaved(targets), targets);
      // Reads do not depend on how many instances serve them: counted once per mode, on the larger cluster.
      if (instances === CLUSTER) {
        const reads = await readsPerRequest(targets, cluster.databaseUrl, store === 'redis' ? cluster.redisUrl : null);
        for (const row of rows) row.storeReadsPerRequest = reads.get(row.key);
      }
      console.log(`\nREVOCATION_MODE=${mode}, sessions in ${store === 'redis' ? 'Redis' : 'PostgreSQL'}, ${instances} instance(s) behind nginx`);
      printRows(rows);
      if (instances === CLUSTER) {
        const perRoute = rows.map(({ key, storeReadsPerRequest: reads }) => `${key} ${reads.postgres.toFixed(3)}${reads.redis === null ? '' : ` + Redis ${reads.redis.toFixed(3)}`}`);
        console.log(`store operations per request (PostgreSQL transactions${store === 'redis' ? ' + Redis commands' : ''}): ${perRoute.join(', ')}`);
      }
      report.push({ mode, store, instances, rows: rows.map(({ rounds, ...row }) => ({ ...row, rounds: rounds.map((r) => ({ ...r })) })) });
      await cluster.stop();
      cluster = null;
    }
  }
  writeReport('bench-cluster.json', {
    date: new Date().toISOString(),
    machine,
    settings: { connections: CONNECTIONS, warmupSeconds: WARMUP, rounds: ROUNDS, durationSeconds: DURATION, instances: CLUSTER },
    cluster: report,
  });
}

try {
  await (CLUSTER === null ? main() : clusterBench());
} catch (error) {
  console.error(`bench failed: ${error?.message ?? error}`);
  for (const server of servers) {
    if (!server.running) console.error(`server exited: ${JSON.stringify(server.exitInfo)}`);
    console.error(server.output().split('\n').slice(-30).join('\n'));
  }
  process.exitCode = 1;
} finally {
  await cleanup();
}
