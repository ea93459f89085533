#!/usr/bin/env node
// The comparison lab (/compare) from the command line: every experiment run
// through POST /api/compare/run on a real server, a table of the verdicts on
// stdout, and the full results in data/results/compare.json and compare.md.
//
//   npm run compare                       a production server on a fresh SQLite database and a free
//                                         loopback port (built first when the build is missing or stale),
//                                         stopped again at the end, on error and on Ctrl-C
//   npm run compare -- --url=http://127.0.0.1:3000
//                                         a server already running (loopback only)
//   --only=revocation,size                these experiments only (ids: GET /api/compare/experiments)
//   --modes=strict,stateless,pushed       then the experiments whose figures depend on REVOCATION_MODE
//                                         (revocation, hybrid, cost) again, on a fresh server per mode
//   --outage                              first run the outage tests (tests/outage/*.outage.mjs: a throwaway
//                                         PostgreSQL stopped under servers started for it), which record
//                                         data/results/outage.json for the outage experiment
//   --out=DIR                             where compare.json and compare.md go (default data/results)
//   --readme[=FILE]                       then replace the generated table in README.md (or FILE), between
//                                         <!-- compare-table:start --> and <!-- compare-table:end -->
//   --from-json                           with --readme: no run, the table from the existing compare.json
//
// The server started here gets RATE_LIMIT_COMPARE_PER_IP=0 (no limit): one run is several
// experiments from one address. A server given with --url keeps its own limit; a 429 is reported.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ROOT, killGroup, startAppWithDownstream } from './app-process.mjs';

const DEFAULT_OUT = path.join(ROOT, 'data', 'results');
const README = path.join(ROOT, 'README.md');
export const TABLE_START = '<!-- compare-table:start -->';
export const TABLE_END = '<!-- compare-table:end -->';
/** Longest cell of the terminal table; compare.md has every word. */
const CELL_LIMITS = [60, 40, 40, 110];
/** The server's revocation modes (lib/platform/env.ts REVOCATION_MODE). */
export const REVOCATION_MODES = ['strict', 'stateless', 'pushed'];
/** The experiments whose figures depend on the revocation mode: what `--modes` runs again per mode. */
export const MODE_EXPERIMENTS = ['revocation', 'hybrid', 'cost'];

// ---------------------------------------------------------------- options ---

function usage(message) {
  if (message) console.error(`compare: ${message}`);
  console.error('usage: npm run compare -- [--url=http://127.0.0.1:PORT] [--only=id,id] [--modes=strict,stateless,pushed] [--outage] [--out=DIR] [--readme[=FILE]] [--from-json]');
  process.exit(2);
}

/** A loopback http origin (127.x.x.x, [::1] or localhost, with a port), or null. */
export function loopbackUrl(raw) {
  let url;
  try {
    url = new URL(raw);
  } catch {
    return null;
  }
  const loopback = /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(url.hostname) || url.hostname === '[::1]' || url.hostname === 'localhost';
  if (url.protocol !== 'http:' || !loopback || url.port === '' || url.username || url.password || (url.pathname !== '/' && url.pathname !== '') || url.search) return null;
  return url.origin;
}

export function parseArgs(argv) {
  const options = { url: null, only: null, modes: null, outage: false, out: DEFAULT_OUT, readme: null, fromJson: false };
  for (const arg of argv) {
    const [name, ...rest] = arg.split('=');
    const value = rest.join('=');
    if (name === '--url') {
      options.url = loopbackUrl(value);
      if (!options.url) usage(`--url must be a loopback http address with a port (http://127.0.0.1:3000), got "${value}"`);
    } else if (name === '--only') options.only = value.split(',').map((id) => id.trim()).filter(Boolean);
    else if (name === '--modes') {
      options.modes = [...new Set(value.split(',').map((mode) => mode.trim()).filter(Boolean))];
      const bad = options.modes.filter((mode) => !REVOCATION_MODES.includes(mode));
      if (options.modes.length === 0 || bad.length) usage(`--modes takes ${REVOCATION_MODES.join(', ')}, got "${value}"`);
    }
    else if (arg === '--outage') options.outage = true;
    else if (name === '--out' && value) options.out = path.resolve(value);
    else if (name === '--readme') options.readme = value ? path.resolve(value) : README;
    else if (arg === '--from-json') options.fromJson = true;
    else if (arg === '--help' || arg === '-h') usage();
    else usage(`unknown option "${arg}"`);
  }
  if (options.fromJson && !options.readme) usage('--from-json only goes with --readme');
  // A mode is a server's setting: the runs per mode need servers of their own.
  if (options.modes && options.url) usage('--modes starts a server per mode; it does not go with --url');
  return options;
}

