#!/usr/bin/env node
// Start the production server (server.mjs at the repository root: `next start`
// plus the client-address header) on a free loopback port, wait until it
// answers HTTP, and stop it again (the whole process group). Also starts the
// example downstream service (examples/downstream/service.mjs) the same way.
//
// Library use:
//   import { startServer } from './app-process.mjs';
//   const server = await startServer({ env: { DATABASE_URL, KEYS_FILE } });
//   ... server.url ...
//   await server.stop();
//
//   // the app and the downstream service, each knowing the other's origin:
//   const { app, downstream } = await startAppWithDownstream({ env: { DATABASE_URL, KEYS_FILE } });
//
// Command line (serves the existing build until Ctrl-C; with --downstream also
// the downstream service, wired to the app):
//   node scripts/app-process.mjs [--port=3000] [--downstream]
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** The production server entry (see its header): Next.js plus the client-address header. */
const SERVER_ENTRY = 'server.mjs';
export const DOWNSTREAM_SCRIPT = path.join(ROOT, 'examples', 'downstream', 'service.mjs');

/** Servers started by this process that have not been stopped yet. */
const running = new Set();

// Last line of defence: if this process exits for any reason (including an
// uncaught exception), take every server it started down with it.
process.on('exit', () => {
  for (const server of running) killGroup(server.pid, 'SIGKILL');
});

/** Ask the OS for a free TCP port on the given interface. */
/** The first of these paths that is an executable file, or null. */
export function firstExecutable(candidates) {
  for (const file of candidates) {
    try {
      fs.accessSync(file, fs.constants.X_OK);
      if (fs.statSync(file).isFile()) return file;
    } catch {
      /* not there */
    }
  }
  return null;
}

export function freePort(host = '127.0.0.1') {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, host, () => {
      const { port } = /** @type {import('node:net').AddressInfo} */ (srv.address());
      srv.close(() => resolve(port));
    });
  });
}

/** Signal a whole process group; fall back to the single process. */
export function killGroup(pid, signal) {
  if (!pid) return;
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      /* already gone */
    }
  }
}

function groupAlive(pid) {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Keeps the last `max` lines written by the server. */
class Tail {
  constructor(max = 200) {
    this.max = max;
    this.lines = [];
    this.partial = '';
  }
  push(chunk) {
    const text = this.partial + chunk.toString('utf8');
    const parts = text.split('\n');
    this.partial = parts.pop() ?? '';
    this.lines.push(...parts);
    if (this.lines.length > this.max) this.lines.splice(0, this.lines.length - this.max);
  }
  toString() {
    return [...this.lines, this.partial].filter(Boolean).join('\n');
  }
}

const delay = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Start the production server (server.mjs) and resolve once it answers HTTP.
 *
 * @param {object} [options]
 * @param {Record<string, string | undefined>} [options.env] extra environment (merged over process.env)
 * @param {number} [options.port] fixed port (default: a free one)
 * @param {string} [options.host] interface to bind (default 127.0.0.1)
 * @param {string} [options.cwd] project directory (default: repository root)
 * @param {string} [options.readyPath] path polled until it answers (default "/api/health", the liveness probe)
 * @param {number} [options.timeoutMs] how long to wait for readiness (default 60 s)
 * @param {string} [options.logFile] append the server's stdout/stderr to this file
 * @param {boolean} [options.echo] also copy the server's output to this process's stderr
 */
export async function startServer(options = {}) {
  const attempts = options.port ? 1 : 3;
  let lastError;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    try {
      return await startOnce(options);
    } catch (error) {
      lastError = error;
      // Only a lost race for the port is worth another try.
      if (!/EADDRINUSE/.test(String(error?.message))) break;
    }
  }
  throw lastError;
}

