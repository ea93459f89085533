#!/usr/bin/env node
// The whole test suite (`npm test`), step by step:
//
//   typecheck     tsc --noEmit
//   lint          eslint .
//   unit          node's test runner (through tsx) on tests/**/*.test.ts (tests/rate-limit-redis.test.ts
//                 starts its own throwaway redis-server: scripts/redis-process.mjs)
//   chromium      make sure Debian's Chromium is installed (installs it when root)
//   build         next build (production)
//   e2e-sqlite    fresh SQLite file + keys file -> setup.mjs -> next start and the
//                 downstream service (examples/downstream) -> Playwright; the pages' screenshots
//                 and axe results stay in .tmp/pages-sqlite/ (a line sums them up)
//   e2e-postgres  the specs that touch the store, against a throwaway PostgreSQL cluster
//   cluster       scripts/cluster.mjs: a throwaway PostgreSQL cluster and redis-server, 3
//                 instances and nginx in front (round-robin) -> Playwright on e2e/cluster/*.spec.ts
//                 (its own config, e2e/cluster/playwright.config.ts; restart.spec.ts last, restarting
//                 instances through a loopback control channel, E2E_CLUSTER_CONTROL); sessions in
//                 PostgreSQL, revocation pushed by LISTEN/NOTIFY
//   cluster-redis the same with sessions in Redis (SESSION_STORE=redis, revocation pushed by
//                 pub/sub): the specs about sessions across instances, revocation and restarts
//   outage        tests/outage/*.outage.mjs: PostgreSQL, and Redis, stopped and restarted under a server
//
// Options:
//   --only=a,b     run only these steps ("e2e" = chromium, build, e2e-sqlite, e2e-postgres, cluster, cluster-redis, outage)
//   --skip=a,b     leave these steps out
//   --no-build     reuse an existing production build instead of building again
//   -- <args>      everything after "--" is passed to `playwright test` (e.g. -g "jwt")
//
// Environment: CI=true makes missing PostgreSQL binaries, nginx or redis-server a failure instead of a warning.
//
// The last line printed is `tests: N passed, M failed`: the node test runner's and
// Playwright's counts added up. A step that fails without reporting failed tests
// of its own (typecheck, lint, build, a server that would not start, ...) adds one
// to M, so the line and the exit status always agree.
import { AsyncLocalStorage } from 'node:async_hooks';
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { format } from 'node:util';
import { findPgBin, startPgCluster } from './pg-cluster.mjs';
import { ROOT, freePort, killGroup, startAppWithDownstream } from './app-process.mjs';
import { CALLBACK_PATH, startIdp } from './idp.mjs';
import { findNginx, startCluster } from './cluster.mjs';
import { findRedisServer } from './redis-process.mjs';

const STEPS = ['typecheck', 'lint', 'unit', 'chromium', 'build', 'e2e-sqlite', 'e2e-postgres', 'cluster', 'cluster-redis', 'outage'];
const GROUPS = { e2e: ['chromium', 'build', 'e2e-sqlite', 'e2e-postgres', 'cluster', 'cluster-redis', 'outage'] };
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const BIN = (name) => path.join(ROOT, 'node_modules', '.bin', name);
const NEXT_BIN = path.join(ROOT, 'node_modules', 'next', 'dist', 'bin', 'next');
const TMP_ROOT = path.join(ROOT, '.tmp');
const isCI = Boolean(process.env.CI) && process.env.CI !== 'false' && process.env.CI !== '0';

// ---------------------------------------------------------------- options ---

function usage(message) {
  if (message) console.error(`test.mjs: ${message}`);
  console.error('usage: node scripts/test.mjs [--only=steps] [--skip=steps] [--no-build] [-- playwright args]');
  console.error(`steps: ${STEPS.join(', ')} (group: e2e)`);
  process.exit(2);
}

function expand(list) {
  const names = list
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .flatMap((name) => GROUPS[name] ?? [name]);
  for (const name of names) if (!STEPS.includes(name)) usage(`unknown step "${name}"`);
  return names;
}

const argv = process.argv.slice(2);
const dashDash = argv.indexOf('--');
const ownArgs = dashDash === -1 ? argv : argv.slice(0, dashDash);
const playwrightArgs = dashDash === -1 ? [] : argv.slice(dashDash + 1);
let selected = new Set(STEPS);
let reuseBuild = false;
for (const arg of ownArgs) {
  if (arg.startsWith('--only=')) selected = new Set(expand(arg.slice(7)));
  else if (arg.startsWith('--skip=')) for (const name of expand(arg.slice(7))) selected.delete(name);
  else if (arg === '--no-build') reuseBuild = true;
  else if (arg === '--help' || arg === '-h') usage();
  else usage(`unknown option "${arg}"`);
}

// ----------------------------------------------------- cleanup & signals ---

/** Process groups of running child commands. */
const children = new Set();
/** Async clean-ups (servers, clusters) still pending. */
const cleanups = new Set();
let interrupted = null;

function addCleanup(fn) {
  const entry = async () => {
    cleanups.delete(entry);
    await fn();
  };
  cleanups.add(entry);
  return entry;
}

async function runCleanups() {
  for (const pid of children) killGroup(pid, 'SIGTERM');
  await Promise.allSettled([...cleanups].map((fn) => fn()));
}

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    if (interrupted) {
      for (const pid of children) killGroup(pid, 'SIGKILL');
      process.exit(1);
    }
    interrupted = signal;
    console.error(`\n${signal} received: stopping servers and databases...`);
    const hardStop = setTimeout(() => process.exit(1), 30_000);
    hardStop.unref();
    runCleanups().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  });
}
// Synchronous last resort for anything still running (servers and clusters
// have their own exit hooks in app-process.mjs and pg-cluster.mjs).
process.on('exit', () => {
  for (const pid of children) killGroup(pid, 'SIGKILL');
});