// ------------------------------------------------------- what a claim says ---

/**
 * A claim's one-line summary, as the page's "Every claim at a glance" has it:
 * its database-session side and its JWT side (the columns of each tone; one
 * column by its figure, several as "heading: figure"), and its verdict.
 */
export function summaryRow(claim) {
  const side = (tone) => {
    const columns = claim.columns.filter((column) => column.tone === tone);
    if (columns.length === 0) return '—';
    return columns.length === 1 ? columns[0].figure : columns.map((column) => `${column.heading}: ${column.figure}`).join('; ');
  };
  return { claim: claim.claim, session: side('session'), token: side('token'), verdict: claim.verdict };
}

/** One row per claim of every experiment; an experiment that did not run gets one row saying why. */
export function summaryRows(report) {
  return report.experiments.flatMap((experiment) =>
    experiment.status === 'ok'
      ? experiment.claims.map(summaryRow)
      : [{ claim: experiment.summary || experiment.title, session: '—', token: '—', verdict: `Not run from the command line: ${experiment.message}` }],
  );
}

const clip = (text, limit) => {
  const flat = String(text).replace(/\s+/g, ' ').trim();
  return flat.length > limit ? `${flat.slice(0, limit - 1)}…` : flat;
};

export function textTable(rows) {
  const header = ['Claim', 'Database session', 'JWT', 'Verdict'];
  const lines = rows.map((row) => [row.claim, row.session, row.token, row.verdict].map((cell, index) => clip(cell, CELL_LIMITS[index])));
  const widths = header.map((title, index) => Math.max(title.length, ...lines.map((line) => line[index].length)));
  const format = (line) => line.map((cell, index) => cell.padEnd(widths[index])).join(' | ').trimEnd();
  return [format(header), widths.map((width) => '-'.repeat(width)).join('-+-'), ...lines.map(format)].join('\n');
}

const md = (text) => String(text).replace(/\s+/g, ' ').replace(/\|/g, '\\|').trim();

export function markdownTable(columns, rows) {
  return [`| ${columns.map(md).join(' | ')} |`, `| ${columns.map(() => '---').join(' | ')} |`, ...rows.map((row) => `| ${row.map(md).join(' | ')} |`)].join('\n');
}

export function summaryMarkdown(report) {
  return markdownTable(
    ['Claim', 'Database session', 'JWT', 'Verdict'],
    summaryRows(report).map((row) => [row.claim, row.session, row.token, row.verdict]),
  );
}

/** The mode-dependent claims once per revocation mode (`--modes`), or nothing. */
export function modesMarkdown(report) {
  if (!Array.isArray(report.byMode) || report.byMode.length === 0) return '';
  return markdownTable(
    ['Claim', 'REVOCATION_MODE', 'Database session', 'JWT', 'Verdict'],
    report.byMode.flatMap((run) => summaryRows(run).map((row) => [row.claim, run.revocationMode, row.session, row.token, row.verdict])),
  );
}

function describeServer(report) {
  return report.server.started ? `a production server started for the run (${report.server.database}, ${report.server.revocationMode})` : `the server at ${report.server.url}`;
}

export function markdownReport(report) {
  const out = [`# Comparison lab report`, '', `Measured ${report.date} against ${describeServer(report)} with \`npm run compare\`.`, '', summaryMarkdown(report), ''];
  const modes = modesMarkdown(report);
  if (modes) out.push('## Per revocation mode', '', 'The same experiments on a fresh server per `REVOCATION_MODE`:', '', modes, '');
  for (const experiment of report.experiments) {
    out.push(`## ${experiment.title}`, '');
    if (experiment.status !== 'ok') {
      out.push(`Not run from the command line: ${experiment.message}`, '');
      continue;
    }
    for (const claim of experiment.claims) {
      out.push(`### ${claim.claim}`, '', `Measured: ${claim.measured}`, '');
      for (const column of claim.columns) out.push(`- **${md(column.heading)}**: ${md(column.figure)}${column.detail ? ` — ${md(column.detail)}` : ''}`);
      out.push('');
      for (const table of claim.tables) out.push(`*${md(table.caption)}*`, '', markdownTable(table.columns, table.rows.map((row) => row.cells)), '');
      out.push(`**Verdict:** ${claim.verdict}`, '', `**Caveat:** ${claim.caveat}`, '');
    }
  }
  return out.join('\n');
}

