#!/usr/bin/env node
// Start a production `next start` server on a free loopback port, wait until it
// answers HTTP, and stop it again (the whole process group).
//
// Library use:
//   import { startServer } from './server.mjs';
//   const server = await startServer({ env: { DATABASE_URL, KEYS_FILE } });
//   ... server.url ...
//   await server.stop();
//
// Command line (serves the existing build until Ctrl-C):
//   node scripts/server.mjs [--port=3000]
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const NEXT_BIN = path.join(ROOT, 'node_modules', 'next', 'dist', 'bin', 'next');

/** Servers started by this process that have not been stopped yet. */
const running = new Set();

// Last line of defence: if this process exits for any reason (including an
// uncaught exception), take every server it started down with it.
process.on('exit', () => {
  for (const server of running) killGroup(server.pid, 'SIGKILL');
});

/** Ask the OS for a free TCP port on the given interface. */
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
 * Start `next start` and resolve once it answers HTTP.
 *
 * @param {object} [options]
 * @param {Record<string, string | undefined>} [options.env] extra environment (merged over process.env)
 * @param {number} [options.port] fixed port (default: a free one)
 * @param {string} [options.host] interface to bind (default 127.0.0.1)
 * @param {string} [options.cwd] project directory (default: repository root)
 * @param {string} [options.readyPath] path polled until it answers (default "/")
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
  const readyPath = options.readyPath ?? '/';
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;

  if (!fs.existsSync(path.join(cwd, '.next', 'BUILD_ID'))) {
    throw new Error(`no production build in ${path.join(cwd, '.next')}: run \`npm run build\` first`);
  }

  const env = { ...process.env, NODE_ENV: 'production', NEXT_TELEMETRY_DISABLED: '1', ...options.env };
  for (const key of Object.keys(env)) if (env[key] === undefined) delete env[key];

  const child = spawn(process.execPath, [NEXT_BIN, 'start', '-p', String(port), '-H', host], {
    cwd,
    env,
    detached: true, // own process group, so stop() reaches every worker it forks
    stdio: ['ignore', 'pipe', 'pipe'],
  });

  const tail = new Tail();
  const log = options.logFile ? fs.createWriteStream(options.logFile, { flags: 'a' }) : null;
  const onData = (chunk) => {
    tail.push(chunk);
    log?.write(chunk);
    if (options.echo) process.stderr.write(chunk);
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

  const server = {
    url,
    port,
    host,
    pid: child.pid,
    child,
    /** The server's recent output (for error reports). */
    output: () => tail.toString(),
    /** True while the server process is alive. */
    get running() {
      return exitInfo === null;
    },
    stop: async () => {
      running.delete(server);
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
  running.add(server);

  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (exitInfo !== null) {
      await server.stop();
      const how = exitInfo.error
        ? exitInfo.error.message
        : `exit code ${exitInfo.code ?? '-'}, signal ${exitInfo.signal ?? '-'}`;
      throw new Error(`next start exited before it answered (${how}):\n${tail.toString()}`);
    }
    try {
      await fetch(url + readyPath, { redirect: 'manual', signal: AbortSignal.timeout(5_000) });
      return server; // any HTTP answer means the server is up
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) {
      await server.stop();
      throw new Error(`next start did not answer on ${url} within ${timeoutMs} ms:\n${tail.toString()}`);
    }
    await Promise.race([delay(250), exited]);
  }
}

/** Stop every server this process started. */
export async function stopAllServers() {
  await Promise.all([...running].map((server) => server.stop()));
}

// Command-line mode.
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const portArg = process.argv.find((arg) => arg.startsWith('--port='));
  const port = portArg ? Number(portArg.slice('--port='.length)) : undefined;
  try {
    const server = await startServer({ port, echo: true });
    console.log(`server ready at ${server.url} (Ctrl-C to stop)`);
    const shutdown = async () => {
      await server.stop();
      process.exit(0);
    };
    process.once('SIGINT', shutdown);
    process.once('SIGTERM', shutdown);
    server.child.once('exit', () => process.exit(1));
  } catch (error) {
    console.error(String(error?.message ?? error));
    process.exit(1);
  }
}