// ------------------------------------------------------------- utilities ---

const color = process.stdout.isTTY && !process.env.NO_COLOR;
const paint = (code, text) => (color ? `\x1b[${code}m${text}\x1b[0m` : text);
const bold = (t) => paint('1', t);
const red = (t) => paint('31', t);
const green = (t) => paint('32', t);
const yellow = (t) => paint('33', t);
const stripAnsi = (text) => text.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '');
const seconds = (ms) => `${(ms / 1000).toFixed(1)}s`;

/**
 * Steps that run side by side (see STAGES) write into a buffer of their own, printed
 * whole when the step ends, so their outputs never interleave. Everything a step
 * prints goes through console.log/console.error or runCommand, which both look here.
 */
const stepOutput = new AsyncLocalStorage();
for (const method of ['log', 'error']) {
  const original = console[method].bind(console);
  console[method] = (...args) => {
    const buffer = stepOutput.getStore();
    if (buffer) buffer.push(`${format(...args)}\n`);
    else original(...args);
  };
}

function header(title) {
  const line = '='.repeat(72);
  console.log(`\n${bold(line)}\n${bold(`== ${title}`)}\n${bold(line)}`);
}

function banner(lines, paintFn = yellow) {
  const width = Math.max(...lines.map((l) => l.length)) + 4;
  const edge = '!'.repeat(width);
  console.log(paintFn([edge, ...lines.map((l) => `! ${l.padEnd(width - 4)} !`), edge].join('\n')));
}

/**
 * Run a command in its own process group, streaming its output.
 * @returns {Promise<{code: number | null, signal: string | null, stdout: string}>}
 */
function runCommand(cmd, args, { env, capture = false, cwd = ROOT } = {}) {
  console.log(paint('2', `$ ${[cmd, ...args].map((a) => (/\s/.test(a) ? JSON.stringify(a) : a)).join(' ')}`));
  const buffer = stepOutput.getStore();
  return new Promise((resolve) => {
    const child = spawn(cmd, args, {
      cwd,
      env: { ...process.env, ...env },
      detached: true,
      stdio: ['ignore', capture || buffer ? 'pipe' : 'inherit', buffer ? 'pipe' : 'inherit'],
    });
    children.add(child.pid);
    let stdout = '';
    const streams = [];
    if (child.stdout) {
      streams.push(new Promise((done) => child.stdout.on('close', done)));
      child.stdout.on('data', (chunk) => {
        if (capture) stdout += chunk;
        if (buffer) buffer.push(chunk.toString());
        else process.stdout.write(chunk);
      });
    }
    if (buffer && child.stderr) {
      streams.push(new Promise((done) => child.stderr.on('close', done)));
      child.stderr.on('data', (chunk) => buffer.push(chunk.toString()));
    }
    let finished = false;
    const finish = async (code, signal) => {
      if (finished) return;
      finished = true;
      children.delete(child.pid);
      // reap anything the command left behind in its group
      killGroup(child.pid, 'SIGKILL');
      // the rest of its output, unless something outside the group still holds the pipe
      await Promise.race([Promise.all(streams), new Promise((done) => setTimeout(done, 2_000).unref())]);
      resolve({ code, signal, stdout });
    };
    child.on('error', (error) => {
      console.error(red(`could not run ${cmd}: ${error.message}`));
      finish(127, null);
    });
    child.on('exit', (code, signal) => finish(code, signal));
  });
}

const ok = (result) => result.code === 0;

function findTestFiles(dir) {
  if (!fs.existsSync(dir)) return [];
  const found = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'node_modules' && !entry.name.startsWith('.')) found.push(...findTestFiles(full));
    } else if (entry.isFile() && entry.name.endsWith('.test.ts')) {
      found.push(full);
    }
  }
  return found.sort();
}

/** Totals printed at the end of node's spec or tap reporter. */
function parseNodeTestCounts(output) {
  const text = stripAnsi(output);
  const last = (name) => {
    const matches = [...text.matchAll(new RegExp(`^\\s*[ℹ#]\\s*${name}\\s+(\\d+)\\s*$`, 'gm'))];
    return matches.length ? Number(matches[matches.length - 1][1]) : null;
  };
  const pass = last('pass');
  const fail = last('fail');
  if (pass === null || fail === null) return null;
  return { passed: pass, failed: fail + (last('cancelled') ?? 0) };
}

/** The spec reporter's "failing tests" section as "file:line › name: first line of its error". */
function parseNodeTestFailures(output) {
  const lines = stripAnsi(output).split('\n');
  const start = lines.findIndex((line) => /^✖ failing tests:/.test(line));
  if (start === -1) return [];
  const failures = [];
  for (let i = start + 1; i < lines.length; i += 1) {
    const at = /^test at (\S+)/.exec(lines[i]);
    const name = at && /^\s*✖ (.*?)(?: \([\d.]+m?s\))?$/.exec(lines[i + 1] ?? '');
    if (!at || !name) continue;
    const error = (lines[i + 2] ?? '').trim();
    failures.push(`${at[1]} › ${name[1]}: ${error.slice(0, 200)}`);
  }
  return failures;
}