/** README.md with the text between the markers replaced by the summary table of a report. */
export function replaceReadmeTable(readme, report) {
  const start = readme.indexOf(TABLE_START);
  const end = readme.indexOf(TABLE_END);
  if (start === -1 || end === -1 || end < start) throw new Error(`the README has no ${TABLE_START} … ${TABLE_END} section`);
  const block = [
    TABLE_START,
    `<!-- generated by \`npm run compare -- --readme\` from ${path.relative(ROOT, DEFAULT_OUT)}/compare.json; do not edit by hand -->`,
    '',
    `Measured ${report.date.slice(0, 10)} against ${describeServer(report)}:`,
    '',
    summaryMarkdown(report),
    '',
    ...(modesMarkdown(report) ? ['The claims that depend on the revocation mode, on a fresh server per `REVOCATION_MODE`:', '', modesMarkdown(report), ''] : []),
  ].join('\n');
  return readme.slice(0, start) + block + readme.slice(end);
}

// ------------------------------------------------------------------ running ---

const children = new Set();
process.on('exit', () => {
  for (const pid of children) killGroup(pid, 'SIGKILL');
});
const cleanups = [];
let stopping = false;

async function cleanup() {
  for (const pid of children) killGroup(pid, 'SIGTERM');
  while (cleanups.length) await cleanups.pop()().catch((error) => console.error(`compare: cleanup: ${error?.message ?? error}`));
}

function run(command, args, env = {}) {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'inherit', 'inherit'], detached: true });
    children.add(child.pid);
    child.on('exit', (code, signal) => {
      children.delete(child.pid);
      resolve(code ?? (signal ? 1 : 0));
    });
    child.on('error', () => resolve(1));
  });
}

async function startOwnServer(revocationMode = process.env.REVOCATION_MODE || 'strict') {
  if ((await run(process.execPath, [path.join(ROOT, 'scripts', 'ensure-build.mjs')])) !== 0) throw new Error('the production build failed');
  fs.mkdirSync(path.join(ROOT, '.tmp'), { recursive: true });
  const dir = fs.mkdtempSync(path.join(ROOT, '.tmp', 'compare-'));
  cleanups.push(async () => fs.rmSync(dir, { recursive: true, force: true }));
  const env = {
    NODE_ENV: 'production',
    DATABASE_URL: `file:${path.join(dir, 'app.db')}`,
    KEYS_FILE: path.join(dir, 'keys.json'),
    NEXT_TELEMETRY_DISABLED: '1',
    LOG_LEVEL: 'warn',
    REVOCATION_MODE: revocationMode,
    // One run is every experiment from one address: the limit on lab runs would stop it.
    RATE_LIMIT_COMPARE_PER_IP: '0',
    // A server of its own: none of the caller's cluster addresses.
    CLUSTER_BALANCER_URL: '',
    CLUSTER_INSTANCE_URLS: '',
    INSTANCE_ID: '',
  };
  if ((await run(process.execPath, [path.join(ROOT, 'scripts', 'setup.mjs')], env)) !== 0) throw new Error('setup.mjs failed');
  const { app, downstream } = await startAppWithDownstream({ env, logFile: path.join(dir, 'server.log'), downstreamLogFile: path.join(dir, 'downstream.log') });
  const stopDownstream = () => downstream.stop();
  const stopApp = () => app.stop();
  cleanups.push(stopDownstream, stopApp);
  console.error(`server: ${app.url} (REVOCATION_MODE=${revocationMode}, fresh SQLite database in ${path.relative(ROOT, dir)})`);
  return { url: app.url, revocationMode, stop: () => Promise.all([stopApp(), stopDownstream()]) };
}