async function startOnce(options) {
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? (await freePort(host));
  const cwd = options.cwd ?? ROOT;
  const timeoutMs = options.timeoutMs ?? 60_000;
  const readyPath = options.readyPath ?? '/api/health';
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;

  if (!fs.existsSync(path.join(cwd, '.next', 'BUILD_ID'))) {
    throw new Error(`no production build in ${path.join(cwd, '.next')}: run \`npm run build\` first`);
  }

  // Links in mail are built from APP_URL: unless the caller names one, it is this server's own address.
  const env = { ...process.env, NODE_ENV: 'production', NEXT_TELEMETRY_DISABLED: '1', ...options.env, APP_URL: options.env?.APP_URL ?? url };
  for (const key of Object.keys(env)) if (env[key] === undefined) delete env[key];

  const child = spawn(process.execPath, [path.join(cwd, SERVER_ENTRY), '-p', String(port), '-H', host], {
    cwd,
    env,
    detached: true, // own process group, so stop() reaches every worker it forks
    stdio: ['ignore', 'pipe', 'pipe'],
  });

  const server = track(child, { logFile: options.logFile, echo: options.echo, url });
  server.port = port;
  server.host = host;

  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!server.running) {
      await server.stop();
      throw new Error(`the server exited before it answered (${describeExit(server.exitInfo)}):\n${server.output()}`);
    }
    try {
      await fetch(url + readyPath, { redirect: 'manual', signal: AbortSignal.timeout(5_000) });
      return server; // any HTTP answer means the server is up
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) {
      await server.stop();
      throw new Error(`the server did not answer on ${url} within ${timeoutMs} ms:\n${server.output()}`);
    }
    await Promise.race([delay(250), server.exited]);
  }
}

/**
 * Start the downstream service (examples/downstream/service.mjs) on a free
 * loopback port and resolve once /health answers. The service prints the
 * address it listens on; by default it is started with port 0, so there is no race for it.
 *
 * @param {object} options
 * @param {string} options.appOrigin the app's origin exactly as the browser sees it (the only CORS origin)
 * @param {string} [options.jwksUrl] default `${appOrigin}/.well-known/jwks.json`
 * @param {Record<string, string | undefined>} [options.env] extra environment (merged over process.env)
 * @param {string} [options.host] interface to bind (default 127.0.0.1)
 * @param {number} [options.port] fixed port (default 0: any free one)
 * @param {number} [options.timeoutMs] how long to wait for readiness (default 15 s)
 * @param {string} [options.logFile] append the service's output to this file
 * @param {boolean} [options.echo] also copy the service's output to this process's stderr
 */