/** Counts from Playwright's JSON report. */
function readPlaywrightCounts(file) {
  try {
    const report = JSON.parse(fs.readFileSync(file, 'utf8'));
    const stats = report.stats ?? {};
    return {
      passed: (stats.expected ?? 0) + (stats.flaky ?? 0),
      failed: stats.unexpected ?? 0,
      skipped: stats.skipped ?? 0,
      errors: Array.isArray(report.errors) ? report.errors.length : 0,
      failures: playwrightFailures(report),
    };
  } catch {
    return null;
  }
}

/**
 * Each failed test as "file:line › title: first line of its error", repeated in the summary,
 * so that the end of a long log alone says which test failed and why.
 */
function playwrightFailures(report) {
  const failures = [];
  const firstLine = (text) => stripAnsi(String(text ?? '')).split('\n').find((line) => line.trim()) ?? '';
  const visit = (suite, titles) => {
    const here = suite.title && !suite.title.endsWith('.ts') ? [...titles, suite.title] : titles;
    for (const spec of suite.specs ?? []) {
      for (const test of spec.tests ?? []) {
        if (test.status !== 'unexpected') continue;
        const last = test.results?.at(-1);
        const error = last?.error?.message ?? last?.errors?.[0]?.message ?? last?.status ?? '';
        failures.push(`${spec.file}:${spec.line} › ${[...here, spec.title].join(' › ')}: ${firstLine(error).slice(0, 200)}`);
      }
    }
    for (const child of suite.suites ?? []) visit(child, here);
  };
  for (const suite of report.suites ?? []) visit(suite, []);
  for (const error of report.errors ?? []) failures.push(`outside any test: ${firstLine(error.message).slice(0, 200)}`);
  return failures;
}

// ------------------------------------------------------------------ steps ---

const results = [];
let buildState = 'unknown'; // 'ok' | 'failed' | 'unknown'
let chromiumState = 'unknown';

async function typecheck() {
  return { ok: ok(await runCommand(BIN('tsc'), ['--noEmit'])) };
}

async function lint() {
  return { ok: ok(await runCommand(BIN('eslint'), ['.'])) };
}

// Each test file has its own temporary database and keys (tests/support/test-env.ts),
// so files run side by side; node's default on two cores is one at a time.
const UNIT_CONCURRENCY = 3;

/** Loud when redis-server is missing: the Redis tests are skipped (a failure under CI). Returns the note, or null. */
function redisMissing(what) {
  if (findRedisServer()) return null;
  const lines = ['redis-server NOT FOUND (/usr/bin/redis-server).', `${what} did NOT run against Redis.`, 'Install it with: apt-get install -y redis-server'];
  banner(isCI ? [...lines, 'CI is set: this is a failure.'] : lines, isCI ? red : yellow);
  return isCI ? 'redis-server missing' : 'redis-server missing: Redis tests skipped (WARNING)';
}

async function unit() {
  const files = findTestFiles(path.join(ROOT, 'tests'));
  if (files.length === 0) {
    console.log(red('no unit tests found (tests/**/*.test.ts)'));
    return { ok: false, note: 'no test files' };
  }
  const noRedis = redisMissing('The rate-limit tests (tests/rate-limit-redis.test.ts)');
  console.log(`${files.length} test file(s)`);
  // The migrated database and the key file every test file starts from, made once by the
  // project's scripts (tests/support/test-env.ts copies them instead of running both per file).
  fs.mkdirSync(TMP_ROOT, { recursive: true });
  const template = fs.mkdtempSync(path.join(TMP_ROOT, 'unit-template-'));
  try {
    const templateEnv = { DATABASE_URL: `file:${path.join(template, 'test.db')}`, KEYS_FILE: path.join(template, 'keys.json'), LOG_LEVEL: 'silent', KEYS_ENCRYPTION_KEY: '' };
    const prepared =
      ok(await runCommand(process.execPath, [path.join(ROOT, 'scripts', 'db-migrate.mjs')], { env: templateEnv })) &&
      ok(await runCommand(BIN('tsx'), ['--conditions=react-server', path.join(ROOT, 'scripts', 'keys.ts'), 'init'], { env: templateEnv }));
    if (!prepared) return { ok: false, note: 'could not migrate the template database or create its keys' };
    const result = await runCommand(
      BIN('tsx'),
      ['--conditions=react-server', '--test', `--test-concurrency=${UNIT_CONCURRENCY}`, '--test-reporter=spec', ...files.map((f) => path.relative(ROOT, f))],
      { capture: true, env: { NODE_ENV: 'test', FORCE_COLOR: color ? '1' : '0', TEST_ENV_TEMPLATE_DIR: template } },
    );
    const counts = parseNodeTestCounts(result.stdout);
    return {
      ok: ok(result) && counts !== null && counts.failed === 0 && !(noRedis && isCI),
      tests: counts ?? undefined,
      note: noRedis ?? undefined,
      failures: parseNodeTestFailures(result.stdout),
    };
  } finally {
    fs.rmSync(template, { recursive: true, force: true });
  }
}

async function chromium() {
  if (fs.existsSync(CHROMIUM)) {
    chromiumState = 'ok';
    return { ok: true, note: CHROMIUM };
  }
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!root) {
    console.log(red(`${CHROMIUM} is missing. Install it (as root): apt-get update && apt-get install -y chromium`));
    chromiumState = 'failed';
    return { ok: false, note: 'chromium missing' };
  }
  console.log(`${CHROMIUM} is missing: installing Debian's chromium package`);
  const env = { DEBIAN_FRONTEND: 'noninteractive' };
  let installed = ok(await runCommand('apt-get', ['install', '-y', 'chromium'], { env }));
  if (!installed) {
    await runCommand('apt-get', ['update'], { env });
    installed = ok(await runCommand('apt-get', ['install', '-y', 'chromium'], { env }));
  }
  chromiumState = installed && fs.existsSync(CHROMIUM) ? 'ok' : 'failed';
  return { ok: chromiumState === 'ok', note: chromiumState === 'ok' ? 'installed' : 'install failed' };
}