async function listExperiments(url) {
  const response = await fetch(`${url}/api/compare/experiments`, { signal: AbortSignal.timeout(15_000) }).catch(() => {
    throw new Error(`no server answers at ${url}`);
  });
  if (!response.ok) throw new Error(`GET /api/compare/experiments answered ${response.status}`);
  const body = await response.json();
  if (!Array.isArray(body?.experiments) || !body.experiments.every((entry) => typeof entry?.id === 'string' && typeof entry?.title === 'string')) {
    throw new Error('GET /api/compare/experiments answered something else than a list of experiments');
  }
  return body.experiments.map(({ id, title, summary }) => ({ id, title, summary: typeof summary === 'string' ? summary : '' }));
}

function isClaim(value) {
  return (
    value &&
    typeof value.id === 'string' &&
    typeof value.claim === 'string' &&
    typeof value.verdict === 'string' &&
    typeof value.caveat === 'string' &&
    Array.isArray(value.columns) &&
    Array.isArray(value.tables) &&
    value.columns.every((column) => typeof column?.figure === 'string' && typeof column?.heading === 'string')
  );
}

/** How often a run the server is too busy for (another run from this address, or its cap on runs) is tried again. */
const BUSY_ATTEMPTS = 10;
const MAX_RETRY_AFTER_SECONDS = 30;

/** POST /api/compare/run, waiting (Retry-After) while the server is busy with another run. */
async function startRun(url, id) {
  for (let attempt = 1; ; attempt += 1) {
    const response = await fetch(`${url}/api/compare/run`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: url },
      body: JSON.stringify({ experiment: id }),
      signal: AbortSignal.timeout(10 * 60_000),
    });
    if (response.status !== 429 && response.status !== 503) return { response };
    const body = await response.json().catch(() => ({}));
    const busy = body?.error === 'run_in_progress' || body?.error === 'busy';
    if (!busy || attempt >= BUSY_ATTEMPTS || stopping) {
      if (response.status === 429 && body?.error === 'too_many_requests') {
        return { message: 'rate limited by the server (RATE_LIMIT_COMPARE_PER_IP); run again later or start a server with a higher limit' };
      }
      return { message: busy ? `the server stayed busy with other runs (${attempt} attempts)` : `the server answered ${response.status}` };
    }
    const seconds = Math.min(MAX_RETRY_AFTER_SECONDS, Math.max(1, Number(response.headers.get('retry-after')) || 5));
    console.error(`  ${id}: the server is busy with another run; trying again in ${seconds} s`);
    await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  }
}

/** One experiment through POST /api/compare/run, its progress on stderr. */
async function runExperiment(url, experiment) {
  const started = await startRun(url, experiment.id);
  if (!started.response) return { status: 'error', message: started.message };
  const { response } = started;
  if (!response.ok || !response.body) return { status: 'error', message: `the server answered ${response.status}` };
  const decoder = new TextDecoder();
  let buffered = '';
  let outcome = { status: 'error', message: 'the run ended without a result' };
  const handle = (line) => {
    if (!line.trim()) return;
    let event;
    try {
      event = JSON.parse(line);
    } catch {
      outcome = { status: 'error', message: 'the server streamed something else than JSON lines' };
      return;
    }
    if (event.type === 'progress') console.error(`  ${experiment.id}: ${event.message}`);
    else if (event.type === 'result' && Array.isArray(event.claims) && event.claims.every(isClaim)) outcome = { status: 'ok', claims: event.claims };
    else if (event.type === 'error') outcome = { status: 'error', message: String(event.message) };
  };
  for await (const chunk of response.body) {
    buffered += decoder.decode(chunk, { stream: true });
    let newline;
    while ((newline = buffered.indexOf('\n')) !== -1) {
      handle(buffered.slice(0, newline));
      buffered = buffered.slice(newline + 1);
    }
  }
  handle(buffered);
  return outcome;
}