export async function startDownstream(options) {
  const host = options.host ?? '127.0.0.1';
  const timeoutMs = options.timeoutMs ?? 15_000;
  const env = {
    ...process.env,
    ...options.env,
    DOWNSTREAM_HOST: host,
    DOWNSTREAM_PORT: String(options.port ?? 0),
    APP_ORIGIN: options.appOrigin,
    JWKS_URL: options.jwksUrl ?? `${options.appOrigin}/.well-known/jwks.json`,
  };
  for (const key of Object.keys(env)) if (env[key] === undefined) delete env[key];

  const child = spawn(process.execPath, [DOWNSTREAM_SCRIPT], {
    cwd: ROOT,
    env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const service = track(child, { logFile: options.logFile, echo: options.echo, url: '' });

  let announced = '';
  const listening = new Promise((resolve) => {
    const onData = (chunk) => {
      announced += chunk.toString('utf8');
      const match = /listening on (http:\/\/\S+)/.exec(announced);
      if (match) {
        child.stdout.off('data', onData);
        resolve(match[1]);
      }
    };
    child.stdout.on('data', onData);
  });

  const deadline = delay(timeoutMs).then(() => 'timeout');
  const first = await Promise.race([listening, service.exited.then(() => 'exited'), deadline]);
  if (first === 'exited' || first === 'timeout') {
    await service.stop();
    const how = first === 'timeout' ? `did not start within ${timeoutMs} ms` : `exited (${describeExit(service.exitInfo)})`;
    throw new Error(`the downstream service ${how}:\n${service.output()}`);
  }
  service.url = first;
  for (;;) {
    try {
      const response = await fetch(`${service.url}/health`, { signal: AbortSignal.timeout(2_000) });
      if (response.ok) return service;
    } catch {
      /* not answering yet */
    }
    if (!service.running || (await Promise.race([delay(100), deadline])) === 'timeout') {
      await service.stop();
      throw new Error(`the downstream service did not answer on ${service.url}/health:\n${service.output()}`);
    }
  }
}

/**
 * Start the app and the downstream service so that each knows the other: the
 * service allows the app's origin and reads its JWKS; the app gets the
 * service's address in DOWNSTREAM_URL (its CSP and the dashboard use it). The
 * app's port is chosen first, as the service must know it before the app
 * starts; a lost race for that port starts both again.
 *
 * @param {Parameters<typeof startServer>[0] & { downstreamLogFile?: string }} [options]
 */
export async function startAppWithDownstream(options = {}) {
  const host = options.host ?? '127.0.0.1';
  const attempts = options.port ? 1 : 3;
  let lastError;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const port = options.port ?? (await freePort(host));
    const appOrigin = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
    const downstream = await startDownstream({
      appOrigin,
      host,
      env: options.env,
      logFile: options.downstreamLogFile,
      echo: options.echo,
    });
    try {
      const app = await startServer({ ...options, host, port, env: { ...options.env, DOWNSTREAM_URL: downstream.url } });
      return { app, downstream };
    } catch (error) {
      lastError = error;
      await downstream.stop();
      if (!/EADDRINUSE/.test(String(error?.message))) break;
    }
  }
  throw lastError;
}

function describeExit(info) {
  if (!info) return 'still running';
  if (info.error) return info.error.message;
  return `exit code ${info.code ?? '-'}, signal ${info.signal ?? '-'}`;
}

/**
 * Output capture, exit tracking and stop() for a child started in its own
 * process group. Registers it for the exit hook above.
 */
function track(child, { logFile, echo, url }) {
  const tail = new Tail();
  const log = logFile ? fs.createWriteStream(logFile, { flags: 'a' }) : null;
  const onData = (chunk) => {
    tail.push(chunk);
    log?.write(chunk);
    if (echo) process.stderr.write(chunk);
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);

  let exitInfo = null;
  const exited = new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      exitInfo = { code, signal };
      resolve(exitInfo);
    });
    child.on('error', (error) => {
      exitInfo = { code: null, signal: null, error };
      resolve(exitInfo);
    });
  });

  const handle = {
    url,
    pid: child.pid,
    child,
    exited,
    get exitInfo() {
      return exitInfo;
    },
    output: () => tail.toString(),
    get running() {
      return exitInfo === null;
    },
    stop: async () => {
      running.delete(handle);
      if (exitInfo === null) {
        killGroup(child.pid, 'SIGTERM');
        const timer = delay(5_000).then(() => 'timeout');
        if ((await Promise.race([exited, timer])) === 'timeout') {
          killGroup(child.pid, 'SIGKILL');
          await exited;
        }
      }
      // The leader may be gone while forked workers linger in its group.
      if (child.pid && groupAlive(child.pid)) killGroup(child.pid, 'SIGKILL');
      await new Promise((resolve) => (log ? log.end(resolve) : resolve()));
    },
  };
  running.add(handle);
  return handle;
}

/** Stop every server this process started. */
export async function stopAllServers() {
  await Promise.all([...running].map((server) => server.stop()));
}

// Command-line mode.
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const portArg = process.argv.find((arg) => arg.startsWith('--port='));
  const port = portArg ? Number(portArg.slice('--port='.length)) : undefined;
  const withDownstream = process.argv.includes('--downstream');
  try {
    const started = withDownstream
      ? await startAppWithDownstream({ port, echo: true })
      : { app: await startServer({ port, echo: true }), downstream: null };
    const servers = [started.app, started.downstream].filter(Boolean);
    console.log(`server ready at ${started.app.url} (Ctrl-C to stop)`);
    if (started.downstream) console.log(`downstream service at ${started.downstream.url}`);
    let stopping = false;
    const shutdown = async () => {
      stopping = true;
      await Promise.all(servers.map((server) => server.stop()));
      process.exit(0);
    };
    process.once('SIGINT', shutdown);
    process.once('SIGTERM', shutdown);
    // One of them dying on its own ends the whole thing (the exit hook stops the other).
    for (const server of servers) server.child.once('exit', () => stopping || process.exit(1));
  } catch (error) {
    console.error(String(error?.message ?? error));
    process.exit(1);
  }
}