async function build() {
  if (reuseBuild && fs.existsSync(path.join(ROOT, '.next', 'BUILD_ID'))) {
    buildState = 'ok';
    return { ok: true, skipped: true, note: 'reusing existing build (--no-build)' };
  }
  const result = await runCommand(process.execPath, [NEXT_BIN, 'build'], {
    env: { NODE_ENV: 'production', NEXT_TELEMETRY_DISABLED: '1' },
  });
  buildState = ok(result) ? 'ok' : 'failed';
  return { ok: ok(result) };
}

function e2ePreconditions() {
  if (buildState === 'failed') return 'the production build failed';
  if (!fs.existsSync(path.join(ROOT, '.next', 'BUILD_ID'))) return 'no production build (.next/BUILD_ID missing)';
  if (chromiumState === 'failed' || !fs.existsSync(CHROMIUM)) return `${CHROMIUM} is missing`;
  return null;
}

/**
 * Limits for the servers under test. Every spec signs in from 127.0.0.1: per-address
 * limits high enough for the whole suite (e2e/brute-force.spec.ts reaches them from
 * another loopback address). The per-account limit keeps its default. Day-long
 * windows (aligned to midnight UTC), so a spec that fills a counter practically
 * never straddles a window's end.
 */
const E2E_LIMITS = {
  RATE_LIMIT_SIGNIN_PER_IP: '500',
  RATE_LIMIT_TOKEN_PER_IP: '500',
  RATE_LIMIT_REGISTER_PER_IP: '500',
  RATE_LIMIT_REFRESH_PER_IP: '500',
  RATE_LIMIT_WINDOW_SECONDS: '86400',
  RATE_LIMIT_RESET_PER_IP: '500',
};

/**
 * One line about what e2e/page-checks.ts left in `dir`: the screenshots, and
 * axe's violations over every page it checked, by impact (rule ids and how
 * many pages each), or null if it left nothing.
 */
function pageArtifactsSummary(dir) {
  if (!fs.existsSync(dir)) return null;
  const screenshots = fs.readdirSync(dir).filter((name) => name.endsWith('.png'));
  const axeDir = path.join(dir, 'axe');
  const runs = fs.existsSync(axeDir) ? fs.readdirSync(axeDir).map((name) => JSON.parse(fs.readFileSync(path.join(axeDir, name), 'utf8'))) : [];
  const byImpact = {};
  for (const run of runs) {
    for (const [impact, rules] of Object.entries(run.violations)) {
      byImpact[impact] ??= {};
      for (const rule of rules) byImpact[impact][rule] = (byImpact[impact][rule] ?? 0) + 1;
    }
  }
  const impacts = ['critical', 'serious', 'moderate', 'minor'].map((impact) => {
    const rules = Object.entries(byImpact[impact] ?? {});
    return `${impact} ${rules.length === 0 ? 0 : rules.map(([rule, count]) => `${rule} ×${count}`).join(', ')}`;
  });
  return `pages: ${screenshots.length} screenshots in ${path.relative(ROOT, dir)}/; axe on ${runs.length} page states: ${impacts.join('; ')}`;
}