async function measure(options) {
  if (options.outage) {
    console.error('outage tests: stopping a throwaway PostgreSQL (and Redis) under servers started for them…');
    if ((await run(process.execPath, [path.join(ROOT, 'scripts', 'ensure-build.mjs')])) !== 0) throw new Error('the production build failed');
    const files = fs.readdirSync(path.join(ROOT, 'tests', 'outage')).filter((name) => name.endsWith('.outage.mjs'));
    const code = await run(process.execPath, ['--test', '--test-reporter=spec', ...files.map((name) => path.join('tests', 'outage', name))]);
    if (code !== 0) throw new Error('the outage tests failed; data/results/outage.json was not updated by the failing test');
  }
  const server = options.url ? { url: options.url, revocationMode: null } : await startOwnServer();
  const all = await listExperiments(server.url);
  const unknown = (options.only ?? []).filter((id) => !all.some((experiment) => experiment.id === id));
  if (unknown.length) throw new Error(`unknown experiment(s): ${unknown.join(', ')} (there are ${all.map((experiment) => experiment.id).join(', ')})`);
  const chosen = options.only ? all.filter((experiment) => options.only.includes(experiment.id)) : all;
  const experiments = await runAll(server.url, chosen);
  const byMode = [];
  const again = chosen.filter((experiment) => MODE_EXPERIMENTS.includes(experiment.id));
  // One server at a time: each mode's figures are measured without another server beside it.
  if (options.modes && again.length > 0) await server.stop?.();
  for (const mode of again.length > 0 ? (options.modes ?? []) : []) {
    if (stopping) break;
    const modeServer = await startOwnServer(mode);
    byMode.push({ revocationMode: `REVOCATION_MODE=${mode}`, experiments: await runAll(modeServer.url, again) });
    await modeServer.stop();
  }
  return {
    version: 1,
    date: new Date().toISOString(),
    server: options.url
      ? { started: false, url: options.url }
      : { started: true, url: server.url, database: 'SQLite', revocationMode: `REVOCATION_MODE=${server.revocationMode}` },
    experiments,
    ...(byMode.length ? { byMode } : {}),
  };
}

async function runAll(url, chosen) {
  const experiments = [];
  for (const experiment of chosen) {
    if (stopping) break;
    console.error(`running ${experiment.id} (${experiment.title})…`);
    experiments.push({ ...experiment, ...(await runExperiment(url, experiment)) });
  }
  return experiments;
}

export async function main(argv = process.argv.slice(2)) {
  const options = parseArgs(argv);
  const jsonFile = path.join(options.out, 'compare.json');
  let report;
  if (options.fromJson) {
    report = JSON.parse(fs.readFileSync(jsonFile, 'utf8'));
    if (report?.version !== 1 || !Array.isArray(report.experiments)) throw new Error(`${jsonFile} is not a compare report`);
  } else {
    report = await measure(options);
    // Interrupted: the server was stopped under the running experiment, whose figures are not a measurement.
    if (stopping) return 130;
    fs.mkdirSync(options.out, { recursive: true });
    fs.writeFileSync(jsonFile, `${JSON.stringify(report, null, 2)}\n`);
    fs.writeFileSync(path.join(options.out, 'compare.md'), markdownReport(report));
    console.log(textTable(summaryRows(report)));
    for (const run of report.byMode ?? []) console.log(`\n${run.revocationMode}\n${textTable(summaryRows(run))}`);
    console.log(`\nwritten: ${path.relative(process.cwd(), jsonFile)}, ${path.relative(process.cwd(), path.join(options.out, 'compare.md'))}`);
  }
  if (options.readme) {
    fs.writeFileSync(options.readme, replaceReadmeTable(fs.readFileSync(options.readme, 'utf8'), report));
    console.log(`updated the comparison table in ${path.relative(process.cwd(), options.readme)}`);
  }
  const failed = [report, ...(report.byMode ?? [])].flatMap((run) => run.experiments).filter((experiment) => experiment.status !== 'ok');
  if (failed.length) console.error(`not run: ${failed.map((experiment) => `${experiment.id} (${experiment.message})`).join('; ')}`);
  return failed.length === 0 ? 0 : 1;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143], ['SIGHUP', 129]]) {
    process.on(signal, () => {
      if (stopping) process.exit(code);
      stopping = true;
      console.error(`\n${signal}: stopping what this run started…`);
      const hardStop = setTimeout(() => process.exit(code), 20_000);
      hardStop.unref();
      cleanup().finally(() => process.exit(code));
    });
  }
  let code = 1;
  try {
    code = await main();
  } catch (error) {
    console.error(`compare: ${error?.message ?? error}`);
  } finally {
    await cleanup();
  }
  process.exit(code);
}