/** setup.mjs -> next start + downstream service -> playwright, for one database. */
async function runE2E(label, makeDatabase) {
  const problem = e2ePreconditions();
  if (problem) {
    console.log(red(`cannot run the e2e suite: ${problem}`));
    return { ok: false, note: problem };
  }
  fs.mkdirSync(TMP_ROOT, { recursive: true });
  const dir = fs.mkdtempSync(path.join(TMP_ROOT, `e2e-${label}-`));
  const serverLog = path.join(dir, 'server.log');
  const downstreamLog = path.join(dir, 'downstream.log');
  const jsonReport = path.join(dir, 'report.json');
  // The pages' screenshots and axe results (e2e/page-checks.ts), kept after a passing run too, unlike the run's folder.
  const pageArtifacts = path.join(TMP_ROOT, `pages-${label}`);
  fs.rmSync(pageArtifacts, { recursive: true, force: true });
  let server = null;
  let downstream = null;
  let stopServer = null;
  let stopDownstream = null;
  let stopIdp = null;
  let keep = false;
  try {
    const databaseUrl = await makeDatabase(dir);
    const env = {
      NODE_ENV: 'production',
      DATABASE_URL: databaseUrl,
      KEYS_FILE: path.join(dir, 'keys.json'),
      NEXT_TELEMETRY_DISABLED: '1',
      ...E2E_LIMITS,
    };
    console.log(`database: ${databaseUrl}\nkeys file: ${env.KEYS_FILE}`);

    const setup = await runCommand(process.execPath, [path.join(ROOT, 'scripts', 'setup.mjs')], { env });
    if (!ok(setup)) {
      keep = true;
      return { ok: false, note: 'setup.mjs failed' };
    }

    // A real OpenID Connect provider in this process (e2e/oidc.spec.ts): it must know
    // the app's callback URL, so the app's port is chosen first.
    const appPort = await freePort();
    const idp = await startIdp({ redirectUris: [`http://127.0.0.1:${appPort}${CALLBACK_PATH}`] });
    stopIdp = addCleanup(() => idp.stop());
    console.log(`OpenID Connect provider: ${idp.issuer}`);
    // The app on that port, and next to it the downstream service, which
    // allows exactly the app's origin (as the browser sees it) and reads the app's JWKS.
    const started = Date.now();
    ({ app: server, downstream } = await startAppWithDownstream({ env: { ...env, ...idp.env }, port: appPort, logFile: serverLog, downstreamLogFile: downstreamLog }));
    stopServer = addCleanup(() => server.stop());
    stopDownstream = addCleanup(() => downstream.stop());
    console.log(`server: ${server.url} (ready in ${seconds(Date.now() - started)}, log ${path.relative(ROOT, serverLog)})`);
    console.log(`downstream: ${downstream.url} (log ${path.relative(ROOT, downstreamLog)})`);

    const result = await runCommand(BIN('playwright'), ['test', ...playwrightArgs], {
      env: {
        ...env,
        E2E_BASE_URL: server.url,
        E2E_DOWNSTREAM_URL: downstream.url,
        E2E_IDP_ISSUER: idp.issuer,
        // Test only: the throwaway provider's key, so e2e/oidc-logout.spec.ts can sign crafted logout tokens.
        E2E_IDP_SIGNING_JWK: JSON.stringify(idp.testSigningJwk),
        E2E_DB_LABEL: label,
        E2E_JSON_REPORT: jsonReport,
        E2E_SERVER_LOG: serverLog,
        E2E_OUTPUT_DIR: path.join(dir, 'test-results'),
        E2E_PAGE_ARTIFACTS: pageArtifacts,
      },
    });
    const pages = pageArtifactsSummary(pageArtifacts);
    if (pages) console.log(pages);
    const counts = readPlaywrightCounts(jsonReport);
    const passed = ok(result) && counts !== null && counts.failed === 0 && counts.errors === 0;
    if (!server.running) console.log(red('the server died during the run'));
    if (!downstream.running) console.log(red('the downstream service died during the run'));
    if (!passed) {
      keep = true;
      console.log(yellow(`--- last lines of ${path.relative(ROOT, serverLog)} ---`));
      console.log(server.output().split('\n').slice(-40).join('\n'));
      console.log(yellow(`--- last lines of ${path.relative(ROOT, downstreamLog)} ---`));
      console.log(downstream.output().split('\n').slice(-20).join('\n'));
    }
    const note = counts && counts.skipped ? `${counts.skipped} skipped` : undefined;
    return { ok: passed, tests: counts ? { passed: counts.passed, failed: counts.failed } : undefined, note, failures: counts?.failures };
  } catch (error) {
    keep = true;
    console.log(red(String(error?.message ?? error)));
    return { ok: false, note: 'could not run' };
  } finally {
    await Promise.all([stopServer?.(), stopDownstream?.(), stopIdp?.()]);
    if (keep) console.log(yellow(`kept ${path.relative(ROOT, dir)} (server log, database, Playwright artifacts)`));
    else fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function e2eSqlite() {
  return runE2E('sqlite', async (dir) => `file:${path.join(dir, 'app.db')}`);
}

async function e2ePostgres() {
  if (!findPgBin()) {
    const lines = [
      'PostgreSQL server binaries NOT FOUND (/usr/lib/postgresql/15/bin).',
      'The e2e suite did NOT run against PostgreSQL.',
      'Install them with: apt-get install -y postgresql-15',
    ];
    if (isCI) {
      banner([...lines, 'CI is set: this is a failure.'], red);
      return { ok: false, note: 'PostgreSQL binaries missing' };
    }
    banner(lines);
    return { ok: true, skipped: true, note: 'PostgreSQL binaries missing (WARNING)' };
  }
  let cluster = null;
  let stopCluster = null;
  try {
    return await runE2E('postgres', async () => {
      const started = Date.now();
      cluster = await startPgCluster({ database: `sot_e2e_${crypto.randomBytes(3).toString('hex')}` });
      stopCluster = addCleanup(() => cluster.stop());
      console.log(`PostgreSQL cluster ready in ${seconds(Date.now() - started)} (${cluster.dir})`);
      return cluster.url;
    });
  } finally {
    if (stopCluster) await stopCluster();
  }
}

const CLUSTER_INSTANCES = 3;
const CLUSTER_CONFIG = path.join('e2e', 'cluster', 'playwright.config.ts');
// The cluster's JWKS cache lifetime, and so how long a rotated key waits before it
// signs: short, so e2e/cluster/keys.spec.ts sees a rotated key sign on every instance.
const CLUSTER_JWKS_MAX_AGE_SECONDS = '15';

/** Number of cluster specs the Playwright arguments after "--" select (they filter every e2e step). */
async function clusterTestsSelected() {
  if (playwrightArgs.length === 0) return null;
  const listed = await runCommand(BIN('playwright'), ['test', '--config', CLUSTER_CONFIG, '--list', ...playwrightArgs], { capture: true });
  const match = /Total: (\d+) tests?/.exec(stripAnsi(listed.stdout));
  return match ? Number(match[1]) : 0;
}

/**
 * The cluster's control channel for the specs (E2E_CLUSTER_CONTROL), on 127.0.0.1 only:
 *   POST /instances/<id>/restart          cluster.restart(id) -> 200 JSON timings (404 unknown id, 409 already restarting)
 *   POST /instances/<id>/restart?hold=1   the same, but the instance stays down (old process gone, successor not
 *                                         started) until
 *   POST /instances/<id>/resume           -> 200 (409 when no restart of <id> is held)
 * e2e/cluster/restart.spec.ts revokes credentials while an instance is held down.
 */
async function startClusterControl(cluster) {
  const held = new Map(); // id -> { resume, abort }
  const server = http.createServer((request, response) => {
    request.resume(); // no request bodies
    const reply = (status, body) => {
      response.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      response.end(JSON.stringify(body));
    };
    const url = new URL(request.url ?? '/', 'http://control');
    const match = /^\/instances\/([^/]+)\/(restart|resume)$/.exec(url.pathname);
    if (!match) return reply(404, { error: 'not found' });
    if (request.method !== 'POST') return reply(405, { error: 'POST only' });
    const id = decodeURIComponent(match[1]);
    if (!cluster.instances.some((instance) => instance.id === id)) return reply(404, { error: `no instance "${id}"` });
    if (match[2] === 'resume') {
      const hold = held.get(id);
      if (!hold) return reply(409, { error: `no restart of ${id} is held` });
      hold.resume();
      return reply(200, { id, resumed: true });
    }
    const whileDown =
      url.searchParams.get('hold') === '1'
        ? () =>
            new Promise((resolve, reject) => {
              held.set(id, {
                resume: () => {
                  held.delete(id);
                  resolve();
                },
                abort: () => {
                  held.delete(id);
                  reject(new Error('control channel closed'));
                },
              });
            })
        : undefined;
    cluster.restart(id, { whileDown }).then(
      (timings) => reply(200, timings),
      (error) => reply(error?.code === 'UNKNOWN_INSTANCE' ? 404 : error?.code === 'RESTARTING' ? 409 : 500, { error: String(error?.message ?? error) }),
    );
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      for (const hold of [...held.values()]) hold.abort();
      await new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

/** Many instances behind nginx on one PostgreSQL (scripts/cluster.mjs) -> playwright on e2e/cluster/. */
/**
 * The cluster steps: "cluster" keeps sessions in PostgreSQL (revocation feed:
 * LISTEN/NOTIFY) and runs every cluster spec; "cluster-redis" keeps them in
 * Redis (SESSION_STORE=redis, feed: pub/sub) and runs the specs whose subject
 * is the session store: sessions across instances, pushed revocation and its
 * cut, a restart under load.
 */
const CLUSTER_VARIANTS = {
  cluster: { sessionStore: 'database', specs: [] },
  'cluster-redis': {
    sessionStore: 'redis',
    specs: ['cluster.spec.ts', 'revocation.spec.ts', 'restart.spec.ts'].map((name) => path.join('e2e', 'cluster', name)),
  },
};

/** Cluster start-ups begun ahead of their step: label -> the promise startVariantCluster returned. */
const clusterStarts = new Map();

/**
 * Starts the cluster of a step (CLUSTER_VARIANTS) and registers its clean-up. Never
 * rejects: resolves to { cluster, stop, authSecret, ms, lines } or { error, lines }; `lines`
 * holds what the start-up printed, for the step to show.
 */
function startVariantCluster(label, noRedis) {
  const variant = CLUSTER_VARIANTS[label];
  // The cluster's Auth.js secret, known to the specs: e2e/cluster/redis.spec.ts names an
  // account's rate-limit counter with it (an HMAC of the address).
  const authSecret = crypto.randomBytes(32).toString('base64url');
  const lines = [];
  const started = Date.now();
  // The cluster's own temp directory (nginx config and logs, instance logs, keys
  // file) lives in the system temp dir: nginx's workers must be able to reach it.
  return startCluster({
    instances: CLUSTER_INSTANCES,
    port: 0,
    freshDatabase: true,
    // Rate-limit counters in a throwaway Redis shared by the instances (never a REDIS_URL of the caller's).
    redis: !noRedis,
    freshRedis: true,
    // The deployment pushed revocation is for: every instance keeps revocations in
    // memory, fed by PostgreSQL LISTEN/NOTIFY (strict mode on PostgreSQL: e2e-postgres).
    env: {
      ...E2E_LIMITS,
      REVOCATION_MODE: 'pushed',
      SESSION_STORE: variant.sessionStore,
      JWKS_MAX_AGE_SECONDS: CLUSTER_JWKS_MAX_AGE_SECONDS,
      AUTH_SECRET: authSecret,
      ...(noRedis ? { REDIS_URL: '' } : {}),
    },
    keepDir: true,
    log: (line) => lines.push(line),
  }).then(
    (cluster) => {
      // keepDir: the logs stay for a failed run; an interrupted one leaves nothing behind.
      const stop = addCleanup(async () => {
        await cluster.stop();
        if (interrupted) fs.rmSync(cluster.dir, { recursive: true, force: true });
      });
      return { cluster, stop, authSecret, ms: Date.now() - started, lines };
    },
    (error) => ({ error, lines }),
  );
}

function cluster() {
  return clusterStep('cluster');
}

function clusterRedis() {
  return clusterStep('cluster-redis');
}

async function clusterStep(label) {
  const variant = CLUSTER_VARIANTS[label];
  const missing = [];
  if (!findPgBin()) missing.push(['PostgreSQL server binaries NOT FOUND (/usr/lib/postgresql/15/bin).', 'apt-get install -y postgresql-15']);
  if (!findNginx()) missing.push(['nginx NOT FOUND (/usr/sbin/nginx).', 'apt-get install -y nginx']);
  if (missing.length) {
    const lines = [
      ...missing.map(([what]) => what),
      'The cluster tests (nginx in front of 3 instances) did NOT run.',
      `Install with: ${missing.map(([, how]) => how).join(' && ')}`,
    ];
    const note = `${missing.map(([what]) => what.split(' ')[0]).join(' and ')} missing`;
    if (isCI) {
      banner([...lines, 'CI is set: this is a failure.'], red);
      return { ok: false, note };
    }
    banner(lines);
    return { ok: true, skipped: true, note: `${note} (WARNING)` };
  }
  const problem = e2ePreconditions();
  if (problem) {
    console.log(red(`cannot run the cluster tests: ${problem}`));
    return { ok: false, note: problem };
  }
  if ((await clusterTestsSelected()) === 0) return { ok: true, skipped: true, note: 'no cluster spec matches the Playwright arguments' };
  // Without redis-server the cluster runs with its counters in PostgreSQL and e2e/cluster/redis.spec.ts skips.
  const noRedis = redisMissing(variant.sessionStore === 'redis' ? 'The cluster tests with sessions in Redis' : 'The cluster tests (e2e/cluster/redis.spec.ts)');
  if (noRedis && variant.sessionStore === 'redis') return { ok: !isCI, skipped: true, note: noRedis };
  // Started ahead of this step (next to the "cluster" step's own start-up), or now.
  const start = clusterStarts.get(label) ?? startVariantCluster(label, noRedis);
  clusterStarts.delete(label);
  // The cluster with sessions in Redis starts side by side with this one: two start-ups
  // (initdb, setup.mjs, three next start) that each spend much of their time on one
  // thread. It waits, idle, for its own step.
  if (label === 'cluster' && selected.has('cluster-redis') && playwrightArgs.length === 0 && findRedisServer()) {
    clusterStarts.set('cluster-redis', startVariantCluster('cluster-redis', null));
  }

  fs.mkdirSync(TMP_ROOT, { recursive: true });
  const dir = fs.mkdtempSync(path.join(TMP_ROOT, `e2e-${label}-`));
  const jsonReport = path.join(dir, 'report.json');
  let running = null;
  let stopCluster = null;
  let stopControl = null;
  let keep = false;
  try {
    const started = await start;
    for (const line of started.lines) console.log(line);
    if (started.error) throw started.error;
    running = started.cluster;
    const { cluster, authSecret } = started;
    stopCluster = started.stop;
    console.log(`cluster ready in ${seconds(started.ms)}: ${cluster.url} → ${cluster.instances.map((i) => `${i.id} ${i.url}`).join(', ')}`);
    // The tests run with no start-up next to them.
    for (const [other, pending] of clusterStarts) {
      const waited = Date.now();
      const { error } = await pending;
      console.log(`${other}: its cluster ${error ? 'could not start (reported in its step)' : 'is ready'}; waited ${seconds(Date.now() - waited)} for it`);
    }
    const control = await startClusterControl(cluster);
    stopControl = addCleanup(() => control.close());

    const specs = playwrightArgs.length ? playwrightArgs : variant.specs;
    const result = await runCommand(BIN('playwright'), ['test', '--config', CLUSTER_CONFIG, ...specs], {
      env: {
        ...E2E_LIMITS,
        DATABASE_URL: cluster.databaseUrl,
        REDIS_URL: cluster.redisUrl ?? '',
        AUTH_SECRET: authSecret,
        KEYS_FILE: cluster.keysFile,
        // keys.spec.ts rotates with scripts/keys.ts against the cluster's key store, as an operator would.
        KEYS_ENCRYPTION_KEY: cluster.keysEncryptionKey,
        JWKS_MAX_AGE_SECONDS: CLUSTER_JWKS_MAX_AGE_SECONDS,
        E2E_BASE_URL: cluster.url,
        E2E_CLUSTER_INSTANCES: JSON.stringify(cluster.instances.map(({ id, url }) => ({ id, url }))),
        E2E_CLUSTER_CONTROL: control.url,
        E2E_DB_LABEL: label,
        E2E_SESSION_STORE: variant.sessionStore,
        E2E_JSON_REPORT: jsonReport,
        E2E_OUTPUT_DIR: path.join(dir, 'test-results'),
      },
    });
    const counts = readPlaywrightCounts(jsonReport);
    const passed = ok(result) && counts !== null && counts.failed === 0 && counts.errors === 0;
    const dead = [
      ...cluster.instances.filter((i) => !i.running).map((i) => i.id),
      ...(cluster.nginx.running ? [] : ['nginx']),
      ...(cluster.redis && !cluster.redis.running ? ['redis-server'] : []),
    ];
    if (dead.length) console.log(red(`died during the run: ${dead.join(', ')}`));
    if (!passed) {
      keep = true;
      for (const instance of cluster.instances) {
        console.log(yellow(`--- last lines of ${instance.logFile} ---`));
        console.log(instance.output().split('\n').slice(-20).join('\n'));
      }
      console.log(yellow(`--- nginx (${cluster.nginx.dir}) ---`));
      console.log(cluster.nginx.output().split('\n').slice(-20).join('\n'));
    }
    const note = [counts && counts.skipped ? `${counts.skipped} skipped` : null, noRedis].filter(Boolean).join('; ') || undefined;
    return { ok: passed && !(noRedis && isCI), tests: counts ? { passed: counts.passed, failed: counts.failed } : undefined, note, failures: counts?.failures };
  } catch (error) {
    keep = true;
    console.log(red(String(error?.message ?? error)));
    return { ok: false, note: 'could not run' };
  } finally {
    await stopControl?.();
    await stopCluster?.();
    if (keep) {
      console.log(yellow(`kept ${path.relative(ROOT, dir)} (Playwright artifacts)${running ? ` and ${running.dir} (instance and nginx logs)` : ''}`));
    } else {
      fs.rmSync(dir, { recursive: true, force: true });
      if (running) fs.rmSync(running.dir, { recursive: true, force: true });
    }
  }
}

/** The database-outage test: a production server whose PostgreSQL server is stopped and restarted under it. */
async function outage() {
  if (!findPgBin()) {
    if (isCI) return { ok: false, note: 'PostgreSQL binaries missing' };
    return { ok: true, skipped: true, note: 'PostgreSQL binaries missing (WARNING)' };
  }
  if (buildState !== 'ok' && !fs.existsSync(path.join(ROOT, '.next', 'BUILD_ID'))) return { ok: false, note: 'no build' };
  const files = fs.readdirSync(path.join(ROOT, 'tests', 'outage')).filter((name) => name.endsWith('.outage.mjs'));
  const result = await runCommand(process.execPath, ['--test', '--test-reporter=spec', ...files.map((name) => path.join('tests', 'outage', name))], {
    capture: true,
    env: { FORCE_COLOR: color ? '1' : '0' },
  });
  const counts = parseNodeTestCounts(result.stdout);
  return { ok: ok(result) && counts !== null && counts.failed === 0 && counts.passed > 0, tests: counts ?? undefined, failures: parseNodeTestFailures(result.stdout) };
}

const IMPLEMENTATIONS = {
  outage,
  typecheck,
  lint,
  unit,
  chromium,
  build,
  'e2e-sqlite': e2eSqlite,
  'e2e-postgres': e2ePostgres,
  cluster,
  'cluster-redis': clusterRedis,
};

// ------------------------------------------------------------------- main ---

const suiteStarted = Date.now();
console.log(`node ${process.version} on ${process.platform}/${process.arch}; steps: ${[...selected].join(', ')}`);

/**
 * Steps in one stage run side by side; stages run one after the other, in STEPS order.
 * Side by side only where neither needs the other nor the CPU the other leaves idle
 * goes to waste: tsc and eslint are one thread each; the unit files (three at a time)
 * fill what next build leaves idle (its type check and page-data collection use one
 * thread). tsc reads .next/types, so it never runs next to the build. The e2e steps
 * keep both cores to themselves.
 */
const STAGES = [['typecheck', 'lint'], ['unit', 'chromium', 'build'], ['e2e-sqlite'], ['e2e-postgres'], ['cluster'], ['cluster-redis'], ['outage']];
if (STAGES.flat().sort().join() !== [...STEPS].sort().join()) throw new Error('STAGES must hold every step once');

async function runStep(name) {
  const started = Date.now();
  let outcome;
  try {
    outcome = await IMPLEMENTATIONS[name]();
  } catch (error) {
    console.log(red(String(error?.stack ?? error)));
    outcome = { ok: false, note: 'crashed' };
  }
  const ms = Date.now() - started;
  const status = outcome.skipped ? 'skipped' : outcome.ok ? 'passed' : 'failed';
  return { name, status, ms, tests: outcome.tests, note: outcome.note, failures: outcome.failures ?? [] };
}

function reportStep(result) {
  const paintFn = result.status === 'failed' ? red : result.status === 'skipped' ? yellow : green;
  console.log(paintFn(`-- ${result.name}: ${result.status} in ${seconds(result.ms)}${result.note ? ` (${result.note})` : ''}`));
}

for (const stage of STAGES) {
  if (interrupted) break;
  const names = STEPS.filter((name) => stage.includes(name) && selected.has(name));
  if (names.length === 1) {
    header(names[0]);
    const result = await runStep(names[0]);
    if (interrupted) break;
    results.push(result);
    reportStep(result);
  } else if (names.length > 1) {
    console.log(paint('2', `\n(side by side: ${names.join(', ')}; each one's output follows when it ends)`));
    const done = await Promise.all(
      names.map(async (name) => {
        const buffer = [];
        const result = await stepOutput.run(buffer, () => runStep(name));
        if (!interrupted) {
          header(`${name} (side by side with ${names.filter((other) => other !== name).join(', ')})`);
          process.stdout.write(buffer.join(''));
          reportStep(result);
        }
        return result;
      }),
    );
    if (interrupted) break;
    results.push(...done);
  }
}

if (interrupted) {
  // the signal handler is stopping everything and will exit with the signal's status
  await new Promise(() => setInterval(() => {}, 1_000));
}
await runCleanups();

let passed = 0;
let failed = 0;
header('summary');
for (const r of results) {
  let counts = '';
  if (r.tests) {
    passed += r.tests.passed;
    failed += r.tests.failed;
    counts = `${r.tests.passed} passed, ${r.tests.failed} failed`;
  }
  if (r.status === 'failed' && !(r.tests && r.tests.failed > 0)) failed += 1;
  const paintFn = r.status === 'failed' ? red : r.status === 'skipped' ? yellow : green;
  console.log(
    `${r.name.padEnd(14)} ${paintFn(r.status.padEnd(8))} ${seconds(r.ms).padStart(7)}  ${counts}${r.note ? `${counts ? '; ' : ''}${r.note}` : ''}`,
  );
}
for (const r of results) {
  for (const failure of r.failures) console.log(red(`failed in ${r.name}: ${failure}`));
}
console.log(`total time ${seconds(Date.now() - suiteStarted)}`);
const anyFailed = results.some((r) => r.status === 'failed');
console.log(`tests: ${passed} passed, ${failed} failed`);
process.exitCode = anyFailed || failed > 0 ? 1 : 0;
